"""The effective receptive field (TensorFlow): the gradient never leaves the theoretical
field, the batched pass equals the images one by one, the radii and shares on a map whose
answer is known, the ``rf`` command's output and its one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inception_viz.cli import main
from inception_viz.counter import FieldBox, ReceptiveField, analyze
from inception_viz.images import decode_image, load_sample
from inception_viz.inference import get_runner
from inception_viz.presets import preset
from inception_viz.receptive import EffectiveField, effective_field, field_image, field_json, sample_images
from inception_viz.spec import SpecError

# GoogLeNet at 112x112: the same fields, a quarter of the work
SPEC = preset("googlenet").with_options(input_shape=(112, 112, 3))


@pytest.fixture(scope="module")
def runner():
    return get_runner(SPEC)


@pytest.fixture(scope="module")
def photos():
    return [load_sample("cat"), load_sample("rocket")]


@pytest.mark.parametrize("branch, size", [(None, 59), ("1x1", 27), ("3x3", 43), ("5x5", 59), ("pool_proj", 43)])
def test_gradient_stays_inside_the_theoretical_field(runner, photos, branch, size):
    ef = effective_field(runner, photos, "inception_3a", branch)
    assert ef.field.size == (size, size)
    # centre unit: start 6 + i*8 nearest (112-1)/2 = 55.5 -> i = 6 (54)
    assert ef.unit == (6, 6) and ef.centre == (54, 54)
    assert ef.box == FieldBox(54 - (size - 1) // 2, 54 - (size - 1) // 2, 54 + (size - 1) // 2, 54 + (size - 1) // 2)
    heat = ef.heatmap
    assert heat.shape == (112, 112) and heat.min() >= 0
    assert heat.sum() == pytest.approx(1.0)
    outside = np.ones_like(heat, bool)
    outside[ef.box.top : ef.box.bottom + 1, ef.box.left : ef.box.right + 1] = False
    assert (heat[outside] == 0).all()  # exactly: no path from the unit reaches there
    assert ef.share_inside_field == pytest.approx(1.0)
    assert ef.share_inside(size) == pytest.approx(1.0)
    assert 0 <= ef.radius_50 <= ef.radius_90 <= (size - 1) / 2


def test_one_batched_pass_equals_the_images_one_by_one(runner, photos):
    both = effective_field(runner, photos, "inception_4c", "5x5", unit=(2, 3))
    one = [effective_field(runner, [p], "inception_4c", "5x5", unit=(2, 3)).heatmap for p in photos]
    np.testing.assert_allclose(both.heatmap, (one[0] + one[1]) / 2, atol=1e-9)
    assert both.images == 2 and both.zero_images == 0
    assert effective_field(runner, photos, "inception_4c", "5x5", unit=(2, 3)) is both  # cached


def test_radii_and_shares_on_a_known_map():
    heat = np.zeros((11, 11))
    heat[5, 5] = 0.5  # the centre
    heat[3, 7] = 0.4  # Chebyshev distance 2
    heat[0, 10] = 0.1  # distance 5
    ef = EffectiveField("b", "concat", "b", (0, 0), (1, 1), heat, ReceptiveField((11, 11), (1, 1), (5, 5)),
                        FieldBox(0, 0, 10, 10), (5, 5), 1)
    assert (ef.radius_50, ef.radius_90, ef.radius(1.0), ef.radius(0.95)) == (0, 2, 5, 5)
    assert ef.share_inside(1) == pytest.approx(0.5)
    assert ef.share_inside(5) == pytest.approx(0.9)  # within (5-1)/2 = 2 px
    assert ef.share_inside(4) == pytest.approx(0.5)  # within 1.5 px
    assert ef.share_inside(11) == pytest.approx(1.0) == ef.share_inside_field
    empty = EffectiveField("b", "concat", "b", (0, 0), (1, 1), np.zeros((3, 3)), ReceptiveField(), None, (0, 0), 1, 1)
    assert empty.radius_50 is None and empty.share_inside(3) == 0.0 and empty.share_inside_field == 0.0
    with pytest.raises(SpecError):
        ef.share_inside(0)
    with pytest.raises(SpecError):
        ef.radius(1.5)


def test_bad_requests_name_what_to_change(runner, photos):
    with pytest.raises(SpecError, match="no block named"):
        effective_field(runner, photos, "inception_9z")
    with pytest.raises(SpecError, match="unknown branch"):
        effective_field(runner, photos, "inception_3a", "7x7")
    with pytest.raises(SpecError, match="outside inception_3a's 14x14 map"):
        effective_field(runner, photos, "inception_3a", unit=(14, 0))
    with pytest.raises(SpecError, match="no images"):
        effective_field(runner, [], "inception_3a")
    dropped = get_runner(SPEC.with_block("inception_3a", **{"5x5": 0}))
    with pytest.raises(SpecError, match="5x5 branch of inception_3a is dropped"):
        effective_field(dropped, photos, "inception_3a", "5x5")


def test_field_image_and_json(runner, photos):
    ef = effective_field(runner, photos, "inception_3a")
    img = field_image(ef, None)
    assert img.dtype == np.uint8 and img.shape == (448, 448, 3)
    doc = json.loads(json.dumps(field_json(ef, 21)))
    assert doc["theoretical"] == {"size": [59, 59], "jump": [8, 8], "start": [6, 6], "centre": [54, 54],
                                  "box": [25, 25, 83, 83]}
    assert doc["effective"]["square"] == 21
    assert doc["effective"]["share_inside_square"] == pytest.approx(ef.share_inside(21))


def test_cli_rf_json_and_text(tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"preset": "googlenet", "input_shape": [112, 112, 3]}))
    out = tmp_path / "rf.png"
    rc = main(["rf", "cat", "--config", str(cfg), "--block", "inception_4c", "--branch", "3x3", "--out", str(out),
               "--format", "json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    doc = json.loads(captured.out)
    assert set(doc) == {"block", "branch", "layer", "unit", "map_shape", "images", "theoretical", "effective", "weights", "out"}
    assert set(doc["effective"]) == {"radius_50", "radius_90", "share_inside_theoretical", "square",
                                     "share_inside_square", "zero_images"}
    table = analyze(SPEC).row("inception_4c_3x3").receptive_field.to_json()
    assert {k: doc["theoretical"][k] for k in table} == table  # the same numbers as `table --format json`
    assert doc["layer"] == "inception_4c_3x3" and doc["images"] == 1 and doc["out"] == str(out)
    assert decode_image(out.read_bytes()).shape == (448, 448, 3)
    rc = main(["rf", "samples", "--config", str(cfg), "--block", "inception_3a", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "4 images" in text and "theoretical field: 59 px" in text and "50 % of the gradient within" in text
    assert len(sample_images()) == 4


@pytest.mark.parametrize("args, fragment", [
    (["--block", "inception_9z", "--out", "x.png"], "no block named"),
    (["--block", "inception_3a", "--unit", "99", "0", "--out", "x.png"], "outside inception_3a's"),
    (["--block", "inception_3a", "--out", "x.txt"], ".png"),
    (["--block", "inception_3a", "--square", "0", "--out", "x.png"], "--square"),
])
def test_cli_rf_bad_input_one_line_exit_2(tmp_path, capsys, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.json").write_text(json.dumps({"preset": "googlenet", "input_shape": [112, 112, 3]}))
    rc = main(["rf", "cat", "--config", "c.json", *args])
    err = capsys.readouterr().err
    assert rc == 2 and fragment in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x.png").exists()
