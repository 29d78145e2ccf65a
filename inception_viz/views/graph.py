"""Graph: the overview or one block's detail (Graphviz), with DOT, SVG and PNG downloads."""

from __future__ import annotations

import streamlit as st

from .. import exports, graph
from ..edits import edited_widths
from ..render import INSTALL_HINT, dot_available
from ..graph import BRANCH_COLORS
from ..spec import BRANCH_KEYS
from .common import PERSIST, graphviz, render_dot
from .context import ViewContext


def render(ctx: ViewContext) -> None:
    spec, focus = ctx.spec, ctx.focus
    c1, c2, c3 = st.columns([2, 1, 1])
    views = ["Overview"] + ([f"Block detail: {focus}"] if focus else [])
    view = c1.radio("View", views, horizontal=True, key="graph-view", persist_state=PERSIST)
    rankdir = c2.radio("Layout", ["top to bottom", "left to right"], horizontal=True, key="graph-layout", persist_state=PERSIST)
    rankdir = "TB" if rankdir == "top to bottom" else "LR"
    wrap = wrap_ui(c3, rankdir)
    edited = set(ctx.edited)
    if view == "Overview":
        source, stem = graph.overview_dot(ctx.report, rankdir, edited, wrap), exports.graph_stem(spec)
    else:
        source, stem = (graph.block_dot(ctx.report, focus, rankdir, edited=edited_widths(spec).get(focus, {})),
                        exports.graph_stem(spec, f"block:{focus}"))
    # left to right the overview is wider than tall: shrunk to the page its text would be
    # smaller than top to bottom, so it keeps its own size and scrolls sideways
    graphviz(source, natural=rankdir == "LR")
    legend = " ".join(
        f'<span style="background:{BRANCH_COLORS[k]};color:white;padding:2px 8px;border-radius:4px;margin-right:6px">{graph.BRANCH_LABELS[k]}</span>'
        for k in BRANCH_KEYS
    )
    # explain ✎ exactly when the graph on screen draws one
    st.markdown(legend + (" ✎ = edited against the preset" if "✎" in source else ""), unsafe_allow_html=True)
    downloads_ui(source, stem)


#: What the overview's wrap setting means in each layout: (label, default, help). Top to
#: bottom it wraps rows (fewer nodes per row: a narrower graph, larger text); left to
#: right the same rows are columns, and more nodes per column make the graph narrower.
WRAP = {
    "TB": ("Overview: nodes per row", 4, "Fewer nodes per row = a narrower graph = larger text"),
    "LR": ("Overview: nodes per column", 8, "More nodes per column = fewer columns = larger text"),
}


def wrap_ui(col, rankdir: str) -> int:
    """The overview's wrap slider, named for the layout (one key per layout, so each keeps
    its own value)."""
    label, default, help_text = WRAP[rankdir]
    return col.slider(label, 2, 8, default, key=f"graph-wrap-{rankdir}", help=help_text, persist_state=PERSIST)


def downloads_ui(source: str, stem: str) -> None:
    d1, d2, d3 = st.columns(3)
    d1.download_button("Download DOT", source, file_name=f"{stem}.dot", mime="text/vnd.graphviz")
    if dot_available():
        d2.download_button("Download SVG", lambda: render_dot(source, "svg"), file_name=f"{stem}.svg", mime="image/svg+xml")
        d3.download_button("Download PNG", lambda: render_dot(source, "png"), file_name=f"{stem}.png", mime="image/png")
    else:
        st.info(f"SVG and PNG downloads need Graphviz's `dot`: {INSTALL_HINT}. The DOT file renders anywhere.")
