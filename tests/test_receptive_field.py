"""Theoretical receptive fields in the counter (no TensorFlow): closed forms, GoogLeNet's
numbers with the arithmetic written out, the JSON/CSV contract for every preset and random
specs, and the unit boxes the feature-map view draws.

The brute-force check (gradients of a linear positive network) is in
``tests/test_receptive_bruteforce.py``."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inception_viz.cli import main, table_csv, table_json
from inception_viz.counter import INPUT_FIELD, FieldBox, ReceptiveField, analyze
from inception_viz.presets import PRESET_NAMES, preset
from inception_viz.spec import BRANCH_KEYS, Conv, ModelSpec, Pool, SpecError

from test_counter import edited_specs


def size(report, name):
    return report.row(name).receptive_field.size[0]


def test_googlenet_golden_with_arithmetic():
    """r_out = r + (k-1)*j, j_out = j*s, start_out = start + ((k-1)/2 - pad)*j."""
    r = analyze(preset("googlenet"))
    f = lambda n: r.row(n).receptive_field  # noqa: E731
    # conv1: pad 3 then 7x7/2: r = 1 + 6*1 = 7, j = 2, start = 0 + (3 - 3)*1 = 0
    assert f("conv1") == ReceptiveField((7, 7), (2, 2), (0, 0))
    # pool1 3x3/2 ceil (no leading pad): r = 7 + 2*2 = 11, j = 4, start = 0 + 1*2 = 2
    assert f("pool1") == ReceptiveField((11, 11), (4, 4), (2, 2))
    # lrn1, conv2_reduce (1x1) keep it; conv2 3x3 pad 1: r = 11 + 2*4 = 19, start 2 + (1-1)*4
    assert f("lrn1") == f("conv2_reduce") == f("pool1")
    assert f("conv2") == ReceptiveField((19, 19), (4, 4), (2, 2))
    # pool2 3x3/2 ceil: r = 19 + 2*4 = 27, j = 8, start = 2 + 1*4 = 6
    assert f("pool2") == ReceptiveField((27, 27), (8, 8), (6, 6))
    # inception_3a: its 5x5 branch (1x1 reduce, then 5x5 "same"): 27 + 4*8 = 59
    assert f("inception_3a") == ReceptiveField((59, 59), (8, 8), (6, 6))
    b = r.row("inception_3a").branches
    assert [b[k].receptive_field.size[0] for k in BRANCH_KEYS] == [27, 27 + 2 * 8, 59, 27 + 2 * 8]
    # 3b: 59 + 32 = 91; pool3 3x3/2: 91 + 2*8 = 107, j = 16, start = 6 + 8 = 14
    assert size(r, "inception_3b") == 91
    assert f("pool3") == ReceptiveField((107, 107), (16, 16), (14, 14))
    # 4a..4e each add 4*16 = 64: 171, 235, 299, 363, 427
    assert [size(r, f"inception_4{c}") for c in "abcde"] == [107 + 64 * i for i in range(1, 6)]
    assert size(r, "inception_4e") == 427
    # pool4: 427 + 2*16 = 459, j = 32, start = 14 + 16 = 30; 5a, 5b add 4*32 = 128
    assert f("pool4") == ReceptiveField((459, 459), (32, 32), (30, 30))
    assert f("inception_5b") == ReceptiveField((715, 715), (32, 32), (30, 30))
    # pool5, global over 7x7: r = 715 + 6*32 = 907, j = 7*32 = 224, start = 30 + 3*32 = 126
    assert f("pool5") == ReceptiveField((907, 907), (224, 224), (126, 126))
    assert f("linear") == f("softmax") == f("pool5")


def test_simplified_same_padding_offsets():
    """TensorFlow "same": leading pad = max((out-1)*s + k - n, 0) // 2 on each side."""
    r = analyze(preset("simplified"))
    f = lambda n: r.row(n).receptive_field  # noqa: E731
    # c1 7x7/2 same on 224 -> 112: pad total 111*2 + 7 - 224 = 5, leading 2: start 0 + (3-2)*1 = 1
    assert f("c1") == ReceptiveField((7, 7), (2, 2), (1, 1))
    # mp1 3x3/2 same on 112 -> 56: pad total 55*2 + 3 - 112 = 1, leading 0: start 1 + 1*2 = 3
    assert f("mp1") == ReceptiveField((11, 11), (4, 4), (3, 3))
    # c2_1x1 1x1/2 on 56 -> 28: pad total 27*2 + 1 - 56 = -1 -> 0: start 3, j 8
    assert f("c2_1x1") == ReceptiveField((11, 11), (8, 8), (3, 3))
    # c2_3x3 3x3/2 on 28 -> 14: pad total 13*2 + 3 - 28 = 1, leading 0: r 11 + 2*8, start 3 + 8
    assert f("c2_3x3") == ReceptiveField((27, 27), (16, 16), (11, 11))


def test_same_padding_odd_input_puts_extra_pad_after():
    # 3x3/2 "same" on 7 -> 4: pad total 3*2 + 3 - 7 = 2, leading 1: start 0 + (1 - 1) = 0
    spec = ModelSpec("t", (Conv("c", 4, 3, stride=2),), input_shape=(7, 8, 1), classes=0)
    # on 8 -> 4: pad total 3*2 + 3 - 8 = 1, leading 0: start 1
    assert analyze(spec).row("c").receptive_field == ReceptiveField((3, 3), (2, 2), (0, 1))


def test_non_square_input_and_label():
    spec = preset("googlenet").with_options(input_shape=(224, 160, 3))
    r = analyze(spec)
    # the global pool covers 7x5 blocks of 32 px: 715 + 6*32 = 907 and 715 + 4*32 = 843
    assert r.row("pool5").receptive_field.size == (907, 843)
    assert r.row("pool5").receptive_field.label == "907x843"
    assert r.row("inception_3a").receptive_field.label == "59"


def test_block_is_union_of_branches_and_dropped_branch_has_none():
    spec = preset("googlenet").with_block("inception_3a", **{"5x5": 0})
    r = analyze(spec)
    b = r.row("inception_3a")
    assert b.branches["5x5"].receptive_field is None
    # without its 5x5 branch the block sees 27 + 2*8 = 43 (3x3 and pool branches)
    assert b.receptive_field.size == (43, 43)
    # only a 1x1 branch and the unprojected pool: pool wins, 27 + 2*8
    spec = preset("googlenet").with_block("inception_3a", **{"3x3": 0, "5x5": 0})
    assert analyze(spec).row("inception_3a").receptive_field.size == (43, 43)


def test_union_of_fields_with_different_centres():
    a = ReceptiveField((3, 3), (2, 2), (0, 0))  # covers -1..1
    b = ReceptiveField((5, 3), (2, 2), (1, 4))  # covers -1..3 and 3..5
    u = a.union(b)
    assert u.size == (5, 7) and u.start == (1, 2)
    with pytest.raises(ValueError):
        a.union(ReceptiveField((1, 1), (1, 1), (0, 0)))


def test_even_kernel_gives_half_pixel_start_and_integer_box():
    spec = ModelSpec("t", (Conv("c", 4, 2, padding="valid"),), input_shape=(6, 6, 1), classes=0)
    f = analyze(spec).row("c").receptive_field
    assert f == ReceptiveField((2, 2), (1, 1), (0.5, 0.5))
    assert f.box(0, 0) == FieldBox(0, 0, 1, 1)
    assert json.loads(json.dumps(f.to_json()))["start"] == [0.5, 0.5]


def test_caffe_pad_moves_start_left():
    # pad 2 then a 3x3/1 conv: start 0 + (1 - 2) = -1; the top-left unit sees -2..0
    spec = ModelSpec("t", (Conv("c", 4, 3, padding=2),), input_shape=(5, 5, 1), classes=0)
    r = analyze(spec)
    assert r.row("c").receptive_field.start == (-1, -1)
    assert r.unit_box("c", 0, 0, clip=False) == FieldBox(-2, -2, 0, 0)
    assert r.unit_box("c", 0, 0) == FieldBox(0, 0, 0, 0)
    assert r.unit_box("c", 6, 6) == FieldBox(4, 4, 4, 4)  # 7x7 output, bottom-right unit


def test_unit_box_and_centre_unit_googlenet():
    r = analyze(preset("googlenet"))
    # inception_3a unit (13, 13): centre 6 + 13*8 = 110, half-side 29 -> 81..139
    assert r.unit_box("inception_3a", 13, 13) == FieldBox(81, 81, 139, 139)
    # unit (0, 0): -23..35, clipped to 0..35
    assert r.unit_box("inception_3a", 0, 0) == FieldBox(0, 0, 35, 35)
    # centre unit: 6 + 13*8 = 110 is 1.5 px from 111.5, 118 is 6.5 px
    assert r.centre_unit("inception_3a") == (13, 13)
    assert r.centre_unit("inception_5b") == (3, 3)  # 30 + 3*32 = 126
    assert r.unit_box("inception_5b", 3, 3) == FieldBox(0, 0, 223, 223)
    with pytest.raises(SpecError, match="outside inception_3a's 28x28 map"):
        r.unit_box("inception_3a", 28, 0)
    with pytest.raises(SpecError, match="no layer named"):
        r.unit_box("nope", 0, 0)


def _fields(doc_row):
    yield doc_row["receptive_field"]
    for layer in doc_row.get("layers", ()):
        yield layer["receptive_field"]
    for b in (doc_row.get("branches") or {}).values():
        if b["channels"]:
            yield b["receptive_field"]
        else:
            assert b["receptive_field"] is None


def check_contract(report):
    """Every row, layer and branch of the JSON has a well-formed field; the closed forms
    hold: jump = product of strides along the path, the block is the largest branch."""
    doc = json.loads(json.dumps(table_json(report)))
    h, w = report.spec.input_shape[:2]
    for row in doc["rows"]:
        for f in _fields(row):
            assert set(f) == {"size", "jump", "start"}
            assert all(len(f[k]) == 2 for k in f)
            assert all(isinstance(v, int) and v >= 1 for v in f["size"] + f["jump"])
            for s, r in zip(f["start"], f["size"]):
                assert float(s - (r - 1) / 2).is_integer()  # box edges on whole pixels
        if row["kind"] == "inception":
            sizes = [b["receptive_field"]["size"] for b in row["branches"].values() if b["receptive_field"]]
            assert row["receptive_field"]["size"] == [max(s[0] for s in sizes), max(s[1] for s in sizes)]
            # a stride-1 block keeps jump; every branch shares the block's centre
            assert {tuple(b["receptive_field"]["start"]) for b in row["branches"].values() if b["receptive_field"]} == {
                tuple(row["receptive_field"]["start"])
            }
    # sizes never shrink along the main path; a unit's field always overlaps the input
    main = [r for r in report.rows if not r.aux]
    for a, b in zip(main, main[1:]):
        assert all(x <= y for x, y in zip(a.receptive_field.size, b.receptive_field.size))
        assert all(x <= y for x, y in zip(a.receptive_field.jump, b.receptive_field.jump))
    for row in report.leaf_rows():
        oh, ow = row.output_shape[:2]
        for unit in ((0, 0), (oh - 1, ow - 1)):
            box = row.receptive_field.box(*unit)
            assert box.clipped(h, w) is not None, (row.name, unit, box)
    # CSV rf column: one per layer row and branch row
    rows = list(csv.DictReader(io.StringIO(table_csv(report))))
    for line in rows:
        if line["kind"] == "branch":
            br = report.row(line["name"]).branches[line["branch"]]
            assert line["rf"] == (br.receptive_field.label if br.receptive_field else "")
        else:
            assert line["rf"] == report.row(line["name"]).receptive_field.label


@pytest.mark.parametrize("name", PRESET_NAMES)
@pytest.mark.parametrize("aux", [False, True])
def test_contract_every_preset(name, aux):
    check_contract(analyze(preset(name).with_options(aux=aux)))


@given(edited_specs())
def test_contract_random_specs(spec):
    try:
        report = analyze(spec)
    except SpecError:
        return
    check_contract(report)


@given(
    k=st.integers(1, 7), s=st.integers(1, 3), pad=st.sampled_from(["same", "valid", 0, 1, 2, 3]),
    n=st.integers(8, 40), k2=st.integers(1, 5), s2=st.integers(1, 3),
)
def test_two_conv_closed_form(k, s, pad, n, k2, s2):
    """r = 1 + (k-1) + (k2-1)*s, j = s*s2 (independent of padding)."""
    spec = ModelSpec("t", (Conv("a", 2, k, s, pad), Conv("b", 2, k2, s2, "valid")), input_shape=(n, n, 1), classes=0)
    try:
        f = analyze(spec).row("b").receptive_field
    except SpecError:
        return
    assert f.size == (1 + (k - 1) + (k2 - 1) * s,) * 2
    assert f.jump == (s * s2,) * 2


def test_global_and_dense_see_whole_input():
    spec = ModelSpec("t", (Conv("a", 2, 3, 1, "valid"), Pool("g", "avg", 1, 1, "global")), input_shape=(9, 6, 1), classes=0)
    r = analyze(spec)
    # conv output 7x4, field 3; global pool over 7x4 units of jump 1: 3 + 6 = 9, 3 + 3 = 6
    assert r.row("g").receptive_field.size == (9, 6)
    assert r.unit_box("g", 0, 0) == FieldBox(0, 0, 8, 5)


def test_aux_head_fields():
    r = analyze(preset("googlenet").with_options(aux=True))
    aux = r.row("aux1")
    # after inception_4a (171, j 16, start 14): 5x5/3 valid pool -> 171 + 4*16 = 235, j 48, start 14 + 2*16 = 46
    assert r.row("aux1_pool").receptive_field == ReceptiveField((235, 235), (48, 48), (46, 46))
    # fc over the 4x4 map: 235 + 3*48 = 379
    assert aux.receptive_field.size == (379, 379)


def test_conv_baseline_field_is_its_kernel():
    from inception_viz.counter import conv_baseline

    assert conv_baseline((32, 32, 64), 10, 5).receptive_field == ReceptiveField((5, 5), (1, 1), (2, 2))
    assert INPUT_FIELD.then((5, 5), (1, 1), (2, 2)).size == (5, 5)


def test_cli_json_and_csv(capsys, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"preset": "googlenet", "blocks": {"inception_3a": {"5x5": 0}}}))
    assert main(["table", "--config", str(cfg), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    b = next(r for r in doc["rows"] if r["name"] == "inception_3a")
    assert b["receptive_field"] == {"size": [43, 43], "jump": [8, 8], "start": [6, 6]}
    assert b["branches"]["5x5"]["receptive_field"] is None
    assert b["branches"]["3x3"]["receptive_field"]["size"] == [43, 43]
    assert {l["name"]: l["receptive_field"]["size"][0] for l in b["layers"]}["inception_3a_3x3_reduce"] == 27
    pool5 = next(r for r in doc["rows"] if r["name"] == "pool5")
    # 3a without its 5x5 sees 43 instead of 59 px: every later field is 16 px smaller
    assert pool5["receptive_field"] == {"size": [907 - 16] * 2, "jump": [224, 224], "start": [126, 126]}
    assert main(["table", "--preset", "googlenet", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["name"]: r["rf"] for r in rows if not r["branch"]}["inception_5b"] == "715"


def test_unit_box_takes_numpy_integers_and_refuses_floats():
    np = pytest.importorskip("numpy")
    r = analyze(preset("googlenet"))
    assert r.unit_box("inception_3a", np.int64(13), np.int32(13)) == FieldBox(81, 81, 139, 139)
    with pytest.raises(SpecError, match="outside"):
        r.unit_box("inception_3a", 1.5, 0)
    with pytest.raises(SpecError, match="outside"):
        r.unit_box("inception_3a", True, 0)
