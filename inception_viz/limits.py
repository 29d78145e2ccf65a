"""Memory limits: refuse a model before building it when it would not fit.

A lecturer who types ``65536`` into a width, or asks for a 4096x4096 input, must get a
one-line error, not a frozen laptop. :func:`check` estimates from the analytic report (no
TensorFlow, microseconds) how much memory building the Keras model and running it needs,
and raises :class:`~inception_viz.spec.SpecError` above the limit. Every build
(:func:`inception_viz.keras_model.build_keras`) and every batched run (per-block latency,
the activation pass) calls it first.

The estimate (bytes, float32, batch ``n``)::

    4 * params * WEIGHT_FACTOR  +  4 * forward_values * n * ACTIVATION_FACTOR
                                +  4 * conv_workspace_values * n  [+ purpose extras]

* ``forward_values`` (:attr:`inception_viz.counter.Report.forward_values`): EVERY tensor a
  forward pass creates: the input, each layer's output including every layer inside a
  block (reduce convs, the pool branch's pool, the concat) and inside the aux heads, the
  zero-padded copies and flattened inputs. (Until issue 18 only the top-level rows were
  counted: a block whose 3x3_reduce was 65,536 wide was estimated at 290 MB and grew the
  process by 1.7 GB.)
* ``WEIGHT_FACTOR = 2``: building keeps each weight once plus the initialiser's temporary
  of the same size (measured: the paper's GoogLeNet, 26.7 MB of weights, grows the process
  by 55 MB while building; widths x4, 371 MB of weights, by 568 MB).
* ``ACTIVATION_FACTOR = 2``: a forward pass holds layer outputs plus the allocator's slack.
* ``conv_workspace_values`` (:attr:`~inception_viz.counter.Report.conv_workspace_values`):
  the largest conv's input plus output, the copies TensorFlow holds while that conv runs.
  Found by the property test in ``tests/test_hostile.py``: the block preset with a
  32,768-wide 3x3_reduce (134 MB output) feeding a 1-wide 3x3 grew the process by 307 MB
  during build + forward, 16 MB more than 2 x (weights + every tensor) allowed.
* purpose ``"activations"`` adds the feature-map mosaics of the largest group the view
  shows at once (:data:`MOSAIC_BYTES_PER_VALUE` per mosaic pixel); ``"gradcam"`` adds one
  gradient per block output (the backward pass).

The limit is ``INCEPTION_VIZ_MAX_MODEL_MB`` megabytes (1 MB = 1,000,000 bytes), default
:data:`DEFAULT_MAX_MODEL_MB` (4096), or :data:`SHARED_MAX_MODEL_MB` (1024) in shared mode
(``INCEPTION_VIZ_SHARED``, see :mod:`inception_viz.trust`): a whole class builds models on
one server, and GoogLeNet at 224x224 needs about 118 MB. :class:`LiveModels` keeps the
models the process holds at once (the app's Instantiate and Predictions views share one)
under ``INCEPTION_VIZ_MAX_LIVE_MB`` (default: the same number) and at most ``MAX_LIVE_MODELS``.

Nothing here imports TensorFlow, so the app can check before it loads it.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Hashable

from .counter import analyze, fmt_int
from .spec import ModelSpec, SpecError

ENV_VAR = "INCEPTION_VIZ_MAX_MODEL_MB"
DEFAULT_MAX_MODEL_MB = 4096
SHARED_MAX_MODEL_MB = 1024
MB = 1_000_000
BYTES_PER_VALUE = 4  # float32
WEIGHT_FACTOR = 2
ACTIVATION_FACTOR = 2


#: Bytes per mosaic pixel: the float32 tile copy and grid, the colour map's float
#: temporaries and the RGB uint8 image (images.mosaic).
MOSAIC_BYTES_PER_VALUE = 16
PURPOSES = ("build", "forward", "profile", "activations", "gradcam")


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes needed to build ``spec`` and run it on ``batch`` images for ``purpose``."""

    weight_bytes: int  # 4 * params
    activation_bytes: int  # 4 * forward_values * batch
    total_bytes: int  # with the build / forward overhead factors and the purpose's extras
    batch: int = 1
    purpose: str = "build"

    @property
    def total_mb(self) -> int:
        """Rounded up to whole megabytes (1 MB = 1,000,000 bytes)."""
        return -(-self.total_bytes // MB)


def _mosaic_values(report, scale: int) -> int:
    """Pixels of the largest group of mosaics shown at once (one block's branch outputs
    and concat, or every stem layer), each tile enlarged ``scale`` x with a 1-pixel gap."""

    def one(shape) -> int:
        h, w, c = shape
        cols = math.isqrt(c - 1) + 1 if c > 1 else 1
        return (h * scale + 1) * (w * scale + 1) * (c + cols)

    groups = [0]
    stem = 0
    for r in report.rows:
        if r.kind == "inception":
            groups.append(one(r.output_shape) + sum(one(p.output_shape) for p in r.parts
                                                   if not p.name.endswith("_reduce")))
        elif r.kind in ("conv", "maxpool", "avgpool", "lrn") and r.output_shape[:2] != (1, 1):
            stem += one(r.output_shape)
    groups.append(stem)
    return max(groups)


def _batch(batch) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SpecError(f"batch must be a whole number of at least 1; got {batch!r}")
    return batch


def estimate_memory(spec: ModelSpec, batch: int = 1, purpose: str = "build", scale: int = 1) -> MemoryEstimate:
    """The memory estimate of the module docstring. Raises :class:`SpecError` for specs the
    counter refuses (bad widths, inputs too small) and bad arguments."""
    batch = _batch(batch)
    if purpose not in PURPOSES:
        raise SpecError(f"purpose must be one of {', '.join(PURPOSES)}; got {purpose!r}")
    report = analyze(spec)
    weight_bytes = BYTES_PER_VALUE * report.total_params
    activation_bytes = BYTES_PER_VALUE * report.forward_values * batch
    workspace = BYTES_PER_VALUE * report.conv_workspace_values * batch
    total = WEIGHT_FACTOR * weight_bytes + ACTIVATION_FACTOR * activation_bytes + workspace
    if purpose == "activations":
        total += MOSAIC_BYTES_PER_VALUE * _mosaic_values(report, max(1, int(scale)))
    elif purpose == "gradcam":
        total += BYTES_PER_VALUE * batch * sum(r.activations for r in report.blocks)
    return MemoryEstimate(weight_bytes, activation_bytes, total, batch, purpose)


def max_model_mb(environ=None) -> int:
    """The limit in MB: ``INCEPTION_VIZ_MAX_MODEL_MB`` if set, else 1024 in shared mode and
    4096 otherwise. A malformed value is an error (silently ignoring it would hide the
    lecturer's intent)."""
    from .trust import shared_mode

    environ = os.environ if environ is None else environ
    return _env_mb(ENV_VAR, SHARED_MAX_MODEL_MB if shared_mode(environ) else DEFAULT_MAX_MODEL_MB, environ)


def _env_mb(var: str, default: int, environ=None) -> int:
    environ = os.environ if environ is None else environ
    raw = environ.get(var, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
        raise SpecError(f"{var} must be a whole number of megabytes from 1 to 999999999; got {raw[:40]!r}")
    return int(raw)


def check(spec: ModelSpec, batch: int = 1, purpose: str = "build", limit_mb: int | None = None,
          scale: int = 1) -> MemoryEstimate:
    """Raise :class:`SpecError` (one line) if building ``spec`` and running ``batch`` images
    through it for ``purpose`` (``build``, ``forward``, ``profile``, ``activations``,
    ``gradcam``) needs more than ``limit_mb`` (default: :func:`max_model_mb`). For
    batches above 1 the message names the largest batch that fits. Returns the estimate."""
    est = estimate_memory(spec, batch, purpose, scale)
    limit = max_model_mb() if limit_mb is None else limit_mb
    if est.total_bytes > limit * MB:
        params = fmt_int(analyze(spec).total_params)
        if est.batch > 1:
            fits = max_batch(spec, purpose, limit, scale)
            hint = f"use a batch of at most {fits}" if fits else "reduce widths or the input size"
            raise SpecError(
                f"{spec.name} ({params} params) at batch {est.batch} needs about {fmt_int(est.total_mb)} MB; "
                f"the limit is {fmt_int(limit)} MB (set {ENV_VAR}) — {hint}"
            )
        raise SpecError(
            f"{spec.name} ({params} params) needs about "
            f"{fmt_int(est.total_mb)} MB to build; the limit is {fmt_int(limit)} MB "
            f"(set {ENV_VAR}) — reduce widths or the input size"
        )
    return est


def check_buildable(spec: ModelSpec, batch: int = 1, limit_mb: int | None = None) -> MemoryEstimate:
    """:func:`check` for building ``spec`` and one forward pass of ``batch`` images."""
    return check(spec, batch, "build" if batch == 1 else "forward", limit_mb)


def max_batch(spec: ModelSpec, purpose: str = "profile", limit_mb: int | None = None, scale: int = 1,
              upper: int = 1024) -> int:
    """The largest batch (at most ``upper``) whose estimate fits the limit; 0 if not even
    one image fits. The app caps its batch-size input with it."""
    limit = (max_model_mb() if limit_mb is None else limit_mb) * MB
    lo, hi = 0, upper  # the estimate grows with the batch: bisect for the last that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate_memory(spec, mid, purpose, scale).total_bytes <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


# -- the process-wide budget of live models --------------------------------------------------

LIVE_ENV_VAR = "INCEPTION_VIZ_MAX_LIVE_MB"
MAX_LIVE_MODELS = 2


class LiveModels:
    """The models this process holds, oldest first, under one budget.

    :meth:`get` returns the model for ``key`` (building it with ``build()`` when absent).
    Before a build it evicts the oldest models until at most ``max_models - 1`` remain and
    the estimates of those left plus the new one fit ``budget_mb``; a model whose own
    estimate is over the budget is refused with one line. After evicting, the registry
    drops its references and calls ``release()`` (the caller's ``gc.collect()``: a Keras
    model sits in a reference cycle) BEFORE the next build, so the peak is the budget, not
    the budget plus one model. One lock: builds queue."""

    def __init__(self, max_models: int = MAX_LIVE_MODELS, budget_mb: int | None = None,
                 release: Callable[[], None] | None = None):
        self.max_models = max_models
        self._budget_mb = budget_mb
        self._release = release
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self.lock = threading.RLock()

    def budget_mb(self) -> int:
        if self._budget_mb is not None:
            return self._budget_mb
        return _env_mb(LIVE_ENV_VAR, max_model_mb())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key) -> bool:
        return key in self._items

    def keys(self) -> list:
        return list(self._items)

    @property
    def live_bytes(self) -> int:
        return sum(b for _, b in self._items.values())

    def lookup(self, key: Hashable):
        """The live model for ``key`` (now the newest) or ``None``; never builds."""
        with self.lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def get(self, key: Hashable, estimate_bytes: int, build: Callable[[], object], what: str = "this model"):
        with self.lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit[0]
            budget = self.budget_mb() * MB
            if estimate_bytes > budget:
                raise SpecError(
                    f"{what} needs about {fmt_int(-(-estimate_bytes // MB))} MB; the budget for models held "
                    f"at once is {fmt_int(budget // MB)} MB (set {LIVE_ENV_VAR}) — reduce widths or the input size"
                )
            evicted = 0
            while self._items and (len(self._items) >= self.max_models
                                   or self.live_bytes + estimate_bytes > budget):
                self._items.popitem(last=False)
                evicted += 1
            if evicted and self._release is not None:
                self._release()
            model = build()
            self._items[key] = (model, estimate_bytes)
            return model

    def clear(self) -> None:
        with self.lock:
            had = bool(self._items)
            self._items.clear()
            if had and self._release is not None:
                self._release()


__all__ = [
    "ENV_VAR",
    "LIVE_ENV_VAR",
    "DEFAULT_MAX_MODEL_MB",
    "SHARED_MAX_MODEL_MB",
    "MemoryEstimate",
    "LiveModels",
    "estimate_memory",
    "max_model_mb",
    "max_batch",
    "check",
    "check_buildable",
]
