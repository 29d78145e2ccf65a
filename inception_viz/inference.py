"""Predictions, feature maps and Grad-CAM for one image (TensorFlow is imported here).

* :func:`compiled_forward` — a ``tf.function`` with a fixed input signature (batch 1),
  built once per model and reused; never ``model.predict`` for one image.
* :func:`activations_fn` — ONE multi-output Keras model returning, in a single pass, every
  stem layer's output (convs, pools, LRNs), every block's branch outputs and concat, and
  the probabilities; compiled like the forward.
* :class:`Runner` — a model built from a spec with some :class:`~inception_viz.weights.Weights`
  transferred onto it, with its forward, its activation pass, Grad-CAM and a cache of the
  last image's activations. :func:`get_runner` keeps a small LRU of runners keyed by
  ``(spec.key(), weights.key, device)``.
* Grad-CAM (Selvaraju et al. 2017): gradients of the chosen class's **logit** (layer
  ``linear``; ``softmax`` follows it) with respect to a block's output, averaged over space
  as channel weights, weighted sum of the block's channels, ReLU, normalised to [0, 1].

Mosaics and overlays are plain numpy (:mod:`inception_viz.images`).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

from .tfenv import import_tensorflow

import_tensorflow()  # quietly: TensorFlow's start-up lines stay off the terminal

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from . import limits  # noqa: E402
from .counter import Report, analyze  # noqa: E402
from .images import Mosaic, encode_png, mosaic  # noqa: E402
from .keras_model import build_keras, device_scope  # noqa: E402
from .i18n import Translator, resolve  # noqa: E402
from .spec import LRN, Conv, Dense, Inception, ModelSpec, Pool, Softmax, SpecError  # noqa: E402
from .weights import (  # noqa: E402
    TransferReport,
    Weights,
    apply_weights,
    model_with_weights,
    prediction_note,
    prediction_notes,
    random_weights,
)

# Importing TensorFlow and Keras leaves ~300,000 long-lived objects on the heap;
# import_tensorflow() above moved them out of the collector's way (inception_viz.heap), so
# the gc.collect() that releases an evicted model after an edit takes milliseconds, not ~200 ms.

LABELS_PATH = Path(__file__).resolve().parent.parent / "assets" / "imagenet_classes.txt"
#: Key of the probabilities in the activation dict.
PROBS = "probabilities"


def load_labels(classes: int = 1000) -> tuple[str, ...]:
    """ImageNet class names (standard order) for 1000 classes; ``class i`` otherwise."""
    if classes == 1000 and LABELS_PATH.is_file():
        labels = tuple(l.strip() for l in LABELS_PATH.read_text(encoding="utf-8").splitlines() if l.strip())
        if len(labels) == 1000:
            return labels
    return tuple(f"class {i}" for i in range(classes))


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    prob: float


def top_k(probs: np.ndarray, k: int = 5, labels: tuple[str, ...] | None = None) -> list[Prediction]:
    """The ``k`` most probable classes, highest first (ties: lower index first)."""
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    if k < 1:
        raise SpecError(f"top-k needs k >= 1, got {k}")
    labels = labels or load_labels(p.size)
    order = np.argsort(-p, kind="stable")[: min(k, p.size)]
    return [Prediction(int(i), labels[i], float(p[i])) for i in order]


# -- taps --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tap:
    """One activation the feature-map view shows: Keras layer ``layer``; ``group`` is the
    block name or ``"stem"``; ``branch`` is a branch key, ``"concat"`` or ``None`` for stem
    layers."""

    layer: str
    group: str
    branch: str | None


def activation_taps(spec: ModelSpec) -> tuple[Tap, ...]:
    """Every spatial layer outside the head (convs, pools, LRNs — the "stem" including
    the pools between blocks) and, for every block, each present branch output and the
    concat, in network order."""
    report = analyze(spec)
    taps = []
    for layer in spec.active_layers:
        if isinstance(layer, (Conv, Pool, LRN)):
            h, w, _ = report.row(layer.name).output_shape
            if isinstance(layer, Pool) and layer.padding == "global":
                continue
            taps.append(Tap(layer.name, "stem", None))
        elif isinstance(layer, Inception):
            n = layer.name
            taps.extend(Tap(out, n, key) for key, out in layer.branch_layers.items())
            taps.append(Tap(n, n, "concat"))
    return tuple(taps)


def _taps_for_model(model) -> tuple[Tap, ...]:
    spec = getattr(model, "_inception_viz_spec", None)
    if spec is not None:
        return activation_taps(spec)
    # a model built by build_keras without a Runner: the same layers by naming convention
    names = {l.name for l in model.layers}
    taps = []
    for l in model.layers:
        n = l.name
        if isinstance(l, keras.layers.InputLayer) or len(l.output.shape) != 4 or l.output.shape[1] == 1:
            continue
        if n.endswith(("_pad", "_reduce")) or (n.endswith("_pool") and f"{n}_proj" in names):
            continue
        taps.append(Tap(n, "?", None))
    return tuple(taps)


# -- compiled functions ------------------------------------------------------------------------


def _signature(model):
    shape = tuple(model.inputs[0].shape)
    return [tf.TensorSpec((1, *shape[1:]), tf.float32)]


def _eager_then_compiled(call, signature):
    """``call`` run eagerly the first time (no tracing: the first result after an edit
    comes sooner), then through one ``tf.function`` with a fixed input signature, traced
    once on the second call and reused."""
    state = {"graph": None}

    def run(x):
        x = tf.convert_to_tensor(np.asarray(x, np.float32))
        if state["graph"] is None:
            state["graph"] = tf.function(call, input_signature=signature)
            return call(x)
        return state["graph"](x)

    return run


def compiled_forward(model):
    """``f(x) -> probabilities`` (numpy, shape (1, classes)) for one image ``x`` of shape
    ``(1, H, W, C)`` float32; a ``tf.function`` with a fixed input signature, built once per
    model and reused (the very first call runs eagerly instead of tracing)."""
    fn = getattr(model, "_inception_viz_forward", None)
    if fn is None:
        run = _eager_then_compiled(lambda x: model(x, training=False), _signature(model))

        def fn(x):
            out = run(x)
            if isinstance(out, (list, tuple)):
                out = out[0]
            return out.numpy()

        model._inception_viz_forward = fn
    return fn


def activations_fn(model):
    """``f(x) -> {layer name: (1, H, W, C) array, ..., "probabilities": (1, classes)}``:
    every tap and the network output from ONE forward pass of one multi-output model
    (a ``tf.function`` built once per model; the first call runs eagerly)."""
    fn = getattr(model, "_inception_viz_activations", None)
    if fn is None:
        taps = _taps_for_model(model)
        names = [t.layer for t in taps]
        final = model.outputs[0]
        multi = keras.Model(model.inputs, [model.get_layer(n).output for n in names] + [final],
                            name=f"{model.name}_taps")
        run = _eager_then_compiled(lambda x: multi(x, training=False), _signature(model))

        def fn(x):
            outs = run(x)
            # np.asarray shares each tensor's buffer (read-only, kept alive by the array):
            # no second copy of every feature map (~21 MB for googlenet)
            values = {n: np.asarray(o) for n, o in zip(names, outs[:-1])}
            values[PROBS] = np.asarray(outs[-1])
            return values

        model._inception_viz_activations = fn
    return fn


# -- the runner --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradCam:
    """``heatmap``: (H, W) float32 in [0, 1] at the block's resolution; ``class_index`` /
    ``label`` / ``prob``: the class explained; ``peak``: the largest raw CAM value (0 means
    no positive evidence anywhere, and the heat map is all zeros)."""

    block: str
    class_index: int
    label: str
    prob: float
    heatmap: np.ndarray
    peak: float


class Runner:
    """One model (spec + weights + device) with everything the predictions page needs."""

    def __init__(self, spec: ModelSpec, weights: Weights | None = None, device: str | None = None, seed: int | None = None):
        self.spec = spec
        self.weights = weights or random_weights()
        self.device = device
        self.report: Report = analyze(spec)
        self.transfer: TransferReport
        if seed is None:  # the model every export saves: one function builds both
            self.model, self.transfer = model_with_weights(spec, self.weights, device)
        else:
            self.model = build_keras(spec, device=device, seed=seed)
            self.transfer = apply_weights(self.model, self.weights)
        self.model._inception_viz_spec = spec
        self.labels = load_labels(spec.classes)
        self.taps = activation_taps(spec)
        self._has_head = any(isinstance(l, (Dense, Softmax)) for l in spec.active_layers)
        self._last: tuple[bytes, dict[str, np.ndarray]] | None = None
        self._gradcam_all = None
        self._gradcams: dict[tuple, dict[str, GradCam]] = {}

    @property
    def key(self) -> tuple:
        return (self.spec.key(), self.weights.key, self.device)

    @property
    def preprocessing(self):
        return self.weights.preprocessing

    @property
    def note(self) -> str | None:
        """What to say above predictions (random / partly re-initialised weights)."""
        return prediction_note(self.weights, self.transfer)

    @property
    def notes(self) -> tuple[str, ...]:
        """:attr:`note` and every difference between this network and the one the weights
        were trained as (:func:`inception_viz.weights.training_differences`)."""
        return prediction_notes(self.spec, self.weights, self.transfer)

    def preprocess(self, rgb: np.ndarray) -> np.ndarray:
        return self.preprocessing.keras_input(rgb, self.spec.input_shape)

    def _require_head(self):
        if not self._has_head:
            raise SpecError(f"the {self.spec.name} model has no classifier head; predictions need a model that ends in linear + softmax")

    def probabilities(self, rgb: np.ndarray) -> np.ndarray:
        self._require_head()
        with device_scope(self.device):
            return compiled_forward(self.model)(self.preprocess(rgb))[0]

    def predict(self, rgb: np.ndarray, k: int = 5) -> list[Prediction]:
        return top_k(self.probabilities(rgb), k, self.labels)

    def activations(self, rgb: np.ndarray) -> dict[str, np.ndarray]:
        """All taps and the probabilities from one pass; the last image's result is cached."""
        x = self.preprocess(rgb)
        key = x.tobytes()
        last = self._last  # one read: another session may replace it at any time
        if last is not None and last[0] == key:
            return last[1]
        limits.check(self.spec, purpose="activations")  # every tap kept, plus the mosaics
        with device_scope(self.device):
            result = activations_fn(self.model)(x)
        self._last = (key, result)
        return result  # this caller's own result, whatever another session stored since

    def block_taps(self, group: str) -> tuple[Tap, ...]:
        taps = tuple(t for t in self.taps if t.group == group or (group == "stem" and t.group == "stem"))
        if not taps:
            raise SpecError(f"no block or layer group named {group!r}; choose stem or one of: {', '.join(self.spec.block_names)}")
        return taps

    def gradcam(self, rgb: np.ndarray, block: str, class_index: int | None = None) -> GradCam:
        """Grad-CAM at ``block`` for ``class_index`` (default: the top class).

        One traced function per model computes the maps of ALL blocks in one forward and
        one backward pass; the results are cached per (image, class), so switching the
        block in the app is free."""
        self._require_head()
        if block not in self.spec.block_names:
            raise SpecError(f"no block {block!r} for Grad-CAM; choose one of: {', '.join(self.spec.block_names)}")
        logits_layer = next((l for l in reversed(self.spec.active_layers) if isinstance(l, Dense)), None)
        if logits_layer is None or logits_layer.activation is not None:
            raise SpecError("Grad-CAM needs the logits layer 'linear' (a Dense layer without activation)")
        x = self.preprocess(rgb)
        digest = hash(x.tobytes())
        with device_scope(self.device):
            if class_index is None:
                class_index = int(np.argmax(compiled_forward(self.model)(x)[0]))
            if not 0 <= class_index < self.spec.classes:
                raise SpecError(f"class {class_index} does not exist; classes are 0..{self.spec.classes - 1}")
            key = (digest, class_index)
            result = self._gradcams.get(key)
            if result is None:
                limits.check(self.spec, purpose="gradcam")  # the backward pass
                fn = self._gradcam_fn(logits_layer.name)
                cams, probs = fn(tf.constant(x), tf.constant(class_index, tf.int32))
                p = float(probs.numpy()[class_index])
                result = {}
                for name, cam in zip(self.spec.block_names, cams):
                    cam = cam.numpy().astype(np.float32)
                    peak = float(cam.max())
                    heat = cam / peak if peak > 0 else np.zeros_like(cam)
                    result[name] = GradCam(name, class_index, self.labels[class_index], p, heat, peak)
                self._gradcams[key] = result
                while len(self._gradcams) > 8:  # a few images x classes; reruns reuse them
                    try:
                        self._gradcams.pop(next(iter(self._gradcams)))
                    except (StopIteration, KeyError, RuntimeError):  # another session evicted it first
                        break
        return result[block]

    def _gradcam_fn(self, logits_name: str):
        if self._gradcam_all is None:
            names = list(self.spec.block_names)
            sub = keras.Model(self.model.inputs, [*(self.model.get_layer(n).output for n in names),
                                                  self.model.get_layer(logits_name).output])

            @tf.function(input_signature=[*_signature(self.model), tf.TensorSpec((), tf.int32)])
            def fn(x, c):
                with tf.GradientTape() as tape:
                    *fmaps, logits = sub(x, training=False)
                    score = logits[0, c]  # the logit, not the softmax probability
                grads = tape.gradient(score, fmaps)
                cams = []
                for fmap, grad in zip(fmaps, grads):
                    weights = tf.reduce_mean(grad, axis=(1, 2))  # (1, C): spatially averaged gradients
                    cams.append(tf.nn.relu(tf.reduce_sum(fmap * weights[:, None, None, :], axis=-1))[0])
                return cams, tf.nn.softmax(logits)[0]

            self._gradcam_all = fn
        return self._gradcam_all


#: The process-wide registry of live models: the Predictions view's runners and the
#: Instantiate view's built models are the same entries (:func:`cached_model`), so at most
#: MAX_RUNNERS models are alive at once, under one memory budget
#: (:class:`inception_viz.limits.LiveModels`; ``INCEPTION_VIZ_MAX_LIVE_MB``).
MAX_RUNNERS = limits.MAX_LIVE_MODELS
_RUNNERS = limits.LiveModels(MAX_RUNNERS, release=gc.collect)


def get_runner(spec: ModelSpec, weights: Weights | None = None, device: str | None = None) -> Runner:
    """A cached :class:`Runner` from the process-wide registry :data:`_RUNNERS` (oldest
    evicted beyond :data:`MAX_RUNNERS` or the live-model budget, and released before the
    next one is built; one lock, so sessions asking at once share one build).

    Raises :class:`SpecError` (one line) when the model would not fit the per-model limit
    or the live-model budget, before anything is built."""
    weights = weights or random_weights()
    key = (spec.key(), weights.key, device)
    registry = _RUNNERS
    hit = registry.lookup(key)
    if hit is not None:
        return hit
    est = limits.check(spec, purpose="build")  # refuse before evicting anything
    return registry.get(key, est.total_bytes, lambda: Runner(spec, weights, device), what=spec.name)


def cached_model(spec: ModelSpec, weights: Weights | None = None, device: str | None = None):
    """The Keras model of :func:`get_runner` (what the app's Instantiate view, the
    predictions and the benchmark share: random weights seed 0 unless ``weights``)."""
    return get_runner(spec, weights, device).model


def live_models() -> tuple[int, int, int]:
    """``(models alive, their estimated bytes, the budget in bytes)`` of the registry."""
    return len(_RUNNERS), _RUNNERS.live_bytes, _RUNNERS.budget_mb() * limits.MB


# -- mosaics -----------------------------------------------------------------------------------


def block_mosaics(values: dict[str, np.ndarray], report_or_spec, block: str, sort: str = "index",
                  scale: int = 1) -> dict[str, Mosaic]:
    """One :class:`~inception_viz.images.Mosaic` per branch of ``block`` and one for its
    concat (keys: ``1x1``, ``3x3``, ``5x5``, ``pool_proj``, ``concat``; dropped branches are
    absent), or one per stem layer (keys: layer names) for ``block="stem"``."""
    spec = report_or_spec.spec if isinstance(report_or_spec, Report) else report_or_spec
    out: dict[str, Mosaic] = {}
    for tap in activation_taps(spec):
        if tap.group != block:
            continue
        if tap.layer not in values:
            raise SpecError(f"no activations for {tap.layer}; run the activation pass first")
        out[tap.branch or tap.layer] = mosaic(values[tap.layer], sort=sort, scale=scale)
    if not out:
        raise SpecError(f"no block named {block!r}; choose stem or one of: {', '.join(spec.block_names)}")
    return out


def png_bytes(item) -> bytes:
    """PNG bytes of a :class:`Mosaic` or a uint8 array (what the browser receives)."""
    return encode_png(item.image if isinstance(item, Mosaic) else item)


def group_layers(spec: ModelSpec, group: str) -> dict[str, str]:
    """The mosaic keys of :func:`block_mosaics` for ``group`` mapped to their Keras layers
    (``{"1x1": "inception_3a_1x1", ..., "concat": "inception_3a"}``, or stem names)."""
    return {t.branch or t.layer: t.layer for t in activation_taps(spec) if t.group == group}


def predictions_figure(preds: list[Prediction], title: str = "Top predictions", tr: Translator | None = None):
    """A horizontal Plotly bar chart of ``preds`` (highest on top), probabilities in %.
    ``tr``: the language of the axis and the numbers (English); ``title`` is the caller's."""
    import plotly.graph_objects as go

    tr = resolve(tr)
    labels = [f"{p.label} ({p.index})" for p in preds][::-1]
    values = [p.prob * 100 for p in preds][::-1]
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", text=[f"{tr.decimal(v, 2)} %" for v in values],
                           textposition="auto", marker_color="#1f77b4",
                           hovertemplate="%{y}: %{x:.4f} %<extra></extra>"))
    fig.update_layout(title=title, xaxis_title=tr.gettext("probability (%)"), margin=dict(l=10, r=10, t=40, b=10),
                      height=max(220, 44 * len(preds) + 80), font=dict(size=16))
    if tr.lang != "en":
        fig.update_layout(separators=tr.separators)
    fig.update_xaxes(range=[0, max(values + [1e-9]) * 1.15])
    fig.update_yaxes(automargin=True)
    return fig
