"""Receptive fields in the app, driven headless with AppTest: the field chart (Charts), the
theoretical table and the effective field (the "Receptive fields" view), and the unit
picker on the enlarged channel (Predictions).

Expected numbers: the theoretical fields as closed forms written out here; the effective
field's numbers from :func:`inception_viz.receptive.field_json` on a fresh computation (the
module's cache emptied first), so what the view prints is checked against the module's own
JSON, not against itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from _visitor import open_view
from inception_viz import images
from inception_viz.presets import preset

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 300


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INCEPTION_VIZ_CACHE", str(tmp_path / "cache"))


def open_app(view: str, **session) -> AppTest:
    return open_view(view, TIMEOUT, **session)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def image_captions(at) -> list[str]:
    return [i.caption for e in at.get("image") for i in e.proto.imgs]


def chart_figure(at: AppTest, key: str) -> dict:
    (c,) = [c for c in at.get("plotly_chart") if c.key == key]
    return json.loads(c.proto.spec)


# -- no TensorFlow ------------------------------------------------------------------------


def test_charts_show_the_field_growth_and_an_axis_switch_for_non_square_inputs():
    at = open_app("charts")
    assert not at.exception, at.exception
    fig = chart_figure(at, "chart-rf")
    line = next(t for t in fig["data"] if t.get("name") == "layer / block (concat)")
    sizes = dict(zip(line["x"], line["y"]))
    # conv1 7; pool5 = 5b's 715 + (7-1)·32 = 907 (README "Receptive fields")
    assert sizes["conv1"] == 7 and sizes["inception_5b"] == 715 and sizes["pool5"] == 907
    assert not [r for r in at.radio if r.key == "chart-rf-axis"]  # square input: nothing to choose
    # 224 x 160: along the width, conv1 still sees 7 px; the axis switch appears
    spec = preset("googlenet").with_options(input_shape=(224, 160, 3))
    at = open_app("charts", spec=spec, gen=1, error=None)
    assert not at.exception, at.exception
    at.radio(key="chart-rf-axis").set_value(1).run()
    fig = chart_figure(at, "chart-rf")
    assert "width (160 px)" in json.dumps(fig)


def test_receptive_view_opens_with_the_focus_blocks_theoretical_table():
    at = open_app("receptive")
    assert not at.exception, at.exception
    assert not at.toggle(key="rf-on").value  # no TensorFlow until asked
    df = at.dataframe[0].value
    fields = dict(zip(df["layer"], df["field (px)"]))
    # 3a reads pool2's 27 px (jump 8); each k x k conv adds (k-1)·8: 3x3 43, 5x5 59;
    # the 3x3/1 pool adds 16 too, its projection keeps 43; the concat is the largest: 59
    assert fields["pool2"] == "27" and fields["inception_3a_1x1"] == "27"
    assert fields["inception_3a_3x3_reduce"] == "27" and fields["inception_3a_3x3"] == "43"
    assert fields["inception_3a_5x5"] == "59" and fields["inception_3a_pool_proj"] == "43"
    assert fields["inception_3a"] == "59"
    assert set(df["jump (px)"]) == {"8"}
    # a dropped branch has no row
    spec = preset("googlenet").with_block("inception_3a", **{"5x5_reduce": 0, "5x5": 0})
    at = open_app("receptive", spec=spec, gen=1, error=None)
    df = at.dataframe[0].value
    assert not [n for n in df["layer"] if "5x5" in n]
    assert dict(zip(df["layer"], df["field (px)"]))["inception_3a"] == "43"


def test_block_preset_has_no_image_input_for_the_effective_field():
    at = open_app("receptive", spec=preset("block"), gen=1, error=None)
    assert not at.exception, at.exception
    assert dict(zip(at.dataframe[0].value["layer"], at.dataframe[0].value["field (px)"]))["inception_3a"] == "5"
    assert any("not images" in i.value for i in at.info)
    assert not [t for t in at.toggle if t.key == "rf-on"]


def test_the_views_table_and_chart_need_no_tensorflow():
    code = textwrap.dedent(
        f"""
        import sys
        from streamlit.testing.v1 import AppTest
        for view in ("receptive", "charts"):
            at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT})
            at.query_params["view"] = view
            at.run()
            assert not at.exception, at.exception
        print("TF" if "tensorflow" in sys.modules or "keras" in sys.modules else "NO-TF")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "NO-TF"


# -- TensorFlow: runs after the tests above (it stays loaded in this process) ---------------


def expected(spec, photos, block, branch, square):
    """field_json of a fresh computation (the module's cache emptied)."""
    from inception_viz import inference, receptive
    from inception_viz.weights import random_weights

    receptive._CACHE.clear()
    runner = inference.get_runner(spec, random_weights(0))
    ef = receptive.effective_field(runner, photos, block, branch)
    return ef, receptive.field_json(ef, square)


def shown_numbers_match(at: AppTest, ef, doc) -> None:
    m, e = metrics(at), doc["effective"]
    assert m["Theoretical field"] == f"{ef.field.label} px"
    assert m["50 % radius"] == f"{e['radius_50']:g} px"
    assert m["90 % radius"] == f"{e['radius_90']:g} px"
    assert m[f"Inside {e['square']} px square"] == f"{e['share_inside_square']:.1%}"
    assert m["Inside the field"] == "100.0%"  # the gradient never leaves the theoretical field
    shown = json.loads(at.json[0].proto.body)
    assert shown == {**json.loads(json.dumps(doc)), "weights": "random initialisation (seed 0)"}


def test_effective_field_over_the_samples_then_one_image_matches_field_json():
    at = open_app("receptive")
    at.toggle(key="rf-on").set_value(True).run()
    assert not at.exception, at.exception
    # random weights: said plainly
    assert any("effective field of an untrained network is not the trained one's" in w.value for w in at.warning)
    spec = preset("googlenet")
    photos = [images.load_sample(n) for n in images.SAMPLES]
    # default: 3a's concat, its centre unit, the square min(59, 224) // 2 = 29 px
    ef, doc = expected(spec, photos, "inception_3a", None, 29)
    assert ef.unit == (13, 13) and doc["theoretical"]["size"] == [59, 59]
    shown_numbers_match(at, ef, doc)
    assert any(c.startswith("|gradient| of unit (13, 13) of inception_3a (28x28 map) averaged over the 4 sample photos")
               for c in image_captions(at))
    # the 3x3 branch (43 px), a 15 px square, on the Predictions view's image
    at.radio(key="rf-branch:inception_3a").set_value("3x3").run()
    at.number_input(key="rf-square:inception_3a_3x3").set_value(15).run()
    at.radio(key="rf-source").set_value("image").run()
    assert not at.exception, at.exception
    name = at.selectbox(key="pred-sample").value
    ef, doc = expected(spec, [images.load_sample(name)], "inception_3a", "3x3", 15)
    assert doc["theoretical"]["size"] == [43, 43] and doc["images"] == 1
    shown_numbers_match(at, ef, doc)
    assert any(f"over {name}" in c for c in image_captions(at))


def test_unit_picker_draws_the_units_field_and_predictions_offer_onnx(monkeypatch):
    from streamlit.runtime.media_file_manager import MediaFileManager

    from inception_viz import exports
    from inception_viz.weights import random_weights

    deferred = {}
    add_deferred = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        deferred[file_name] = data_callable
        return add_deferred(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    at = open_app("predictions")
    at.toggle(key="pred-on").set_value(True).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="pred-enlarge-map").value == "1x1"
    row, col = at.slider(key="pred-unit:inception_3a:1x1:row"), at.slider(key="pred-unit:inception_3a:1x1:column")
    # the centre unit: centres 6 + 8i; the input's centre 111.5 is nearest 110 (i = 13)
    assert (row.value, col.value) == (13, 13)
    row.set_value(0).run()
    at.slider(key="pred-unit:inception_3a:1x1:column").set_value(27).run()
    assert not at.exception, at.exception
    # unit (0, 27): centre (6, 6 + 27·8 = 222), 27 px: rows -7..19, columns 209..235, clipped to 0..19, 209..223
    text = "\n".join(image_captions(at))
    assert ("Unit (0, 27) of inception_3a_1x1's 28x28 map: field 27 px, jump 8 px, start 6 px; centred at (6, 222); "
            "sees rows 0..19, columns 209..223 of the 224x224 input (clipped at the borders).") in text
    assert "the unit (0, 27) outlined" in text
    # the stem's conv1: 112x112 map, 7 px field
    at.selectbox(key="pred-group").set_value("stem").run()
    assert at.slider(key="pred-unit:stem:conv1:row").max == 111
    assert "field 7 px, jump 2 px" in "\n".join(image_captions(at))
    # the model in use, as ONNX, byte for byte what `export --format onnx` writes
    spec = preset("googlenet")
    assert deferred["googlenet.onnx"]() == exports.onnx_bytes(spec, random_weights(0))
