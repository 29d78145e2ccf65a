"""``python -m inception_viz predict / activations / weights`` end to end, in subprocesses."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper
from PIL import Image

from inception_viz import onnx_zoo
from inception_viz.images import read_image_file
from inception_viz.presets import preset
from inception_viz.weights import ZOO_PREPROCESSING

ROOT = Path(__file__).resolve().parents[1]


def run(*args, env=None):
    e = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-m", "inception_viz", *map(str, args)], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    model = onnx_zoo.build_onnx(onnx_zoo.random_zoo_weights(preset("googlenet"), seed=11))
    (d / "zoo.onnx").write_bytes(model.SerializeToString())
    y, x = np.mgrid[0:300, 0:400]
    img = np.stack([x * 255 // 399, y * 255 // 299, ((x // 50 + y // 50) % 2) * 255], -1).astype(np.uint8)
    Image.fromarray(img).save(d / "pattern.png")
    bad = onnx.load_model_from_string(model.SerializeToString())
    t = next(t for t in bad.graph.initializer if t.name == "inception_4c/3x3_w_0")
    t.CopyFrom(numpy_helper.from_array(np.zeros((255, 128, 3, 3), np.float32), "inception_4c/3x3_w_0"))
    (d / "bad.onnx").write_bytes(bad.SerializeToString())
    return d


def test_predict_json_equals_onnxruntime_on_the_same_file(files):
    res = run("predict", files / "pattern.png", "--weights", files / "zoo.onnx", "--top", 7, "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    # "notes" added by issue 18 (extends the contract): the zoo-layout file on the googlenet
    # network it was trained as: nothing to note
    assert list(doc) == ["predictions", "notes"] and len(doc["predictions"]) == 7 and doc["notes"] == []
    for p in doc["predictions"]:
        assert list(p) == ["index", "label", "prob"]
        assert type(p["index"]) is int and type(p["label"]) is str and type(p["prob"]) is float
    probs = [p["prob"] for p in doc["predictions"]]
    assert probs == sorted(probs, reverse=True)
    # independent path: onnxruntime on the ONNX file with the zoo README's preprocessing
    sess = ort.InferenceSession(str(files / "zoo.onnx"), providers=["CPUExecutionProvider"])
    ref = sess.run(["prob_0"], {"data_0": ZOO_PREPROCESSING.onnx_input(read_image_file(files / "pattern.png"))})[0][0]
    order = np.argsort(-ref, kind="stable")[:7]
    assert [p["index"] for p in doc["predictions"]] == order.tolist()
    np.testing.assert_allclose(probs, ref[order], atol=1e-5)
    labels = (ROOT / "assets" / "imagenet_classes.txt").read_text().splitlines()
    assert [p["label"] for p in doc["predictions"]] == [labels[i] for i in order]
    assert "random" not in res.stderr  # trained-looking weights: no "meaningless" note


def test_predict_random_text_says_meaningless_and_json_stays_pure(files):
    res = run("predict", "cat", "--top", 3)
    assert res.returncode == 0, res.stderr
    assert "meaningless" in res.stdout and "rank" in res.stdout
    assert len([l for l in res.stdout.splitlines() if l.strip().startswith(("1 ", "2 ", "3 "))]) == 3
    res = run("predict", "cat", "--format", "json", "--top", 1)
    assert res.returncode == 0 and len(json.loads(res.stdout)["predictions"]) == 1
    assert "meaningless" in res.stderr


def test_activations_writes_png_mosaics(files, tmp_path):
    out = tmp_path / "maps"
    res = run("activations", files / "pattern.png", "--block", "inception_3a", "--out", out, "--sort", "mean", "--gradcam")
    assert res.returncode == 0, res.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"inception_3a_{k}.png" for k in ("1x1", "3x3", "5x5", "pool_proj", "concat", "gradcam"))
    # concat: 256 channels -> 16 x 16 tiles of 28 px with 1 px gaps = 16 * 29 - 1 = 463 px
    assert Image.open(out / "inception_3a_concat.png").size == (463, 463)
    assert Image.open(out / "inception_3a_gradcam.png").size == (224, 224)
    assert "colour scale" in res.stdout
    res = run("activations", "coffee", "--block", "stem", "--out", out)
    assert res.returncode == 0 and (out / "stem_conv1.png").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "nothere.jpg"], "image file 'nothere.jpg' does not exist"),
        (["predict", "cat", "--top", "0"], "--top must be at least 1"),
        (["predict", "cat", "--weights", "imagenet"], "ImageNet weights are not in"),
        (["activations", "cat", "--block", "inception_9z", "--out", "x"], "choose stem or one of"),
        (["predict", "cat", "--weights", "{bad}"], "inception_4c/3x3_w_0: expected shape (256, 128, 3, 3), got (255, 128, 3, 3)"),
        (["predict", "{png}"], "not a readable image"),
    ],
)
def test_bad_input_is_one_line_exit_2(files, tmp_path, args, message):
    (tmp_path / "fake.png").write_bytes(b"not really a png")
    args = [a.format(bad=files / "bad.onnx", png=tmp_path / "fake.png") for a in args]
    res = run(*args, env={"INCEPTION_VIZ_CACHE": str(tmp_path / "empty-cache")})
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and message in res.stderr and "Traceback" not in res.stderr
    assert res.stdout == ""


def test_weights_where_and_install_refusal(tmp_path):
    env = {"INCEPTION_VIZ_CACHE": str(tmp_path / "c")}
    res = run("weights", "where", env=env)
    assert res.returncode == 0 and str(tmp_path / "c") in res.stdout and "not present" in res.stdout
    (tmp_path / "copy.onnx").write_bytes(b"x" * 100)
    res = run("weights", "install", tmp_path / "copy.onnx", env=env)
    assert res.returncode == 2 and "28,021,836 bytes" in res.stderr
