"""Weights: the ONNX importer refuses what does not fit (naming the layer), the zoo download
is hash-checked, this app's .keras / .weights.h5 files round-trip, and transfer after an
edit keeps exactly the layers whose shapes match."""

import io
import json
import zipfile

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from inception_viz import onnx_zoo, weights as W
from inception_viz.keras_model import build_keras
from inception_viz.presets import preset
from inception_viz.spec import SpecError

SPEC = preset("googlenet")


@pytest.fixture(scope="module")
def zoo_bytes():
    return onnx_zoo.build_onnx(onnx_zoo.random_zoo_weights(SPEC, seed=3), SPEC).SerializeToString()


def _replace_initializer(data: bytes, name: str, array=None) -> bytes:
    m = onnx.load_model_from_string(data)
    inits = m.graph.initializer
    i = next(k for k, t in enumerate(inits) if t.name == name)
    del inits[i]
    if array is not None:
        inits.append(numpy_helper.from_array(array.astype(np.float32), name))
    return m.SerializeToString()


def one_line(exc) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and msg
    return msg


def test_zoo_constants_are_the_published_ones():
    # Git LFS pointer of onnx/models validated/.../googlenet/model/googlenet-12.onnx
    assert W.ZOO_SHA256 == "c99c507058eaf41de8723408fdda7db8325cb57f0a89f2ee07a716d6e963e14e"
    assert W.ZOO_SIZE == 28021836
    assert W.ZOO_URL.startswith("https://github.com/onnx/models/") and W.ZOO_URL.endswith("/googlenet-12.onnx")


def test_expected_shapes_match_the_paper_widths():
    shapes = onnx_zoo.expected_shapes(SPEC)
    assert len(shapes) == 2 * 58
    assert shapes["conv1/7x7_s2_w_0"] == (64, 3, 7, 7)
    assert shapes["inception_4c/3x3_w_0"] == (256, 128, 3, 3)
    # 4a input = 3b concat = 128 + 192 + 96 + 64 = 480 channels
    assert shapes["inception_4a/1x1_w_0"] == (192, 480, 1, 1)
    assert shapes["loss3/classifier_w_0"] == (1000, 1024)
    # total parameters equal the analytic count of googlenet (6,998,552)
    assert sum(int(np.prod(s)) for s in shapes.values()) == 6_998_552


def test_mismatched_shape_is_refused_naming_the_layer(zoo_bytes):
    bad = _replace_initializer(zoo_bytes, "inception_4c/3x3_w_0", np.zeros((255, 128, 3, 3)))
    with pytest.raises(SpecError) as e:
        W.load_onnx(bad)
    assert one_line(e) == "inception_4c/3x3_w_0: expected shape (256, 128, 3, 3), got (255, 128, 3, 3)"
    missing = _replace_initializer(zoo_bytes, "loss3/classifier_b_0")
    with pytest.raises(SpecError, match=r"^loss3/classifier_b_0: missing") as e:
        W.load_onnx(missing)
    one_line(e)


@pytest.mark.parametrize("fraction", [0.0005, 0.01, 0.3, 0.7, 0.9999])
def test_truncated_onnx_file_is_refused(zoo_bytes, tmp_path, fraction):
    path = tmp_path / "googlenet-12.onnx"
    path.write_bytes(zoo_bytes[: int(len(zoo_bytes) * fraction)])
    with pytest.raises(SpecError) as e:
        W.load_weights_file(path)
    msg = one_line(e)
    assert "truncated" in msg or "missing" in msg or "expected shape" in msg


def test_not_onnx_empty_external_and_too_large(zoo_bytes, tmp_path, monkeypatch):
    for data, words in [(b"", "empty"), (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, "not a readable ONNX file|no weights")]:
        with pytest.raises(SpecError, match=words) as e:
            W.load_onnx(data, "x.onnx")
        one_line(e)
    m = onnx.load_model_from_string(zoo_bytes)
    t = m.graph.initializer[0]
    t.data_location = onnx.TensorProto.EXTERNAL
    t.ClearField("raw_data")
    t.external_data.add(key="location", value="../../etc/passwd")
    with pytest.raises(SpecError, match="conv1/7x7_s2_w_0: stored in an external file"):
        W.load_onnx(m.SerializeToString())
    monkeypatch.setattr(W, "MAX_ONNX_BYTES", 1000)
    big = tmp_path / "big.onnx"
    big.write_bytes(b"0" * 1001)
    with pytest.raises(SpecError, match="limit for ONNX files is 1,000 bytes"):
        W.load_onnx(big)
    with pytest.raises(SpecError, match="must end in .onnx, .keras or .weights.h5"):
        W.load_weights_file(tmp_path / "weights.pkl")


def test_transfer_after_an_edit_keeps_exactly_the_matching_layers(zoo_bytes):
    wts = W.load_onnx(zoo_bytes)
    assert wts.source == "onnx" and wts.trained  # a fitting file that is not the zoo's own
    edited = SPEC.with_block("inception_4c", **{"3x3": 200})
    model = build_keras(edited, seed=0)
    before = {l.name: [v.copy() for v in l.get_weights()] for l in model.layers if l.weights}
    rep = W.apply_weights(model, wts)
    # 4c's 3x3 conv changes shape (3,3,128,256) -> (3,3,128,200); 4c's concat shrinks from
    # 512 to 456 channels, so every conv of 4d that reads the block input changes its input
    # channels (1x1, 3x3_reduce, 5x5_reduce, pool_proj); 4d's 3x3 and 5x5 read the reduces
    # and keep their shapes.
    expected_fresh = {"inception_4c_3x3", "inception_4d_1x1", "inception_4d_3x3_reduce",
                      "inception_4d_5x5_reduce", "inception_4d_pool_proj"}
    assert set(rep.fresh) == expected_fresh
    assert set(rep.mismatched) == expected_fresh
    assert len(rep.pretrained) == 58 - 5
    for l in model.layers:
        if not l.weights:
            continue
        got = l.get_weights()
        if l.name in expected_fresh:  # untouched fresh initialisation
            assert all(np.array_equal(a, b) for a, b in zip(got, before[l.name])), l.name
        else:
            assert all(np.array_equal(a, b) for a, b in zip(got, wts.by_layer[l.name])), l.name
    status = rep.layer_status(edited)
    assert status["inception_4c"] == "partly pretrained" and status["inception_4d"] == "partly pretrained"
    assert status["inception_4e"] == "pretrained" and status["conv1"] == "pretrained" and status["pool1"] == "no weights"
    br = rep.branch_status(edited)
    assert br["inception_4c"] == {"1x1": "pretrained", "3x3": "partly pretrained", "5x5": "pretrained", "pool_proj": "pretrained"}
    assert br["inception_4d"] == {"1x1": "fresh", "3x3": "partly pretrained", "5x5": "partly pretrained", "pool_proj": "fresh"}
    assert W.prediction_note(wts, rep) == W.PARTIAL_NOTE
    # auxiliary classifiers on: their layers are fresh, but they do not feed the main output
    rep_aux = W.apply_weights(build_keras(SPEC.with_options(aux=True), seed=0), wts)
    assert rep_aux.fresh and all(n.startswith(("aux1_", "aux2_")) for n in rep_aux.fresh)
    assert len(rep_aux.pretrained) == 58 and W.prediction_note(wts, rep_aux) is None
    # 10 classes: only the classifier is re-initialised
    rep10 = W.apply_weights(build_keras(SPEC.with_options(classes=10), seed=0), wts)
    assert rep10.fresh == ("linear",)
    # random weights: nothing pretrained
    r = W.apply_weights(build_keras(preset("block"), seed=0), W.random_weights())
    assert r.pretrained == () and len(r.fresh) == 6 and W.prediction_note(W.random_weights(), r) == W.RANDOM_NOTE


def test_keras_and_weights_h5_round_trip(zoo_bytes, tmp_path):
    spec = SPEC.with_block("inception_5b", **{"5x5": 64})
    wts = W.load_onnx(zoo_bytes)
    model = build_keras(spec, seed=1)
    W.apply_weights(model, wts)
    ref = {k: v for k, v in W.weights_by_layer(model).items()}
    for fname, save in [("m.keras", W.save_model_file), ("m.weights.h5", W.save_weights_file)]:
        path = save(model, tmp_path / fname, spec, wts)
        loaded = W.load_weights_file(path)
        assert loaded.preprocessing is W.ZOO_PREPROCESSING and loaded.trained and loaded.source == "keras"
        assert set(loaded.by_layer) == set(ref)
        for k in ref:
            assert all(np.array_equal(a, b) for a, b in zip(loaded.by_layer[k], ref[k])), (fname, k)
        # from bytes (an upload) too
        again = W.load_weights_file(path.read_bytes(), name=fname)
        assert again.key == loaded.key
    with pytest.raises(SpecError, match="must end in .keras"):
        W.save_model_file(model, tmp_path / "m.h5", spec, wts)


@pytest.mark.filterwarnings("ignore:Skipping nested container:UserWarning")
def test_keras_files_refused_unsafe_truncated_or_mismatched(tmp_path):
    import keras

    # a Lambda layer holds Python bytecode: a file this app did not write is refused
    # before Keras opens it (issue 18); test_reliability checks safe_mode=True on the rest
    inp = keras.Input((4,))
    lam = keras.Model(inp, keras.layers.Lambda(lambda x: x * 2, name="evil")(inp))
    lam.save(tmp_path / "lambda.keras")
    with pytest.raises(SpecError, match="only .keras files saved by this app") as e:
        W.load_weights_file(tmp_path / "lambda.keras")
    one_line(e)
    data = (tmp_path / "lambda.keras").read_bytes()
    with pytest.raises(SpecError, match="truncated|could not be loaded|saved by this app") as e:
        W.load_weights_file(data[: len(data) // 2], name="cut.keras")
    one_line(e)
    # a zip bomb-ish .keras: entries expanding beyond the limit are refused before loading
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps({}))
        z.writestr("model.weights.h5", b"\0" * (W.MAX_KERAS_BYTES + 1))
    with pytest.raises(SpecError, match="expands to"):
        W.load_weights_file(buf.getvalue(), name="bomb.keras")
    # a plain Keras weights file of another architecture does not fit googlenet
    small = build_keras(preset("block"), seed=0)
    small.save_weights(tmp_path / "plain.weights.h5")
    with pytest.raises(SpecError, match="does not fit the googlenet model") as e:
        W.load_weights_file(tmp_path / "plain.weights.h5")
    one_line(e)


class _FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def test_download_verifies_hash_and_uses_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("INCEPTION_VIZ_CACHE", str(tmp_path / "cache"))
    assert W.cache_dir() == tmp_path / "cache" and W.cached_zoo_path() is None
    payload = b"pretend onnx bytes" * 1000
    digest = W.sha256_bytes(payload)
    seen = []
    opener = lambda url, timeout: (seen.append(url), _FakeResponse(payload))[1]  # noqa: E731
    progress = []
    path = W.download_zoo(opener=opener, expected_sha256=digest, expected_size=len(payload),
                          progress=lambda d, t: progress.append((d, t)))
    assert seen == [W.ZOO_URL] and path == tmp_path / "cache" / "googlenet-12.onnx"
    assert path.read_bytes() == payload and progress[-1] == (len(payload), len(payload))
    assert W.cached_zoo_path() is None  # not the real zoo file: its hash is not ZOO_SHA256
    path.unlink()
    with pytest.raises(SpecError, match="SHA-256") as e:
        W.download_zoo(opener=lambda url, timeout: _FakeResponse(payload), expected_size=len(payload))
    one_line(e)
    with pytest.raises(SpecError, match="larger than the expected"):
        W.download_zoo(opener=lambda url, timeout: _FakeResponse(payload), expected_size=10)

    def offline(url, timeout):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    with pytest.raises(SpecError, match="offline") as e:
        W.download_zoo(opener=offline)
    one_line(e)
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-written is left
    with pytest.raises(SpecError, match="ImageNet weights are not in"):
        W.imagenet_weights()
    fake = tmp_path / "googlenet-12.onnx"
    fake.write_bytes(b"x" * 10)
    with pytest.raises(SpecError, match="28,021,836 bytes"):
        W.install_zoo_file(fake)


def test_preprocessing_is_data_and_matches_the_zoo_readme():
    rgb = np.zeros((224, 224, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    x = W.ZOO_PREPROCESSING.keras_input(rgb)
    assert x.shape == (1, 224, 224, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, 0, 0], [200 - 123.68, 100 - 116.779, 50 - 103.939], rtol=1e-6)
    o = W.ZOO_PREPROCESSING.onnx_input(rgb)
    assert o.shape == (1, 3, 224, 224)
    # the README: subtract R/G/B means, then img[:, :, [0, 1, 2]] = img[:, :, [2, 1, 0]] (BGR), then CHW
    np.testing.assert_allclose(o[0, :, 5, 5], [50 - 103.939, 100 - 116.779, 200 - 123.68], rtol=1e-6)
    r = W.RANDOM_PREPROCESSING.keras_input(rgb)
    np.testing.assert_allclose(r[0, 0, 0], [200 / 127.5 - 1, 100 / 127.5 - 1, 50 / 127.5 - 1], rtol=1e-6)
    g = W.RANDOM_PREPROCESSING.keras_input(rgb, (32, 32, 1))
    assert g.shape == (1, 32, 32, 1)
    assert "123.68" in W.ZOO_PREPROCESSING.description and "BGR" in W.ZOO_PREPROCESSING.description
