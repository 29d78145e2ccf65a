"""Latency per Inception block on a device, against the block's multiply-adds.

Each block is cut out of the built Keras model as a sub-model (from the block's input
tensor to its concat), compiled with ``tf.function``, warmed up, then timed ``repeats``
times; the median is reported with the achieved GFLOP/s = 2 x MACs / time (one
multiply-add = 2 floating-point operations). TensorFlow is imported lazily, inside the
functions, so importing this module costs nothing.

Timings are measurements, not facts about the network: they depend on the machine, its
load and the batch size. Tests never assert on them.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from .counter import analyze
from .spec import ModelSpec, SpecError

WHOLE = "(whole model)"


@dataclass(frozen=True)
class BlockTiming:
    name: str
    macs: int  # per image
    batch: int
    ms: float  # median wall time of one forward pass of the batch
    runs: int

    @property
    def gflops(self) -> float:
        """Achieved GFLOP/s: 2 * MACs * batch / time."""
        return 2.0 * self.macs * self.batch / (self.ms / 1e3) / 1e9 if self.ms > 0 else 0.0


def _wait(out) -> None:
    """Wait for the device: ``.numpy()`` on every output (a model with auxiliary
    classifiers returns a list of three)."""
    for t in out if isinstance(out, (list, tuple)) else (out,):
        t.numpy()


def _time(fn, x, repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        _wait(fn(x))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _wait(fn(x))
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def profile_blocks(
    model,
    spec: ModelSpec,
    device: str | None = None,
    batch: int = 1,
    repeats: int = 10,
    warmup: int = 2,
    whole: bool = True,
) -> list[BlockTiming]:
    """Time every Inception block of ``model`` (built from ``spec`` by
    :func:`inception_viz.keras_model.build_keras`) on ``device``; with ``whole``, the
    whole model last.

    ``batch`` is checked against the memory limit first
    (:func:`inception_viz.limits.check` with ``purpose="profile"``): a batch that would not
    fit is refused with one line naming the largest that does
    (:func:`inception_viz.limits.max_batch`), before TensorFlow allocates anything."""
    from .limits import check

    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 256:
        raise SpecError(f"batch must be a whole number from 1 to 256; got {batch!r}")
    check(spec, batch, "profile")
    import keras
    import numpy as np
    import tensorflow as tf

    from .keras_model import device_scope

    if not 1 <= repeats <= 1000:
        raise SpecError(f"repeats must be from 1 to 1000; got {repeats}")
    report = analyze(spec)
    rng = np.random.default_rng(0)
    out: list[BlockTiming] = []
    with device_scope(device):
        targets = [(r.name, r.input_shape, r.macs) for r in report.blocks]
        for name, in_shape, macs in targets:
            src = model.get_layer(f"{name}_pool").input  # the pool branch reads the block input
            sub = keras.Model(src, model.get_layer(name).output, name=f"{name}_alone")
            fn = tf.function(lambda t, sub=sub: sub(t, training=False))
            x = tf.constant(rng.random((batch, *in_shape), dtype=np.float32))
            out.append(BlockTiming(name, macs, batch, _time(fn, x, repeats, warmup), repeats))
        if whole:
            fn = tf.function(lambda t: model(t, training=False))
            x = tf.constant(rng.random((batch, *spec.input_shape), dtype=np.float32))
            out.append(BlockTiming(WHOLE, report.total_macs, batch, _time(fn, x, repeats, warmup), repeats))
    return out


__all__ = ["BlockTiming", "profile_blocks", "WHOLE"]
