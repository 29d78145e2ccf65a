"""Memory limits: refuse a model before building it when it would not fit.

A lecturer who types ``65536`` into a width, or asks for a 4096x4096 input, must get a
one-line error, not a frozen laptop. :func:`check_buildable` estimates from the analytic
report (no TensorFlow, microseconds) how much memory building the Keras model and running
one forward pass needs, and raises :class:`~inception_viz.spec.SpecError` above the limit.

The estimate (bytes, float32, batch ``n``)::

    4 * params * WEIGHT_FACTOR  +  4 * activations * n * ACTIVATION_FACTOR

* ``WEIGHT_FACTOR = 2``: building keeps each weight once plus the initialiser's temporary
  of the same size (measured: the paper's GoogLeNet, 26.7 MB of weights, grows the process
  by 55 MB while building; widths x4, 371 MB of weights, by 568 MB).
* ``ACTIVATION_FACTOR = 2``: a forward pass holds each layer's output plus TensorFlow's
  workspace (measured: a 1024x1024 input, 329 MB of activations, grows the process by
  625 MB during the first forward pass).

The limit is ``INCEPTION_VIZ_MAX_MODEL_MB`` megabytes (1 MB = 1,000,000 bytes), default
:data:`DEFAULT_MAX_MODEL_MB` (4096): room for a model and its forward pass next to the app
and TensorFlow (about 1 GB) on a laptop-class machine with 8-24 GB, with several models in
the app's cache. Raise it on a bigger machine. In shared mode (``INCEPTION_VIZ_SHARED``,
see :mod:`inception_viz.trust`) the default is :data:`SHARED_MAX_MODEL_MB` (1024): a
whole class builds models on one server, and GoogLeNet at 224x224 needs about 90 MB.

Nothing here imports TensorFlow, so the app can check before it loads it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .counter import analyze, fmt_int
from .spec import ModelSpec, SpecError

ENV_VAR = "INCEPTION_VIZ_MAX_MODEL_MB"
DEFAULT_MAX_MODEL_MB = 4096
SHARED_MAX_MODEL_MB = 1024
MB = 1_000_000
BYTES_PER_VALUE = 4  # float32
WEIGHT_FACTOR = 2
ACTIVATION_FACTOR = 2


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes needed to build ``spec`` and run one forward pass of ``batch`` images."""

    weight_bytes: int  # 4 * params
    activation_bytes: int  # 4 * activations * batch
    total_bytes: int  # with the build / forward overhead factors

    @property
    def total_mb(self) -> int:
        """Rounded up to whole megabytes (1 MB = 1,000,000 bytes)."""
        return -(-self.total_bytes // MB)


def estimate_memory(spec: ModelSpec, batch: int = 1) -> MemoryEstimate:
    """The memory estimate of the module docstring. Raises :class:`SpecError` for specs the
    counter refuses (bad widths, inputs too small)."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SpecError(f"batch must be a whole number of at least 1; got {batch!r}")
    report = analyze(spec)
    weight_bytes = BYTES_PER_VALUE * report.total_params
    activation_bytes = BYTES_PER_VALUE * report.total_activations * batch
    total = WEIGHT_FACTOR * weight_bytes + ACTIVATION_FACTOR * activation_bytes
    return MemoryEstimate(weight_bytes, activation_bytes, total)


def max_model_mb(environ=None) -> int:
    """The limit in MB: ``INCEPTION_VIZ_MAX_MODEL_MB`` if set, else 1024 in shared mode and
    4096 otherwise. A malformed value is an error (silently ignoring it would hide the
    lecturer's intent)."""
    from .trust import shared_mode

    environ = os.environ if environ is None else environ
    raw = environ.get(ENV_VAR, "").strip()
    if not raw:
        return SHARED_MAX_MODEL_MB if shared_mode(environ) else DEFAULT_MAX_MODEL_MB
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
        raise SpecError(f"{ENV_VAR} must be a whole number of megabytes from 1 to 999999999; got {raw[:40]!r}")
    return int(raw)


def check_buildable(spec: ModelSpec, batch: int = 1, limit_mb: int | None = None) -> MemoryEstimate:
    """Raise :class:`SpecError` if building ``spec`` (and one forward pass of ``batch``
    images) needs more than ``limit_mb`` (default: :func:`max_model_mb`). Returns the
    estimate otherwise."""
    est = estimate_memory(spec, batch)
    limit = max_model_mb() if limit_mb is None else limit_mb
    if est.total_bytes > limit * MB:
        raise SpecError(
            f"{spec.name} ({fmt_int(analyze(spec).total_params)} params) needs about "
            f"{fmt_int(est.total_mb)} MB to build; the limit is {fmt_int(limit)} MB "
            f"(set {ENV_VAR}) — reduce widths or the input size"
        )
    return est


__all__ = [
    "ENV_VAR",
    "DEFAULT_MAX_MODEL_MB",
    "SHARED_MAX_MODEL_MB",
    "MemoryEstimate",
    "estimate_memory",
    "max_model_mb",
    "check_buildable",
]
