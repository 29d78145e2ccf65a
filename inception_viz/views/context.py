"""What every view gets: one small, frozen context built once per script run by ``app.py``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ..counter import Report
from ..edits import edited_blocks
from ..spec import ModelSpec


@dataclass(frozen=True)
class ViewContext:
    """The current model and what the views share.

    ``spec``: the current (accepted) spec; ``report``: its analysis (``counter.analyze``);
    ``base``: the analysis of its preset unchanged (``base.spec`` is the preset), what
    deltas are measured against; ``focus``: the block in focus chosen in the sidebar
    (``None`` when the model has no Inception blocks); ``in_place``: the block whose own
    widget (a width box, the form switch) started this run, else ``None``
    (``common.IN_PLACE``).
    """

    spec: ModelSpec
    report: Report
    base: Report
    focus: str | None
    in_place: str | None = None

    @cached_property
    def edited(self) -> tuple[str, ...]:
        """The blocks whose widths differ from the preset, in network order."""
        return tuple(edited_blocks(self.spec))
