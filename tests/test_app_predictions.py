"""The "Predictions & feature maps" section of the app, driven headless with AppTest.

Expected numbers come from independent paths: the top class from onnxruntime on the same
ONNX file, the transfer status from the widths edited, channel counts from Table 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from streamlit.testing.v1 import AppTest

from _visitor import LOOPBACK, as_visitor
from inception_viz import images, onnx_zoo
from inception_viz.presets import preset
from inception_viz.weights import RANDOM_NOTE, ZOO_PREPROCESSING

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 300


@pytest.fixture(scope="module")
def zoo_file(tmp_path_factory):
    model = onnx_zoo.build_onnx(onnx_zoo.random_zoo_weights(preset("googlenet"), seed=5))
    path = tmp_path_factory.mktemp("app") / "googlenet-test.onnx"
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INCEPTION_VIZ_CACHE", str(tmp_path / "cache"))


def open_app(**session) -> AppTest:
    """The app on its Predictions view (AppTest cannot click a tab: the URL opens it)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["view"] = "predictions"
    for k, v in session.items():
        at.session_state[k] = v
    return at.run()


def start(**session) -> AppTest:
    at = open_app(**session)
    at.toggle(key="pred-on").set_value(True).run()
    assert not at.exception, at.exception
    return at


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def image_captions(at) -> str:
    """Captions of every st.image on the page."""
    return "\n".join(i.caption for e in at.get("image") for i in e.proto.imgs)


def test_section_is_off_until_switched_on_and_random_weights_say_meaningless():
    at = open_app()
    assert not at.exception
    assert not at.toggle(key="pred-on").value
    # the first page already shows the sample photo (decoded with Pillow, no TensorFlow)
    first = next(iter(images.SAMPLES))
    # one size convention (height × width, as the network and the tables): the photo's
    # caption used to give width × height ("cat (448x298 pixels)")
    h, w, _ = images.load_sample(first).shape
    assert f"{first} ({h}x{w} pixels, height × width)" in image_captions(at).splitlines()
    at.toggle(key="pred-on").set_value(True).run()
    assert not at.exception, at.exception
    assert RANDOM_NOTE in [w.value for w in at.warning]
    assert f"{first}, as the network sees it (224x224, height × width)" in image_captions(at)
    assert "pixel values scaled from 0-255 to -1..1" in captions(at)
    # default feature maps: inception_3a, one mosaic per branch + the concat, channels from Table 1
    text = image_captions(at)
    for branch, channels in (("1x1", 64), ("3x3", 128), ("5x5", 32), ("pool_proj", 32)):
        assert f"branch {branch}: {channels} channels of 28x28" in text
    assert "inception_3a (concat): 256 channels of 28x28" in text
    assert len(at.get("plotly_chart")) >= 1
    # sort by mean and switch to the stem: no exception, conv1 has 64 maps of 112x112
    at.radio(key="pred-sort").set_value("mean").run()
    at.selectbox(key="pred-group").set_value("stem").run()
    assert not at.exception
    assert "conv1: 64 channels of 112x112" in image_captions(at)


def test_uploaded_zoo_layout_onnx_gives_onnxruntimes_top_class_and_gradcam(zoo_file):
    at = start()
    at.radio(key="pred-source").set_value("A weights file").run()
    at.file_uploader(key="pred-weights-file").upload(zoo_file.name, zoo_file.read_bytes(), "application/octet-stream").run()
    assert not at.exception, at.exception
    assert RANDOM_NOTE not in [w.value for w in at.warning]
    assert "minus the ImageNet means R 123.68" in captions(at)
    assert "All 58 layers with weights carry the loaded weights." in captions(at)
    # the top class equals onnxruntime's on the same file and the default sample photo
    sess = ort.InferenceSession(str(zoo_file), providers=["CPUExecutionProvider"])
    rgb = images.load_sample(at.selectbox(key="pred-sample").value)
    top = int(np.argmax(sess.run(["prob_0"], {"data_0": ZOO_PREPROCESSING.onnx_input(rgb)})[0][0]))
    assert "Grad-CAM at" not in image_captions(at)  # opt-in: no backward pass until asked
    at.toggle(key="pred-cam-on").set_value(True).run()
    assert at.selectbox(key="pred-cam-class:1000").value == top
    assert "Grad-CAM at inception_5b (7x7, upsampled)" in image_captions(at)
    # a mismatched upload: error naming the layer, the last good weights stay in use
    bad = onnx_zoo.random_zoo_weights(preset("googlenet"), seed=5)
    bad_model = onnx_zoo.build_onnx(bad)
    t = next(t for t in bad_model.graph.initializer if t.name == "loss3/classifier_b_0")
    t.dims[0] = 999
    t.raw_data = t.raw_data[: 999 * 4]
    at.file_uploader(key="pred-weights-file").upload("bad.onnx", bad_model.SerializeToString(), "application/octet-stream").run()
    assert not at.exception
    assert any("loss3/classifier_b_0: expected shape (1000,), got (999,)" in e.value for e in at.error)
    assert any("Still using" in c.value for c in at.caption)
    assert at.selectbox(key="pred-cam-class:1000").value == top


def test_transfer_after_an_edit_is_shown(zoo_file):
    edited = preset("googlenet").with_block("inception_4c", **{"3x3": 200})
    at = start(spec=edited, gen=1, error=None)
    at.radio(key="pred-source").set_value("A weights file").run()
    at.file_uploader(key="pred-weights-file").upload(zoo_file.name, zoo_file.read_bytes(), "application/octet-stream").run()
    assert not at.exception, at.exception
    # 4c's 3x3 conv and the four convs of 4d reading 4c's narrower output: 5 of 58 layers
    assert any("5 of 58 layers with weights no longer fit the loaded weights" in w.value for w in at.warning)
    df = at.dataframe[-1].value
    status = dict(zip(df["layer"], df["weights"]))
    assert status["inception_4c"] == "partly pretrained" and status["inception_4d"] == "partly pretrained"
    assert status["inception_4e"] == "pretrained" and status["conv1"] == "pretrained"
    # the overview graph beside the table marks the same blocks
    dot = at.get("graphviz_chart")[-1].proto.spec
    assert "partly pretrained" in dot and ">pretrained<" in dot
    assert any("Predictions of" in w.value or "re-initialised" in w.value for w in at.warning)


def test_imagenet_without_cache_offers_download_and_bad_image_keeps_the_last(monkeypatch):
    as_visitor(monkeypatch, LOOPBACK, shared=False)  # the lecturer's own browser (issue 16)
    at = start()
    at.radio(key="pred-source").set_value("ImageNet (ONNX Model Zoo GoogLeNet)").run()
    assert not at.exception
    assert any("are not in" in i.value for i in at.info)
    assert at.button(key="pred-download")
    at.text_input(key="pred-zoo-path").set_value("/nonexistent/googlenet-12.onnx").run()
    assert any("not a readable copy of googlenet-12.onnx" in e.value for e in at.error)
    at.radio(key="pred-source").set_value("Random (untrained)").run()
    at.file_uploader(key="pred-image-file").upload("broken.jpg", b"\xff\xd8\xff\xe0 not really", "image/jpeg").run()
    assert not at.exception
    assert any("broken.jpg" in e.value for e in at.error)
    assert RANDOM_NOTE in [w.value for w in at.warning]  # the sample photo is still analysed


def test_block_preset_explains_why_there_is_nothing_to_run():
    at = open_app(spec=preset("block"), gen=1, error=None)
    assert not at.exception
    assert any("32x32x64 inputs, not images" in i.value for i in at.info)


def enlarge_box(at, where: str):
    return next(n for n in at.number_input if n.key.startswith(f"pred-enlarge-ch:{where}:"))


def test_enlarged_channel_starts_on_the_most_active_one():
    """It used to start on channel 0, which on a photo was all dark ("mean 0, max 0")."""
    from inception_viz import inference
    from inception_viz.weights import random_weights

    at = start()
    which = at.selectbox(key="pred-enlarge-map").value
    # an independent pass of the same runner: the channel with the largest mean
    spec = preset("googlenet")
    runner = inference.get_runner(spec, random_weights(0))
    acts = runner.activations(images.load_sample(at.selectbox(key="pred-sample").value))
    layer = inference.group_layers(spec, "inception_3a")[which]
    act = acts[layer][0]
    means = act.reshape(-1, act.shape[-1]).mean(axis=0)
    best = int(np.argmax(means))
    assert means[best] > 0
    assert enlarge_box(at, f"inception_3a:{which}").value == best
    assert f"{layer} channel {best}: mean {means[best]:.4g}" in image_captions(at)


def test_most_active_channel_breaks_ties_by_max():
    a = np.zeros((4, 4, 3), np.float32)
    a[0, 0, 1] = 8.0  # mean 0.5, max 8
    a[:, :, 2] = 0.5  # mean 0.5, max 0.5
    assert images.most_active_channel(a) == 1
    a[1, 1, 2] = 1.0
    assert images.most_active_channel(a[None]) == 2  # a batch of one reads the same


def test_switching_maps_and_classes_never_leaves_a_stale_widget_value():
    at = start()
    at.selectbox(key="pred-enlarge-map").set_value("3x3").run()
    enlarge_box(at, "inception_3a:3x3").set_value(100).run()
    assert "inception_3a_3x3 channel 100" in image_captions(at)
    at.selectbox(key="pred-enlarge-map").set_value("5x5").run()  # 32 channels only
    assert not at.exception, at.exception
    assert enlarge_box(at, "inception_3a:5x5").value < 32
    assert f"inception_3a_5x5 channel {enlarge_box(at, 'inception_3a:5x5').value}:" in image_captions(at)
    at.session_state["spec"] = preset("googlenet").with_options(classes=10)
    at.session_state["gen"] = 2
    at.run()
    assert not at.exception, at.exception
    assert at.slider(key="pred-k:10").max == 10
    chart = [c for c in at.get("plotly_chart") if c.key == "chart-predictions"]
    assert len(chart) == 1 and "Top 5 of 10 classes" in chart[0].proto.spec


def test_a_keras_file_of_random_weights_is_loaded_not_pretrained():
    """A .keras saved from random weights used to be called "pretrained"; its metadata
    says it is untrained, so every view says "loaded"."""
    from inception_viz import exports
    from inception_viz import weights as W

    g = preset("googlenet")
    data = exports.keras_bytes(g, W.random_weights(0))  # what Instantiate's download gives
    edited = g.with_block("inception_4c", **{"3x3": 200})
    at = start(spec=edited, gen=1, error=None)
    at.radio(key="pred-source").set_value("A weights file").run()
    at.file_uploader(key="pred-weights-file").upload("googlenet.keras", data, "application/octet-stream").run()
    assert not at.exception, at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert RANDOM_NOTE in warnings  # untrained: predictions are meaningless
    assert "keeps its loaded weights" in warnings and "pretrained" not in warnings
    df = at.dataframe[-1].value
    status = dict(zip(df["layer"], df["weights"]))
    assert status["inception_4c"] == "partly loaded" and status["conv1"] == "loaded"
    assert not any("pretrained" in str(v) for v in df.to_numpy().ravel())
    dot = at.get("graphviz_chart")[-1].proto.spec
    assert "pretrained" not in dot and ">loaded<" in dot
    assert not any("pretrained" in m.value for m in at.markdown)
