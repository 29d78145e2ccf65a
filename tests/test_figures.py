"""Plotly figures: the numbers they plot equal the counter's, hovers are exact, and the
branch colours are the graph's."""

from __future__ import annotations

import pytest

from inception_viz import counter, figures, presets
from inception_viz.graph import BRANCH_COLORS, BRANCH_LABELS
from inception_viz.profile import BlockTiming
from inception_viz.spec import BRANCH_KEYS

GOOGLENET = counter.analyze(presets.preset("googlenet"))


def _branch_traces(fig):
    by_label = {t.name: t for t in fig.data}
    return {k: by_label[BRANCH_LABELS[k]] for k in BRANCH_KEYS}


@pytest.mark.parametrize("metric", ["params", "macs"])
def test_block_bars_stack_to_block_totals(metric):
    fig = figures.block_metric_figure(GOOGLENET, metric)
    traces = _branch_traces(fig)
    assert fig.layout.barmode == "stack"
    for i, row in enumerate(GOOGLENET.blocks):
        assert sum(traces[k].y[i] for k in BRANCH_KEYS) == getattr(row, metric)
    # all blocks together: the model's total minus the stem and head
    non_block = sum(getattr(r, metric) for r in GOOGLENET.rows if r.kind != "inception")
    assert sum(sum(t.y) for t in traces.values()) == getattr(GOOGLENET, f"total_{metric}") - non_block


def test_block_bar_hover_is_exact_with_unit():
    fig = figures.block_metric_figure(GOOGLENET, "params")
    t = _branch_traces(fig)["3x3"]
    # inception_3a's 3x3 branch: reduce 192*96 + 96 = 18,528; conv 9*96*128 + 128 = 110,720
    assert t.customdata[0][0] == "129,248" == f"{18_528 + 110_720:,}"
    assert t.customdata[0][1] == "163,696"
    assert "params" in t.hovertemplate
    macs = _branch_traces(figures.block_metric_figure(GOOGLENET, "macs"))["1x1"]
    # 3a 1x1: 192*64 weights at 28*28 positions = 9,633,792 MACs
    assert macs.customdata[0][0] == f"{192 * 64 * 28 * 28:,}" and "MACs" in macs.hovertemplate


def test_branch_colours_are_the_graphs_everywhere():
    for fig in (
        figures.block_metric_figure(GOOGLENET),
        figures.channel_flow_figure(GOOGLENET),
        figures.branch_share_figure(GOOGLENET),
        figures.activation_memory_figure(GOOGLENET),
    ):
        for key, trace in _branch_traces(fig).items():
            assert trace.marker.color == BRANCH_COLORS[key]


def test_channel_flow_is_the_concat_depths():
    fig = figures.channel_flow_figure(GOOGLENET)
    traces = _branch_traces(fig)
    outs = [sum(traces[k].y[i] for k in BRANCH_KEYS) for i in range(len(GOOGLENET.blocks))]
    # 3a: 64+128+32+32 = 256; 3b: 128+192+96+64 = 480; ...; 5b: 384+384+128+128 = 1024
    assert outs == [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    line = next(t for t in fig.data if t.name == "channels in")
    assert list(line.y) == [192, 256, 480, 512, 512, 512, 528, 832, 832]
    assert fig.layout.title.text == "Channel flow: 192 → 256 → 480 → 512 → 512 → 512 → 528 → 832 → 832 → 1024"


def test_naive_channel_flow_carries_the_input():
    report = counter.analyze(presets.preset("naive"))
    pool = _branch_traces(figures.channel_flow_figure(report))["pool_proj"]
    # unprojected pool: each block passes its input channels on
    assert list(pool.y) == [b.input_shape[2] for b in report.blocks]


@pytest.mark.parametrize("metric", ["params", "macs"])
def test_branch_share_sums_to_100(metric):
    traces = _branch_traces(figures.branch_share_figure(GOOGLENET, metric))
    for i in range(len(GOOGLENET.blocks)):
        assert sum(traces[k].y[i] for k in BRANCH_KEYS) == pytest.approx(100.0)


def test_activation_memory_total_and_hover():
    fig = figures.activation_memory_figure(GOOGLENET)
    rows = [r for r in GOOGLENET.rows if not r.aux]
    total = sum(r.activations for r in rows) * 4
    assert f"{total:,} bytes in all" in fig.layout.title.text
    mib = sum(sum(v for v in t.y) for t in fig.data)
    assert mib * 2**20 == pytest.approx(total)
    conv1 = fig.data[0].customdata[0][0]
    # conv1 output 112x112x64 = 802,816 values = 3,211,264 bytes
    assert conv1 == "802,816 values = 3,211,264 bytes"


def test_compare_figure_and_bad_metric():
    naive = counter.analyze(presets.preset("naive"))
    fig = figures.compare_figure(GOOGLENET, naive, "params", "googlenet", "naive")
    assert [t.name for t in fig.data] == ["googlenet", "naive"]
    assert list(fig.data[0].y) == [b.params for b in GOOGLENET.blocks]
    assert list(fig.data[1].y) == [b.params for b in naive.blocks]
    with pytest.raises(ValueError, match="metric must be one of params, macs"):
        figures.block_metric_figure(GOOGLENET, "flops")


def test_latency_figure_reports_gflops():
    t = BlockTiming("inception_3a", macs=128_049_152, batch=1, ms=2.0, runs=5)
    # 2 * 128,049,152 FLOPs in 2 ms = 128.05 GFLOP/s
    assert t.gflops == pytest.approx(128.049152)
    fig = figures.latency_figure([t])
    assert fig.data[0].customdata[0][2] == "128.0"
    assert fig.data[1].y[0] == pytest.approx(128.049152)
    # Plotly syncs an overlaying axis's ticks to the primary grid unless told otherwise,
    # which drew 34.8, 69.6, 104.4 … on the GFLOP/s axis
    assert fig.layout.yaxis2.tickmode == "auto" and fig.layout.yaxis2.showgrid is False
    assert fig.layout.yaxis.tickmode in (None, "auto")


def test_block_preset_figures():
    report = counter.analyze(presets.preset("block"))
    traces = _branch_traces(figures.channel_flow_figure(report))
    # the seed's demo: 40 + 10 + 30 + 50 = 130 (not 160)
    assert [traces[k].y[0] for k in BRANCH_KEYS] == [40, 10, 30, 50]


def test_receptive_field_figure_growth_and_branches():
    fig = figures.receptive_field_figure(GOOGLENET)
    line = next(t for t in fig.data if t.name == "layer / block (concat)")
    sizes = dict(zip(line.x, line.y))
    # the numbers: conv1 7, pool2 27, 3a 59, 4e 427, 5b 715, pool5 907
    assert [sizes[n] for n in ("conv1", "pool2", "inception_3a", "inception_4e", "inception_5b", "pool5")] == [
        7, 27, 59, 427, 715, 907]
    assert "7 px → 907 px" in fig.layout.title.text
    assert "lrn1" not in sizes and "softmax" not in sizes  # layers that keep the field
    traces = _branch_traces(fig)
    i = list(line.x).index("inception_3a")
    # pool2 sees 27 px with jump 8: 1x1 27, 3x3 27 + 2*8, 5x5 27 + 4*8, pool 27 + 2*8
    assert [traces[k].y[i] for k in BRANCH_KEYS] == [27, 43, 59, 43]
    assert traces["5x5"].marker.color == BRANCH_COLORS["5x5"]
    assert traces["5x5"].y[0] is None  # conv1 is no block
    assert traces["3x3"].customdata[i][1] == "8x8"  # jump in the hover
    dropped = figures.receptive_field_figure(counter.analyze(presets.preset("googlenet").with_block("inception_3a", **{"5x5": 0})))
    assert _branch_traces(dropped)["5x5"].y[i] is None
    wide = figures.receptive_field_figure(counter.analyze(presets.preset("googlenet").with_options(input_shape=(224, 160, 3))), axis=1)
    assert "→ 843 px" in wide.layout.title.text and "width" in wide.layout.title.text
    with pytest.raises(ValueError, match="axis"):
        figures.receptive_field_figure(GOOGLENET, axis=2)
