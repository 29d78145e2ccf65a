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


def table(row, filters: int, padding: str) -> pd.DataFrame:
    """The block's row beside plain 3x3 and 5x5 convs with ``filters`` filters
    (:func:`inception_viz.counter.seed_comparison`): a conv that is not possible on this
    map, or a ratio to a block without weights or multiply-adds, shows "—" and its note.
    Words and numbers in the page's language."""
    tr = current()

    def num(v) -> str:
        return "—" if v is None else tr.int(v)

    def ratio(v) -> str:
        return "—" if v is None else tr.decimal(v, 1, group=False) + "x"

    out = [{
        _("model"): r.model,
        _("input"): shape_str(r.input_shape),
        _("output"): _("not possible") if r.output_shape is None else shape_str(r.output_shape),
        _("params"): num(r.params),
        _("params / block"): ratio(r.params_ratio),
        _("MACs"): num(r.macs),
        _("MACs / block"): ratio(r.macs_ratio),
        "note": r.note,
    } for r in counter.seed_comparison(row, filters, padding, tr=tr)]
    frame = pd.DataFrame(out)
    # the note column only when a row has one; its header in the page's language
    return frame.rename(columns={"note": _("note")}) if frame["note"].str.len().any() else frame.drop(columns="note")


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
    st.dataframe(table(row, maps, padding), width="stretch", hide_index=True)
    b = spec.block(focus)
    if spec.preset == "block" and b.width_tuple == presets.preset("block").block(focus).width_tuple:
        w = b.widths
        st.warning(_(
            "The slide says this block gives 160 feature maps, but the concat has "
            "{w1} + {w3} + {w5} + {wp} = {maps} (1x1 + 3x3 + 5x5 + pool projection). "
            "The slide's plain convs use 160 filters:"
        ).format(w1=w["1x1"], w3=w["3x3"], w5=w["5x5"], wp=w["pool_proj"], maps=maps))
        st.dataframe(table(row, 160, padding), width="stretch", hide_index=True)
