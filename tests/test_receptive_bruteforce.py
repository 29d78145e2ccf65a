"""Brute force against the analytic receptive fields: in a linear network with positive
weights, the input pixels with a nonzero gradient for one output unit are exactly that
unit's theoretical field, clipped at the borders.

The network is built from the spec with TensorFlow ops, one channel wide (with positive
weights every channel sees the same pixels): each conv is an average over the
spec's kernel, stride and padding (Caffe pads as explicit zeros, "same"/"valid" as
TensorFlow does them); each max pool becomes an average pool over the same windows (a max
sends its gradient to one pixel, an average to all), Caffe's ceil mode with the clipped
windows of :class:`~inception_viz.keras_model.CeilMaxPool2D`; a block sums its branches
(the concat's union); a global pool or dense layer sums its whole input. Activations are
left out (identity), LRN too (it mixes channels only).

Where a strided layer's kernel is smaller than its stride (a 1x1/2 conv as the last layer),
the pixels a unit sees have holes: then they lie inside the field and reach its edges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

tf = pytest.importorskip("tensorflow")

from inception_viz.counter import analyze  # noqa: E402
from inception_viz.keras_model import ceil_pool_out  # noqa: E402
from inception_viz.presets import preset  # noqa: E402
from inception_viz.spec import LRN, Conv, Dense, Dropout, Inception, ModelSpec, Pool, Softmax  # noqa: E402


def _window(x, k: int, stride: int, padding):
    """Average of every k x k window (positive weights), with the layer's padding
    (an average pool: TensorFlow's "same" averages over the pixels inside the image only,
    which changes the weights, not which pixels get one)."""
    if padding == "ceil":
        # Caffe's ceil mode: the bottom/right padding that gives its output size
        ph, pw = (max(0, (ceil_pool_out(n, k, stride) - 1) * stride + k - n) for n in (x.shape[1], x.shape[2]))
        x = tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]])
        padding = "valid"
    elif isinstance(padding, int):
        x = tf.pad(x, [[0, 0], [padding, padding], [padding, padding], [0, 0]])
        padding = "valid"
    return tf.nn.avg_pool2d(x, k, stride, padding.upper())


def linear_net(spec: ModelSpec, x):
    """``{layer or part name: (1, H, W, 1) output}`` of the linear positive network."""
    out = {}
    for layer in spec.active_layers:
        if isinstance(layer, Conv):
            x = _window(x, layer.kernel, layer.stride, layer.padding)
        elif isinstance(layer, Pool):
            if layer.padding == "global":
                x = tf.reduce_sum(x, axis=(1, 2), keepdims=True)
            else:
                x = _window(x, layer.size, layer.stride, layer.padding)
        elif isinstance(layer, Dense):
            x = tf.reduce_sum(x, axis=(1, 2), keepdims=True)
        elif isinstance(layer, (LRN, Dropout, Softmax)):
            pass
        elif isinstance(layer, Inception):
            n, branches = layer.name, []
            if layer.w1x1:
                branches.append(out.setdefault(f"{n}_1x1", x))
            for key, reduce_w, conv_w, k in (("3x3", layer.w3x3_reduce, layer.w3x3, 3),
                                             ("5x5", layer.w5x5_reduce, layer.w5x5, 5)):
                if conv_w:
                    src = out.setdefault(f"{n}_{key}_reduce", x) if reduce_w else x
                    branches.append(out.setdefault(f"{n}_{key}", _window(src, k, 1, "same")))
            pooled = out.setdefault(f"{n}_pool", _window(x, 3, 1, "same"))
            branches.append(out.setdefault(f"{n}_pool_proj", pooled) if layer.pool_proj else pooled)
            x = tf.add_n(branches)
        out[layer.name] = x
    return out


def _gappy(spec: ModelSpec) -> bool:
    """A strided layer with a kernel smaller than its stride leaves holes between the
    pixels a unit sees (the field is then their bounding box, not all of them)."""
    return any((isinstance(l, Conv) and l.kernel < l.stride)
               or (isinstance(l, Pool) and l.padding != "global" and l.size < l.stride)
               for l in spec.active_layers)


def check_support(spec: ModelSpec, names=None, units_per_layer: int = 1, seed: int = 0) -> int:
    """Compare the gradient support of sampled units of every layer (or of ``names``)
    with their clipped theoretical boxes; one backward pass for all of them (batch entry
    ``b`` carries the one-hot upstream gradient of unit ``b``)."""
    report = analyze(spec)
    h, w, _ = spec.input_shape
    rng = np.random.default_rng(seed)
    wanted = []
    for row in report.leaf_rows():
        if row.aux or (names is not None and row.name not in names):
            continue
        oh, ow = row.output_shape[:2]
        units = {(0, 0), (oh - 1, ow - 1), (oh // 2, ow // 2)}
        units |= {(int(rng.integers(oh)), int(rng.integers(ow))) for _ in range(units_per_layer)}
        wanted += [(row.name, r, c) for r, c in sorted(units)]
    x = tf.constant(np.repeat(rng.uniform(0.5, 1.5, (1, h, w, 1)).astype(np.float32), len(wanted), axis=0))
    with tf.GradientTape() as tape:
        tape.watch(x)
        outs = linear_net(spec, x)
    targets, seeds = [], []
    for name in {n for n, _, _ in wanted}:
        y = outs[name]
        assert tuple(y.shape[1:3]) == report.row(name).output_shape[:2], name
        seed_grad = np.zeros(y.shape, np.float32)
        for b, (n, r, c) in enumerate(wanted):
            if n == name:
                seed_grad[b, r, c, 0] = 1.0  # d(unit)/d(input) lands in batch entry b
        targets.append(y)
        seeds.append(tf.constant(seed_grad))
    grads = tape.gradient(targets, x, output_gradients=seeds).numpy()[..., 0]
    gappy = _gappy(spec)
    for b, (name, r, c) in enumerate(wanted):
        support = grads[b] != 0
        full = report.row(name).receptive_field.box(r, c)
        box = report.unit_box(name, r, c)  # None: the field lies in the padding only
        expected = np.zeros((h, w), bool)
        if box is not None:
            expected[box.top : box.bottom + 1, box.left : box.right + 1] = True
        if not gappy:
            assert np.array_equal(support, expected), (name, (r, c), box, np.argwhere(support)[[0, -1]] if support.any() else None)
            continue
        assert not (support & ~expected).any(), (name, (r, c), box)  # never outside the field
        if full.top >= 0 and full.left >= 0 and full.bottom < h and full.right < w:
            rows, cols = np.nonzero(support)  # inside the image: the field's corners are seen
            assert (rows.min(), cols.min(), rows.max(), cols.max()) == (full.top, full.left, full.bottom, full.right)
    return len(wanted)


def test_googlenet_every_layer():
    spec = preset("googlenet").with_options(input_shape=(224, 224, 1))
    assert check_support(spec) > 200


def test_simplified_same_offsets_every_layer():
    spec = preset("simplified").with_options(input_shape=(224, 224, 1))
    assert check_support(spec) > 200


def test_googlenet_non_square_and_odd_sides():
    # ceil-mode pools clip their last window on odd sides; fields differ per axis
    spec = preset("googlenet").with_options(input_shape=(99, 130, 1))
    assert check_support(spec, names={"conv1", "pool1", "pool2", "inception_3a", "pool3",
                                      "inception_4e_5x5", "pool4", "inception_5b", "pool5"}) > 20


_LAYERS = st.one_of(
    st.builds(lambda k, s, p: ("conv", k, s, p), st.integers(1, 5), st.integers(1, 3),
              st.sampled_from(["same", "valid", 0, 1, 2])),
    st.builds(lambda k, s, p: ("pool", k, s, p), st.integers(1, 4), st.integers(1, 3),
              st.sampled_from(["same", "valid", "ceil"])),
    st.builds(lambda w: ("block", w), st.tuples(*[st.integers(0, 2)] * 6)),
)


@settings(max_examples=20, deadline=None)
@given(st.lists(_LAYERS, min_size=1, max_size=5), st.integers(9, 30), st.integers(9, 30),
       st.booleans(), st.integers(0, 1000))
def test_random_specs(layers, h, w, global_pool, seed):
    spec_layers = []
    for i, item in enumerate(layers):
        if item[0] == "conv":
            spec_layers.append(Conv(f"c{i}", 1, item[1], item[2], item[3]))
        elif item[0] == "pool":
            spec_layers.append(Pool(f"p{i}", "max", item[1], item[2], item[3]))
        else:
            widths = item[1]
            if not any(widths[k] for k in (0, 2, 4, 5)):
                widths = (1, *widths[1:])
            spec_layers.append(Inception(f"inception_{i}", *widths))
    if global_pool:
        spec_layers.append(Pool("gap", "avg", 1, 1, "global"))
    spec = ModelSpec("random", tuple(spec_layers), input_shape=(h, w, 1), classes=0)
    try:
        analyze(spec)
    except Exception:  # too small for this input: the counter refuses it, nothing to check
        return
    check_support(spec, seed=seed)
