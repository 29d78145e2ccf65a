"""The analytic counter: golden numbers, each derived in the test from the closed forms
(conv: k*k*cin*cout weights + cout biases, one MAC per weight per output position;
dense: n_in*n_out + n_out), zero-width semantics, sums, and refused input sizes."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inception_viz import counter
from inception_viz.counter import analyze, conv_baseline, fmt_int, fmt_k, min_input_side
from inception_viz.presets import PAPER_WIDTHS, PRESET_NAMES, googlenet, preset
from inception_viz.spec import (
    BRANCH_KEYS,
    WIDTH_KEYS,
    Conv,
    Dense,
    Inception,
    ModelSpec,
    Pool,
    SpecError,
)


# ---------------------------------------------------------------------------------------
# closed forms, written independently of the counter


def conv_params(k, cin, cout):
    """k*k*cin*cout weights + cout biases."""
    return k * k * cin * cout + cout


def conv_macs(k, cin, cout, h, w):
    """one multiply-add per weight per output position."""
    return k * k * cin * cout * h * w


def block_closed_form(cin, widths, h, w):
    """(params, macs, out_channels) of one Inception block on an h x w x cin input,
    under the zero-width rules of spec.py."""
    c1, r3, c3, r5, c5, pp = widths
    convs = []  # (k, cin, cout)
    if c1:
        convs.append((1, cin, c1))
    for r, c, k in ((r3, c3, 3), (r5, c5, 5)):
        if c:
            if r:
                convs += [(1, cin, r), (k, r, c)]
            else:
                convs.append((k, cin, c))
    if pp:
        convs.append((1, cin, pp))
    params = sum(conv_params(*cv) for cv in convs)
    macs = sum(conv_macs(*cv, h, w) for cv in convs)
    return params, macs, c1 + c3 + c5 + (pp if pp else cin)


def one_block(widths, shape=(8, 8, 16), name="inception_3a"):
    return ModelSpec(name="one", layers=(Inception(name, *widths),), input_shape=shape, classes=0)


# ---------------------------------------------------------------------------------------
# googlenet


def googlenet_expected():
    """Per-layer (name, params, macs, output_shape) of the paper's GoogLeNet from the
    closed forms: conv1 7x7/2 on 224 (pad 3) -> 112; pools halve (ceil mode);
    blocks at 28, 14, 7."""
    rows = [
        ("conv1", conv_params(7, 3, 64), conv_macs(7, 3, 64, 112, 112), (112, 112, 64)),
        ("conv2_reduce", conv_params(1, 64, 64), conv_macs(1, 64, 64, 56, 56), (56, 56, 64)),
        ("conv2", conv_params(3, 64, 192), conv_macs(3, 64, 192, 56, 56), (56, 56, 192)),
    ]
    cin = 192
    for names, side in (
        (("inception_3a", "inception_3b"), 28),
        (("inception_4a", "inception_4b", "inception_4c", "inception_4d", "inception_4e"), 14),
        (("inception_5a", "inception_5b"), 7),
    ):
        for n in names:
            p, m, cout = block_closed_form(cin, PAPER_WIDTHS[n], side, side)
            rows.append((n, p, m, (side, side, cout)))
            cin = cout
    # linear: 1024 inputs after the global average pool, 1000 classes
    rows.append(("linear", 1024 * 1000 + 1000, 1024 * 1000, (1, 1, 1000)))
    return rows


def test_googlenet_golden_numbers_from_closed_forms():
    r = analyze(googlenet())
    expected = googlenet_expected()
    for name, params, macs, shape in expected:
        row = r.row(name)
        assert (row.params, row.macs, row.output_shape) == (params, macs, shape), name
    # every row with weights is listed above
    assert {row.name for row in r.rows if row.params} == {e[0] for e in expected}
    assert sum(e[1] for e in expected) == r.total_params == 6_998_552
    assert sum(e[2] for e in expected) == r.total_macs == 1_582_671_872
    assert r.depth == 22  # 3 stem convs + 9 blocks * 2 + linear
    assert r.depth == 3 + 9 * 2 + 1
    assert r.output_shape == (1, 1, 1000)


def test_googlenet_3a_by_hand():
    """inception_3a on 28x28x192, each conv written out."""
    b = analyze(googlenet()).row("inception_3a")
    params = (
        (192 * 64 + 64)  # 1x1
        + (192 * 96 + 96) + (9 * 96 * 128 + 128)  # 3x3 reduce + 3x3
        + (192 * 16 + 16) + (25 * 16 * 32 + 32)  # 5x5 reduce + 5x5
        + (192 * 32 + 32)  # pool proj
    )
    assert b.params == params == 163_696
    assert b.weights == params - (64 + 96 + 128 + 16 + 32 + 32)
    assert b.macs == b.weights * 28 * 28
    assert b.output_shape == (28, 28, 64 + 128 + 32 + 32)
    assert b.input_shape == (28, 28, 192)
    assert b.depth == 2


def test_googlenet_stem_shapes():
    r = analyze(googlenet())
    assert r.row("conv1").output_shape == (112, 112, 64)  # (224 + 2*3 - 7) // 2 + 1
    assert (224 + 2 * 3 - 7) // 2 + 1 == 112
    assert r.row("pool1").output_shape == (56, 56, 64)  # ceil((112 - 3) / 2) + 1
    assert r.row("pool2").output_shape == (28, 28, 192)
    assert r.row("pool3").output_shape == (14, 14, 480)
    assert r.row("pool4").output_shape == (7, 7, 832)
    assert r.row("pool5").output_shape == (1, 1, 1024)


def test_googlenet_options_lrn_and_aux():
    base = analyze(googlenet())
    no_lrn = analyze(googlenet().with_options(lrn=False))
    assert "lrn1" not in [r.name for r in no_lrn.rows]
    assert (no_lrn.total_params, no_lrn.total_macs, no_lrn.depth) == (
        base.total_params,
        base.total_macs,
        base.depth,
    )
    aux = analyze(googlenet().with_options(aux=True))
    # aux head: avg pool 5x5/3 valid (14 -> 4), 1x1 conv 128, fc 4*4*128 -> 1024, linear 1024 -> 1000
    assert (14 - 5) // 3 + 1 == 4

    def head(cin):
        return conv_params(1, cin, 128) + (4 * 4 * 128 * 1024 + 1024) + (1024 * 1000 + 1000)

    # aux1 after inception_4a (512 channels), aux2 after inception_4d (528 channels)
    assert aux.row("aux1").params == head(512)
    assert aux.row("aux2").params == head(528)
    assert aux.total_params == base.total_params + head(512) + head(528)
    assert aux.depth == 22  # the paper's depth counts the main path only
    macs_head = lambda cin: conv_macs(1, cin, 128, 4, 4) + 4 * 4 * 128 * 1024 + 1024 * 1000  # noqa: E731
    assert aux.total_macs == base.total_macs + macs_head(512) + macs_head(528)


def test_classes_change_only_the_classifier():
    r = analyze(googlenet().with_options(classes=10))
    assert r.row("linear").params == 1024 * 10 + 10
    assert r.total_params == 6_998_552 - (1024 * 1000 + 1000) + (1024 * 10 + 10)
    assert r.output_shape == (1, 1, 10)


# ---------------------------------------------------------------------------------------
# the block demo and the plain-conv baseline


def test_block_preset_golden():
    r = analyze(preset("block"))
    parts = {p.name: p.params for p in r.row("inception_3a").parts}
    # seed: inception(x, 5, 10, 20, 30, 40, 50) on 32x32x64
    assert parts == {
        "inception_3a_1x1": 64 * 40 + 40,  # 2600
        "inception_3a_3x3_reduce": 64 * 5 + 5,  # 325
        "inception_3a_3x3": 9 * 5 * 10 + 10,  # 460
        "inception_3a_5x5_reduce": 64 * 20 + 20,  # 1300
        "inception_3a_5x5": 25 * 20 * 30 + 30,  # 15030
        "inception_3a_pool": 0,
        "inception_3a_pool_proj": 64 * 50 + 50,  # 3250
    }
    assert 325 + 460 + 1300 + 15030 + 2600 + 3250 == 22_965
    assert r.total_params == 22_965
    assert r.output_shape == (32, 32, 40 + 10 + 30 + 50) == (32, 32, 130)
    assert r.output_shape[2] != 160  # the slide's "160 feature maps" is an error


def test_conv_baseline_matches_slides():
    c3 = conv_baseline((32, 32, 64), 160, 3)
    c5 = conv_baseline((32, 32, 64), 160, 5)
    assert c3.params == 3 * 3 * 64 * 160 + 160 == 92_320
    assert c5.params == 5 * 5 * 64 * 160 + 160 == 256_160
    # valid padding: 32 - 3 + 1 = 30 (the slide prints 28, the 5x5's size), 32 - 5 + 1 = 28
    assert c3.output_shape == (30, 30, 160)
    assert c5.output_shape == (28, 28, 160)
    assert c3.macs == 3 * 3 * 64 * 160 * 30 * 30
    assert c5.params > 10 * analyze(preset("block")).total_params


# ---------------------------------------------------------------------------------------
# zero widths


def test_zero_1x1_drops_branch():
    r = analyze(one_block((0, 4, 6, 2, 3, 5))).row("inception_3a")
    assert r.branches["1x1"].channels == 0
    assert r.branches["1x1"].params == r.branches["1x1"].macs == 0
    assert r.branches["1x1"].dropped
    assert "inception_3a_1x1" not in {p.name for p in r.parts}
    assert r.output_shape[2] == 6 + 3 + 5


def test_zero_3x3_drops_branch_and_its_reduce():
    r = analyze(one_block((7, 4, 0, 2, 3, 5))).row("inception_3a")
    assert r.branches["3x3"].channels == r.branches["3x3"].params == r.branches["3x3"].macs == 0
    names = {p.name for p in r.parts}
    assert "inception_3a_3x3" not in names and "inception_3a_3x3_reduce" not in names
    assert r.output_shape[2] == 7 + 3 + 5


def test_zero_5x5_drops_branch_and_its_reduce():
    r = analyze(one_block((7, 4, 6, 2, 0, 5))).row("inception_3a")
    assert r.branches["5x5"].params == 0
    assert "inception_3a_5x5_reduce" not in {p.name for p in r.parts}
    assert r.output_shape[2] == 7 + 6 + 5


def test_zero_reduce_reads_block_input():
    cin, c3, c5 = 16, 6, 3
    r = analyze(one_block((7, 0, c3, 0, c5, 5), shape=(8, 8, cin))).row("inception_3a")
    b3, b5 = r.branches["3x3"], r.branches["5x5"]
    assert b3.weights == 9 * cin * c3 and b3.params == 9 * cin * c3 + c3
    assert b5.weights == 25 * cin * c5 and b5.params == 25 * cin * c5 + c5
    assert b3.macs == 9 * cin * c3 * 8 * 8
    assert b3.depth == b5.depth == 1
    names = {p.name for p in r.parts}
    assert "inception_3a_3x3_reduce" not in names and "inception_3a_5x5_reduce" not in names
    assert analyze(one_block((7, 0, c3, 0, c5, 5), shape=(8, 8, cin))).row(
        "inception_3a_3x3"
    ).input_shape == (8, 8, cin)


def test_zero_pool_proj_passes_input_channels():
    cin = 16
    r = analyze(one_block((7, 4, 6, 2, 3, 0), shape=(8, 8, cin))).row("inception_3a")
    pb = r.branches["pool_proj"]
    assert pb.channels == cin and pb.params == 0 and pb.macs == 0
    assert r.output_shape == (8, 8, 7 + 6 + 3 + cin)
    assert [p.name for p in pb.parts] == ["inception_3a_pool"]


def test_all_zero_block_is_the_pooled_input():
    r = analyze(one_block((0, 0, 0, 0, 0, 0), shape=(5, 5, 9)))
    assert r.output_shape == (5, 5, 9) and r.total_params == 0


def test_reduce_without_its_conv_costs_nothing():
    """3x3 = 0 with 3x3_reduce > 0: the reduce goes with the dropped branch."""
    a = analyze(one_block((7, 4, 0, 2, 3, 5)))
    b = analyze(one_block((7, 0, 0, 2, 3, 5)))
    assert a.total_params == b.total_params


@given(
    widths=st.tuples(*[st.integers(0, 9)] * 6),
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    cin=st.integers(1, 12),
)
def test_one_block_closed_form(widths, h, w, cin):
    r = analyze(one_block(widths, shape=(h, w, cin)))
    params, macs, cout = block_closed_form(cin, widths, h, w)
    assert r.total_params == params
    assert r.total_macs == macs
    assert r.output_shape == (h, w, cout)
    row = r.row("inception_3a")
    c1, r3, c3, r5, c5, pp = widths
    assert row.depth == max(1 if pp or c1 else 0, (1 + bool(r3)) if c3 else 0, (1 + bool(r5)) if c5 else 0)
    assert {k: b.channels for k, b in row.branches.items()} == {
        "1x1": c1,
        "3x3": c3,
        "5x5": c5,
        "pool_proj": pp or cin,
    }


# ---------------------------------------------------------------------------------------
# sums: branches -> block, parts -> block, rows -> model


def assert_sums(r):
    for row in r.rows:
        if row.kind == "inception":
            assert set(row.branches) == set(BRANCH_KEYS)
            for attr in ("params", "weights", "macs"):
                assert sum(getattr(b, attr) for b in row.branches.values()) == getattr(row, attr), (row.name, attr)
                assert sum(getattr(p, attr) for p in row.parts) == getattr(row, attr), (row.name, attr)
                for b in row.branches.values():
                    assert sum(getattr(p, attr) for p in b.parts) == getattr(b, attr)
            assert sum(b.channels for b in row.branches.values()) == row.output_shape[2]
            assert row.params == row.weights + sum(
                p.output_shape[2] for p in row.parts if p.kind == "conv"
            )
        elif row.parts:
            for attr in ("params", "weights", "macs"):
                assert sum(getattr(p, attr) for p in row.parts) == getattr(row, attr)
        assert row.biases == row.params - row.weights >= 0
    assert sum(r_.params for r_ in r.rows) == r.total_params
    assert sum(r_.weights for r_ in r.rows) == r.total_weights
    assert sum(r_.macs for r_ in r.rows) == r.total_macs
    assert sum(r_.activations for r_ in r.rows) == r.total_activations
    assert r.rows[-1].output_shape == r.output_shape
    # every leaf conv obeys the closed forms
    for leaf in r.leaf_rows():
        if leaf.kind == "conv":
            h, w, cout = leaf.output_shape
            cin = leaf.input_shape[2]
            k = int(leaf.detail.split("x")[0])
            assert leaf.params == conv_params(k, cin, cout), leaf.name
            assert leaf.macs == conv_macs(k, cin, cout, h, w), leaf.name


@pytest.mark.parametrize("name", PRESET_NAMES)
@pytest.mark.parametrize("aux", [False, True])
def test_sums_every_preset(name, aux):
    spec = preset(name)
    if aux:
        spec = spec.with_options(aux=True)
    assert_sums(analyze(spec))


# hypothesis: a preset with random widths (zeros included), input size, options
@st.composite
def edited_specs(draw, names=PRESET_NAMES):
    spec = preset(draw(st.sampled_from(names)))
    for b in spec.blocks:
        if draw(st.booleans()):
            widths = draw(st.tuples(*[st.integers(0, 300) | st.just(0)] * 6))
            spec = spec.with_block(b.name, **dict(zip(WIDTH_KEYS, widths)))
    lo = min_input_side(spec) or 1
    side = draw(st.integers(lo, lo + 40))
    opts = dict(
        input_shape=(side, draw(st.integers(lo, lo + 40)), draw(st.integers(1, 4))),
        lrn=draw(st.booleans()),
        aux=draw(st.booleans()),
    )
    if spec.classes:
        opts["classes"] = draw(st.integers(1, 2000))
    return spec.with_options(**opts)


@given(edited_specs())
def test_sums_random_specs(spec):
    try:
        r = analyze(spec)
    except SpecError as exc:  # aux heads need a larger map than the main path
        assert spec.aux and "aux" in str(exc)
        return
    assert_sums(r)


# ---------------------------------------------------------------------------------------
# input sizes


def test_googlenet_8x8_is_refused_naming_the_layer():
    spec = googlenet().with_options(input_shape=(8, 8, 3))
    with pytest.raises(SpecError) as info:
        analyze(spec)
    msg = str(info.value)
    assert "\n" not in msg
    layer = re.search(r"at layer '(\w+)'", msg).group(1)
    assert layer in {l.name for l in googlenet().layers}
    # 8 -> conv1 (8+6-7)//2+1 = 4 -> pool1 ceil((4-3)/2)+1 = 2 -> pool2 ceil((2-3)/2)+1 = 1
    # -> pool3 ceil((1-3)/2)+1 = 0: below 1 at pool3 (Caffe's ceil mode)
    assert layer == "pool3"
    side = min_input_side(googlenet())
    assert f"{side}x{side}" in msg
    assert "8x8" in msg


@pytest.mark.parametrize("name", PRESET_NAMES)
@pytest.mark.parametrize("aux", [False, True])
def test_min_input_side_is_tight(name, aux):
    spec = preset(name).with_options(aux=aux)
    side = min_input_side(spec)
    c = spec.input_shape[2]
    analyze(spec.with_options(input_shape=(side, side, c)))  # works
    if side > 1:
        with pytest.raises(SpecError, match=r"too small"):
            analyze(spec.with_options(input_shape=(side - 1, side - 1, c)))


def test_min_input_side_googlenet_value():
    # conv1: (s + 6 - 7)//2 + 1 ; pools (Caffe ceil mode): ceil((s - 3)/2) + 1 must be >= 1.
    def side_ok(s):
        s = (s + 6 - 7) // 2 + 1
        for _ in range(4):  # pool1..pool4
            s = -(-(s - 3) // 2) + 1
            if s < 1:
                return False
        return True

    expected = next(s for s in range(1, 500) if side_ok(s))
    assert min_input_side(googlenet()) == expected == 31


def test_non_square_too_small_names_layer():
    with pytest.raises(SpecError, match=r"at layer '\w+'"):
        analyze(googlenet().with_options(input_shape=(224, 20, 3)))


@pytest.mark.parametrize(
    "change, field",
    [
        (dict(input_shape=(0, 224, 3)), "input height"),
        (dict(input_shape=(224, 224, 0)), "input channels"),
        (dict(input_shape=(224, 224, 65)), "input channels"),
        (dict(classes=0), "classes"),
        (dict(input_shape=(224, 5000, 3)), "input width"),
    ],
)
def test_invalid_options_rejected(change, field):
    with pytest.raises(SpecError, match=field):
        analyze(googlenet().with_options(**change))


def test_invalid_width_rejected():
    with pytest.raises(SpecError, match="inception_3a 3x3"):
        analyze(googlenet().with_block("inception_3a", **{"3x3": -1}))
    with pytest.raises(SpecError, match="inception_3a 1x1"):
        analyze(googlenet().with_block("inception_3a", **{"1x1": 2.5}))
    with pytest.raises(SpecError, match="unknown width"):
        googlenet().with_block("inception_3a", **{"7x7": 1})
    with pytest.raises(SpecError, match="no block named"):
        googlenet().with_block("inception_9z", **{"3x3": 1})


# ---------------------------------------------------------------------------------------
# Caffe ceil-mode shapes in the counter


def caffe_ceil_out(size, k, s):
    """Caffe's PoolingLayer::Reshape with pad 0: ceil((H - k) / s) + 1."""
    import math

    return int(math.ceil((size - k) / s)) + 1


@pytest.mark.parametrize(
    "size, k, s",
    [(size, k, s) for k, s in [(3, 2), (3, 1), (2, 2), (5, 3)] for size in range(k, 40)],
)
def test_counter_ceil_pool_matches_caffe(size, k, s):
    """Sizes from the kernel up; below it see test_counter_ceil_pool_smaller_than_kernel."""
    spec = ModelSpec("p", (Pool("p", "max", k, s, "ceil"),), input_shape=(size, size + 1, 2), classes=0)
    assert analyze(spec).output_shape == (caffe_ceil_out(size, k, s), caffe_ceil_out(size + 1, k, s), 2)


def test_counter_ceil_pool_smaller_than_kernel():
    # Caffe (and keras_model.CeilMaxPool2D) give ceil((2-3)/2)+1 = 1 for a 2x2 map under 3x3/2

    spec = ModelSpec("p", (Pool("p", "max", 3, 2, "ceil"),), input_shape=(2, 2, 1), classes=0)
    assert analyze(spec).output_shape == (caffe_ceil_out(2, 3, 2),) * 2 + (1,)


@pytest.mark.parametrize("size", range(1, 20))
@pytest.mark.parametrize("k, s", [(1, 2), (3, 2), (7, 2), (3, 1)])
def test_counter_same_and_valid_shapes(size, k, s):
    spec = ModelSpec("c", (Conv("c", 4, k, s, "same"),), input_shape=(size, size, 1), classes=0)
    assert analyze(spec).output_shape == (-(-size // s),) * 2 + (4,)
    spec = ModelSpec("c", (Conv("c", 4, k, s, "valid"),), input_shape=(size, size, 1), classes=0)
    if size < k:
        with pytest.raises(SpecError, match="'c'"):
            analyze(spec)
    else:
        assert analyze(spec).output_shape == ((size - k) // s + 1,) * 2 + (4,)


def test_dense_on_a_map_flattens():
    spec = ModelSpec("d", (Dense("fc", 7),), input_shape=(3, 4, 5), classes=0)
    r = analyze(spec)
    assert r.total_params == 3 * 4 * 5 * 7 + 7 and r.total_macs == 3 * 4 * 5 * 7


# ---------------------------------------------------------------------------------------
# formatting and caching


def test_fmt():
    assert fmt_int(6_998_552) == "6,998,552"
    assert fmt_k(6_998_552) == "7.00 M"
    assert fmt_k(1_582_671_872) == "1.58 G"
    assert fmt_k(2712, k=1024) == "2.65 K"
    assert fmt_k(999) == "999"


def test_analyze_is_cached_and_spec_frozen():
    s = googlenet()
    assert analyze(s) is analyze(googlenet())
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.classes = 3  # type: ignore[misc]


def test_counter_imports_no_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys; import inception_viz.counter, inception_viz.config, inception_viz.paper, "
        "inception_viz.presets; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_row_lookup_error():
    with pytest.raises(SpecError, match="no layer named"):
        analyze(googlenet()).row("nope")
    assert counter.analyze(googlenet()).row("inception_3a_3x3_reduce").params == 192 * 96 + 96


def test_report_views():
    r = analyze(preset("block"))
    # the block's output 32x32x130 is the only row
    assert r.total_activations == 32 * 32 * 130 == r.rows[0].activations
    assert [b.name for b in r.blocks] == ["inception_3a"]
    leaves = [l.name for l in r.leaf_rows()]
    assert leaves == [
        "inception_3a_1x1",
        "inception_3a_3x3_reduce",
        "inception_3a_3x3",
        "inception_3a_5x5_reduce",
        "inception_3a_5x5",
        "inception_3a_pool",
        "inception_3a_pool_proj",
        "inception_3a",
    ]
    row = r.row("inception_3a")
    assert row.detail == "40 + 10 + 30 + 50 = 130"
    assert row.biases == 40 + 5 + 10 + 20 + 30 + 50
    g = analyze(googlenet())
    assert len(g.blocks) == 9
    assert sum(1 for l in g.leaf_rows() if l.kind == "conv") == 3 + 9 * 6  # the 57 convs
