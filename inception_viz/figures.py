"""Plotly figures over a :class:`~inception_viz.counter.Report` (pure: they return figures).

The four branches keep :data:`inception_viz.graph.BRANCH_COLORS` in every chart. Hover
text shows exact values with their unit (``12,352 params``, ``9,633,792 MACs``,
``802,816 values = 3,211,264 bytes (float32)``); axes use K/M/G = 1000.

Every function takes an optional ``tr`` (:class:`inception_viz.i18n.Translator`, default
English, whose figures are the historical ones exactly): titles, axes, legends and hovers
in its language, numbers in its format, and Plotly's ``separators`` for it (``",."`` in
Spanish: d3 formats such as ``%{y:,}`` follow them).
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from .counter import Report
from .graph import BRANCH_COLORS, branch_label, shape_str
from .i18n import DEFAULT_LANGUAGE, N_, Translator, resolve
from .spec import BRANCH_KEYS

#: Units of the per-block metrics (msgids).
METRICS = {"params": N_("params"), "macs": N_("MACs")}
FONT = dict(size=16)
HEIGHT = 460

# The white template is plotly's default for the whole process rather than passed per
# figure: a per-figure template is validated and deep-copied every time (~10 ms a figure,
# two thirds of an edit -> views update), the default is applied as is.
pio.templates.default = "plotly_white"


def _figure(traces: list, title: str, yaxis: str, tr: Translator, barmode: str = "stack", yaxis_extra: dict | None = None, **layout) -> go.Figure:
    """A figure created with its whole layout: relaying out afterwards (``update_layout``)
    costs ~4 ms a call, most of an edit -> views update. Plotly's default separators are
    English's, so only another language sets them."""
    if tr.lang != DEFAULT_LANGUAGE:
        layout["separators"] = tr.separators
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


def _branch_bar(key: str, x: list, y: list, customdata: list, hover: str, tr: Translator) -> go.Bar:
    """One branch's bars in its colour; the hover names block and branch, then ``hover``
    (a plotly hover template)."""
    label = branch_label(key, tr)
    return go.Bar(
        name=label,
        x=x,
        y=y,
        marker_color=BRANCH_COLORS[key],
        customdata=customdata,
        hovertemplate=f"<b>%{{x}}</b> · {label}<br>{hover}<extra></extra>",
    )


def _unit(metric: str, tr: Translator) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}. Received: metric={metric!r}")
    return tr.gettext(METRICS[metric])


def block_metric_figure(report: Report, metric: str = "params", tr: Translator | None = None) -> go.Figure:
    """Per block, ``params`` or ``macs`` stacked by branch (the 3x3/5x5 bars include
    their 1x1 reductions; the pool bar is its projection)."""
    tr = resolve(tr)
    unit = _unit(metric, tr)
    blocks = report.blocks
    names = [b.name for b in blocks]
    traces = []
    for key in BRANCH_KEYS:
        values = [getattr(b.branches[key], metric) for b in blocks]
        totals = [getattr(b, metric) for b in blocks]
        custom = [
            [tr.int(v), tr.int(t), tr.percent(v / t if t else 0, 1)] for v, t in zip(values, totals)
        ]
        hover = tr.gettext("{value} {unit} ({share} of the block's {total})").format(
            value="%{customdata[0]}", unit=unit, share="%{customdata[2]}", total="%{customdata[1]}"
        )
        traces.append(_branch_bar(key, names, values, custom, hover, tr))
    title = tr.gettext("Parameters per block, by branch") if metric == "params" else tr.gettext("Multiply-adds per block, by branch")
    return _figure(traces, title, tr.gettext("{unit} (K/M = 1000)").format(unit=unit), tr)


def channel_flow_figure(report: Report, tr: Translator | None = None) -> go.Figure:
    """How each concat's depth is made of its branches, block after block, with the
    channels entering each block as a line (192 → 256 → 480 → … → 1024)."""
    tr = resolve(tr)
    blocks = report.blocks
    names = [b.name for b in blocks]
    traces = []
    for key in BRANCH_KEYS:
        values = [b.branches[key].channels for b in blocks]
        hover = tr.gettext("{value} channels of {total}").format(value="%{y:,}", total="%{customdata[0]}")
        traces.append(_branch_bar(key, names, values, [[tr.int(b.output_shape[2])] for b in blocks], hover, tr))
    traces.append(go.Scatter(
        name=tr.gettext("channels in"),
        x=names,
        y=[b.input_shape[2] for b in blocks],
        mode="lines+markers",
        line=dict(color="#333333", dash="dot", width=3),
        marker=dict(size=10),
        hovertemplate="<b>%{x}</b><br>" + tr.gettext("{value} channels in").format(value="%{y:,}") + "<extra></extra>",
    ))
    traces.append(go.Scatter(
        x=names,
        y=[b.output_shape[2] for b in blocks],
        mode="text",
        text=[tr.int(b.output_shape[2]) for b in blocks],
        textposition="top center",
        showlegend=False,
        hoverinfo="skip",
    ))
    flow = " → ".join([str(blocks[0].input_shape[2])] + [str(b.output_shape[2]) for b in blocks]) if blocks else ""
    return _figure(traces, tr.gettext("Channel flow: {flow}").format(flow=flow), tr.gettext("channels (concat depth)"), tr)


def branch_share_figure(report: Report, metric: str = "params", tr: Translator | None = None) -> go.Figure:
    """Each branch's share of its block (percent of the block's ``params`` or ``macs``)."""
    tr = resolve(tr)
    unit = _unit(metric, tr)
    blocks = report.blocks
    names = [b.name for b in blocks]
    traces = []
    for key in BRANCH_KEYS:
        values, custom = [], []
        for b in blocks:
            v, t = getattr(b.branches[key], metric), getattr(b, metric)
            values.append(100.0 * v / t if t else 0.0)
            custom.append([tr.int(v), tr.int(t)])
        hover = tr.gettext("{share} % = {value} of {total} {unit}").format(
            share="%{y:.1f}", value="%{customdata[0]}", total="%{customdata[1]}", unit=unit
        )
        traces.append(_branch_bar(key, names, values, custom, hover, tr))
    return _figure(
        traces,
        tr.gettext("Branch share of each block's {unit}").format(unit=unit),
        tr.gettext("share of {unit}").format(unit=unit),
        tr,
        yaxis_extra=dict(range=[0, 100], ticksuffix=" %"),
    )


def activation_memory_figure(report: Report, bytes_per_value: int = 4, tr: Translator | None = None) -> go.Figure:
    """Activation memory per layer for one image (float32 by default), blocks coloured
    by how much each branch contributes to the concat."""
    tr = resolve(tr)
    rows = [r for r in report.rows if not r.aux]
    names = [r.name for r in rows]
    traces = []

    def hover(values: int) -> str:
        return tr.gettext("{values} values = {bytes} bytes").format(values=tr.int(values), bytes=tr.int(values * bytes_per_value))

    other = [0 if r.kind == "inception" else r.activations * bytes_per_value for r in rows]
    traces.append(go.Bar(
        name=tr.gettext("layer output"),
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
        traces.append(_branch_bar(key, names, vals, custom, "%{customdata[0]}", tr))
    total = sum(r.activations for r in rows) * bytes_per_value
    return _figure(
        traces,
        tr.gettext("Activation memory per layer (float32, one image): {total} bytes in all").format(total=tr.int(total)),
        tr.gettext("MiB (2^20 bytes)"),
        tr,
    )


def compare_figure(
    a: Report, b: Report, metric: str = "params", label_a: str | None = None, label_b: str | None = None, tr: Translator | None = None
) -> go.Figure:
    """Per block, ``metric`` of ``a`` beside ``b`` (blocks matched by name); the labels
    default to "current" and "other" in ``tr``'s language."""
    tr = resolve(tr)
    unit = _unit(metric, tr)
    label_a = tr.gettext("current") if label_a is None else label_a
    label_b = tr.gettext("other") if label_b is None else label_b
    names = [r.name for r in a.blocks] + [r.name for r in b.blocks if r.name not in {x.name for x in a.blocks}]
    traces = []
    for rep, label, color in ((a, label_a, "#0072B2"), (b, label_b, "#D55E00")):
        by = {r.name: getattr(r, metric) for r in rep.blocks}
        traces.append(go.Bar(
            name=label,
            x=names,
            y=[by.get(n) for n in names],
            marker_color=color,
            customdata=[[tr.int(by[n]) if n in by else tr.gettext("absent")] for n in names],
            hovertemplate=f"<b>%{{x}}</b> · {label}<br>%{{customdata[0]}} {unit}<extra></extra>",
        ))
    title = tr.gettext("{unit} per block: {a} vs {b}").format(unit=unit, a=label_a, b=label_b)
    return _figure(traces, title, unit, tr, barmode="group")


#: Layers that keep their input's receptive field, left out of the field chart.
_SAME_FIELD_KINDS = ("lrn", "dropout", "softmax")


def receptive_field_figure(report: Report, axis: int = 0, tr: Translator | None = None) -> go.Figure:
    """Theoretical receptive field size per layer along the main path (a line, 7 px →
    907 px for GoogLeNet) with, at each block, one bar per branch in its colour (a
    dropped branch has none); the input's side as a dashed line. ``axis``: 0 = height,
    1 = width (they differ only for non-square inputs). Layers that keep the field
    (LRN, dropout, softmax) are left out."""
    if axis not in (0, 1):
        raise ValueError(f"axis must be 0 (height) or 1 (width). Received: axis={axis!r}")
    tr = resolve(tr)
    rows = [r for r in report.rows if not r.aux and r.kind not in _SAME_FIELD_KINDS]
    names = [r.name for r in rows]
    side = report.spec.input_shape[axis]
    what = tr.gettext("height") if axis == 0 else tr.gettext("width")

    def hover_data(f) -> list[str]:
        return [f"{f.size[0]}x{f.size[1]}", f"{f.jump[0]}x{f.jump[1]}", f"({f.start[0]}, {f.start[1]})"]

    field_hover = tr.gettext("field {size} px, jump {jump} px, first centre {start}").format(
        size="%{customdata[0]}", jump="%{customdata[1]}", start="%{customdata[2]}"
    )
    traces = []
    for key in BRANCH_KEYS:
        values, custom = [], []
        for r in rows:
            f = r.branches[key].receptive_field if r.branches else None
            values.append(f.size[axis] if f else None)
            custom.append(hover_data(f) if f else ["", "", ""])
        traces.append(_branch_bar(key, names, values, custom, field_hover, tr))
    fields = [r.receptive_field for r in rows]
    traces.append(go.Scatter(
        name=tr.gettext("layer / block (concat)"),
        x=names,
        y=[f.size[axis] for f in fields],
        mode="lines+markers+text",
        text=[f.label for f in fields],
        textposition="top center",
        line=dict(color="#333333", width=3),
        marker=dict(size=9),
        customdata=[hover_data(f) for f in fields],
        hovertemplate="<b>%{x}</b><br>" + field_hover + "<extra></extra>",
    ))
    input_side = tr.gettext("input {what}: {side} px").format(what=what, side=side)
    traces.append(go.Scatter(
        name=tr.gettext("input {what} ({side} px)").format(what=what, side=side),
        x=[names[0], names[-1]] if names else [],
        y=[side, side],
        mode="lines",
        line=dict(color="#D55E00", dash="dash", width=2),
        hovertemplate=f"{input_side}<extra></extra>",
    ))
    growth = f"{fields[0].size[axis]} px → {fields[-1].size[axis]} px" if fields else ""
    top = max([side, *(f.size[axis] for f in fields)])
    return _figure(
        traces,
        tr.gettext("Receptive field per layer ({what}): {growth}").format(what=what, growth=growth),
        tr.gettext("field {what} (input pixels)").format(what=what),
        tr,
        barmode="group",
        yaxis_extra=dict(range=[0, top * 1.15]),  # room for the labels above the line
    )


def latency_figure(timings, tr: Translator | None = None) -> go.Figure:
    """Per-block latency (ms) with achieved GFLOP/s (= 2 * MACs / time) in the hover;
    ``timings`` are :class:`inception_viz.profile.BlockTiming`."""
    tr = resolve(tr)
    timings = list(timings)
    traces = []
    traces.append(go.Bar(
        name=tr.gettext("latency"),
        x=[t.name for t in timings],
        y=[t.ms for t in timings],
        marker_color="#0072B2",
        customdata=[[tr.decimal(t.ms, 3, group=False), tr.int(t.macs), tr.decimal(t.gflops, 1, group=False)] for t in timings],
        hovertemplate="<b>%{x}</b><br>"
        + tr.gettext("{ms} ms (median)<br>{macs} MACs<br>{gflops} GFLOP/s achieved").format(
            ms="%{customdata[0]}", macs="%{customdata[1]}", gflops="%{customdata[2]}"
        )
        + "<extra></extra>",
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
        tr.gettext("Latency per block"),
        tr.gettext("ms per forward pass (median)"),
        tr,
        barmode="group",
        # an overlaying axis syncs its ticks to the primary grid by default (34.8, 69.6,
        # 104.4 …): give it its own round ticks, and no second grid
        yaxis2=dict(title=dict(text=tr.gettext("GFLOP/s (2 x MACs / time)")), overlaying="y", side="right", rangemode="tozero",
                    tickmode="auto", showgrid=False),
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
