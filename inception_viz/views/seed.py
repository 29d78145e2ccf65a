"""Seed comparison: the lecture's comparison of a block against plain 3x3 and 5x5 convs
with the same input and the same number of output maps."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import counter, presets
from ..counter import fmt_int
from ..graph import shape_str
from .common import PERSIST
from .context import ViewContext


def table(row, filters: int, padding: str) -> pd.DataFrame:
    """The block's row beside plain 3x3 and 5x5 convs with ``filters`` filters
    (:func:`inception_viz.counter.seed_comparison`): a conv that is not possible on this
    map, or a ratio to a block without weights or multiply-adds, shows "—" and its note."""

    def num(v) -> str:
        return "—" if v is None else fmt_int(v)

    def ratio(v) -> str:
        return "—" if v is None else f"{v:.1f}x"

    out = [{
        "model": r.model,
        "input": shape_str(r.input_shape),
        "output": "not possible" if r.output_shape is None else shape_str(r.output_shape),
        "params": num(r.params),
        "params / block": ratio(r.params_ratio),
        "MACs": num(r.macs),
        "MACs / block": ratio(r.macs_ratio),
        "note": r.note,
    } for r in counter.seed_comparison(row, filters, padding)]
    frame = pd.DataFrame(out)
    return frame if frame["note"].str.len().any() else frame.drop(columns="note")


def render(ctx: ViewContext) -> None:
    spec, focus = ctx.spec, ctx.focus
    if not focus:
        st.info("This model has no Inception blocks.")
        return
    row = ctx.report.row(focus)
    padding = st.radio("Plain conv padding", ["valid", "same"], horizontal=True, key="seed-padding", persist_state=PERSIST,
                       help="The lecture's slides use Keras's default, valid (32x32 → 28x28 for 5x5)")
    maps = row.output_shape[2]
    st.subheader(f"{focus} against plain convolutions with {maps} output maps")
    st.dataframe(table(row, maps, padding), width="stretch", hide_index=True)
    b = spec.block(focus)
    if spec.preset == "block" and b.width_tuple == presets.preset("block").block(focus).width_tuple:
        w = b.widths
        st.warning(
            f"The slide says this block gives 160 feature maps, but the concat has "
            f"{w['1x1']} + {w['3x3']} + {w['5x5']} + {w['pool_proj']} = {maps} "
            "(1x1 + 3x3 + 5x5 + pool projection). The slide's plain convs use 160 filters:"
        )
        st.dataframe(table(row, 160, padding), width="stretch", hide_index=True)
