"""The imported zoo network equals onnxruntime on the zoo graph; activations, Grad-CAM and
mosaics come from the same pass.

The ONNX file is built inside the test with the zoo's structure and names (onnx.helper,
random weights), run by onnxruntime (an independent implementation of Conv, MaxPool with
asymmetric pads, LRN, Concat, AveragePool, Gemm transB=1, Softmax), then imported into our
Keras googlenet.
"""

import numpy as np
import onnxruntime as ort
import pytest

from inception_viz import images, inference, onnx_zoo
from inception_viz.presets import preset
from inception_viz.spec import SpecError
from inception_viz.weights import RANDOM_NOTE, ZOO_PREPROCESSING, load_onnx

SPEC = preset("googlenet")
BLOCKS = SPEC.block_names
STEM = ("conv1", "pool1", "lrn1", "conv2_reduce", "conv2", "lrn2", "pool2", "pool3", "pool4")
BRANCHES = ("inception_4c_1x1", "inception_4c_3x3", "inception_4c_5x5", "inception_4c_pool_proj")


def structured_images() -> dict[str, np.ndarray]:
    """224x224 RGB test images with structure (no photo needed), plus a sample photo."""
    y, x = np.mgrid[0:224, 0:224]
    out = {}
    out["h_gradient"] = np.stack([x * 255 // 223, 255 - x * 255 // 223, np.full_like(x, 128)], -1)
    out["v_gradient"] = np.stack([y * 255 // 223, np.full_like(y, 30), 255 - y * 255 // 223], -1)
    checker = ((x // 28 + y // 28) % 2) * 255
    out["checkerboard"] = np.stack([checker, 255 - checker, checker // 2], -1)
    out["rings"] = np.stack([(np.hypot(x - 112, y - 80) % 40) * 6, np.full_like(x, 200), (x * y) % 256], -1)
    out["photo"] = images.resize_to_input(images.load_sample("cat"))
    return {k: np.clip(v, 0, 255).astype(np.uint8) for k, v in out.items()}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    weights = onnx_zoo.random_zoo_weights(SPEC, seed=7)
    taps = STEM + BLOCKS + BRANCHES + ("linear",)
    model = onnx_zoo.build_onnx(weights, SPEC, extra_outputs=taps)
    # the graph has the zoo's interface and names
    assert [i.name for i in model.graph.input] == ["data_0"]
    assert model.graph.output[0].name == "prob_0"
    init_names = {t.name for t in model.graph.initializer}
    assert {"conv1/7x7_s2_w_0", "conv1/7x7_s2_b_0", "conv2/3x3_reduce_w_0", "conv2/3x3_w_0",
            "inception_3a/1x1_w_0", "inception_3a/3x3_reduce_b_0", "inception_5b/pool_proj_w_0",
            "loss3/classifier_w_0", "loss3/classifier_b_0"} <= init_names
    ops = {n.op_type for n in model.graph.node}
    assert {"Conv", "Relu", "MaxPool", "LRN", "Concat", "AveragePool", "Dropout", "Reshape", "Gemm", "Softmax"} <= ops
    pool1 = next(n for n in model.graph.node if n.name == "pool1/3x3_s2")
    assert [list(a.ints) for a in pool1.attribute if a.name == "pads"] == [[0, 0, 1, 1]]
    path = tmp_path_factory.mktemp("zoo") / "googlenet-test.onnx"
    path.write_bytes(model.SerializeToString())
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out_names = [o.name for o in sess.get_outputs()]
    runner = inference.Runner(SPEC, load_onnx(path))
    return {"weights": weights, "sess": sess, "names": out_names, "runner": runner, "taps": taps}


def run_ort(zoo, rgb):
    outs = zoo["sess"].run(None, {"data_0": ZOO_PREPROCESSING.onnx_input(rgb)})
    return dict(zip(zoo["names"], outs))


def test_import_maps_every_layer_and_is_trained(zoo):
    r = zoo["runner"]
    assert r.transfer.all_pretrained and not r.transfer.mismatched
    # 3 stem convs + 9 blocks x 6 convs + the classifier = 58 layers with weights
    assert len(r.transfer.pretrained) == 3 + 9 * 6 + 1 == 58
    assert r.weights.preprocessing is ZOO_PREPROCESSING and r.weights.trained
    assert r.weights.ignored == ()  # the int64 Reshape shape is not a weight
    assert r.note is None
    # layouts: OIHW -> HWIO, Gemm (out, in) -> Dense (in, out), conv1's input channels BGR -> RGB
    w = zoo["weights"]
    k = r.model.get_layer("inception_4c_3x3").get_weights()[0]
    assert k.shape == (3, 3, 128, 256)
    assert k[1, 2, 5, 7] == w["inception_4c/3x3_w_0"][7, 5, 1, 2]
    k1 = r.model.get_layer("conv1").get_weights()[0]
    assert k1[0, 0, 0, 3] == w["conv1/7x7_s2_w_0"][3, 2, 0, 0]  # R in Keras = channel 2 (R of BGR) in ONNX
    d = r.model.get_layer("linear").get_weights()[0]
    assert d.shape == (1024, 1000) and d[10, 20] == w["loss3/classifier_w_0"][20, 10]


@pytest.mark.parametrize("name", list(structured_images()))
def test_same_top5_probabilities_and_block_outputs_as_onnxruntime(zoo, name):
    rgb = structured_images()[name]
    ref = run_ort(zoo, rgb)
    r = zoo["runner"]
    probs = r.probabilities(rgb)
    ref_p = ref["prob_0"][0]
    assert [p.index for p in r.predict(rgb, 5)] == list(np.argsort(-ref_p, kind="stable")[:5])
    np.testing.assert_allclose(probs, ref_p, atol=1e-5, rtol=0)
    assert ref_p.max() > 5 * ref_p.min()  # the probabilities are not uniform: the test can fail
    acts = r.activations(rgb)
    np.testing.assert_allclose(acts[inference.PROBS][0], ref_p, atol=1e-5, rtol=0)
    for layer in zoo["taps"][:-1]:
        got = acts[layer][0]
        want = ref[onnx_zoo.tap_name(layer)][0].transpose(1, 2, 0)  # NCHW -> HWC
        assert got.shape == want.shape, layer
        scale = float(np.abs(want).max())
        np.testing.assert_allclose(got, want, atol=1e-4 * scale, rtol=1e-4, err_msg=layer)


def test_channel_order_matters(zoo):
    """Negative control: feeding RGB (not BGR) to the zoo graph changes the answer, so the
    equality above really checks the BGR handling."""
    rgb = structured_images()["h_gradient"]
    x = ZOO_PREPROCESSING.onnx_input(rgb)[:, ::-1].copy()
    wrong = zoo["sess"].run(["prob_0"], {"data_0": x})[0][0]
    right = zoo["runner"].probabilities(rgb)
    assert np.abs(wrong - right).max() > 1e-3


def test_gradcam_at_last_block_equals_closed_form(zoo):
    """After inception_5b come a 7x7 average pool, dropout (identity) and the linear layer,
    so d logit_c / d A[i, j, k] = W[k, c] / 49 everywhere: Grad-CAM = ReLU(sum_k A_k W[k, c] / 49).
    Computed here from onnxruntime's 5b output and the ONNX classifier weights."""
    rgb = structured_images()["photo"]
    ref = run_ort(zoo, rgb)
    a = ref["inception_5b/output_0"][0]  # (1024, 7, 7)
    c = int(np.argmax(ref["prob_0"][0]))
    w = zoo["weights"]["loss3/classifier_w_0"][c]  # (1024,)
    cam = np.maximum(np.tensordot(w / 49.0, a, axes=(0, 0)), 0)
    g = zoo["runner"].gradcam(rgb, "inception_5b")
    assert g.class_index == c and g.heatmap.shape == (7, 7)
    np.testing.assert_allclose(g.heatmap * g.peak, cam, atol=1e-4 * cam.max(), rtol=1e-4)
    assert g.heatmap.max() == pytest.approx(1.0)
    np.testing.assert_allclose(g.prob, ref["prob_0"][0][c], atol=1e-5)
    other = zoo["runner"].gradcam(rgb, "inception_5b", class_index=(c + 1) % 1000)
    assert other.class_index == (c + 1) % 1000 and not np.allclose(other.heatmap, g.heatmap)
    g4 = zoo["runner"].gradcam(rgb, "inception_4c")
    assert g4.heatmap.shape == (14, 14) and 0 <= g4.heatmap.min() and g4.heatmap.max() <= 1
    with pytest.raises(SpecError, match="classes are 0..999"):
        zoo["runner"].gradcam(rgb, "inception_5b", class_index=1000)
    with pytest.raises(SpecError, match="inception_3a"):
        zoo["runner"].gradcam(rgb, "inception_9z")


def test_block_mosaics_from_one_pass(zoo):
    r = zoo["runner"]
    acts = r.activations(structured_images()["checkerboard"])
    ms = inference.block_mosaics(acts, r.report, "inception_3a")
    assert list(ms) == ["1x1", "3x3", "5x5", "pool_proj", "concat"]
    # widths of 3a: 64, 128, 32, 32 -> concat 256 channels at 28x28
    assert [len(m.order) for m in ms.values()] == [64, 128, 32, 32, 256]
    assert ms["concat"].grid == (16, 16) and ms["concat"].tile == (28, 28)
    a = acts["inception_3a"][0]
    assert (ms["concat"].vmin, ms["concat"].vmax) == (float(a.min()), float(a.max()))
    stem = inference.block_mosaics(acts, r.report, "stem")
    assert list(stem) == list(STEM)
    assert all(isinstance(inference.png_bytes(m), bytes) for m in ms.values())
    with pytest.raises(SpecError, match="stem or one of"):
        inference.block_mosaics(acts, r.report, "inception_9z")


def test_export_round_trip_for_another_preset():
    """keras_to_zoo_onnx (what the benchmark runs in onnxruntime) is the same network and
    weights: the simplified preset has TF-"same" stride-2 convs and pools (asymmetric pads)."""
    spec = preset("simplified")
    r = inference.Runner(spec)
    model = onnx_zoo.keras_to_zoo_onnx(r.model, spec, extra_outputs=("inception_4a",))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rgb = structured_images()["rings"]
    x = r.preprocess(rgb)
    probs, a4 = sess.run(None, {"data_0": np.ascontiguousarray(x[..., ::-1].transpose(0, 3, 1, 2))})
    np.testing.assert_allclose(inference.compiled_forward(r.model)(x)[0], probs[0], atol=1e-5)
    want = a4[0].transpose(1, 2, 0)
    np.testing.assert_allclose(r.activations(rgb)["inception_4a"][0], want, atol=1e-4 * np.abs(want).max(), rtol=1e-4)


def test_random_runner_says_predictions_are_meaningless_and_no_head_models_refuse():
    r = inference.get_runner(preset("block"))
    assert r.note == RANDOM_NOTE
    with pytest.raises(SpecError, match="no classifier head"):
        r.predict(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(SpecError, match="32x32x64 inputs, not images"):
        r.activations(np.zeros((10, 10, 3), np.uint8))
    assert inference.get_runner(preset("block")) is r  # cached by (spec, weights, device)


def test_top_k_and_labels():
    labels = inference.load_labels()
    assert len(labels) == 1000 and labels[0] == "tench" and labels[1] == "goldfish"
    p = np.zeros(1000)
    p[[3, 999, 5]] = [0.5, 0.3, 0.3]
    got = inference.top_k(p, 3)
    assert [(g.index, g.prob) for g in got] == [(3, 0.5), (5, 0.3), (999, 0.3)]  # ties: lower index first
    assert got[0].label == labels[3]
    assert inference.load_labels(10)[9] == "class 9"
