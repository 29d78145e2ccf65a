"""Build a Keras 3 functional model (TensorFlow backend) from a :class:`ModelSpec`.

Every layer is named from the spec so that table rows, graph nodes, weight files and
activation taps join on names: ``conv1``, ``pool1``, ``lrn1``, ``inception_3a_3x3_reduce``,
the concat ``inception_3a``, ``linear``, ``softmax``. Helper layers the paper does not list
get the owner's name plus a suffix (``conv1_pad``, ``linear_flatten``).

TensorFlow is imported here, never by :mod:`inception_viz.spec` or
:mod:`inception_viz.counter`.
"""

from __future__ import annotations

import contextlib
import random
import threading

from .tfenv import import_tensorflow

import_tensorflow()  # quietly: TensorFlow's start-up lines stay off the terminal

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from .counter import analyze  # noqa: E402
from .limits import check_buildable  # noqa: E402
from .spec import LRN, AuxHead, Conv, Dense, Dropout, Inception, ModelSpec, Pool, Softmax, SpecError  # noqa: E402


def _pow_neg(t, beta: float):
    """``t ** -beta`` for ``t > 0``; the exponents Caffe's networks use (0.75 in GoogLeNet
    and AlexNet, 0.5, 1) without the ``exp(log)`` that a general power costs."""
    if beta == 0.75:
        r = tf.math.rsqrt(t)
        return r * tf.sqrt(r)
    if beta == 0.5:
        return tf.math.rsqrt(t)
    if beta == 1.0:
        return tf.math.reciprocal(t)
    return tf.exp(-beta * tf.math.log(t))


def _channel_window_sum(t, size: int):
    """Sum of ``t`` over the ``size`` channels centred on each channel, clipped at the first
    and last channel (zero padding): ``size`` shifted slices added (XLA fuses them)."""
    c, r = t.shape[-1], size // 2
    if not r:
        return t
    t = tf.pad(t, [[0, 0]] * (len(t.shape) - 1) + [[r, r]])
    return tf.add_n([t[..., i : i + c] for i in range(size)])


@tf.function(jit_compile=True)
def caffe_lrn(x, size: int, alpha: float, beta: float, k: float):
    """Caffe's cross-channel LRN of an NHWC tensor as one XLA-fused loop:
    ``x / (k + alpha / size * sum of x^2 over the size channels centred on each) ** beta``,
    the window clipped at the first and last channel (zero padding, as Caffe).

    The window sum is ``size`` shifted slices of the squares added, which XLA fuses with
    the power into one pass over the tensor. TensorFlow's own LRN op multiplies the squares
    by a dense channels x channels band matrix (192 x 192 at GoogLeNet's ``lrn2``) and takes
    ``exp(log(.))``: ~3-4x slower on a 2-core CPU (see docs/bench.md). XLA compiles once per
    input shape and settings (~0.5 s, then cached for the process).

    The gradient is written out (the window is symmetric, so its transpose is itself):
    ``dx = dy * s ** -beta - 2 * alpha * beta / size * x * window(dy * y / s)`` with
    ``s = k + alpha / size * window(x^2)`` and ``y`` the output: one more fused pass, where
    XLA's differentiation of the slices and pads cost ~8x the forward (feature
    visualisation backpropagates through both LRNs every step; docs/bench.md)."""

    @tf.custom_gradient
    def lrn(x):
        s = k + (alpha / size) * _channel_window_sum(tf.square(x), size)
        scale = _pow_neg(s, beta)
        y = x * scale

        def grad(dy):
            return dy * scale - (2.0 * alpha * beta / size) * x * _channel_window_sum(dy * y / s, size)

        return y, grad

    return lrn(x)


@keras.saving.register_keras_serializable(package="inception_viz")
class LocalResponseNorm(keras.layers.Layer):
    """Cross-channel LRN with Caffe's semantics:
    ``b_c = a_c / (k + alpha / size * sum_{c' in window(c)} a_{c'}^2) ** beta``, computed by
    :func:`caffe_lrn`. (Until issue 12 this called ``tf.nn.local_response_normalization``
    with ``alpha / size``, the same function; files saved then load and compute the same.)"""

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if size % 2 != 1:
            raise ValueError(f"LRN size must be odd. Received: size={size}")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def call(self, inputs):
        return caffe_lrn(inputs, int(self.size), float(self.alpha), float(self.beta), float(self.k))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}


def ceil_pool_out(size: int | None, pool_size: int, strides: int) -> int | None:
    """Caffe's pooled size with no padding: ``ceil((size - k) / s) + 1``, less one when
    the last window would start past the input (Caffe's clipping rule)."""
    if size is None:
        return None
    out = -(-(size - pool_size) // strides) + 1
    if (out - 1) * strides >= size:
        out -= 1
    return out


def ceil_pool_padding(h: int, w: int, pool_size: int, strides: int):
    """How to run Caffe's ceil-mode max pool on an ``h x w`` map with one TensorFlow
    ``max_pool2d`` and no padded copy: ``"VALID"`` when no window passes the border,
    ``"SAME"`` when TensorFlow's own padding gives the same windows (same output size, all
    of it at the bottom/right: at GoogLeNet's even sizes), else the explicit padding
    ``[[0, 0], [0, ph], [0, pw], [0, 0]]``. TensorFlow's max pool never lets padding win a
    max, which is Caffe's clipping."""
    pads = []
    same = True
    for size in (h, w):
        out = ceil_pool_out(size, pool_size, strides)
        pad = max(0, (out - 1) * strides + pool_size - size)
        pads.append(pad)
        # TF "SAME": output ceil(size / s), padding split with the smaller half on top/left
        same_out = -(-size // strides)
        same_pad = max(0, (same_out - 1) * strides + pool_size - size)
        same = same and same_out == out and same_pad == pad and same_pad // 2 == 0
    if not any(pads):
        return "VALID"
    if same:
        return "SAME"
    return [[0, 0], [0, pads[0]], [0, pads[1]], [0, 0]]


@keras.saving.register_keras_serializable(package="inception_viz")
class CeilMaxPool2D(keras.layers.Layer):
    """Max pooling in Caffe's ceil mode: output ``ceil((H - k) / s) + 1``; the last window
    is clipped at the border. One ``tf.nn.max_pool2d`` with the padding of
    :func:`ceil_pool_padding` (until issue 12: a copy padded with -inf at the bottom/right,
    then a valid pool, the same function; files saved then load and compute the same)."""

    def __init__(self, pool_size: int = 3, strides: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size, self.strides = pool_size, strides

    def _out(self, size):
        return ceil_pool_out(size, self.pool_size, self.strides)

    def call(self, inputs):
        padding = ceil_pool_padding(inputs.shape[1], inputs.shape[2], self.pool_size, self.strides)
        return tf.nn.max_pool2d(inputs, self.pool_size, self.strides, padding)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, self._out(h), self._out(w), c)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides}


CUSTOM_OBJECTS = {"LocalResponseNorm": LocalResponseNorm, "CeilMaxPool2D": CeilMaxPool2D}


def _conv(x, name: str, filters: int, kernel: int, stride: int = 1, padding="same", activation="relu"):
    if isinstance(padding, int):
        if padding:
            x = keras.layers.ZeroPadding2D(padding, name=f"{name}_pad")(x)
        padding = "valid"
    return keras.layers.Conv2D(
        filters, kernel, strides=stride, padding=padding, activation=activation, name=name
    )(x)


def _pool(x, layer: Pool):
    if layer.padding == "global":
        cls = keras.layers.GlobalAveragePooling2D if layer.op == "avg" else keras.layers.GlobalMaxPooling2D
        return cls(keepdims=True, name=layer.name)(x)
    if layer.padding == "ceil":
        if layer.op != "max":
            raise SpecError(f"{layer.name}: ceil mode is implemented for max pooling only")
        return CeilMaxPool2D(layer.size, layer.stride, name=layer.name)(x)
    cls = keras.layers.MaxPooling2D if layer.op == "max" else keras.layers.AveragePooling2D
    return cls(layer.size, strides=layer.stride, padding=layer.padding, name=layer.name)(x)


def _dense(x, name: str, units: int, activation=None):
    if len(x.shape) > 2:
        x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    return keras.layers.Dense(units, activation=activation, name=name)(x)


def _inception(x, block: Inception):
    n = block.name
    outs = []
    if block.w1x1:
        outs.append(_conv(x, f"{n}_1x1", block.w1x1, 1))
    for key, reduce_w, conv_w, k in (
        ("3x3", block.w3x3_reduce, block.w3x3, 3),
        ("5x5", block.w5x5_reduce, block.w5x5, 5),
    ):
        if conv_w:
            src = _conv(x, f"{n}_{key}_reduce", reduce_w, 1) if reduce_w else x
            outs.append(_conv(src, f"{n}_{key}", conv_w, k))
    pooled = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{n}_pool")(x)
    outs.append(_conv(pooled, f"{n}_pool_proj", block.pool_proj, 1) if block.pool_proj else pooled)
    if len(outs) == 1:  # only the pool branch: name it as the block so taps still find it
        return keras.layers.Identity(name=n)(outs[0])
    return keras.layers.Concatenate(axis=-1, name=n)(outs)


def _aux(x, head: AuxHead, classes: int):
    n = head.name
    x = keras.layers.AveragePooling2D(5, strides=3, padding="valid", name=f"{n}_pool")(x)
    x = _conv(x, f"{n}_conv", 128, 1)
    x = _dense(x, f"{n}_fc", 1024, "relu")
    x = keras.layers.Dropout(0.7, name=f"{n}_dropout")(x)
    x = _dense(x, f"{n}_classifier", classes)
    return keras.layers.Softmax(name=f"{n}_softmax")(x)


def available_devices() -> list[str]:
    """What TensorFlow sees: ``/CPU:0`` always, then ``/GPU:0`` … when present."""
    return [d.name.replace("/device:", "/") for d in tf.config.list_logical_devices() if d.device_type in ("CPU", "GPU")]


def device_scope(device: str | None):
    """``tf.device(device)`` after checking that TensorFlow has that device."""
    if not device:
        return contextlib.nullcontext()
    known = available_devices()
    if device.upper() not in [d.upper() for d in known]:
        raise SpecError(f"device {device!r} is not available; TensorFlow sees: {', '.join(known)}")
    return tf.device(device)


def seed_initialisers(seed: int) -> None:
    """Make the next build's initial weights a function of ``seed``: the weights
    ``keras.utils.set_random_seed(seed)`` gives, without its ``tf.random.set_seed``, which
    clears TensorFlow's kernel caches (every op of the build and of the next forward then
    pays to recreate its kernel: ~0.1-0.2 s per build on a 2-core CPU, see ``bench``).
    Keras 3 initialisers (and dropout) without a seed draw theirs from Python's ``random``
    when they are created (``keras.random.make_default_seed``)."""
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)


#: Builds run one at a time: Keras's layer naming and the seeded initialisers are process
#: state, and concurrent builds (many sessions of the app at once) would multiply the
#: memory peak instead of queueing.
_BUILD_LOCK = threading.Lock()


def build_keras(spec: ModelSpec, device: str | None = None, seed: int | None = None) -> keras.Model:
    """The Keras functional model of ``spec``.

    ``device``: ``"/CPU:0"``, ``"/GPU:0"``, … (weights are created there; run the model
    under the same :func:`device_scope`). ``seed``: seeds Keras's initialisers.
    Outputs: the network's output, plus one per auxiliary classifier when ``spec.aux``.
    Raises :class:`SpecError` for specs the analytic counter refuses and for models whose
    estimated memory exceeds the limit (:func:`inception_viz.limits.check_buildable`)."""
    analyze(spec)  # validate shapes and widths first, with a clear message
    check_buildable(spec)  # refuse models that would not fit in memory, before allocating
    with _BUILD_LOCK:
        if seed is not None:
            seed_initialisers(seed)
        return _build(spec, device)


def _build(spec: ModelSpec, device: str | None) -> keras.Model:
    with device_scope(device):
        inputs = keras.Input(shape=tuple(spec.input_shape), name="input")
        x = inputs
        aux_by_block = {a.after: a for a in spec.active_aux_heads}
        aux_outputs = []
        for layer in spec.active_layers:
            if isinstance(layer, Conv):
                x = _conv(x, layer.name, layer.filters, layer.kernel, layer.stride, layer.padding, layer.activation)
            elif isinstance(layer, Pool):
                x = _pool(x, layer)
            elif isinstance(layer, LRN):
                x = LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k, name=layer.name)(x)
            elif isinstance(layer, Inception):
                x = _inception(x, layer)
            elif isinstance(layer, Dropout):
                x = keras.layers.Dropout(layer.rate, name=layer.name)(x)
            elif isinstance(layer, Dense):
                x = _dense(x, layer.name, layer.units or spec.classes, layer.activation)
            elif isinstance(layer, Softmax):
                x = keras.layers.Softmax(name=layer.name)(x)
            else:  # pragma: no cover - the spec types are closed
                raise TypeError(f"unknown layer {layer!r}")
            if layer.name in aux_by_block:
                aux_outputs.append(_aux(x, aux_by_block[layer.name], spec.classes))
        outputs = [x, *aux_outputs] if aux_outputs else x
        return keras.Model(inputs, outputs, name=spec.name)
