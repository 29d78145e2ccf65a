"""The Keras builder against the analytic counter (layer by layer, every preset and random
specs), forward passes, and the Caffe-style layers against numpy references of Caffe's
formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

keras = pytest.importorskip("keras")

# classes = 1 is a legal edge case; Keras warns that a softmax over one class is always 1
pytestmark = pytest.mark.filterwarnings("ignore:You are using a softmax over axis")

from inception_viz.counter import analyze, min_input_side  # noqa: E402
from inception_viz.keras_model import (  # noqa: E402
    CUSTOM_OBJECTS,
    CeilMaxPool2D,
    LocalResponseNorm,
    available_devices,
    build_keras,
    ceil_pool_padding,
    device_scope,
)
from inception_viz.presets import PRESET_NAMES, googlenet, preset  # noqa: E402
from inception_viz.spec import (  # noqa: E402
    LRN,
    WIDTH_KEYS,
    AuxHead,
    Conv,
    Dense,
    Dropout,
    Inception,
    ModelSpec,
    Pool,
    Softmax,
    SpecError,
)


@pytest.fixture(autouse=True)
def _fresh_keras():
    keras.backend.clear_session()
    yield
    keras.backend.clear_session()


def _shape(keras_shape) -> tuple[int, int, int]:
    """Keras (None, H, W, C) or (None, units) as the counter's (H, W, C)."""
    dims = tuple(keras_shape[1:])
    return dims if len(dims) == 3 else (1, 1, dims[0])


HELPER_SUFFIXES = ("_pad", "_flatten", "_dropout", "_softmax")


def assert_matches_counter(spec: ModelSpec, model=None):
    """Every Keras layer's count_params() equals the counter's row for that name (a block's
    concat has 0; its parts are compared), output shapes equal, totals equal."""
    report = analyze(spec)
    model = model if model is not None else build_keras(spec)
    expected: dict[str, tuple[int, tuple]] = {}
    for row in report.rows:
        for part in row.parts:
            expected[part.name] = (part.params, part.output_shape)
        if row.kind == "inception":
            expected[row.name] = (0, row.output_shape)  # the concat itself has no weights
        elif row.kind != "aux":  # an aux head exists in Keras only as its parts
            expected[row.name] = (row.params, row.output_shape)
    seen = set()
    for layer in model.layers:
        got = (layer.count_params(), _shape(layer.output.shape))
        if layer.name in expected:
            assert got == expected[layer.name], layer.name
            seen.add(layer.name)
        else:  # helpers the paper does not list: input, padding, flatten, aux dropout/softmax
            assert layer.name == "input" or layer.name.endswith(HELPER_SUFFIXES), layer.name
            assert layer.count_params() == 0, layer.name
    assert seen == set(expected), set(expected) - seen
    assert model.count_params() == report.total_params
    outputs = model.outputs
    assert _shape(outputs[0].shape) == report.output_shape
    aux_rows = [r for r in report.rows if r.kind == "aux"]
    assert len(outputs) == 1 + len(aux_rows)
    for out, row in zip(outputs[1:], aux_rows):
        assert _shape(out.shape) == row.output_shape
    return model


# ---------------------------------------------------------------------------------------
# every preset


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_matches_counter(name):
    assert_matches_counter(preset(name))


def test_googlenet_aux_and_no_lrn_match_counter():
    spec = googlenet().with_options(aux=True, lrn=False, classes=10)
    model = assert_matches_counter(spec)
    names = {l.name for l in model.layers}
    assert "lrn1" not in names and {"aux1_classifier", "aux2_classifier"} <= names
    assert model.count_params() == analyze(spec).total_params


def test_googlenet_layer_names_and_caffe_layout():
    model = build_keras(googlenet())
    names = [l.name for l in model.layers]
    for n in (
        "conv1", "conv1_pad", "pool1", "lrn1", "conv2_reduce", "conv2", "lrn2", "pool2",
        "inception_3a_1x1", "inception_3a_3x3_reduce", "inception_3a_3x3", "inception_3a_5x5_reduce",
        "inception_3a_5x5", "inception_3a_pool", "inception_3a_pool_proj", "inception_3a",
        "inception_5b", "pool5", "dropout", "linear_flatten", "linear", "softmax",
    ):  # fmt: skip
        assert n in names, n
    assert names.index("conv1_pad") == names.index("conv1") - 1
    pad = model.get_layer("conv1_pad")
    assert pad.output.shape[1:] == (224 + 2 * 3, 224 + 2 * 3, 3)
    conv1 = model.get_layer("conv1")
    assert conv1.padding == "valid" and conv1.strides == (2, 2) and conv1.kernel_size == (7, 7)
    assert isinstance(model.get_layer("pool1"), CeilMaxPool2D)
    assert isinstance(model.get_layer("lrn1"), LocalResponseNorm)
    assert isinstance(model.get_layer("inception_3a"), keras.layers.Concatenate)
    assert model.get_layer("dropout").rate == 0.4
    assert model.get_layer("softmax").output.shape == (None, 1000)


def test_only_pool_branch_is_named_as_the_block():
    spec = preset("block").with_block("inception_3a", **{"1x1": 0, "3x3": 0, "5x5": 0, "pool_proj": 0})
    model = assert_matches_counter(spec)
    assert model.get_layer("inception_3a").output.shape == (None, 32, 32, 64)


# ---------------------------------------------------------------------------------------
# random specs


@st.composite
def small_preset_specs(draw):
    """A preset with every block given small random widths (zeros included), small input
    sizes (from the smallest the net takes), options and classes."""
    name = draw(st.sampled_from(PRESET_NAMES))
    spec = preset(name)
    w = st.integers(0, 6)
    for b in spec.blocks:
        widths = dict(zip(WIDTH_KEYS, draw(st.tuples(*[w] * 6))))
        if name == "naive":  # keep it naive: no reductions, unprojected pool
            widths.update({"3x3_reduce": 0, "5x5_reduce": 0, "pool_proj": 0})
        spec = spec.with_block(b.name, **widths)
    spec = spec.with_options(lrn=draw(st.booleans()), aux=draw(st.booleans()))
    if spec.classes:
        spec = spec.with_options(classes=draw(st.integers(1, 12)))
    lo = min_input_side(spec) or 1
    side = draw(st.integers(lo, lo + 10))
    if name == "block":
        side = draw(st.integers(1, 12))
    return spec.with_options(input_shape=(side, draw(st.integers(side, side + 5)), draw(st.integers(1, 3))))


# Each example builds a Keras model, so shrinking a failure would take minutes: report the
# first failing spec as found (hypothesis prints it).
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


@settings(max_examples=12, phases=NO_SHRINK)
@given(small_preset_specs())
def test_random_preset_specs_match_counter(spec):
    keras.backend.clear_session()
    assert_matches_counter(spec)


def _random_layer(draw, i):
    kind = draw(st.sampled_from(["pool", "conv", "lrn", "dropout"]))
    n = f"l{i}"
    if kind == "conv":
        return Conv(
            n,
            draw(st.integers(1, 6)),
            draw(st.sampled_from([3, 1, 2, 5, 7])),
            draw(st.integers(1, 3)),
            draw(st.sampled_from([1, "same", "valid", 0, 2, 3])),
            draw(st.sampled_from(["relu", None])),
        )
    if kind == "pool":
        op = draw(st.sampled_from(["max", "avg"]))
        padding = draw(st.sampled_from(["ceil", "same", "valid"] if op == "max" else ["same", "valid"]))
        return Pool(n, op, draw(st.integers(1, 3)), draw(st.integers(1, 3)), padding)
    if kind == "lrn":
        return LRN(n, size=draw(st.sampled_from([3, 1, 5])))
    return Dropout(n, 0.5)


@st.composite
def random_chains(draw):
    """Stem layers of any kind and padding, one or two Inception blocks (random widths,
    zeros included) with layers between them, an optional aux head, an optional head."""
    layers = [_random_layer(draw, i) for i in range(draw(st.integers(0, 3)))]
    blocks = []
    for j in range(draw(st.integers(1, 2))):
        blocks.append(Inception(f"inception_{j}", *draw(st.tuples(*[st.integers(0, 5)] * 6))))
        layers.append(blocks[-1])
        if draw(st.booleans()):  # a Caffe ceil-mode pool, as between GoogLeNet's stages
            layers.append(Pool(f"pc{j}", "max", draw(st.integers(2, 3)), draw(st.integers(1, 3)), "ceil"))
        layers += [_random_layer(draw, 10 + 10 * j + i) for i in range(draw(st.integers(0, 2)))]
    aux_heads = ()
    if draw(st.integers(0, 2)) == 0:
        aux_heads = (AuxHead("aux1", draw(st.sampled_from([b.name for b in blocks]))),)
    head = draw(st.sampled_from(["dense_softmax", "none", "global", "dense"]))
    if head != "none":
        layers.append(Pool("gp", draw(st.sampled_from(["avg", "max"])), 1, 1, "global"))
    if head.startswith("dense"):
        layers.append(Dense("fc", draw(st.sampled_from([None, 3])), draw(st.sampled_from([None, "relu"]))))
    if head == "dense_softmax":
        layers.append(Softmax("sm"))
    side = draw(st.integers(1, 20))
    if aux_heads:  # an aux head needs a map of at least 5x5 at its block
        side = draw(st.integers(5, 24))
    return ModelSpec(
        name="random",
        layers=tuple(layers),
        input_shape=(side, draw(st.integers(side, 24)), draw(st.integers(1, 4))),
        classes=draw(st.integers(1, 9)),
        lrn=draw(st.booleans()),
        aux=bool(aux_heads),
        aux_heads=aux_heads,
    )


@settings(max_examples=20, phases=NO_SHRINK)
@given(random_chains())
def test_random_chains_match_counter(spec):
    keras.backend.clear_session()
    try:
        analyze(spec)
    except SpecError:
        with pytest.raises(SpecError):
            build_keras(spec)
        return
    model = assert_matches_counter(spec)
    x = np.random.default_rng(0).normal(size=(1, *spec.input_shape)).astype("float32")
    outs = model(x, training=False)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    assert _shape(outs[0].shape) == analyze(spec).output_shape
    assert all(np.isfinite(np.asarray(o)).all() for o in outs)


# ---------------------------------------------------------------------------------------
# forward passes


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_forward_every_preset(name):
    spec = preset(name)
    model = build_keras(spec, seed=0)
    x = np.random.default_rng(0).uniform(0, 1, size=(1, *spec.input_shape)).astype("float32")
    y = np.asarray(model(x, training=False))
    expected = (1, 32, 32, 40 + 10 + 30 + 50) if name == "block" else (1, spec.classes)
    assert y.shape == expected
    assert not np.isnan(y).any() and np.isfinite(y).all()
    if name != "block":  # a softmax: probabilities summing to 1
        assert (y >= 0).all() and abs(float(y.sum()) - 1.0) < 1e-4


def test_forward_googlenet_with_aux_heads():
    spec = googlenet().with_options(aux=True, classes=7)
    model = build_keras(spec, seed=0)
    outs = model(np.zeros((2, 224, 224, 3), "float32"), training=False)
    assert [tuple(o.shape) for o in outs] == [(2, 7)] * 3
    assert all(np.isfinite(np.asarray(o)).all() for o in outs)


def test_seed_is_deterministic():
    spec = preset("block")
    a = [w.copy() for w in build_keras(spec, seed=3).get_weights()]
    keras.backend.clear_session()
    b = build_keras(spec, seed=3).get_weights()
    assert len(a) == len(b) == 2 * 6
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


def test_devices():
    devices = available_devices()
    assert "/CPU:0" in devices
    model = build_keras(preset("block"), device="/CPU:0")
    assert model.count_params() == 22_965
    with pytest.raises(SpecError, match="not available") as info:
        build_keras(preset("block"), device="/GPU:99")
    assert "\n" not in str(info.value)
    with device_scope(None):
        pass


def test_builder_refuses_what_the_counter_refuses():
    with pytest.raises(SpecError, match="pool3"):
        build_keras(googlenet().with_options(input_shape=(8, 8, 3)))


# ---------------------------------------------------------------------------------------
# Caffe's ceil-mode max pool


def caffe_pool_out(size: int, k: int, s: int) -> int:
    """Caffe PoolingLayer::Reshape, pad 0: ceil((H - k) / s) + 1."""
    return int(math.ceil((size - k) / s)) + 1


def caffe_max_pool(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """Caffe's max pool (pad 0): window rows [i*s, min(i*s + k, H)), clipped at the border."""
    n, h, w, c = x.shape
    oh, ow = caffe_pool_out(h, k, s), caffe_pool_out(w, k, s)
    out = np.empty((n, oh, ow, c), x.dtype)
    for i in range(oh):
        for j in range(ow):
            win = x[:, i * s : min(i * s + k, h), j * s : min(j * s + k, w), :]
            out[:, i, j, :] = win.max(axis=(1, 2))
    return out


@pytest.mark.parametrize("k, s", [(3, 2), (2, 2), (3, 1), (3, 3), (5, 3)])
def test_ceil_max_pool_matches_caffe(k, s):
    rng = np.random.default_rng(k * 10 + s)
    for h in range(max(1, k - s + 1), 16):  # every size Caffe gives >= 1 output for
        w = h + 1
        x = rng.normal(size=(2, h, w, 3)).astype("float32") - 5.0  # all negative: padding must not win
        layer = CeilMaxPool2D(k, s)
        y = np.asarray(layer(x))
        assert y.shape == (2, caffe_pool_out(h, k, s), caffe_pool_out(w, k, s), 3), (h, w)
        assert layer.compute_output_shape((None, h, w, 3)) == (None, *y.shape[1:])
        np.testing.assert_array_equal(y, caffe_max_pool(x, k, s))


def test_ceil_pool_odd_and_even_sizes():
    # 112 -> ceil(109/2)+1 = 56; 113 -> 56; 114 -> ceil(111/2)+1 = 57; 14 -> 7; 7 -> 3
    for h, expected in ((112, 56), (113, 56), (114, 57), (14, 7), (7, 3), (28, 14), (56, 28)):
        assert caffe_pool_out(h, 3, 2) == expected
        assert CeilMaxPool2D(3, 2).compute_output_shape((None, h, h, 1))[1] == expected


def previous_ceil_max_pool(x, k: int, s: int):
    """CeilMaxPool2D as computed until issue 12: the input copied with -inf rows/columns at
    the bottom/right, then a valid pool."""
    import tensorflow as tf

    layer = CeilMaxPool2D(k, s)
    h, w = x.shape[1], x.shape[2]
    ph = max(0, (layer._out(h) - 1) * s + k - h)
    pw = max(0, (layer._out(w) - 1) * s + k - w)
    return tf.nn.max_pool2d(tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], constant_values=-math.inf), k, s, "VALID")


def test_ceil_pool_padding_paths():
    # GoogLeNet's pools at 224: 112 -> 56, 56 -> 28, 28 -> 14, 14 -> 7, each needs one row and
    # column of padding at the bottom/right, which is what TF's "SAME" adds (total 1, top 0)
    for h in (112, 56, 28, 14):
        assert ceil_pool_padding(h, h, 3, 2) == "SAME"
    # odd sizes: (113 - 3) / 2 is whole, no window passes the border
    assert ceil_pool_padding(113, 113, 3, 2) == "VALID"
    # 3x3/3 on 4: Caffe ceil((4-3)/3)+1 = 2 outputs, windows [0,3) and [3,6): 2 rows of padding
    # at the bottom; "SAME" would put one of them on top
    assert ceil_pool_padding(4, 4, 3, 3) == [[0, 0], [0, 2], [0, 2], [0, 0]]
    # mixed: rows need SAME-like padding, columns none
    assert ceil_pool_padding(8, 9, 3, 2) == [[0, 0], [0, 1], [0, 0], [0, 0]]


@pytest.mark.parametrize("k, s", [(3, 2), (2, 2), (3, 1), (3, 3), (5, 3), (2, 3), (1, 2)])
def test_ceil_pool_equals_previous_implementation(k, s):
    """Bit for bit what the -inf padded copy gave, on every path (VALID, SAME, explicit),
    strides larger than the window included (where the last window is dropped rather than
    left empty, as the counter does)."""
    rng = np.random.default_rng(100 + k * 10 + s)
    paths = set()
    for h in range(max(1, k - s + 1), 20):
        for w in (h, h + 1, h + 2):
            x = rng.normal(size=(1, h, w, 4)).astype("float32") - 3.0
            paths.add(str(ceil_pool_padding(h, w, k, s))[:5])
            np.testing.assert_array_equal(np.asarray(CeilMaxPool2D(k, s)(x)), np.asarray(previous_ceil_max_pool(x, k, s)))
    if (k, s) in ((3, 2), (3, 3)):  # the sizes above reach every path
        assert paths == {"VALID", "SAME", "[[0, "}, paths


def test_ceil_pool_gradient_on_every_path():
    """Feature visualisation differentiates through the pools: gradients equal the previous
    implementation's."""
    import tensorflow as tf

    for h, w, k, s in ((8, 8, 3, 2), (9, 9, 3, 2), (4, 4, 3, 3), (8, 9, 3, 2)):
        x = tf.constant(np.random.default_rng(h * w).normal(size=(1, h, w, 3)).astype("float32"))
        grads = []
        for fn in (lambda v: CeilMaxPool2D(k, s)(v), lambda v: previous_ceil_max_pool(v, k, s)):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.reduce_sum(fn(x) ** 2)
            grads.append(tape.gradient(y, x).numpy())
        np.testing.assert_array_equal(grads[0], grads[1])


def test_ceil_pool_config_round_trip():
    layer = CeilMaxPool2D(3, 2, name="p")
    clone = CeilMaxPool2D.from_config(layer.get_config())
    assert (clone.pool_size, clone.strides, clone.name) == (3, 2, "p")


# ---------------------------------------------------------------------------------------
# Caffe's LRN


def caffe_lrn(x: np.ndarray, size: int, alpha: float, beta: float, k: float) -> np.ndarray:
    """Caffe LRN across channels: b_c = a_c / (k + alpha/size * sum_{|c'-c| <= size//2} a_c'^2)^beta."""
    x = x.astype(np.float64)
    c = x.shape[-1]
    sq = x**2
    out = np.empty_like(x)
    r = size // 2
    for ch in range(c):
        s = sq[..., max(0, ch - r) : min(c, ch + r + 1)].sum(axis=-1)
        out[..., ch] = x[..., ch] / (k + alpha / size * s) ** beta
    return out


@pytest.mark.parametrize(
    "size, alpha, beta, k, scale",
    [
        (5, 1e-4, 0.75, 1.0, 30.0),  # Caffe GoogLeNet's settings, large inputs so it acts
        (5, 2.0, 0.75, 1.0, 1.0),
        (3, 0.5, 0.5, 2.0, 3.0),
        (1, 1.0, 1.0, 1.0, 1.0),
    ],
)
def test_lrn_matches_caffe(size, alpha, beta, k, scale):
    x = (np.random.default_rng(size).normal(size=(2, 4, 5, 9)) * scale).astype("float32")
    y = np.asarray(LocalResponseNorm(size, alpha, beta, k)(x))
    ref = caffe_lrn(x, size, alpha, beta, k)
    np.testing.assert_allclose(y, ref, rtol=2e-5, atol=1e-6)
    # and it is not the identity (the test can fail)
    assert np.abs(ref - x).max() > 1e-3


def previous_lrn(x, size, alpha, beta, k):
    """LocalResponseNorm as computed until issue 12: TensorFlow's LRN op with alpha / size."""
    import tensorflow as tf

    return tf.nn.local_response_normalization(x, depth_radius=size // 2, bias=k, alpha=alpha / size, beta=beta)


@pytest.mark.parametrize(
    "size, alpha, beta, k",
    [(5, 1e-4, 0.75, 1.0), (5, 2.0, 0.75, 1.0), (3, 0.5, 0.5, 2.0), (7, 1.0, 1.0, 1.0), (5, 0.3, 0.6, 1.5), (1, 1.0, 0.75, 1.0)],
)
def test_lrn_equals_previous_implementation(size, alpha, beta, k):
    """Within float32 rounding of TF's LRN op (the previous layer), for GoogLeNet's shapes
    and for fewer channels than the window, on each power path (0.75, 0.5, 1, general)."""
    rng = np.random.default_rng(size)
    for shape, scale in (((1, 56, 56, 64), 30.0), ((1, 7, 5, 192), 30.0), ((2, 3, 4, 3), 3.0), ((1, 2, 2, 1), 3.0)):
        x = (rng.normal(size=shape) * scale).astype("float32")
        y = np.asarray(LocalResponseNorm(size, alpha, beta, k)(x))
        ref = np.asarray(previous_lrn(x, size, alpha, beta, k))
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(y, caffe_lrn(x, size, alpha, beta, k), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize(
    "size, alpha, beta, k, channels",
    [(5, 0.5, 0.75, 2.0, 11), (5, 1e-4, 0.75, 1.0, 64), (3, 0.5, 0.5, 2.0, 7), (7, 1.0, 1.0, 1.0, 4),
     (5, 0.3, 0.6, 1.5, 9), (1, 1.0, 0.75, 1.0, 3)],
)
def test_lrn_gradient_equals_previous_implementation(size, alpha, beta, k, channels):
    """caffe_lrn's hand-written gradient against TF's LRN op's gradient, on each power path
    and with fewer channels than the window (the clipped window's transpose)."""
    import tensorflow as tf

    x = tf.constant((np.random.default_rng(size + channels).normal(size=(1, 6, 5, channels)) * 3).astype("float32"))
    grads = []
    for fn in (lambda v: LocalResponseNorm(size, alpha, beta, k)(v), lambda v: previous_lrn(v, size, alpha, beta, k)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(fn(x) * tf.range(channels, dtype=tf.float32))
        grads.append(tape.gradient(y, x).numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-5 * np.abs(grads[1]).max())
    assert np.abs(grads[1]).max() > 0.1


def test_keras_file_saved_before_issue_12_loads_and_computes_the_same():
    """tests/data/caffe_layers_v1.keras was saved by the code of 5f5ce65 (TF's LRN op, the
    -inf padded pool); its output then is stored beside it (see tests/data/README.md)."""
    from pathlib import Path

    data = Path(__file__).parent / "data"
    loaded = keras.saving.load_model(data / "caffe_layers_v1.keras", custom_objects=CUSTOM_OBJECTS, safe_mode=True)
    assert isinstance(loaded.get_layer("n"), LocalResponseNorm)
    assert isinstance(loaded.get_layer("p2"), CeilMaxPool2D)
    assert ceil_pool_padding(4, 4, 3, 3) != "SAME"  # p2 takes the explicit-padding path
    x = np.random.default_rng(1).normal(size=(1, 15, 15, 3)).astype("float32") * 20
    expected = np.load(data / "caffe_layers_v1_output.npy", allow_pickle=False)
    np.testing.assert_allclose(np.asarray(loaded(x)), expected, rtol=1e-5, atol=1e-6)


def test_lrn_rejects_even_size_and_round_trips():
    with pytest.raises(ValueError, match="odd"):
        LocalResponseNorm(4)
    layer = LocalResponseNorm(5, 1e-4, 0.75, 1.0, name="n")
    clone = LocalResponseNorm.from_config(layer.get_config())
    assert (clone.size, clone.alpha, clone.beta, clone.k) == (5, 1e-4, 0.75, 1.0)


def test_save_and_load_safe_mode(tmp_path):
    spec = ModelSpec(
        "tiny",
        (Conv("c", 4, 3, 2, 1), Pool("p", "max", 3, 2, "ceil"), LRN("n"), Inception("inception_x", 2, 1, 2, 1, 2, 0)),
        input_shape=(15, 15, 3),
        classes=0,
    )
    model = build_keras(spec, seed=0)
    path = tmp_path / "tiny.keras"
    model.save(path)
    keras.backend.clear_session()
    loaded = keras.saving.load_model(path, custom_objects=CUSTOM_OBJECTS, safe_mode=True)
    x = np.random.default_rng(1).normal(size=(1, 15, 15, 3)).astype("float32") * 20
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6, atol=1e-6)
    assert_matches_counter(spec, loaded)
