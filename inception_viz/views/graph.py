"""Graph: the overview or one block's detail (Graphviz), with DOT, SVG and PNG downloads."""

from __future__ import annotations

import streamlit as st

from .. import exports, graph
from ..i18n import N_, _, current
from ..render import INSTALL_HINT, dot_available
from ..graph import BRANCH_COLORS
from ..spec import BRANCH_KEYS
from .common import PERSIST, export_button, graphviz
from .context import ViewContext

#: The layout options (their values stay English: they are the widget's state).
LAYOUTS = {"top to bottom": N_("top to bottom"), "left to right": N_("left to right")}


def render(ctx: ViewContext) -> None:
    spec, focus = ctx.spec, ctx.focus
    tr = current()
    c1, c2, c3 = st.columns([2, 1, 1])
    views = ["Overview"] + ([f"Block detail: {focus}"] if focus else [])  # i18n: keep (values; format_func translates)
    view = c1.radio(_("View"), views, horizontal=True, key="graph-view", persist_state=PERSIST,
                    format_func=lambda v: _("Overview") if v == "Overview" else _("Block detail: {block}").format(block=focus))
    rankdir = c2.radio(_("Layout"), list(LAYOUTS), horizontal=True, key="graph-layout", persist_state=PERSIST,
                       format_func=lambda v: _(LAYOUTS[v]))
    rankdir = "TB" if rankdir == "top to bottom" else "LR"
    wrap = wrap_ui(c3, rankdir)
    # the DOT shown is the DOT downloaded, and the one `export --format dot` writes (the
    # CLI's in English, the app's in the page's language)
    which = "overview" if view == "Overview" else f"block:{focus}"
    dot = exports.graph_dot(spec, which, rankdir, wrap, tr=tr)
    source = dot.decode("utf-8")
    # left to right the overview is wider than tall: shrunk to the page its text would be
    # smaller than top to bottom, so it keeps its own size and scrolls sideways
    graphviz(source, natural=rankdir == "LR")
    legend = " ".join(
        f'<span style="background:{BRANCH_COLORS[k]};color:white;padding:2px 8px;border-radius:4px;margin-right:6px">{graph.branch_label(k, tr)}</span>'
        for k in BRANCH_KEYS
    )
    # explain ✎ exactly when the graph on screen draws one
    st.markdown(legend + (" " + _("✎ = edited against the preset") if "✎" in source else ""), unsafe_allow_html=True)
    downloads_ui(spec, dot, which, rankdir, wrap)


#: What the overview's wrap setting means in each layout: (label, default, help), msgids.
#: Top to bottom it wraps rows (fewer nodes per row: a narrower graph, larger text); left
#: to right the same rows are columns, and more nodes per column make the graph narrower.
WRAP = {
    "TB": (N_("Overview: nodes per row"), 4, N_("Fewer nodes per row = a narrower graph = larger text")),
    "LR": (N_("Overview: nodes per column"), 8, N_("More nodes per column = fewer columns = larger text")),
}


def wrap_ui(col, rankdir: str) -> int:
    """The overview's wrap slider, named for the layout (one key per layout, so each keeps
    its own value)."""
    label, default, help_text = WRAP[rankdir]
    return col.slider(_(label), 2, 8, default, key=f"graph-wrap-{rankdir}", help=_(help_text), persist_state=PERSIST)


def downloads_ui(spec, dot: bytes, which: str, rankdir: str, wrap: int) -> None:
    """DOT (``exports.graph_dot``, on screen), SVG and PNG (rendered on the click) of the
    graph ``which``, from :mod:`inception_viz.exports`, in the page's language."""
    d1, d2, d3 = st.columns(3)
    args = (spec, which, rankdir, wrap, current())
    export_button(_("Download DOT"), "dot", spec, dot, view=which, where=d1)
    if dot_available():
        export_button(_("Download SVG"), "svg", spec, lambda: exports.graph_svg(*args), view=which, where=d2)
        export_button(_("Download PNG"), "png", spec, lambda: exports.graph_png(*args), view=which, where=d3)
    else:
        st.info(_("SVG and PNG downloads need Graphviz's `dot`: {hint}. The DOT file renders anywhere.").format(hint=INSTALL_HINT))
