"""Plotly figures over a :class:`~inception_viz.counter.Report` (pure: they return figures).

The four branches keep :data:`inception_viz.graph.BRANCH_COLORS` in every chart. Hover
text shows exact values with their unit (``12,352 params``, ``9,633,792 MACs``,
``802,816 values = 3,211,264 bytes (float32)``); axes use K/M/G = 1000.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from .counter import Report, fmt_int
from .graph import BRANCH_COLORS, BRANCH_LABELS, shape_str
from .spec import BRANCH_KEYS

#: Units of the per-block metrics.
METRICS = {"params": "params", "macs": "MACs"}
FONT = dict(size=16)
HEIGHT = 460

# The white template is plotly's default for the whole process rather than passed per
# figure: a per-figure template is validated and deep-copied every time (~10 ms a figure,
# two thirds of an edit -> views update), the default is applied as is.
pio.templates.default = "plotly_white"


def _figure(traces: list, title: str, yaxis: str, barmode: str = "stack", yaxis_extra: dict | None = None, **layout) -> go.Figure:
    """A figure created with its whole layout: relaying out afterwards (``update_layout``)
    costs ~4 ms a call, most of an edit -> views update."""
    return go.Figure(
        data=traces,
        layout=dict(
            title=dict(text=title),
            barmode=barmode,
            font=FONT,
            height=HEIGHT,
            yaxis=dict(title=dict(text=yaxis), **(yaxis_extra or {})),
            legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0, traceorder="normal"),
            margin=dict(l=60, r=20, t=80, b=60),
            hoverlabel=dict(font_size=15),
            **layout,
        ),
    )


def _branch_bar(key: str, x: list, y: list, customdata: list, hover: str) -> go.Bar:
    """One branch's bars in its colour; the hover names block and branch, then ``hover``
    (a plotly hover template)."""
    return go.Bar(
        name=BRANCH_LABELS[key],
        x=x,
        y=y,
        marker_color=BRANCH_COLORS[key],
        customdata=customdata,
        hovertemplate=f"<b>%{{x}}</b> · {BRANCH_LABELS[key]}<br>{hover}<extra></extra>",
    )


def block_metric_figure(report: Report, metric: str = "params") -> go.Figure:
    """Per block, ``params`` or ``macs`` stacked by branch (the 3x3/5x5 bars include
    their 1x1 reductions; the pool bar is its projection)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}. Received: metric={metric!r}")
    unit = METRICS[metric]
    blocks = report.blocks
    names = [b.name for b in blocks]
    traces = []
    for key in BRANCH_KEYS:
        values = [getattr(b.branches[key], metric) for b in blocks]
        totals = [getattr(b, metric) for b in blocks]
        custom = [
            [fmt_int(v), fmt_int(t), f"{(v / t if t else 0):.1%}"] for v, t in zip(values, totals)
        ]
        traces.append(_branch_bar(
            key, names, values, custom,
            f"%{{customdata[0]}} {unit} (%{{customdata[2]}} of the block's %{{customdata[1]}})",
        ))
    title = "Parameters per block, by branch" if metric == "params" else "Multiply-adds per block, by branch"
    return _figure(traces, title, f"{unit} (K/M = 1000)")


def channel_flow_figure(report: Report) -> go.Figure:
    """How each concat's depth is made of its branches, block after block, with the
    channels entering each block as a line (192 → 256 → 480 → … → 1024)."""
    blocks = report.blocks
    names = [b.name for b in blocks]
    traces = []
    for key in BRANCH_KEYS:
        values = [b.branches[key].channels for b in blocks]
        traces.append(_branch_bar(
            key, names, values, [[fmt_int(b.output_shape[2])] for b in blocks], "%{y:,} channels of %{customdata[0]}"
        ))
    traces.append(go.Scatter(
        name="channels in",
        x=names,
        y=[b.input_shape[2] for b in blocks],
        mode="lines+markers",
        line=dict(color="#333333", dash="dot", width=3),
        marker=dict(size=10),
        hovertemplate="<b>%{x}</b><br>%{y:,} channels in<extra></extra>",
    ))
    traces.append(go.Scatter(
        x=names,
        y=[b.output_shape[2] for b in blocks],
        mode="text",
        text=[fmt_int(b.output_shape[2]) for b in blocks],
        textposition="top center",
        showlegend=False,
        hoverinfo="skip",
    ))
    flow = " → ".join([str(blocks[0].input_shape[2])] + [str(b.output_shape[2]) for b in blocks]) if blocks else ""
    return _figure(traces, f"Channel flow: {flow}", "channels (concat depth)")


def branch_share_figure(report: Report, metric: str = "params") -> go.Figure:
    """Each branch's share of its block (percent of the block's ``params`` or ``macs``)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}. Received: metric={metric!r}")
    unit = METRICS[metric]
    blocks = report.blocks
    names = [b.name for b in blocks]
    traces = []
    for key in BRANCH_KEYS:
        values, custom = [], []
        for b in blocks:
            v, t = getattr(b.branches[key], metric), getattr(b, metric)
            values.append(100.0 * v / t if t else 0.0)
            custom.append([fmt_int(v), fmt_int(t)])
        traces.append(_branch_bar(
            key, names, values, custom, f"%{{y:.1f}} % = %{{customdata[0]}} of %{{customdata[1]}} {unit}"
        ))
    return _figure(
        traces, f"Branch share of each block's {unit}", f"share of {unit}", yaxis_extra=dict(range=[0, 100], ticksuffix=" %")
    )


def activation_memory_figure(report: Report, bytes_per_value: int = 4) -> go.Figure:
    """Activation memory per layer for one image (float32 by default), blocks coloured
    by how much each branch contributes to the concat."""
    rows = [r for r in report.rows if not r.aux]
    names = [r.name for r in rows]
    traces = []

    def hover(values: int) -> str:
        return f"{fmt_int(values)} values = {fmt_int(values * bytes_per_value)} bytes"

    other = [0 if r.kind == "inception" else r.activations * bytes_per_value for r in rows]
    traces.append(go.Bar(
        name="layer output",
        x=names,
        y=[v / 2**20 for v in other],
        marker_color="#888888",
        customdata=[[hover(r.activations), shape_str(r.output_shape)] for r in rows],
        hovertemplate="<b>%{x}</b> %{customdata[1]}<br>%{customdata[0]}<extra></extra>",
    ))
    for key in BRANCH_KEYS:
        vals, custom = [], []
        for r in rows:
            if r.kind == "inception":
                h, w, _ = r.output_shape
                n = h * w * r.branches[key].channels
            else:
                n = 0
            vals.append(n * bytes_per_value / 2**20)
            custom.append([hover(n), shape_str(r.output_shape)])
        traces.append(_branch_bar(key, names, vals, custom, "%{customdata[0]}"))
    total = sum(r.activations for r in rows) * bytes_per_value
    return _figure(
        traces,
        f"Activation memory per layer (float32, one image): {fmt_int(total)} bytes in all",
        "MiB (2^20 bytes)",
    )


def compare_figure(a: Report, b: Report, metric: str = "params", label_a: str = "current", label_b: str = "other") -> go.Figure:
    """Per block, ``metric`` of ``a`` beside ``b`` (blocks matched by name)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}. Received: metric={metric!r}")
    unit = METRICS[metric]
    names = [r.name for r in a.blocks] + [r.name for r in b.blocks if r.name not in {x.name for x in a.blocks}]
    traces = []
    for rep, label, color in ((a, label_a, "#0072B2"), (b, label_b, "#D55E00")):
        by = {r.name: getattr(r, metric) for r in rep.blocks}
        traces.append(go.Bar(
            name=label,
            x=names,
            y=[by.get(n) for n in names],
            marker_color=color,
            customdata=[[fmt_int(by[n]) if n in by else "absent"] for n in names],
            hovertemplate=f"<b>%{{x}}</b> · {label}<br>%{{customdata[0]}} {unit}<extra></extra>",
        ))
    return _figure(traces, f"{unit} per block: {label_a} vs {label_b}", unit, barmode="group")


#: Layers that keep their input's receptive field, left out of the field chart.
_SAME_FIELD_KINDS = ("lrn", "dropout", "softmax")


def receptive_field_figure(report: Report, axis: int = 0) -> go.Figure:
    """Theoretical receptive field size per layer along the main path (a line, 7 px →
    907 px for GoogLeNet) with, at each block, one bar per branch in its colour (a
    dropped branch has none); the input's side as a dashed line. ``axis``: 0 = height,
    1 = width (they differ only for non-square inputs). Layers that keep the field
    (LRN, dropout, softmax) are left out."""
    if axis not in (0, 1):
        raise ValueError(f"axis must be 0 (height) or 1 (width). Received: axis={axis!r}")
    rows = [r for r in report.rows if not r.aux and r.kind not in _SAME_FIELD_KINDS]
    names = [r.name for r in rows]
    side = report.spec.input_shape[axis]
    what = "height" if axis == 0 else "width"

    def hover_data(f) -> list[str]:
        return [f"{f.size[0]}x{f.size[1]}", f"{f.jump[0]}x{f.jump[1]}", f"({f.start[0]}, {f.start[1]})"]

    traces = []
    for key in BRANCH_KEYS:
        values, custom = [], []
        for r in rows:
            f = r.branches[key].receptive_field if r.branches else None
            values.append(f.size[axis] if f else None)
            custom.append(hover_data(f) if f else ["", "", ""])
        traces.append(_branch_bar(key, names, values, custom,
                                  "field %{customdata[0]} px, jump %{customdata[1]} px, first centre %{customdata[2]}"))
    fields = [r.receptive_field for r in rows]
    traces.append(go.Scatter(
        name="layer / block (concat)",
        x=names,
        y=[f.size[axis] for f in fields],
        mode="lines+markers+text",
        text=[f.label for f in fields],
        textposition="top center",
        line=dict(color="#333333", width=3),
        marker=dict(size=9),
        customdata=[hover_data(f) for f in fields],
        hovertemplate="<b>%{x}</b><br>field %{customdata[0]} px, jump %{customdata[1]} px, "
                      "first centre %{customdata[2]}<extra></extra>",
    ))
    traces.append(go.Scatter(
        name=f"input {what} ({side} px)",
        x=[names[0], names[-1]] if names else [],
        y=[side, side],
        mode="lines",
        line=dict(color="#D55E00", dash="dash", width=2),
        hovertemplate=f"input {what}: {side} px<extra></extra>",
    ))
    growth = f"{fields[0].size[axis]} px → {fields[-1].size[axis]} px" if fields else ""
    top = max([side, *(f.size[axis] for f in fields)])
    return _figure(
        traces,
        f"Receptive field per layer ({what}): {growth}",
        f"field {what} (input pixels)",
        barmode="group",
        yaxis_extra=dict(range=[0, top * 1.15]),  # room for the labels above the line
    )


def latency_figure(timings) -> go.Figure:
    """Per-block latency (ms) with achieved GFLOP/s (= 2 * MACs / time) in the hover;
    ``timings`` are :class:`inception_viz.profile.BlockTiming`."""
    timings = list(timings)
    traces = []
    traces.append(go.Bar(
        name="latency",
        x=[t.name for t in timings],
        y=[t.ms for t in timings],
        marker_color="#0072B2",
        customdata=[[f"{t.ms:.3f}", fmt_int(t.macs), f"{t.gflops:.1f}"] for t in timings],
        hovertemplate="<b>%{x}</b><br>%{customdata[0]} ms (median)<br>%{customdata[1]} MACs<br>%{customdata[2]} GFLOP/s achieved<extra></extra>",
    ))
    traces.append(go.Scatter(
        name="GFLOP/s",
        x=[t.name for t in timings],
        y=[t.gflops for t in timings],
        yaxis="y2",
        mode="lines+markers",
        line=dict(color="#D55E00", width=3),
        hovertemplate="<b>%{x}</b><br>%{y:.1f} GFLOP/s<extra></extra>",
    ))
    return _figure(
        traces,
        "Latency per block",
        "ms per forward pass (median)",
        barmode="group",
        yaxis2=dict(title=dict(text="GFLOP/s (2 x MACs / time)"), overlaying="y", side="right", rangemode="tozero"),
    )


__all__ = [
    "block_metric_figure",
    "channel_flow_figure",
    "branch_share_figure",
    "activation_memory_figure",
    "compare_figure",
    "latency_figure",
    "receptive_field_figure",
    "METRICS",
]
