"""Compare: the current model against a preset or an uploaded config, per block."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import counter, figures, presets
from ..graph import shape_str
from ..presets import PRESET_NAMES
from ..spec import SpecError
from ..i18n import N_, _, current
from .common import PERSIST, chart, uploaded_config
from .context import ViewContext

#: The table's headers (the DataFrame keeps English keys; they are drawn translated).
COLUMN_LABELS = {
    "block": N_("block"),
    "widths (current)": N_("widths (current)"), "widths (other)": N_("widths (other)"),
    "output (current)": N_("output (current)"), "output (other)": N_("output (other)"),
    "params (current)": N_("params (current)"), "params (other)": N_("params (other)"), "Δ params": N_("Δ params"),
    "MACs (current)": N_("MACs (current)"), "MACs (other)": N_("MACs (other)"), "Δ MACs": N_("Δ MACs"),
}
UPLOADED = "an uploaded config"
#: The chart's metric options as they always read here (short: the figure's title says the unit).
CHART_LABELS = {"params": N_("params"), "macs": N_("macs")}


def blocks_compare(a, b) -> pd.DataFrame:
    """Per block (the union of both models' blocks) and for the whole model: widths,
    outputs, params and MACs of ``a`` (current) and ``b`` (other), with deltas."""
    tr = current()
    names = list(a.spec.block_names) + [n for n in b.spec.block_names if n not in a.spec.block_names]
    rows = []
    for n in names:
        ra = a.row(n) if n in a.spec.block_names else None
        rb = b.row(n) if n in b.spec.block_names else None

        def get(r, f):
            return None if r is None else f(r)

        pa, pb = get(ra, lambda r: r.params), get(rb, lambda r: r.params)
        ma, mb = get(ra, lambda r: r.macs), get(rb, lambda r: r.macs)
        rows.append({
            "block": n,
            "widths (current)": get(ra, lambda r: "-".join(map(str, a.spec.block(n).width_tuple))) or "—",
            "widths (other)": get(rb, lambda r: "-".join(map(str, b.spec.block(n).width_tuple))) or "—",
            "output (current)": get(ra, lambda r: shape_str(r.output_shape)) or "—",
            "output (other)": get(rb, lambda r: shape_str(r.output_shape)) or "—",
            "params (current)": tr.int(pa) if pa is not None else "—",
            "params (other)": tr.int(pb) if pb is not None else "—",
            "Δ params": tr.signed_int(pb - pa) if None not in (pa, pb) else "—",
            "MACs (current)": tr.int(ma) if ma is not None else "—",
            "MACs (other)": tr.int(mb) if mb is not None else "—",
            "Δ MACs": tr.signed_int(mb - ma) if None not in (ma, mb) else "—",
        })
    rows.append({
        "block": _("whole model"),
        "params (current)": tr.int(a.total_params), "params (other)": tr.int(b.total_params),
        "Δ params": tr.signed_int(b.total_params - a.total_params),
        "MACs (current)": tr.int(a.total_macs), "MACs (other)": tr.int(b.total_macs),
        "Δ MACs": tr.signed_int(b.total_macs - a.total_macs),
    })
    return pd.DataFrame(rows).fillna("")


def choice_label(choice: str) -> str:
    """A choice of :func:`other_ui` as the page shows it (``preset naive``: the preset's
    name stays, the words are translated)."""
    if choice == UPLOADED:
        return _("an uploaded config")
    return _("preset {name}").format(name=choice.removeprefix("preset "))


def other_ui(spec):
    """``(label, spec)`` of the model to compare with, or ``None`` while there is none."""
    choices = [f"preset {n}" for n in PRESET_NAMES] + [UPLOADED]  # values; format_func draws them translated
    default = choices.index("preset naive") if spec.preset == "googlenet" else 0
    pick = st.selectbox(_("Compare the current model with"), choices, index=default, key="compare-pick", persist_state=PERSIST,
                        format_func=choice_label)
    if pick != UPLOADED:
        other = presets.preset(pick.removeprefix("preset "))
        return other.name, other
    upload = st.file_uploader(_("Config JSON to compare with"), type=["json"], key="compare-upload", max_upload_size=1)
    if upload is None:
        st.info(_("Upload a config JSON (as saved with *Download config JSON*)."))
        return None
    try:
        return upload.name, uploaded_config(upload)
    except SpecError as exc:
        st.error(f"{upload.name}: {exc}")
        return None


def render(ctx: ViewContext) -> None:
    report = ctx.report
    tr = current()
    picked = other_ui(ctx.spec)
    if picked is None:
        return
    label, other = picked
    other_report = counter.analyze(other)
    c = st.columns(3)
    vs_current = _("{delta} vs current")
    c[0].metric(_("Parameters: {model}").format(model=label), tr.int(other_report.total_params),
                vs_current.format(delta=tr.signed_int(other_report.total_params - report.total_params)), delta_color="off")
    c[1].metric(_("MACs: {model}").format(model=label), tr.int(other_report.total_macs),
                vs_current.format(delta=tr.signed_int(other_report.total_macs - report.total_macs)), delta_color="off")
    c[2].metric(_("Output: {model}").format(model=label), shape_str(other_report.output_shape))
    table = blocks_compare(report, other_report)
    st.dataframe(table, width="stretch", hide_index=True,
                 column_config={c: st.column_config.TextColumn(_(COLUMN_LABELS[c])) for c in table.columns})
    metric = st.radio(_("Chart"), ["params", "macs"], horizontal=True, key="compare-metric", persist_state=PERSIST,
                      format_func=lambda m: _(CHART_LABELS[m]))
    if report.blocks or other_report.blocks:
        chart(figures.compare_figure(report, other_report, metric, None, label, tr=tr), "chart-compare")
