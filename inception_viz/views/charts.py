"""Charts: per-block parameters / MACs by branch, channel flow, branch share, activation memory,
receptive field size per layer."""

from __future__ import annotations

import streamlit as st

from .. import figures
from ..i18n import N_, _, current
from .common import PERSIST, chart
from .context import ViewContext

#: The per-block metric's options (URL/widget values stay English; labels are msgids).
METRIC_LABELS = {"params": N_("parameters"), "macs": N_("multiply-adds (MACs)")}


def render(ctx: ViewContext) -> None:
    report = ctx.report
    tr = current()
    if not report.blocks:
        chart(figures.activation_memory_figure(report, tr=tr), "chart-mem")
        field_chart(report)
        return
    metric = st.radio(_("Per-block metric"), ["params", "macs"], horizontal=True, key="chart-metric", persist_state=PERSIST,
                      format_func=lambda m: _(METRIC_LABELS[m]))
    chart(figures.block_metric_figure(report, metric, tr=tr), "chart-blocks")
    chart(figures.channel_flow_figure(report, tr=tr), "chart-flow")
    chart(figures.branch_share_figure(report, metric, tr=tr), "chart-share")
    chart(figures.activation_memory_figure(report, tr=tr), "chart-mem")
    field_chart(report)


def field_chart(report) -> None:
    """Theoretical receptive field size per layer (GoogLeNet: 7 px to 907 px). For a
    non-square input the fields differ per axis: a switch picks height or width."""
    tr = current()
    h, w = report.spec.input_shape[:2]
    axis = 0
    if h != w:
        axis = st.radio(_("Receptive field along"), (0, 1), horizontal=True, key="chart-rf-axis", persist_state=PERSIST,
                        format_func=lambda a: (_("height ({px} px)").format(px=h) if a == 0
                                               else _("width ({px} px)").format(px=w)))
    chart(figures.receptive_field_figure(report, axis, tr=tr), "chart-rf")
