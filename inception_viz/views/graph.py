"""Graph: the overview or one block's detail (Graphviz), with DOT, SVG and PNG downloads."""

from __future__ import annotations

import streamlit as st

from .. import graph
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
    wrap = c3.slider("Overview: nodes per row", 2, 8, 4, key="graph-wrap", help="Fewer nodes per row = larger text", persist_state=PERSIST)
    rankdir = "TB" if rankdir == "top to bottom" else "LR"
    edited = set(ctx.edited)
    if view == "Overview":
        source, stem = graph.overview_dot(ctx.report, rankdir, edited, wrap), f"{spec.name}_overview"
    else:
        source, stem = graph.block_dot(ctx.report, focus, rankdir), f"{spec.name}_{focus}"
    graphviz(source)
    legend = " ".join(
        f'<span style="background:{BRANCH_COLORS[k]};color:white;padding:2px 8px;border-radius:4px;margin-right:6px">{graph.BRANCH_LABELS[k]}</span>'
        for k in BRANCH_KEYS
    )
    st.markdown(legend + (" ✎ = edited against the preset" if edited else ""), unsafe_allow_html=True)
    downloads_ui(source, stem)


def downloads_ui(source: str, stem: str) -> None:
    d1, d2, d3 = st.columns(3)
    d1.download_button("Download DOT", source, file_name=f"{stem}.dot", mime="text/vnd.graphviz")
    if dot_available():
        d2.download_button("Download SVG", lambda: render_dot(source, "svg"), file_name=f"{stem}.svg", mime="image/svg+xml")
        d3.download_button("Download PNG", lambda: render_dot(source, "png"), file_name=f"{stem}.png", mime="image/png")
    else:
        st.info(f"SVG and PNG downloads need Graphviz's `dot`: {INSTALL_HINT}. The DOT file renders anywhere.")
