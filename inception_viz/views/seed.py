"""Seed comparison: the lecture's comparison of a block against plain 3x3 and 5x5 convs
with the same input and the same number of output maps."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import counter, presets
from ..graph import shape_str
from ..i18n import _, current
from .common import PERSIST
from .context import ViewContext


def table(row, focus: str, filters: int, padding: str) -> pd.DataFrame:
    """The block's row beside plain 3x3 and 5x5 convs with ``filters`` filters."""
    tr = current()
    c3 = counter.conv_baseline(row.input_shape, filters, 3, padding)
    c5 = counter.conv_baseline(row.input_shape, filters, 5, padding)
    out = []
    models = (
        (_("Inception {block}").format(block=focus), row),
        (_("plain 3x3 conv, {n} filters").format(n=filters), c3),
        (_("plain 5x5 conv, {n} filters").format(n=filters), c5),
    )
    for label, r in models:
        out.append({
            _("model"): label,
            _("input"): shape_str(row.input_shape),
            _("output"): shape_str(r.output_shape),
            _("params"): tr.int(r.params),
            _("params / block"): tr.decimal(r.params / row.params, 1, group=False) + "x",
            _("MACs"): tr.int(r.macs),
            _("MACs / block"): tr.decimal(r.macs / row.macs, 1, group=False) + "x" if row.macs else "",
        })
    return pd.DataFrame(out)


def render(ctx: ViewContext) -> None:
    spec, focus = ctx.spec, ctx.focus
    if not focus:
        st.info(_("This model has no Inception blocks."))
        return
    row = ctx.report.row(focus)
    padding = st.radio(_("Plain conv padding"), ["valid", "same"], horizontal=True, key="seed-padding", persist_state=PERSIST,
                       help=_("The lecture's slides use Keras's default, valid (32x32 → 28x28 for 5x5)"))
    maps = row.output_shape[2]
    st.subheader(_("{block} against plain convolutions with {maps} output maps").format(block=focus, maps=maps))
    st.dataframe(table(row, focus, maps, padding), width="stretch", hide_index=True)
    b = spec.block(focus)
    if spec.preset == "block" and b.width_tuple == presets.preset("block").block(focus).width_tuple:
        w = b.widths
        st.warning(_(
            "The slide says this block gives 160 feature maps, but the concat has "
            "{w1} + {w3} + {w5} + {wp} = {maps} (1x1 + 3x3 + 5x5 + pool projection). "
            "The slide's plain convs use 160 filters:"
        ).format(w1=w["1x1"], w3=w["3x3"], w5=w["5x5"], wp=w["pool_proj"], maps=maps))
        st.dataframe(table(row, focus, 160, padding), width="stretch", hide_index=True)
