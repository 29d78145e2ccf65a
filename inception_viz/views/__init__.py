"""The app's views, one module each, in the view switcher's order.

Each module exposes ``render(ctx: ViewContext) -> None`` and draws only its own view
(``app.py`` calls it in the open view's box, and only for the open view). A new view is its
module plus one line in :data:`VIEWS`; its widget keys start with its own prefix and pass
``persist_state=common.PERSIST`` so they survive while another view is open.

Labels are English msgids (marked with ``N_`` for extraction); ``app.py`` draws them
translated (``_(view.label)``). URL keys stay English in every language.

The package's other modules are not views: ``common`` (widget helpers several views share),
``context`` (:class:`ViewContext`), and the two page parts around every view, ``sidebar``
and ``headline`` (the title and the totals), which ``app.py`` draws.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import NamedTuple

from .. import heap, i18n
from ..i18n import N_
from .context import ViewContext


class View(NamedTuple):
    key: str  # in the URL: &view=<key>
    label: str  # its label in the view switcher: an English msgid, translated where drawn
    name: str  # its module in this package

    @property
    def module(self) -> ModuleType:
        """The view's module (has ``render(ctx: ViewContext) -> None``), imported when first
        asked for. Under ``streamlit run app.py`` that is at the server's start (app.py's
        ``st.App`` lifespan asks for every view); elsewhere (AppTest, the bench's cold start)
        when the view first opens, so a first page imports only the Blocks view: importing
        every view there (pandas, Plotly, ...) took ~0.5 s of that page's run (docs/bench.md,
        "Tenth session").

        What a view's first import brings (all eleven: ~54,000 objects) is long-lived, and the
        app froze the heap at the end of the process's first run, before it: so the heap is
        frozen again after each view's first import (``heap``: a full collection would scan
        them all, holding Python's lock, in the middle of some later edit)."""
        name = f"{__name__}.{self.name}"
        first = name not in sys.modules
        # always through the import system: a view that another session's thread is still
        # importing is in sys.modules half-initialised, and import_module waits for it
        module = importlib.import_module(name)
        if first:
            heap.freeze_once(name)
        return module


VIEWS: tuple[View, ...] = (
    View("blocks", N_("Blocks"), "blocks"),
    View("graph", N_("Graph"), "graph"),
    View("charts", N_("Charts"), "charts"),
    View("paper", N_("Paper Table 1"), "paper"),
    View("seed", N_("Seed comparison"), "seed"),
    View("compare", N_("Compare"), "compare"),
    View("code", N_("Code"), "code"),
    View("instantiate", N_("Instantiate"), "instantiate"),
    View("predictions", N_("Predictions & feature maps"), "predictions"),
    View("receptive", N_("Receptive fields"), "receptive"),
    View("featurevis", N_("Feature visualisation"), "featurevis"),
)
#: The view a page opens on when the URL names none (or one that does not exist).
DEFAULT_VIEW = VIEWS[0]


def view_by_key(key) -> View:
    """The view whose URL key is ``key``; the default view for anything else."""
    return next((v for v in VIEWS if v.key == key), DEFAULT_VIEW)


def view_by_label(label) -> View:
    """The view whose tab label is ``label`` in any of the app's languages (a session that
    switched language still holds the old label); the default view for anything else."""
    return next(
        (v for v in VIEWS if label == v.label or any(label == i18n.translator(lang).gettext(v.label) for lang in i18n.LANGUAGES)),
        DEFAULT_VIEW,
    )


__all__ = ["DEFAULT_VIEW", "VIEWS", "View", "ViewContext", "view_by_key", "view_by_label"]
