"""The effective receptive field (Luo et al. 2016, "Understanding the Effective Receptive
Field in Deep Convolutional Neural Networks") of one unit, for the current model and
weights (TensorFlow is imported here).

For a unit (a position ``(row, col)`` of a block's concat or of one branch), the score is
the sum over channels of its activations; its gradient with respect to the network input,
absolute values summed over the colour channels, is the unit's effective field. Each
image's map is normalised to a total of 1, then the maps are averaged over the images
(the four sample photos, or one image): :attr:`EffectiveField.heatmap` sums to 1 (all zeros
if no gradient reaches the input, e.g. every ReLU on the path is off).

All images go through ONE backward pass (a batch; the images do not interact, so each
gets its own gradient). Results are cached per (model and weights, layer, unit, images).

The numbers:

* ``share_inside(side)``: the share of the gradient mass on pixels within ``(side-1)/2``
  of the field's centre on both axes (for ``side`` = the theoretical size, exactly the
  theoretical field, which holds all of it);
* ``radius(q)``: the smallest ``r`` such that pixels within Chebyshev distance ``r`` of
  the field's centre hold at least ``q`` of the mass (a square of side ``2r + 1``);
  ``radius_50`` and ``radius_90``.

The theoretical field comes from the analytic counter (:mod:`inception_viz.counter`).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from .tfenv import import_tensorflow

import_tensorflow()  # quietly: TensorFlow's start-up lines stay off the terminal

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from .counter import FieldBox, ReceptiveField  # noqa: E402
from .images import SAMPLES, load_sample  # noqa: E402
from .inference import Runner, group_layers  # noqa: E402
from .keras_model import device_scope  # noqa: E402
from .spec import BRANCH_KEYS, SpecError  # noqa: E402

#: What a unit can be taken from: the block's concat or one of its branches.
UNIT_SOURCES: tuple[str, ...] = ("concat", *BRANCH_KEYS)


@dataclass(frozen=True)
class EffectiveField:
    """One unit's effective field (see the module docstring).

    ``layer``: the Keras layer; ``unit``: (row, col) in its ``map_shape``; ``heatmap``:
    (H, W) float64 over the network input, summing to 1 (or all zeros); ``field``: the
    theoretical :class:`~inception_viz.counter.ReceptiveField` of the layer; ``box``: the
    unit's theoretical field clipped at the borders (``None``: only padding);
    ``centre``: the field's centre in input pixels; ``images``: how many images were
    averaged; ``zero_images``: how many of them sent no gradient to the input."""

    block: str
    branch: str
    layer: str
    unit: tuple[int, int]
    map_shape: tuple[int, int]
    heatmap: np.ndarray = field(repr=False)
    field: ReceptiveField
    box: FieldBox | None
    centre: tuple[float, float]
    images: int
    zero_images: int = 0

    def _distance(self) -> np.ndarray:
        h, w = self.heatmap.shape
        ys = np.abs(np.arange(h) - self.centre[0])[:, None]
        xs = np.abs(np.arange(w) - self.centre[1])[None, :]
        return np.maximum(ys, xs)

    @property
    def total(self) -> float:
        return float(self.heatmap.sum())

    def share_inside(self, side: int) -> float:
        """Share of the mass within ``(side-1)/2`` px of the field's centre on both axes
        (0.0 when there is no gradient)."""
        if isinstance(side, bool) or not isinstance(side, (int, np.integer)) or side < 1:
            raise SpecError(f"the square's side must be a whole number of pixels >= 1, got {side!r}")
        total = self.total
        if total <= 0:
            return 0.0
        return float(self.heatmap[self._distance() <= (side - 1) / 2].sum() / total)

    @property
    def share_inside_field(self) -> float:
        """Share of the mass inside the unit's theoretical field (1.0 up to rounding: the
        gradient cannot leave it; 0.0 when there is no gradient)."""
        total = self.total
        if total <= 0 or self.box is None:
            return 0.0
        b = self.box
        return float(self.heatmap[b.top : b.bottom + 1, b.left : b.right + 1].sum() / total)

    def radius(self, q: float) -> float | None:
        """Smallest Chebyshev radius (px) around the field's centre holding at least
        ``q`` of the mass (``None`` when there is no gradient)."""
        if not 0 < q <= 1:
            raise SpecError(f"the mass share must be in (0, 1], got {q!r}")
        total = self.total
        if total <= 0:
            return None
        d = self._distance().ravel()
        order = np.argsort(d, kind="stable")
        d, cum = d[order], np.cumsum(self.heatmap.ravel()[order]) / total
        # a radius takes in every pixel at that distance: look at the last pixel of each ring
        last = np.r_[d[1:] != d[:-1], True]
        rings, cum = d[last], cum[last]
        i = int(np.searchsorted(cum, q - 1e-12))
        return float(rings[min(i, len(rings) - 1)])

    @property
    def radius_50(self) -> float | None:
        return self.radius(0.5)

    @property
    def radius_90(self) -> float | None:
        return self.radius(0.9)

    def normalised(self) -> np.ndarray:
        """The heat map scaled to [0, 1] by its maximum (for display)."""
        peak = float(self.heatmap.max())
        return (self.heatmap / peak).astype(np.float32) if peak > 0 else np.zeros_like(self.heatmap, np.float32)


def sample_images() -> list[np.ndarray]:
    """The bundled sample photos (the default set to average over)."""
    return [load_sample(name) for name in SAMPLES]


def unit_layer(runner: Runner, block: str, branch: str | None = None) -> str:
    """The Keras layer of ``block``'s concat (``branch=None`` / ``"concat"``) or branch."""
    spec = runner.spec
    if block not in spec.block_names:
        raise SpecError(f"no block named {block!r}; choose one of: {', '.join(spec.block_names)}")
    branch = branch or "concat"
    if branch not in UNIT_SOURCES:
        raise SpecError(f"unknown branch {branch!r}; choose one of: {', '.join(UNIT_SOURCES)}")
    layers = group_layers(spec, block)
    if branch not in layers:
        raise SpecError(f"the {branch} branch of {block} is dropped (width 0); choose another branch or concat")
    return layers[branch]


def _gradient_fn(runner: Runner, layer: str):
    """``f(x (B, H, W, C), unit (2,)) -> (B, H, W)``: |d unit / d input| summed over the
    colour channels, one forward and one backward pass; one ``tf.function`` per layer."""
    fns = runner.__dict__.setdefault("_erf_fns", {})
    fn = fns.get(layer)
    if fn is None:
        import keras

        model = runner.model
        sub = keras.Model(model.inputs, model.get_layer(layer).output, name=f"{model.name}_erf")
        shape = tuple(model.inputs[0].shape[1:])

        @tf.function(input_signature=[tf.TensorSpec((None, *shape), tf.float32), tf.TensorSpec((2,), tf.int32)])
        def fn(x, unit):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = sub(x, training=False)
                # every image's own unit; images do not interact, so the sum's gradient
                # is each image's gradient in its own batch entry
                score = tf.reduce_sum(y[:, unit[0], unit[1], :])
            return tf.reduce_sum(tf.abs(tape.gradient(score, x)), axis=-1)

        fns[layer] = fn
    return fn


_CACHE: OrderedDict[tuple, EffectiveField] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 16


def effective_field(runner: Runner, images: Sequence[np.ndarray], block: str, branch: str | None = None,
                    unit: tuple[int, int] | None = None) -> EffectiveField:
    """The effective field of ``unit`` (default: the centre unit, whose theoretical field
    is centred nearest the input's centre) of ``block``'s concat or ``branch``, averaged
    over ``images`` (RGB uint8 arrays, e.g. :func:`sample_images`), from one backward pass;
    cached."""
    layer = unit_layer(runner, block, branch)
    report = runner.report
    row = report.row(layer)
    if unit is None:
        unit = report.centre_unit(layer)
    if len(unit) != 2:
        raise SpecError(f"a unit is (row, col), got {unit!r}")
    box = report.unit_box(layer, *unit)  # checks the unit is on the map
    unit = (int(unit[0]), int(unit[1]))
    if not images:
        raise SpecError("no images to average over; give an image or use the sample photos")
    x = np.concatenate([runner.preprocess(rgb) for rgb in images])
    key = (runner.key, layer, unit, hashlib.sha256(x.tobytes()).hexdigest())
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    with device_scope(runner.device):
        grads = _gradient_fn(runner, layer)(tf.constant(x), tf.constant(unit, tf.int32)).numpy().astype(np.float64)
    sums = grads.reshape(len(grads), -1).sum(axis=1)
    ok = sums > 0
    maps = grads[ok] / sums[ok][:, None, None]
    heat = maps.mean(axis=0) if ok.any() else np.zeros(grads.shape[1:], np.float64)
    result = EffectiveField(
        block=block,
        branch=branch or "concat",
        layer=layer,
        unit=unit,
        map_shape=tuple(row.output_shape[:2]),
        heatmap=heat,
        field=row.receptive_field,
        box=box,
        centre=row.receptive_field.centre(*unit),
        images=len(images),
        zero_images=int((~ok).sum()),
    )
    with _CACHE_LOCK:
        _CACHE[key] = result
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return result


def field_image(ef: EffectiveField, rgb: np.ndarray | None = None, alpha: float = 0.6, min_side: int = 448) -> np.ndarray:
    """The heat map (scaled to its maximum) over ``rgb`` (the photo as the network sees
    it; ``None``: the heat map alone) with the theoretical field outlined and the unit's
    centre marked, enlarged (nearest) to at least ``min_side`` px. uint8 (H, W, 3)."""
    from .images import colorize, draw_field, overlay_heatmap

    heat = ef.normalised()
    h, w = heat.shape
    if rgb is None:
        shown = colorize(heat, 0.0, 1.0, "inferno")
    else:
        shown = overlay_heatmap(rgb, heat, alpha=alpha)
    k = max(1, -(-min_side // max(h, w)))
    shown = shown.repeat(k, axis=0).repeat(k, axis=1)
    return draw_field(shown, ef.box, (h, w), centre=ef.centre, dim=0.0)


def field_json(ef: EffectiveField, square: int | None = None) -> dict:
    """The ``rf --format json`` document's numbers (see README "Receptive fields")."""
    side = square or ef.field.size[0]
    return {
        "block": ef.block,
        "branch": ef.branch,
        "layer": ef.layer,
        "unit": list(ef.unit),
        "map_shape": list(ef.map_shape),
        "images": ef.images,
        "theoretical": {
            **ef.field.to_json(),
            "centre": list(ef.centre),
            "box": None if ef.box is None else [ef.box.top, ef.box.left, ef.box.bottom, ef.box.right],
        },
        "effective": {
            "radius_50": ef.radius_50,
            "radius_90": ef.radius_90,
            "share_inside_theoretical": ef.share_inside_field,
            "square": side,
            "share_inside_square": ef.share_inside(side),
            "zero_images": ef.zero_images,
        },
    }


__all__ = ["EffectiveField", "effective_field", "sample_images", "unit_layer", "field_image", "field_json", "UNIT_SOURCES"]
