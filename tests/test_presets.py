"""The presets are what the seed (the lecture notes) and the paper say they are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inception_viz.counter import analyze
from inception_viz.presets import (
    BLOCK_DEMO_ARGS,
    PAPER_WIDTHS,
    PRESET_NAMES,
    SIMPLIFIED_ARGS,
    lecture_args_to_widths,
    preset,
    widths_to_lecture_args,
)
from inception_viz.spec import LRN, Conv, Dense, Dropout, Inception, Pool, Softmax, SpecError

SEED_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "seed"
BLOCK_NAMES = (
    "inception_3a", "inception_3b",
    "inception_4a", "inception_4b", "inception_4c", "inception_4d", "inception_4e",
    "inception_5a", "inception_5b",
)  # fmt: skip


def seed_text() -> str | None:
    files = sorted(SEED_DIR.glob("*.txt")) if SEED_DIR.is_dir() else []
    return "\n".join(f.read_text(encoding="utf-8") for f in files) if files else None


needs_seed = pytest.mark.skipif(seed_text() is None, reason="lecture notes (../shared/seed) absent")


def test_preset_names_and_unknown():
    assert PRESET_NAMES == ("googlenet", "simplified", "block", "naive")
    for n in PRESET_NAMES:
        s = preset(n)
        assert s.preset == n and s.description
        assert preset(n) == s  # deterministic, and equal specs compare equal
        hash(s.key())
    with pytest.raises(SpecError, match="allowed: googlenet, simplified, block, naive"):
        preset("resnet")


# ---------------------------------------------------------------------------------------
# googlenet


def test_googlenet_layout():
    s = preset("googlenet")
    assert s.input_shape == (224, 224, 3) and s.classes == 1000 and s.lrn and not s.aux
    assert s.block_names == BLOCK_NAMES
    assert {b.name: b.width_tuple for b in s.blocks} == PAPER_WIDTHS
    # Table 1, the widths written out (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj)
    assert PAPER_WIDTHS["inception_3a"] == (64, 96, 128, 16, 32, 32)
    assert PAPER_WIDTHS["inception_4c"] == (128, 128, 256, 24, 64, 64)
    assert PAPER_WIDTHS["inception_5b"] == (384, 192, 384, 48, 128, 128)
    conv1 = s.layers[0]
    assert conv1 == Conv("conv1", 64, 7, stride=2, padding=3)  # Caffe: pad 3, valid 7x7/2
    pools = [l for l in s.layers if isinstance(l, Pool)]
    assert [p.name for p in pools] == ["pool1", "pool2", "pool3", "pool4", "pool5"]
    assert all(p.op == "max" and p.padding == "ceil" and (p.size, p.stride) == (3, 2) for p in pools[:4])
    assert pools[4].op == "avg" and pools[4].padding == "global"
    lrns = [l for l in s.layers if isinstance(l, LRN)]
    assert [(l.name, l.size, l.alpha, l.beta, l.k) for l in lrns] == [
        ("lrn1", 5, 1e-4, 0.75, 1.0),
        ("lrn2", 5, 1e-4, 0.75, 1.0),
    ]
    drop = [l for l in s.layers if isinstance(l, Dropout)]
    assert [d.rate for d in drop] == [0.4]
    assert isinstance(s.layers[-2], Dense) and s.layers[-2].name == "linear"
    assert isinstance(s.layers[-1], Softmax)
    assert [(a.name, a.after) for a in s.aux_heads] == [("aux1", "inception_4a"), ("aux2", "inception_4d")]
    order = [l.name for l in s.layers]
    assert order[:7] == ["conv1", "pool1", "lrn1", "conv2_reduce", "conv2", "lrn2", "pool2"]
    assert order.index("pool3") == order.index("inception_3b") + 1
    assert order.index("pool4") == order.index("inception_4e") + 1


# ---------------------------------------------------------------------------------------
# simplified


def test_simplified_spatial_sizes():
    s = preset("simplified")
    r = analyze(s)
    # the seed's stem: c1 7x7/2 same, mp1 3x3/2 same, c2_1x1 1x1/2, c2_3x3 3x3/2, mp2 3x3/2
    sides = [224]
    for _ in range(5):
        sides.append(-(-sides[-1] // 2))  # "same" padding, stride 2: ceil(H / 2)
    assert sides[1:] == [112, 56, 28, 14, 7]
    assert [r.row(n).output_shape[0] for n in ("c1", "mp1", "c2_1x1", "c2_3x3", "mp2")] == sides[1:]
    for n in BLOCK_NAMES:
        side = {"3": 7, "4": -(-7 // 2), "5": -(-7 // 4)}[n[10]]
        assert r.row(n).output_shape[:2] == (side, side), n
    assert (-(-7 // 2), -(-4 // 2)) == (4, 2)
    assert r.output_shape == (1, 1, 1000)
    assert "7x7 (3a/3b), 4x4 (4a-4e) and 2x2 (5a/5b)" in s.description
    assert "stride 2" in s.description
    assert not any(isinstance(l, (LRN, Dropout)) for l in s.layers)


def test_simplified_layers_as_written():
    s = preset("simplified")
    stem = [l for l in s.layers if isinstance(l, Conv)]
    assert [(c.name, c.filters, c.kernel, c.stride, c.padding) for c in stem] == [
        ("c1", 64, 7, 2, "same"),
        ("c2_1x1", 64, 1, 2, "same"),
        ("c2_3x3", 192, 3, 2, "same"),
    ]
    assert s.layers[-1] == Dense("predictions", activation="softmax")


# the seed's bottleneck(...) arguments, hard-coded: (F3x3_1x1, F3x3, F5x5_1x1, F5x5, F1x1, Fmp_1x1)
SEED_BOTTLENECK = {
    "inception_3a": (96, 128, 16, 32, 64, 32),
    "inception_3b": (128, 128, 32, 96, 128, 64),
    "inception_4a": (96, 208, 16, 48, 192, 32),
    "inception_4b": (112, 224, 24, 64, 160, 64),
    "inception_4c": (128, 256, 24, 64, 128, 64),
    "inception_4d": (144, 288, 32, 64, 112, 64),
    "inception_4e": (160, 320, 32, 128, 256, 128),
    "inception_5a": (160, 320, 32, 128, 256, 128),
    "inception_5b": (192, 384, 48, 128, 384, 128),
}


def test_simplified_widths_hard_coded():
    s = preset("simplified")
    for b in s.blocks:
        r3, c3, r5, c5, c1, pp = SEED_BOTTLENECK[b.name]
        assert b.widths == {"1x1": c1, "3x3_reduce": r3, "3x3": c3, "5x5_reduce": r5, "5x5": c5, "pool_proj": pp}
    assert SIMPLIFIED_ARGS == SEED_BOTTLENECK
    # the two places where the notes differ from Table 1
    assert s.block("inception_3b").widths["3x3"] == 128 != PAPER_WIDTHS["inception_3b"][2] == 192
    assert s.block("inception_4a").widths["pool_proj"] == 32 != PAPER_WIDTHS["inception_4a"][5] == 64
    diffs = {
        (n, k)
        for n in BLOCK_NAMES
        for k, a, p in zip(("1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool_proj"),
                           s.block(n).width_tuple, PAPER_WIDTHS[n])  # fmt: skip
        if a != p
    }
    assert diffs == {("inception_3b", "3x3"), ("inception_4a", "pool_proj")}


@needs_seed
def test_simplified_widths_match_seed_text():
    found = re.findall(r"bottleneck\(x,\s*([\d,\s]+),\s*\"inception(\d[a-e])\"\)", seed_text())
    parsed = {f"inception_{n}": tuple(int(v) for v in args.split(",")) for args, n in found}
    assert len(parsed) == 9
    assert parsed == SEED_BOTTLENECK
    assert {b.name: b.width_tuple for b in preset("simplified").blocks} == {
        n: lecture_args_to_widths(a) for n, a in parsed.items()
    }


def test_lecture_order_round_trip():
    for args in SIMPLIFIED_ARGS.values():
        assert widths_to_lecture_args(lecture_args_to_widths(args)) == args
    # inception(x, F3x3_1x1, F3x3, F5x5_1x1, F5x5, F1x1, Fmp_1x1)
    assert lecture_args_to_widths((1, 2, 3, 4, 5, 6)) == (5, 1, 2, 3, 4, 6)


# ---------------------------------------------------------------------------------------
# block


def test_block_preset():
    s = preset("block")
    assert s.input_shape == (32, 32, 64)
    assert BLOCK_DEMO_ARGS == (5, 10, 20, 30, 40, 50)
    (b,) = s.layers
    assert isinstance(b, Inception)
    assert b.widths == {"1x1": 40, "3x3_reduce": 5, "3x3": 10, "5x5_reduce": 20, "5x5": 30, "pool_proj": 50}
    r = analyze(s)
    assert r.total_params == 325 + 460 + 1300 + 15030 + 2600 + 3250 == 22_965
    assert r.output_shape == (32, 32, 40 + 10 + 30 + 50)
    assert "130" in s.description and "160" in s.description


@needs_seed
def test_block_matches_seed_summary():
    """The seed's model.summary() of the demo, row by row, under our names. Its concat
    row says 160 channels; 40 + 10 + 30 + 50 = 130."""
    text = seed_text()
    assert "inception(x,5,10,20,30,40,50)" in text.replace(" ", "")
    rows = re.findall(r"^(block1_\w+) \((\w+)\)\t\(None, (\d+), (\d+), (\d+)\)\t(\d+)", text, re.M)
    ours = {
        "block1_3x3_1x1": "inception_3a_3x3_reduce",
        "block1_3x3": "inception_3a_3x3",
        "block1_5x5_1x1": "inception_3a_5x5_reduce",
        "block1_5x5": "inception_3a_5x5",
        "block1_1x1": "inception_3a_1x1",
        "block1_mp": "inception_3a_pool",
        "block1_mp_1x1": "inception_3a_pool_proj",
        "block1_concat": "inception_3a",
    }
    assert [r[0] for r in rows] == list(ours)
    report = analyze(preset("block"))
    for name, _kind, h, w, c, params in rows:
        row = report.row(ours[name])
        if name == "block1_concat":  # the concat has no weights; our block row is the total
            assert int(params) == 0 and row.params == 22_965
            assert int(c) == 160 and row.output_shape == (32, 32, 130)
        else:
            assert row.params == int(params), name
            assert row.output_shape == (int(h), int(w), int(c)), name
    m = re.search(r"Total params: \*\*([\d,]+)\*\*", text)
    assert int(m.group(1).replace(",", "")) == report.total_params


# ---------------------------------------------------------------------------------------
# naive


def test_naive_blocks():
    s = preset("naive")
    assert s.block_names == BLOCK_NAMES
    for b in s.blocks:
        assert b.is_naive
        assert (b.w3x3_reduce, b.w5x5_reduce, b.pool_proj) == (0, 0, 0)
        p = PAPER_WIDTHS[b.name]
        assert (b.w1x1, b.w3x3, b.w5x5) == (p[0], p[2], p[4])
    # everything else is googlenet
    g = preset("googlenet")
    assert [l for l in s.layers if not isinstance(l, Inception)] == [
        l for l in g.layers if not isinstance(l, Inception)
    ]


def test_naive_channels_pile_up():
    r = analyze(preset("naive"))
    assert r.row("inception_3a").output_shape == (28, 28, 64 + 128 + 32 + 192)
    assert 64 + 128 + 32 + 192 == 416
    assert r.row("inception_3b").output_shape[2] == 128 + 192 + 96 + 416
    cin = 192
    for n in BLOCK_NAMES:
        c1, _, c3, _, c5, _ = PAPER_WIDTHS[n]
        cin = c1 + c3 + c5 + cin
        assert r.row(n).output_shape[2] == cin, n
    assert r.output_shape == (1, 1, 1000)
    assert r.total_params > 10 * analyze(preset("googlenet")).total_params
