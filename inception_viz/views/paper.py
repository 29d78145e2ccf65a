"""Paper Table 1: the paper's rows beside the current model, deltas, flagged rows explained."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import paper
from ..graph import shape_str
from .context import ViewContext

STATUS_COLORS = {"agrees": "#D9F2E3", "input size": "#E8F0E0", "paper error": "#FFE7B3", "edited": "#DCEBFA", "differs": "#F9D0D0", "missing": "#EEEEEE"}


def note_text(note: str) -> str:
    """A note's arithmetic as a class reads it: ``7*7*3*8`` as ``7×7×3×8``. Alerts render
    Markdown, which would take the ``*`` signs for italics and drop them."""
    return note.replace(" * ", " × ").replace("*", "×")


def table(comps) -> pd.DataFrame:
    rows = []
    for c in comps:
        p = c.paper
        params_here, params_paper = paper.fmt_pair(c.params_k if p.params_k is not None else None, p.params_k)
        ops_here, ops_paper = paper.fmt_pair(c.ops_m if p.ops_m is not None else None, p.ops_m)
        rows.append({
            "layer": p.label,
            "output (paper)": shape_str(p.output),
            "output (here)": shape_str(c.output) if c.output else "—",
            "params K (paper)": params_paper,
            "params K (here)": params_here,
            "Δ params": paper.fmt_delta(c.params_delta),
            "ops M (paper)": ops_paper,
            "ops M (here)": ops_here,
            "Δ ops": paper.fmt_delta(c.ops_delta),
            "status": c.status,
        })
    return pd.DataFrame(rows)


def render(ctx: ViewContext) -> None:
    spec = ctx.spec
    st.caption("Szegedy et al. 2015, Table 1, beside the current model. Params in the paper's unit: "
               "K = 1024 weights, biases excluded. Ops in millions (10^6) of multiply-adds.")
    if spec.preset not in ("googlenet", "naive"):
        st.info(f"Table 1 describes GoogLeNet; the {spec.preset} preset shares only some layer names with it.")
    comps = paper.compare(ctx.report)
    df = table(comps)
    styled = df.style.apply(lambda r: [f"background-color: {STATUS_COLORS.get(r['status'], '')}"] * len(r), axis=1)
    # "content": exactly as tall as its rows (a height in pixels guessed the row height
    # and left empty rows under the last one)
    st.dataframe(styled, width="stretch", hide_index=True, height="content")
    sized = [c for c in comps if c.status == "input size"]
    if sized:
        h, w, _ = spec.input_shape
        st.info(f"**Input {h}×{w}** (height × width), not the paper's {paper.PAPER_INPUT[0]}×{paper.PAPER_INPUT[1]}: "
                f"{len(sized)} rows differ only in their output size and ops, which follow the input; "
                "their parameters agree with the paper. Rows that differ at 224×224 too keep their own explanation.")
    for c in comps:
        if c.status == "paper error":
            st.warning(f"**{c.paper.label}** ({c.name}): the paper's numbers are off. {note_text(c.note)}")
        elif c.status in ("differs", "edited"):
            st.info(f"**{c.paper.label}** ({c.name}): {note_text(c.note)}")
