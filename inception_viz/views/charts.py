"""Charts: per-block parameters / MACs by branch, channel flow, branch share, activation memory,
receptive field size per layer."""

from __future__ import annotations

import streamlit as st

from .. import figures
from .common import PERSIST, chart
from .context import ViewContext


def render(ctx: ViewContext) -> None:
    report = ctx.report
    if not report.blocks:
        chart(figures.activation_memory_figure(report), "chart-mem")
        field_chart(report)
        return
    metric = st.radio("Per-block metric", ["params", "macs"], horizontal=True, key="chart-metric", persist_state=PERSIST,
                      format_func=lambda m: "parameters" if m == "params" else "multiply-adds (MACs)")
    chart(figures.block_metric_figure(report, metric), "chart-blocks")
    chart(figures.channel_flow_figure(report), "chart-flow")
    chart(figures.branch_share_figure(report, metric), "chart-share")
    chart(figures.activation_memory_figure(report), "chart-mem")
    field_chart(report)


def field_chart(report) -> None:
    """Theoretical receptive field size per layer (GoogLeNet: 7 px to 907 px). For a
    non-square input the fields differ per axis: a switch picks height or width."""
    h, w = report.spec.input_shape[:2]
    axis = 0
    if h != w:
        axis = st.radio("Receptive field along", (0, 1), horizontal=True, key="chart-rf-axis", persist_state=PERSIST,
                        format_func=lambda a: f"height ({h} px)" if a == 0 else f"width ({w} px)")
    chart(figures.receptive_field_figure(report, axis), "chart-rf")
