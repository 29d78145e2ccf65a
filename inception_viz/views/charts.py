"""Charts: per-block parameters / MACs by branch, channel flow, branch share, activation memory."""

from __future__ import annotations

import streamlit as st

from .. import figures
from .common import PERSIST, chart
from .context import ViewContext


def render(ctx: ViewContext) -> None:
    report = ctx.report
    if not report.blocks:
        chart(figures.activation_memory_figure(report), "chart-mem")
        return
    metric = st.radio("Per-block metric", ["params", "macs"], horizontal=True, key="chart-metric", persist_state=PERSIST,
                      format_func=lambda m: "parameters" if m == "params" else "multiply-adds (MACs)")
    chart(figures.block_metric_figure(report, metric), "chart-blocks")
    chart(figures.channel_flow_figure(report), "chart-flow")
    chart(figures.branch_share_figure(report, metric), "chart-share")
    chart(figures.activation_memory_figure(report), "chart-mem")
