"""The app's views, one module each, in tab order.

Each module exposes ``render(ctx: ViewContext) -> None`` and draws only its own view
(``app.py`` calls it inside the view's tab, and only for the open tab). A new view is its
module plus one line in :data:`VIEWS`; its widget keys start with its own prefix and pass
``persist_state=common.PERSIST`` so they survive while another view is open.
"""

from __future__ import annotations

from types import ModuleType
from typing import NamedTuple

from . import blocks, charts, code, compare, featurevis, graph, instantiate, paper, predictions, seed
from .context import ViewContext


class View(NamedTuple):
    key: str  # in the URL: &view=<key>
    label: str  # the tab's label
    module: ModuleType  # has render(ctx: ViewContext) -> None


VIEWS: tuple[View, ...] = (
    View("blocks", "Blocks", blocks),
    View("graph", "Graph", graph),
    View("charts", "Charts", charts),
    View("paper", "Paper Table 1", paper),
    View("seed", "Seed comparison", seed),
    View("compare", "Compare", compare),
    View("code", "Code", code),
    View("instantiate", "Instantiate", instantiate),
    View("predictions", "Predictions & feature maps", predictions),
    View("featurevis", "Feature visualisation", featurevis),
)
#: The view a page opens on when the URL names none (or one that does not exist).
DEFAULT_VIEW = VIEWS[0]


def view_by_key(key) -> View:
    """The view whose URL key is ``key``; the default view for anything else."""
    return next((v for v in VIEWS if v.key == key), DEFAULT_VIEW)


def view_by_label(label) -> View:
    """The view whose tab label is ``label``; the default view for anything else."""
    return next((v for v in VIEWS if v.label == label), DEFAULT_VIEW)


__all__ = ["DEFAULT_VIEW", "VIEWS", "View", "ViewContext", "view_by_key", "view_by_label"]
