"""Compare: the current model against a preset or an uploaded config, per block."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import config, counter, figures, presets
from ..counter import fmt_int
from ..graph import shape_str
from ..presets import PRESET_NAMES
from ..spec import SpecError
from ..i18n import N_, _, current
from .common import PERSIST, chart, error, uploaded_config
from .context import ViewContext

#: The on-screen table's headers (:func:`compact_table` keeps English keys; they are drawn
#: translated).
COLUMN_LABELS = {
    "block": N_("block"), "widths (other)": N_("widths (other)"),
    "output (current)": N_("output (current)"), "output (other)": N_("output (other)"),
    "params K (current)": N_("params K (current)"), "params K (other)": N_("params K (other)"), "Δ params": N_("Δ params"),
    "MACs M (current)": N_("MACs M (current)"), "MACs M (other)": N_("MACs M (other)"), "Δ MACs": N_("Δ MACs"),
}
#: Column help (msgids) of the rounded columns.
COLUMN_HELP = {
    "params K (current)": N_("parameters in K = 1000; exact value in the CSV download below"),
    "params K (other)": N_("parameters in K = 1000; exact value in the CSV download below"),
    "MACs M (current)": N_("multiply-adds in M = 10^6; exact value in the CSV download below"),
    "MACs M (other)": N_("multiply-adds in M = 10^6; exact value in the CSV download below"),
}
#: The row of the whole model (the CSV's English word; drawn translated).
WHOLE_MODEL = N_("whole model")
UPLOADED = "an uploaded config"
#: The chart's metric options as they always read here (short: the figure's title says the unit).
CHART_LABELS = {"params": N_("params"), "macs": N_("macs")}


def blocks_compare(a, b) -> pd.DataFrame:
    """Per block (the union of both models' blocks) and for the whole model: widths,
    outputs, params and MACs of ``a`` (current) and ``b`` (other), with deltas. The CSV
    download's table: a file format, so its keys and numbers stay English in every
    language (as the CLI's CSV); :func:`compact_table` is what the page shows."""
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
            "params (current)": fmt_int(pa) if pa is not None else "—",
            "params (other)": fmt_int(pb) if pb is not None else "—",
            "Δ params": f"{pb - pa:+,}" if None not in (pa, pb) else "—",
            "MACs (current)": fmt_int(ma) if ma is not None else "—",
            "MACs (other)": fmt_int(mb) if mb is not None else "—",
            "Δ MACs": f"{mb - ma:+,}" if None not in (ma, mb) else "—",
        })
    rows.append({
        "block": WHOLE_MODEL,
        "params (current)": fmt_int(a.total_params), "params (other)": fmt_int(b.total_params),
        "Δ params": f"{b.total_params - a.total_params:+,}",
        "MACs (current)": fmt_int(a.total_macs), "MACs (other)": fmt_int(b.total_macs),
        "Δ MACs": f"{b.total_macs - a.total_macs:+,}",
    })
    return pd.DataFrame(rows).fillna("")


def compact_table(exact: pd.DataFrame) -> pd.DataFrame:
    """:func:`blocks_compare` narrow enough for a projected page: one *widths* and one
    *output* column for the other model (``same`` where it equals the current one),
    params in K and MACs in M (K = 1000, M = 10^6; the exact numbers are in the CSV download and the
    CSV download); the deltas stay exact. Words and numbers in the page's language."""
    tr = current()

    def value(text: str) -> int:
        return int(text.replace(",", ""))  # the exact table's English grouping

    def num(text: str, unit: float) -> str:
        return text if text in ("", "—") else tr.decimal(value(text) / unit, 1)

    def delta(text: str) -> str:
        return text if text in ("", "—") else tr.signed_int(value(text))

    def other_or_same(cur: str, oth: str) -> str:
        return "" if not cur and not oth else (_("same") if cur == oth else oth)

    return pd.DataFrame({
        "block": [_(WHOLE_MODEL) if n == WHOLE_MODEL else n for n in exact["block"]],
        "widths (other)": [other_or_same(c, o) for c, o in zip(exact["widths (current)"], exact["widths (other)"])],
        "output (current)": exact["output (current)"],
        "output (other)": [other_or_same(c, o) for c, o in zip(exact["output (current)"], exact["output (other)"])],
        "params K (current)": [num(v, 1e3) for v in exact["params (current)"]],
        "params K (other)": [num(v, 1e3) for v in exact["params (other)"]],
        "Δ params": [delta(v) for v in exact["Δ params"]],
        "MACs M (current)": [num(v, 1e6) for v in exact["MACs (current)"]],
        "MACs M (other)": [num(v, 1e6) for v in exact["MACs (other)"]],
        "Δ MACs": [delta(v) for v in exact["Δ MACs"]],
    })


#: The model a comparison starts from, per preset: not the preset itself (every row
#: would read +0), but the one a lecture contrasts it with.
DEFAULT_OTHER = {"googlenet": "naive", "naive": "googlenet", "simplified": "googlenet", "block": "googlenet"}


def choice_label(choice: str) -> str:
    """A choice of :func:`other_ui` as the page shows it (``preset naive``: the preset's
    name stays, the words are translated)."""
    if choice == UPLOADED:
        return _("an uploaded config")
    return _("preset {name}").format(name=choice.removeprefix("preset "))


def other_ui(spec):
    """``(label, spec)`` of the model to compare with, or ``None`` while there is none.

    The choice is kept per preset (its key names the preset): after a preset switch the
    comparison starts again from :data:`DEFAULT_OTHER`, never from a stale pick that may
    now be the current model itself."""
    choices = [f"preset {n}" for n in PRESET_NAMES] + [UPLOADED]  # values; format_func draws them translated
    default = choices.index(f"preset {DEFAULT_OTHER.get(spec.preset, 'googlenet')}")
    pick = st.selectbox(_("Compare the current model with"), choices, index=default, key=f"compare-pick@{spec.preset}",
                        persist_state=PERSIST, format_func=choice_label)
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
        error(f"{upload.name}: {exc}")
        return None


def render(ctx: ViewContext) -> None:
    report = ctx.report
    tr = current()
    picked = other_ui(ctx.spec)
    if picked is None:
        return
    label, other = picked
    if other == ctx.spec:
        st.info(_("Same as current: the current model is the {preset} preset itself, so every difference is 0. "
                  "Pick another preset, or edit the model first.").format(preset=label))
        return
    other_report = counter.analyze(other)
    c = st.columns(3)
    vs_current = _("{delta} vs current")
    c[0].metric(_("Parameters: {model}").format(model=label), tr.int(other_report.total_params),
                vs_current.format(delta=tr.signed_int(other_report.total_params - report.total_params)), delta_color="off")
    c[1].metric(_("MACs: {model}").format(model=label), tr.int(other_report.total_macs),
                vs_current.format(delta=tr.signed_int(other_report.total_macs - report.total_macs)), delta_color="off")
    c[2].metric(_("Output: {model}").format(model=label), shape_str(other_report.output_shape))
    exact = blocks_compare(report, other_report)
    st.caption(_("Current model against {model}, per block. Δ = other − current, exact. Params in K and MACs in M "
                 "(K = 1000, M = 10^6); the CSV below holds every number exactly.").format(model=label))
    shown = compact_table(exact)
    st.dataframe(shown, width="stretch", hide_index=True, column_config={
        c: st.column_config.TextColumn(_(COLUMN_LABELS[c]), help=_(COLUMN_HELP[c]) if c in COLUMN_HELP else None)
        for c in shown.columns
    })
    # the CSV is a file format: English keys and numbers; its name's word is translated
    csv_name = _("compare-{current}-vs-{other}.csv").format(current=config.file_stem(ctx.spec), other=config.file_stem(other))
    st.download_button(_("Download the comparison (CSV, exact numbers)"), exact.to_csv(index=False),
                       file_name=csv_name, mime="text/csv", key="compare-csv")
    metric = st.radio(_("Chart"), ["params", "macs"], horizontal=True, key="compare-metric", persist_state=PERSIST,
                      format_func=lambda m: _(CHART_LABELS[m]))
    if report.blocks or other_report.blocks:
        chart(figures.compare_figure(report, other_report, metric, None, label, tr=tr), "chart-compare")
