"""Feature visualisation: the image a channel, a neuron, a branch, a layer or a class wants
to see, by gradient ascent (TensorFlow is imported here).

The recipe of Olah, Mordvintsev & Schubert, "Feature Visualization" (Distill, 2017), as in
their Lucid library, on our Keras
model truncated at the target layer (a sub-model from the input to that layer's output, so
an early target costs only the layers before it):

* **Parameterisation**: each image is a 2-D real spectrum per colour channel (``rfft2d``
  layout), scaled by ``1 / frequency`` (frequencies below ``1 / size`` clamped) and by
  ``sqrt(h * w)``, turned into pixels with ``irfft2d`` and divided by 4 (Lucid's
  ``fft_image``); the three channels are then mixed with the square root of the ImageNet
  colour covariance (Lucid's ``color_correlation_svd_sqrt``, columns normalised by the
  largest column norm) and squashed by a sigmoid into valid pixels in [0, 1]. The optimiser
  then works in a space where natural-image statistics are white: no high-frequency noise.
* **Transformation robustness**: every step looks at the image through one random affine
  transform per image (translation up to ``jitter`` pixels, scale 0.9-1.1, rotation
  +-10 degrees, grey 0.5 filled in at the borders as Lucid's padding), drawn with stateless
  random ops from ``(seed, step)``: the same seed gives the same PNG, bit for bit.
* **Adam** (learning rate 0.05, as Lucid's ``render_vis``) on the spectrum.
* **Preprocessing follows the weights**, inside the graph: the image in [0, 1] RGB becomes
  ``(255 * rgb - mean) * scale`` with the weights' :class:`~inception_viz.weights.Preprocessing`
  (ImageNet / zoo: Caffe means, the Keras model reads RGB; random: -1..1). The PNG is exactly
  the network's input at that size: at the model's input side, ``predict`` / ``activations``
  see the same pixels without resizing.

The network runs fully convolutionally at the rendered size (``size`` x ``size``, as Lucid
does), so small images and grids of small images are cheap. A target after a layer that
needs the input size (a Dense on a flattened map without a global pool) requires ``size`` =
the input side.

Objectives (per image, maximised):

=========  ===============================================================================
channel    mean of the channel's map (a Dense layer: the unit's value)
neuron     the channel's centre unit, at (H // 2, W // 2) of its map
branch     a block's branch as a whole: mean of squares of the branch's **last layer** (the
           output it puts into the concat: ``BLOCK_1x1``, ``BLOCK_3x3``, ``BLOCK_5x5``, or
           ``BLOCK_pool_proj``, the bare ``BLOCK_pool`` when unprojected), after its ReLU
layer      DeepDream: mean of squares of the whole layer's output
class      the class's pre-softmax logit: the output of the classifier Dense (``linear``);
           when a Dense applies softmax itself, its pre-activation ``x @ W + b``
=========  ===============================================================================

Optional diversity (Lucid's ``diversity``): with several images of the same target in one
batch, ``weight * mean_i sum_{j != i} <G_i, G_j>`` (cosine similarity of the target layer's
Gram matrices) is subtracted, pushing the images apart. The weight trades against the
objective's scale, which depends on the weights (1 is strong for random weights; Lucid used
100 with its ImageNet model); the frames report the objective without this term.

The API the app's view uses (pure data, no Streamlit):

* :func:`make_target` / :func:`parse_target` -> :class:`Target` (validated, one-line errors
  naming the valid range); :func:`channel_targets` for the first N channels of a layer.
* :func:`visualize_steps` -> an iterator of :class:`Frame`: every ``every`` steps and at the
  end (``done``); stop early by ``should_stop()`` returning True (the last frame then has
  ``stopped``) or by leaving the loop. All targets of one call are optimised in ONE batch.
* :func:`visualize` runs it to the end and returns the last :class:`Frame`.
* :func:`result_key` keys a cache of finished results (:func:`result_key_for`: the same key
  from the spec and weights, before any model is built; :class:`ResultCache` holds them);
  :func:`grid_image` / :meth:`Frame.grid_png` tile a batch; :func:`ascent_step` is one step
  for the benchmark.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, fields, replace
from typing import Callable, Iterator, Sequence

import numpy as np

from .counter import Report, analyze
from .i18n import N_, Translator, resolve
from .spec import Dense, ModelSpec, SpecError

OBJECTIVES = ("channel", "neuron", "branch", "layer", "class")
#: Objectives that need a channel (or class) index.
INDEXED = ("channel", "neuron", "class")

#: Square root of the ImageNet colour covariance (Lucid, ``lucid/optvis/param/color.py``).
COLOR_CORRELATION_SVD_SQRT = np.asarray(
    [[0.26, 0.09, 0.02],
     [0.27, 0.00, -0.05],
     [0.27, -0.09, 0.03]], dtype=np.float32)
_COLOR = COLOR_CORRELATION_SVD_SQRT / np.max(np.linalg.norm(COLOR_CORRELATION_SVD_SQRT, axis=0))

MIN_SIZE, MAX_SIZE = 16, 1024
MAX_STEPS = 10_000
#: At most this many pixels in one batch (16 images of 224x224): memory of the backward pass.
MAX_BATCH_PIXELS = 16 * 224 * 224
#: Compiled (sub-model, step) sets kept per runner.
MAX_COMPILED = 4


@dataclass(frozen=True)
class Settings:
    """How to optimise; hashable, so ``(runner.key, targets, settings)`` keys a result cache.

    ``size``: the rendered (and fed) image side, ``None`` = the model's input side.
    ``jitter``: largest translation in pixels at 224 px (scaled with ``size``).
    ``fourier`` / ``decorrelate``: the Distill parameterisation; both False gives plain
    pixel-space ascent (sigmoid of a pixel array) for comparison."""

    steps: int = 256
    size: int | None = None
    seed: int = 0
    lr: float = 0.05
    jitter: float = 8.0
    scale: float = 0.1
    rotate_deg: float = 10.0
    fourier: bool = True
    decorrelate: bool = True
    diversity: float = 0.0

    def validated(self, spec: ModelSpec) -> "Settings":
        """A copy with ``size`` filled in; one-line :class:`SpecError` for bad values."""
        size = spec.input_shape[0] if self.size is None else self.size
        if not isinstance(self.steps, int) or not 1 <= self.steps <= MAX_STEPS:
            raise SpecError(f"steps must be from 1 to {MAX_STEPS:,}; got {self.steps}")
        if not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
            raise SpecError(f"size must be from {MIN_SIZE} to {MAX_SIZE} pixels; got {size}")
        if not 0 < self.lr <= 1:
            raise SpecError(f"learning rate must be in (0, 1]; got {self.lr}")
        if self.jitter < 0 or not 0 <= self.scale < 0.5 or not 0 <= self.rotate_deg <= 45 or self.diversity < 0:
            raise SpecError("jitter >= 0, scale in [0, 0.5), rotation in [0, 45] degrees and diversity >= 0 are required")
        return replace(self, size=size)


@dataclass(frozen=True)
class Target:
    """What to maximise: ``layer`` is a Keras layer name (the one whose output is read),
    ``channel`` the channel / unit / class index (``None`` for ``branch`` and ``layer``),
    ``label`` a short human description."""

    layer: str
    objective: str
    channel: int | None
    label: str


# -- targets ------------------------------------------------------------------------------


def _classifier(spec: ModelSpec) -> Dense | None:
    return next((l for l in reversed(spec.active_layers) if isinstance(l, Dense)), None)


def classifier_name(spec: ModelSpec) -> str | None:
    """The layer whose outputs the ``class`` objective reads (the last Dense), or ``None``."""
    layer = _classifier(spec)
    return None if layer is None else layer.name


def layer_names(report: Report) -> tuple[str, ...]:
    """Every layer ``table`` lists (top-level rows and each block's parts), network order."""
    return tuple(r.name for r in report.leaf_rows())


def make_target(spec: ModelSpec, layer: str, channel: int | str | None = None, objective: str | None = None) -> Target:
    """A validated :class:`Target`.

    ``layer``: any name ``table`` lists (a block's name is its concat, ``inception_4c_3x3``
    a branch conv, ``linear`` the classifier). ``channel``: an index; for ``branch`` a
    branch key of the block (``"3x3"``). ``objective``: default ``class`` on the classifier,
    ``branch`` when ``channel`` is a branch key, else ``channel``. Errors name the range."""
    report = analyze(spec)
    names = layer_names(report)
    blocks = spec.block_names
    if objective is not None and objective not in OBJECTIVES:
        raise SpecError(f"unknown objective {objective!r}; choose one of: {', '.join(OBJECTIVES)}")
    if isinstance(channel, str) and channel.strip().lstrip("-").isdigit():
        channel = int(channel)
    if layer not in names:
        parts = (f", or a block's part BLOCK_1x1, _3x3_reduce, _3x3, _5x5_reduce, _5x5, _pool, _pool_proj "
                 f"(e.g. {blocks[0]}_3x3)") if blocks else ""
        raise SpecError(f"no layer named {layer!r} in {spec.name}; choose a layer `table` lists: "
                        f"{', '.join(r.name for r in report.rows if not r.aux)}{parts}")
    row = report.row(layer)
    classifier = _classifier(spec)
    if isinstance(channel, str):  # a branch key: the branch objective on that branch's output
        if objective not in (None, "branch"):
            raise SpecError(f"{layer}:{channel}: a branch key goes with --objective branch; a channel is a number from 0 to {row.output_shape[2] - 1}")
        if layer not in blocks:
            raise SpecError(f"{layer}:{channel}: branches belong to blocks; choose one of: {', '.join(blocks)}")
        branches = spec.block(layer).branch_layers
        if channel not in branches:
            raise SpecError(f"{layer} has the branches {', '.join(branches)}; got {channel!r}")
        return Target(branches[channel], "branch", None, f"{layer} branch {channel} ({branches[channel]})")
    objective = objective or ("class" if classifier is not None and layer == classifier.name else "channel")
    if row.kind == "softmax":
        hint = f"--target {classifier.name}:K" if classifier else "a layer before it"
        raise SpecError(f"{layer} is the softmax; visualise the pre-softmax logit instead: {hint}")
    if objective == "class":
        if classifier is None:
            raise SpecError(f"{spec.name} has no classifier (Dense) layer, so no class objective")
        if layer != classifier.name:
            raise SpecError(f"the class objective reads the classifier's logits: use --target {classifier.name}:K (K from 0 to {spec.classes - 1})")
    if objective == "branch":
        owner = next((b for b in blocks if layer.startswith(b + "_")), None)
        mapping = {} if owner is None else {v: k for k, v in spec.block(owner).branch_layers.items()}
        if layer in blocks:
            raise SpecError(f"the branch objective needs a branch: --target {layer}:KEY with KEY one of {', '.join(spec.block(layer).branch_layers)}")
        if layer not in mapping:
            raise SpecError(f"{layer} is not a branch output; a branch is BLOCK:1x1|3x3|5x5|pool_proj or its last layer, e.g. {blocks[0]}_3x3" if blocks else f"{spec.name} has no blocks")
        return Target(layer, "branch", None, f"{owner} branch {mapping[layer]} ({layer})")
    if objective == "layer":
        return Target(layer, "layer", None, f"{layer} (whole layer, mean of squares)")
    n = spec.classes if objective == "class" else row.output_shape[2]
    what = "classes" if objective == "class" else "channels"
    if channel is None:
        raise SpecError(f"the {objective} objective needs an index: --target {layer}:N with N from 0 to {n - 1} ({layer} has {n:,} {what})")
    if not isinstance(channel, int) or isinstance(channel, bool) or not 0 <= channel < n:
        raise SpecError(f"{layer} has {n:,} {what}: choose one from 0 to {n - 1}; got {channel}")
    if objective == "class":
        return Target(layer, "class", channel, f"class {channel} (logit of {layer})")
    return Target(layer, objective, channel, f"{layer} {objective} {channel}")


_BRANCH_LABEL = re.compile(r"(\S+) branch (\S+) \((\S+)\)")
#: The objectives' names inside a target's text (msgids).
_OBJECTIVE_WORDS = {"channel": N_("channel"), "neuron": N_("neuron")}


def target_text(t: Target, tr: Translator | None = None) -> str:
    """``t.label`` in ``tr``'s language (the app's captions); English is ``t.label`` itself,
    which the CLI prints and the JSON carries."""
    tr = resolve(tr)
    if t.objective == "class":
        return tr.gettext("class {n} (logit of {layer})").format(n=t.channel, layer=t.layer)
    if t.objective == "layer":
        return tr.gettext("{layer} (whole layer, mean of squares)").format(layer=t.layer)
    if t.objective == "branch":
        m = _BRANCH_LABEL.fullmatch(t.label)
        return (tr.gettext("{block} branch {key} ({layer})").format(block=m[1], key=m[2], layer=m[3]) if m
                else t.label)
    if t.objective in _OBJECTIVE_WORDS and t.channel is not None:
        return tr.gettext("{layer} {objective} {n}").format(layer=t.layer, objective=tr.gettext(_OBJECTIVE_WORDS[t.objective]),
                                                           n=t.channel)
    return t.label


def parse_target(spec: ModelSpec, text: str, objective: str | None = None) -> Target:
    """``LAYER:CHANNEL`` (``inception_4c:97``, ``linear:281``, ``inception_4c:3x3`` for a
    branch) or ``LAYER`` (the ``layer`` objective) -> :func:`make_target`."""
    layer, sep, channel = str(text).strip().rpartition(":")
    if not sep:
        layer, channel = channel, None
    elif channel == "":
        raise SpecError(f"--target {text!r}: give LAYER:CHANNEL, e.g. inception_4c:97")
    return make_target(spec, layer, channel, objective)


def channel_targets(spec: ModelSpec, layer: str, n: int, first: int = 0, objective: str = "channel") -> list[Target]:
    """Targets for channels ``first .. first + n - 1`` of ``layer`` (clipped to the layer's
    channels): one batch for a grid."""
    report = analyze(spec)
    if layer not in layer_names(report):
        make_target(spec, layer, 0, objective)  # raises the one-line error
    total = spec.classes if objective == "class" else report.row(layer).output_shape[2]
    if n < 1 or not 0 <= first < total:
        raise SpecError(f"{layer} has {total:,} channels: choose first from 0 to {total - 1} and at least one image; got first {first}, {n}")
    return [make_target(spec, layer, c, objective) for c in range(first, min(total, first + n))]


# -- image statistics -----------------------------------------------------------------------


def high_frequency_share(image: np.ndarray) -> float:
    """Share of an image's spectral power (each colour channel, mean removed) at radial
    frequencies above half the Nyquist frequency (> 0.25 cycles per pixel). White noise
    gives about 1 - pi / 16 = 0.80; natural images a few per cent."""
    x = np.asarray(image, np.float64)
    if x.ndim == 2:
        x = x[..., None]
    x = x - x.mean(axis=(0, 1))
    power = np.abs(np.fft.fft2(x, axes=(0, 1))) ** 2
    fy = np.fft.fftfreq(x.shape[0])[:, None]
    fx = np.fft.fftfreq(x.shape[1])[None, :]
    high = np.hypot(fx, fy) > 0.25
    total = power.sum()
    return float(power[high].sum() / total) if total > 0 else 0.0


def to_uint8(rgb01: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> uint8 (round half up, as the PNG stores them)."""
    return np.clip(np.floor(np.asarray(rgb01, np.float64) * 255.0 + 0.5), 0, 255).astype(np.uint8)


# -- the compiled optimiser -------------------------------------------------------------------


def _rfft2d_freqs(h: int, w: int) -> np.ndarray:
    """Radial frequency of every rfft2d coefficient (Lucid's ``rfft2d_freqs``); an odd
    width keeps one more column, cut off after the inverse transform."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[: w // 2 + (2 if w % 2 == 1 else 1)]
    return np.sqrt(fx * fx + fy * fy)


def conv_input_gradient(dy, kernel, stride: int, padding: str, in_hw: tuple[int, int]):
    """The gradient of a 2-D convolution (NHWC, ``kernel`` (kh, kw, in, out), the same
    ``stride`` both ways, ``padding`` "valid" or "same" as TensorFlow) with respect to its
    ``in_hw``-sized input, given ``dy``, the gradient of its output: what TensorFlow's
    ``Conv2DBackpropInput`` computes, as ONE stride-1 forward convolution and a
    ``depth_to_space``.

    Input row ``s * u + p`` (phase ``p``) receives ``sum_a dy[u - a] * W[s * a + p]``: a full
    convolution of ``dy`` with the phase's taps. All ``s * s`` phases are the output channels
    of one convolution of ``dy`` (padded by ``ceil(k / s) - 1``) with the flipped taps,
    ``(ceil(kh / s), ceil(kw / s), out, s * s * in)``; ``depth_to_space`` interleaves them.
    Same multiply-adds as the transposed convolution, but a shape oneDNN runs fast: its
    backward-data kernel for a 3-channel input (the image side of ``conv1``, 7x7/2) took
    ~10x the layer's forward on this CPU (docs/bench.md)."""
    import tensorflow as tf

    kh, kw, cin, cout = kernel.shape
    s = int(stride)
    h, w = in_hw
    (top, bottom), (left, right) = (0, 0), (0, 0)
    if padding == "same":  # TensorFlow's SAME: the smaller half before
        def pads(size, k):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            return total // 2, total - total // 2
        (top, bottom), (left, right) = pads(h, kh), pads(w, kw)
    hp, wp = h + top + bottom, w + left + right
    qh, qw = -(-kh // s), -(-kw // s)
    taps = tf.pad(kernel, [[0, qh * s - kh], [0, qw * s - kw], [0, 0], [0, 0]])
    taps = tf.reverse(tf.reshape(taps, [qh, s, qw, s, cin, cout]), axis=[0, 2])  # (a, py, b, px, in, out)
    taps = tf.reshape(tf.transpose(taps, [0, 2, 5, 1, 3, 4]), [qh, qw, cout, s * s * cin])
    g = tf.pad(dy, [[0, 0], [qh - 1, qh - 1], [qw - 1, qw - 1], [0, 0]])
    dx = tf.nn.conv2d(g, taps, 1, "VALID")
    if s > 1:
        dx = tf.nn.depth_to_space(dx, s)
    rows, cols = dx.shape[1], dx.shape[2]
    if rows < hp or cols < wp:  # rows past the last window's reach get nothing
        dx = tf.pad(dx, [[0, 0], [0, max(0, hp - rows)], [0, max(0, wp - cols)], [0, 0]])
    if (rows, cols) != (h, w) or top or left:
        dx = dx[:, top: top + h, left: left + w, :]
    return dx


def _image_stem(model, out):
    """``(pads, conv)``: the ``ZeroPadding2D`` layers and the ``Conv2D`` that read the
    model's input in a chain (each the only reader of the one before), when the graph to
    ``out`` goes through that conv; else ``None`` (the plain sub-model is used)."""
    import keras

    layers = model.layers
    if len(model.inputs) != 1 or not layers or not isinstance(layers[0], keras.layers.InputLayer):
        return None
    pads, prev = [], layers[0]
    for layer in layers[1:]:
        nodes = layer._inbound_nodes
        if (len(prev._outbound_nodes) != 1 or len(nodes) != 1
                or [t for t in nodes[0].input_tensors] != [prev.output]):
            return None
        if out is layer.output:
            return None  # the target is in the stem
        if isinstance(layer, keras.layers.ZeroPadding2D):
            pads.append(layer)
            prev = layer
            continue
        if (type(layer) is keras.layers.Conv2D and layer.data_format == "channels_last" and layer.groups == 1
                and tuple(layer.dilation_rate) == (1, 1) and layer.strides[0] == layer.strides[1]
                and layer.padding in ("valid", "same")
                and layer.activation in (keras.activations.relu, keras.activations.linear)):
            return pads, layer
        return None
    return None


def _stem_call(pads, conv, x):
    """``conv(pads(x))`` as the model computes it, with the input gradient of
    :func:`conv_input_gradient` (the convolution's weights get no gradient)."""
    import keras
    import tensorflow as tf

    for p in pads:
        x = p(x)
    relu = conv.activation is keras.activations.relu
    in_hw = (x.shape[1], x.shape[2])

    @tf.custom_gradient
    def call(x):
        y = conv(x)

        def grad(dy, variables=None):
            if relu:  # through where the output (so the pre-activation) is positive
                dy = tf.raw_ops.ReluGrad(gradients=dy, features=y)
            dx = conv_input_gradient(dy, tf.convert_to_tensor(conv.kernel), conv.strides[0], conv.padding, in_hw)
            return dx, [None] * len(variables or ())

        return y, grad

    return call(x)


class _Compiled:
    """The sub-model to one layer and the tf.functions for one (layer, objective, size,
    batch, settings): ``step`` (one Adam step, pure: state in, state out), ``to_rgb``
    (parameters -> [0, 1] images) and ``evaluate`` (objective of given images, no
    transforms). Pure functions of their arguments, so sessions may share them."""

    def __init__(self, runner, target: Target, size: int, batch: int, s: Settings):
        import keras
        import tensorflow as tf

        self.tf = tf
        model = runner.model
        spec = runner.spec
        self.size, self.batch = size, batch
        layer = model.get_layer(target.layer)
        pre_activation = None
        out = layer.output
        if target.objective == "class" and getattr(layer, "activation", None) not in (None, keras.activations.linear):
            out = layer.input  # softmax inside the Dense: recompute x @ W + b
            pre_activation = layer
        if isinstance(out, (list, tuple)):
            out = out[0]
        stem = _image_stem(model, out)
        if stem is None:
            sub = keras.Model(model.inputs, out, name=f"featurevis_{target.layer}")
            # the layers up to most targets are convolutional: run them at the rendered size
            sub.input_spec = keras.InputSpec(ndim=4)
        else:  # the image-side conv by hand (for its input gradient), the rest as a sub-model
            pads, conv = stem
            rest = keras.Model(conv.output, out, name=f"featurevis_{target.layer}")
            rest.input_spec = keras.InputSpec(ndim=4)

            def sub(x, training=False):
                return rest(_stem_call(pads, conv, x), training=training)
        channels_in = spec.input_shape[2]
        pre = runner.preprocessing
        mean = tf.constant(np.asarray(pre.mean, np.float32))
        pscale = np.float32(pre.scale)
        objective = target.objective
        h = w = size
        if s.fourier:
            freqs = _rfft2d_freqs(h, w)
            fh, fw = freqs.shape
            spectrum_scale = (1.0 / np.maximum(freqs, 1.0 / max(h, w))) * np.sqrt(w * h)
            sscale = tf.constant(spectrum_scale.astype(np.float32))
            self.param_shape = (2, batch, 3, fh, fw)
        else:
            self.param_shape = (batch, h, w, 3)
        color = tf.constant(_COLOR.T)
        jitter = np.float32(s.jitter * size / 224.0)
        smax, rot = np.float32(s.scale), np.float32(math.radians(s.rotate_deg))
        centre = np.float32((size - 1) / 2.0)
        luma = tf.constant([[0.299], [0.587], [0.114]], tf.float32)

        def to_rgb(params):
            if s.fourier:
                # unstack, not params[0] / params[1]: the gradient of a strided slice
                # (StridedSliceGrad) cost ~4 ms each, of a stack nothing
                real, imag = tf.unstack(params)
                spectrum = tf.complex(real, imag) * tf.cast(sscale, tf.complex64)
                img = tf.signal.irfft2d(spectrum)  # (B, 3, h, w + 1 when w is odd)
                if img.shape[-1] != w:
                    img = img[:, :, :, :w]
                img = tf.transpose(img, [0, 2, 3, 1]) / 4.0
            else:
                img = params
            if s.decorrelate:
                img = tf.reshape(tf.reshape(img, [-1, 3]) @ color, tf.shape(img))
            return tf.sigmoid(img)

        def network_input(rgb):
            x = (rgb * 255.0 - mean) * pscale
            if channels_in == 1:
                x = x @ luma
            return x

        def act_of(x):
            y = sub(x, training=False)
            if pre_activation is not None:
                y = tf.matmul(y, pre_activation.kernel) + pre_activation.bias
            return y

        def objective_of(y, chans):
            if len(y.shape) == 2:
                y = y[:, None, None, :]
            if objective in ("layer", "branch"):
                return tf.reduce_mean(tf.square(y), axis=[1, 2, 3])
            picked = tf.gather(y, chans, axis=3, batch_dims=1)  # (B, H, W)
            if objective == "neuron":
                return picked[:, y.shape[1] // 2, y.shape[2] // 2]
            return tf.reduce_mean(picked, axis=[1, 2])

        def transform(rgb, seed):
            if jitter == 0 and smax == 0 and rot == 0:
                return rgb
            u = tf.random.stateless_uniform((batch, 4), seed=seed, minval=-1.0, maxval=1.0)
            sc = 1.0 + smax * u[:, 0]
            th = rot * u[:, 1]
            tx, ty = jitter * u[:, 2], jitter * u[:, 3]
            c, sn = tf.cos(th) / sc, tf.sin(th) / sc
            # output pixel -> input pixel: rotate and scale about the centre, then shift
            a0, a1, b0, b1 = c, -sn, sn, c
            a2 = centre - a0 * centre - a1 * centre - tx
            b2 = centre - b0 * centre - b1 * centre - ty
            z = tf.zeros_like(c)
            m = tf.stack([a0, a1, a2, b0, b1, b2, z, z], axis=1)
            return tf.raw_ops.ImageProjectiveTransformV3(
                images=rgb, transforms=m, output_shape=tf.constant([h, w], tf.int32), fill_value=0.5,
                interpolation="BILINEAR", fill_mode="CONSTANT")

        def diversity_of(y):
            if len(y.shape) == 2:
                y = y[:, None, None, :]
            flat = tf.reshape(y, [batch, -1, y.shape[-1]])
            grams = tf.nn.l2_normalize(tf.matmul(flat, flat, transpose_a=True), axis=[1, 2], epsilon=1e-10)
            g = tf.reshape(grams, [batch, -1])
            sim = g @ tf.transpose(g)
            return (tf.reduce_sum(sim) - tf.reduce_sum(tf.linalg.diag_part(sim))) / batch

        b1, b2, eps, lr = 0.9, 0.999, 1e-8, np.float32(s.lr)
        pspec = tf.TensorSpec(self.param_shape, tf.float32)
        cspec = tf.TensorSpec((batch,), tf.int32)
        use_div = s.diversity > 0 and batch > 1

        @tf.function(input_signature=[pspec, pspec, pspec, tf.TensorSpec((), tf.float32), cspec, tf.TensorSpec((2,), tf.int32)])
        def step(params, m, v, t, chans, seed):
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(params)
                y = act_of(network_input(transform(to_rgb(params), seed)))
                obj = objective_of(y, chans)
                loss = -tf.reduce_sum(obj)
                if use_div:
                    loss += np.float32(s.diversity) * diversity_of(y)
            g = tape.gradient(loss, params)
            # Adam (Kingma & Ba 2015), as TensorFlow 1's AdamOptimizer that Lucid used
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * tf.square(g)
            lr_t = lr * tf.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            return params - lr_t * m / (tf.sqrt(v) + eps), m, v, obj

        @tf.function(input_signature=[pspec])
        def rgb_fn(params):
            return to_rgb(params)

        @tf.function(input_signature=[tf.TensorSpec((batch, h, w, 3), tf.float32), cspec])
        def evaluate(rgb, chans):
            return objective_of(act_of(network_input(rgb)), chans)

        self.step, self.to_rgb, self.evaluate = step, rgb_fn, evaluate

    def initial(self, seed: int) -> np.ndarray:
        return (np.random.default_rng(seed).standard_normal(self.param_shape) * 0.01).astype(np.float32)


_COMPILE_LOCK = threading.Lock()


class _NoRetracingWarning:
    """Every new target gets its own tf.functions by design (a fixed signature each);
    TensorFlow's "triggered tf.function retracing" warning about many functions is noise."""

    @staticmethod
    def filter(record) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def _compiled(runner, target: Target, size: int, batch: int, s: Settings) -> _Compiled:
    """The runner's compiled optimiser for this shape (LRU of :data:`MAX_COMPILED`)."""
    graph_settings = tuple((f.name, getattr(s, f.name)) for f in fields(s) if f.name not in ("steps", "seed", "size"))
    key = (target.layer, target.objective, size, batch, graph_settings)
    with _COMPILE_LOCK:
        import tensorflow as tf

        logger = tf.get_logger()
        if not any(isinstance(f, _NoRetracingWarning) for f in logger.filters):
            logger.addFilter(_NoRetracingWarning())
        cache = runner.__dict__.setdefault("_featurevis", OrderedDict())
        found = cache.get(key)
        if found is not None:
            cache.move_to_end(key)
            return found
        found = _Compiled(runner, target, size, batch, s)
        cache[key] = found
        while len(cache) > MAX_COMPILED:
            cache.popitem(last=False)
        return found


def check_size(spec: ModelSpec, target: Target, size: int) -> None:
    """Refuse models that do not take images and sizes the network cannot take up to
    ``target`` (too small; or a Dense on a flattened map that needs the input size) with
    one line."""
    h, w, c = spec.input_shape
    if c not in (1, 3):
        raise SpecError(f"feature visualisation draws images; this model takes {h}x{w}x{c} inputs: choose a model with 3 (or 1) input channels")
    if size == h and size == w:
        return
    at_size = analyze(spec.with_options(input_shape=(size, size, spec.input_shape[2])))  # raises when too small
    native = analyze(spec)
    for r in native.leaf_rows():
        if r.kind == "dense" and r.input_shape != at_size.row(r.name).input_shape:
            raise SpecError(f"{r.name} needs a {spec.input_shape[0]}x{spec.input_shape[1]} input (its weights read a "
                            f"{'x'.join(map(str, r.input_shape))} map); use size {spec.input_shape[0]} for this target")
        if r.name == target.layer:
            break


def check_batch(batch: int, size: int) -> None:
    """Refuse a batch over :data:`MAX_BATCH_PIXELS` (the backward pass's memory) with one line."""
    if batch * size * size > MAX_BATCH_PIXELS:
        raise SpecError(f"{batch} images of {size}x{size} pixels are too many at once; at most "
                        f"{MAX_BATCH_PIXELS:,} pixels per batch (e.g. {MAX_BATCH_PIXELS // (size * size)} images of that size)")


def check_request(spec: ModelSpec, targets: Target | Sequence[Target], settings: Settings) -> Settings:
    """Every check a run makes before it starts, without TensorFlow (the app runs it before
    the lecturer presses a button): the settings, the size the network takes up to the
    target (:func:`check_size`), the batch (:func:`check_batch`) and the memory of the
    forward and backward pass of the batch at that size (:func:`inception_viz.limits.check`,
    purpose ``gradcam``: a backward pass; the whole network is counted, an upper bound for a
    target before its end). Returns the validated settings; one-line :class:`SpecError`."""
    from . import limits

    targets = (targets,) if isinstance(targets, Target) else tuple(targets)
    s = settings.validated(spec)
    check_size(spec, targets[0], s.size)
    check_batch(len(targets), s.size)
    h, w, c = spec.input_shape
    limits.check(spec if (s.size, s.size) == (h, w) else spec.with_options(input_shape=(s.size, s.size, c)),
                 len(targets), purpose="gradcam")
    return s


# -- running --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One look at the optimisation, for one batch.

    ``images``: (B, size, size, 3) uint8, exactly what the PNGs hold. ``objective``: per
    image, the value at the latest step (under that step's random transform).
    ``objective_start`` / ``objective_end``: per image, the objective of the initial and
    final images as stored (uint8, no transform), set only when ``done``. ``seconds``: wall
    time since the call (tracing included). ``stopped``: ended early by ``should_stop``."""

    step: int
    steps: int
    targets: tuple[Target, ...]
    images: np.ndarray
    objective: tuple[float, ...]
    seconds: float
    done: bool = False
    stopped: bool = False
    objective_start: tuple[float, ...] | None = None
    objective_end: tuple[float, ...] | None = None

    @property
    def progress(self) -> float:
        return self.step / self.steps

    def png(self, i: int = 0) -> bytes:
        from .images import encode_png

        return encode_png(self.images[i])

    def grid_png(self, cols: int | None = None) -> bytes:
        """All images of the batch in one PNG (:func:`grid_image`)."""
        from .images import encode_png

        return encode_png(grid_image(self.images, cols))


def visualize_steps(runner, targets: Target | Sequence[Target], settings: Settings = Settings(), every: int = 16,
                    should_stop: Callable[[], bool] | None = None) -> Iterator[Frame]:
    """Optimise one image per target, all in one batch, yielding a :class:`Frame` after
    step ``every``, ``2 * every``, ... and a last one with ``done=True`` (after
    ``settings.steps`` steps or when ``should_stop()`` returns True, checked before every
    step). All targets must share layer and objective (they differ in channel).

    ``runner``: an :class:`~inception_viz.inference.Runner` (its model, weights and
    preprocessing; compiled steps are cached on it)."""
    import tensorflow as tf

    from .keras_model import device_scope

    t0 = time.perf_counter()
    targets = (targets,) if isinstance(targets, Target) else tuple(targets)
    if not targets:
        raise SpecError("nothing to visualise: give at least one target")
    if len({(t.layer, t.objective) for t in targets}) != 1:
        raise SpecError("one batch optimises one layer and objective; targets differ in layer or objective")
    s = check_request(runner.spec, targets, settings)
    size, batch = s.size, len(targets)
    if every < 1:
        raise SpecError(f"every must be at least 1; got {every}")
    chans = tf.constant([t.channel or 0 for t in targets], tf.int32)
    with device_scope(runner.device):
        c = _compiled(runner, targets[0], size, batch, s)
        params = tf.constant(c.initial(s.seed))
        m = tf.zeros_like(params)
        v = tf.zeros_like(params)

        def quantised(p):
            img = to_uint8(c.to_rgb(p).numpy())
            return img, _floats(c.evaluate(tf.constant(img.astype(np.float32) / 255.0), chans))

        _, start = quantised(params)
        last = None
        done_steps, stopped = 0, False
        for i in range(1, s.steps + 1):
            if should_stop is not None and should_stop():
                stopped = True
                break
            params, m, v, last = c.step(params, m, v, tf.constant(float(i)), chans, tf.constant([s.seed, i], tf.int32))
            done_steps = i
            if i % every == 0 and i < s.steps:
                yield Frame(i, s.steps, targets, to_uint8(c.to_rgb(params).numpy()), _floats(last), time.perf_counter() - t0)
        images, end = quantised(params)
    obj = start if last is None else _floats(last)
    yield Frame(done_steps, s.steps, targets, images, obj, time.perf_counter() - t0, True, stopped, start, end)


def _floats(t) -> tuple[float, ...]:
    return tuple(float(x) for x in np.asarray(t))


def visualize(runner, targets: Target | Sequence[Target], settings: Settings = Settings(), every: int = 16,
              on_frame: Callable[[Frame], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> Frame:
    """:func:`visualize_steps` to the end; ``on_frame`` sees every frame; returns the last."""
    last = None
    for frame in visualize_steps(runner, targets, settings, every, should_stop):
        if on_frame is not None:
            on_frame(frame)
        last = frame
    return last


def ascent_step(runner, target: Target, settings: Settings = Settings()) -> Callable[[], None]:
    """One Adam step on a fixed state, waiting for its result: what the benchmark times
    (``featurevis_step_over_forward``); the first call traces."""
    import tensorflow as tf

    s = settings.validated(runner.spec)
    check_size(runner.spec, target, s.size)
    c = _compiled(runner, target, s.size, 1, s)
    params = tf.constant(c.initial(s.seed))
    zeros = tf.zeros_like(params)
    chans = tf.constant([target.channel or 0], tf.int32)
    t, seed = tf.constant(1.0), tf.constant([s.seed, 1], tf.int32)

    def run():
        c.step(params, zeros, zeros, t, chans, seed)[3].numpy()

    return run


def result_key(runner, targets: Target | Sequence[Target], settings: Settings) -> tuple:
    """A hashable key for caching a finished result per (model, weights, device, targets,
    settings)."""
    targets = (targets,) if isinstance(targets, Target) else tuple(targets)
    return (runner.key, targets, settings.validated(runner.spec))


def result_key_for(spec: ModelSpec, weights, targets: Target | Sequence[Target], settings: Settings,
                   device: str | None = None) -> tuple:
    """:func:`result_key` of the runner that ``inference.get_runner(spec, weights, device)``
    would give, without building it (no TensorFlow): the app looks a finished result up
    before it loads a model. ``Runner.key`` is ``(spec.key(), weights.key, device)``; a test
    holds the two equal."""
    targets = (targets,) if isinstance(targets, Target) else tuple(targets)
    return ((spec.key(), weights.key, device), targets, settings.validated(spec))


class ResultCache:
    """Finished results by :func:`result_key`, least recently used first out, at most
    ``max_bytes`` of images (and ``max_entries``) in all; safe across threads (the app
    shares one between sessions: the same key gives the same PNGs, so one visitor's result
    is every visitor's). A value is anything with the :class:`Frame` it shows in
    ``.frame``."""

    def __init__(self, max_bytes: int = 64 * 2**20, max_entries: int = 256):
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._items: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple):
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: tuple, value) -> None:
        """Keep ``value`` (too large for the whole cache: not kept)."""
        size = int(value.frame.images.nbytes)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes or len(self._items) > self.max_entries:
                _, (_, freed) = self._items.popitem(last=False)
                self._bytes -= freed

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


def grid_image(images: np.ndarray, cols: int | None = None, pad: int = 4) -> np.ndarray:
    """(B, S, S, 3) uint8 images tiled row by row into one uint8 image, ``pad`` white
    pixels between them; ``cols`` defaults to ``ceil(sqrt(B))``."""
    images = np.asarray(images, np.uint8)
    b, h, w, c = images.shape
    cols = min(b, cols or math.ceil(math.sqrt(b)))
    rows = math.ceil(b / cols)
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, c), 255, np.uint8)
    for i in range(b):
        r, q = divmod(i, cols)
        out[r * (h + pad): r * (h + pad) + h, q * (w + pad): q * (w + pad) + w] = images[i]
    return out
