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


def table(row, focus: str, filters: int, padding: str) -> pd.DataFrame:
    """The block's row beside plain 3x3 and 5x5 convs with ``filters`` filters."""
    c3 = counter.conv_baseline(row.input_shape, filters, 3, padding)
    c5 = counter.conv_baseline(row.input_shape, filters, 5, padding)
    out = []
    for label, r in ((f"Inception {focus}", row), (f"plain 3x3 conv, {filters} filters", c3), (f"plain 5x5 conv, {filters} filters", c5)):
        out.append({
            "model": label,
            "input": shape_str(row.input_shape),
            "output": shape_str(r.output_shape),
            "params": fmt_int(r.params),
            "params / block": f"{r.params / row.params:.1f}x",
            "MACs": fmt_int(r.macs),
            "MACs / block": f"{r.macs / row.macs:.1f}x" if row.macs else "",
        })
    return pd.DataFrame(out)


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
    st.dataframe(table(row, focus, maps, padding), width="stretch", hide_index=True)
    b = spec.block(focus)
    if spec.preset == "block" and b.width_tuple == presets.preset("block").block(focus).width_tuple:
        w = b.widths
        st.warning(
            f"The slide says this block gives 160 feature maps, but the concat has "
            f"{w['1x1']} + {w['3x3']} + {w['5x5']} + {w['pool_proj']} = {maps} "
            "(1x1 + 3x3 + 5x5 + pool projection). The slide's plain convs use 160 filters:"
        )
        st.dataframe(table(row, focus, 160, padding), width="stretch", hide_index=True)
