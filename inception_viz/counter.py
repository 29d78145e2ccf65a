"""Exact analytic counts for a :class:`~inception_viz.spec.ModelSpec`, without TensorFlow.

Counting rule (the same for every layer, block and branch):

* **params** = weights + biases. A conv with a ``k x k`` kernel, ``c_in`` input and ``c_out``
  output channels has ``k*k*c_in*c_out`` weights and ``c_out`` biases; a dense layer
  ``n_in*n_out`` weights and ``n_out`` biases.
* **MACs** (multiply-adds) = one per weight per output position: ``k*k*c_in*c_out*H_out*W_out``
  for a conv, ``n_in*n_out`` for a dense layer. Biases, pooling, LRN, concat, dropout and
  activations count zero.
* **activations** = the number of values a layer outputs (``H*W*C``); bytes are 4x that in
  float32.
* A block's **3x3** and **5x5** branch totals include their 1x1 reduce convs; the
  **pool_proj** branch is the 3x3/1 max pool plus its projection. Branch totals add up to
  the block total; block and layer totals add up to the model total.
* **depth** counts layers with weights on the longest path (the paper's 22 for GoogLeNet).

Shapes are ``(H, W, C)``; every number is an exact Python int.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import lru_cache

from .spec import (
    LRN,
    MAX_CLASSES,
    MAX_INPUT_CHANNELS,
    MAX_INPUT_SIDE,
    MAX_WIDTH,
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

Shape = tuple[int, int, int]


@dataclass(frozen=True)
class Row:
    """One layer (or one part of a block). ``parts`` lists a block's inner layers (each
    conv and pool under its Keras name); ``branches`` maps the paper's branch keys to
    :class:`Branch` totals."""

    name: str
    kind: str
    output_shape: Shape
    params: int = 0
    weights: int = 0
    macs: int = 0
    depth: int = 0
    detail: str = ""
    input_shape: Shape | None = None
    parts: tuple["Row", ...] = ()
    branches: dict[str, "Branch"] | None = None
    aux: bool = False
    #: kernel side of a conv (0 for other layers): with ``input_shape`` and
    #: ``output_shape`` it gives the weight shapes without building anything
    kernel: int = 0
    #: values of helper tensors Keras creates for this layer beside its output: the
    #: zero-padded copy of the input (``conv1_pad``), the flattened input of a dense layer
    helper_values: int = 0

    @property
    def biases(self) -> int:
        return self.params - self.weights

    @property
    def activations(self) -> int:
        h, w, c = self.output_shape
        return h * w * c


@dataclass(frozen=True)
class Branch:
    key: str
    channels: int
    params: int = 0
    weights: int = 0
    macs: int = 0
    depth: int = 0
    parts: tuple[Row, ...] = ()

    @property
    def dropped(self) -> bool:
        return self.channels == 0


@dataclass(frozen=True)
class Report:
    spec: ModelSpec
    rows: tuple[Row, ...]
    total_params: int
    total_weights: int
    total_macs: int
    total_activations: int
    depth: int
    output_shape: Shape
    by_name: dict[str, Row] = field(repr=False, compare=False, default_factory=dict)

    def row(self, name: str) -> Row:
        try:
            return self.by_name[name]
        except KeyError:
            raise SpecError(f"no layer named {name!r} in {self.spec.name}") from None

    def leaf_rows(self):
        """Every layer as Keras sees it: top-level rows and each block's / aux head's parts
        (a block's concat row itself has no weights)."""
        for r in self.rows:
            if r.parts:
                yield from r.parts
            yield r

    @property
    def blocks(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.kind == "inception")

    @property
    def forward_values(self) -> int:
        """Every value one forward pass of one image creates: the input, every layer's
        output including each layer inside a block (reduce convs, the pool branch's pool,
        the concat) and inside an aux head, and the helper tensors (padding copies,
        flattened inputs). :attr:`total_activations` counts the top-level rows only."""
        h, w, c = self.spec.input_shape
        total = h * w * c
        for r in self.rows:
            for part in r.parts:
                total += part.activations + part.helper_values
            total += r.activations + r.helper_values
        return total

    @property
    def conv_workspace_values(self) -> int:
        """The transient values of the largest conv for one image: its input plus its
        output (while a conv runs, TensorFlow's CPU kernels hold a reordered copy of the
        input and the output before the ReLU, beside the tensors Keras keeps; one conv
        runs at a time)."""
        return max((r.input_shape[0] * r.input_shape[1] * r.input_shape[2] + r.activations
                    for r in self.leaf_rows() if r.kind == "conv"), default=0)

    def weight_shapes(self) -> dict[str, list[tuple[int, ...]]]:
        """``{Keras layer name: [kernel shape, bias shape]}`` for every layer with weights,
        as Keras creates them (conv ``(k, k, c_in, c_out), (c_out,)``; dense
        ``(n_in, n_out), (n_out,)``), computed from the spec without building it."""
        out: dict[str, list[tuple[int, ...]]] = {}
        for r in self.leaf_rows():
            if r.kind == "conv":
                cout = r.output_shape[2]
                out[r.name] = [(r.kernel, r.kernel, r.input_shape[2], cout), (cout,)]
            elif r.kind == "dense":
                n_in = r.input_shape[0] * r.input_shape[1] * r.input_shape[2]
                out[r.name] = [(n_in, r.output_shape[2]), (r.output_shape[2],)]
        return out


# ---------------------------------------------------------------------------------------
# validation


def _check_int(value, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{what} must be a whole number between {lo} and {hi}; got {value!r}")
    if not lo <= value <= hi:
        raise SpecError(f"{what} must be between {lo} and {hi}; got {value}")
    return value


def validate(spec: ModelSpec) -> None:
    """Raise :class:`SpecError` (one line, says what to change) for values no network can
    have. Spatial sizes are checked by :func:`analyze`."""
    if len(spec.input_shape) != 3:
        raise SpecError(
            f"input_shape must have 3 numbers [height, width, channels]; got {list(spec.input_shape)}"
        )
    h, w, c = spec.input_shape
    _check_int(h, "input height", 1, MAX_INPUT_SIDE)
    _check_int(w, "input width", 1, MAX_INPUT_SIDE)
    _check_int(c, "input channels", 1, MAX_INPUT_CHANNELS)
    if any(isinstance(l, Dense) and l.units is None for l in spec.layers) or spec.aux_heads:
        _check_int(spec.classes, "classes", 1, MAX_CLASSES)
    for b in spec.blocks:
        for key, value in b.widths.items():
            _check_int(value, f"{b.name} {key}", 0, MAX_WIDTH)
    for layer in spec.layers:
        if isinstance(layer, Conv):
            _check_int(layer.filters, f"{layer.name} filters", 1, MAX_WIDTH)


# ---------------------------------------------------------------------------------------
# shape arithmetic


def _out_side(size: int, kernel: int, stride: int, padding) -> int:
    if padding == "same":
        return -(-size // stride)
    if padding == "global":
        return 1
    if padding == "valid":
        return (size - kernel) // stride + 1 if size >= kernel else 0
    if padding == "ceil":  # Caffe: ceil((H - k) / s) + 1, last window must start inside
        # A map smaller than the kernel still gives one clipped window when H > k - s
        # (Caffe: ceil((2 - 3) / 2) + 1 = 1), as keras_model.CeilMaxPool2D does.
        out = -(-(size - kernel) // stride) + 1
        if out < 1:
            return 0
        if (out - 1) * stride >= size:
            out -= 1
        return out
    # an int: p zeros on every side, then valid
    padded = size + 2 * padding
    return (padded - kernel) // stride + 1 if padded >= kernel else 0


class _TooSmall(SpecError):
    pass


def _spatial(name: str, what: str, h: int, w: int, kernel: int, stride: int, padding) -> tuple[int, int]:
    oh, ow = _out_side(h, kernel, stride, padding), _out_side(w, kernel, stride, padding)
    if oh < 1 or ow < 1:
        raise _TooSmall(
            f"the spatial size falls below 1 at layer {name!r} ({what} on {h}x{w})"
        )
    return oh, ow


def _conv_row(name: str, inp: Shape, filters: int, kernel: int, stride: int = 1, padding="same") -> Row:
    h, w, c = inp
    oh, ow = _spatial(name, f"{kernel}x{kernel}/{stride} conv", h, w, kernel, stride, padding)
    weights = kernel * kernel * c * filters
    pad = f", pad {padding}" if isinstance(padding, int) else ""
    padded = (h + 2 * padding) * (w + 2 * padding) * c if isinstance(padding, int) and padding else 0
    return Row(
        name=name,
        kind="conv",
        output_shape=(oh, ow, filters),
        params=weights + filters,
        weights=weights,
        macs=weights * oh * ow,
        depth=1,
        detail=f"{kernel}x{kernel}/{stride}{pad}",
        input_shape=inp,
        kernel=kernel,
        helper_values=padded,
    )


def _pool_row(name: str, inp: Shape, op: str, size: int, stride: int, padding: str) -> Row:
    h, w, c = inp
    label = f"{op} pool {size}x{size}/{stride}" if padding != "global" else f"global {op} pool"
    oh, ow = _spatial(name, label, h, w, size, stride, padding)
    detail = "global" if padding == "global" else f"{size}x{size}/{stride}" + (
        ", ceil mode" if padding == "ceil" else ""
    )
    return Row(name=name, kind=f"{op}pool", output_shape=(oh, ow, c), detail=detail, input_shape=inp)


def _dense_row(name: str, inp: Shape, units: int, activation: str | None = None) -> Row:
    n_in = inp[0] * inp[1] * inp[2]
    weights = n_in * units
    return Row(
        name=name,
        kind="dense",
        output_shape=(1, 1, units),
        params=weights + units,
        weights=weights,
        macs=weights,
        depth=1,
        detail=f"{n_in} -> {units}" + (f", {activation}" if activation else ""),
        input_shape=inp,
        helper_values=n_in,  # the Flatten before it (a reshape; counted to stay on the safe side)
    )


def _sum_rows(rows) -> tuple[int, int, int]:
    rows = list(rows)
    return sum(r.params for r in rows), sum(r.weights for r in rows), sum(r.macs for r in rows)


def _inception_row(block: Inception, inp: Shape) -> Row:
    h, w, c = inp
    n = block.name
    branches: dict[str, Branch] = {}

    def make(key: str, parts: list[Row], channels: int, depth: int) -> None:
        p, wt, m = _sum_rows(parts)
        branches[key] = Branch(key, channels, p, wt, m, depth, tuple(parts))

    # 1x1
    if block.w1x1:
        make("1x1", [_conv_row(f"{n}_1x1", inp, block.w1x1, 1)], block.w1x1, 1)
    else:
        make("1x1", [], 0, 0)
    # 3x3 and 5x5, each with an optional reduction
    for key, reduce_w, conv_w, k in (
        ("3x3", block.w3x3_reduce, block.w3x3, 3),
        ("5x5", block.w5x5_reduce, block.w5x5, 5),
    ):
        if not conv_w:
            make(key, [], 0, 0)
            continue
        parts = []
        src = inp
        if reduce_w:
            parts.append(_conv_row(f"{n}_{key}_reduce", inp, reduce_w, 1))
            src = parts[-1].output_shape
        parts.append(_conv_row(f"{n}_{key}", src, conv_w, k))
        make(key, parts, conv_w, len(parts))
    # pool branch: 3x3/1 max pool, then an optional projection
    parts = [_pool_row(f"{n}_pool", inp, "max", 3, 1, "same")]
    if block.pool_proj:
        parts.append(_conv_row(f"{n}_pool_proj", inp, block.pool_proj, 1))
        make("pool_proj", parts, block.pool_proj, 1)
    else:
        make("pool_proj", parts, c, 0)

    out_c = sum(b.channels for b in branches.values())
    if out_c < 1:
        raise SpecError(f"{n} has no output channels; give at least one branch a width above 0")
    p, wt, m = _sum_rows(branches[k] for k in branches)
    all_parts = tuple(part for k in ("1x1", "3x3", "5x5", "pool_proj") for part in branches[k].parts)
    return Row(
        name=n,
        kind="inception",
        output_shape=(h, w, out_c),
        params=p,
        weights=wt,
        macs=m,
        depth=max(b.depth for b in branches.values()),
        detail=" + ".join(str(branches[k].channels) for k in branches) + f" = {out_c}",
        input_shape=inp,
        parts=all_parts,
        branches=branches,
    )


def _aux_row(head: AuxHead, inp: Shape, classes: int) -> Row:
    n = head.name
    pool = _pool_row(f"{n}_pool", inp, "avg", 5, 3, "valid")
    conv = _conv_row(f"{n}_conv", pool.output_shape, 128, 1)
    fc = _dense_row(f"{n}_fc", conv.output_shape, 1024, "relu")
    # the classifier reads the fc's flat output (no Flatten); the dropout between them is
    # the head's helper tensor
    cls = dataclasses.replace(_dense_row(f"{n}_classifier", fc.output_shape, classes), helper_values=0)
    parts = (pool, conv, fc, cls)
    p, wt, m = _sum_rows(parts)
    return Row(
        name=n,
        kind="aux",
        output_shape=(1, 1, classes),
        params=p,
        weights=wt,
        macs=m,
        depth=3,
        detail=f"auxiliary classifier on {head.after}",
        input_shape=inp,
        parts=parts,
        aux=True,
        helper_values=fc.output_shape[2],
    )


def _layer_row(layer, inp: Shape, spec: ModelSpec) -> Row:
    if isinstance(layer, Conv):
        return _conv_row(layer.name, inp, layer.filters, layer.kernel, layer.stride, layer.padding)
    if isinstance(layer, Pool):
        return _pool_row(layer.name, inp, layer.op, layer.size, layer.stride, layer.padding)
    if isinstance(layer, Inception):
        return _inception_row(layer, inp)
    if isinstance(layer, LRN):
        return Row(layer.name, "lrn", inp, detail=f"size {layer.size}", input_shape=inp)
    if isinstance(layer, Dropout):
        return Row(layer.name, "dropout", inp, detail=f"{layer.rate:.0%}", input_shape=inp)
    if isinstance(layer, Dense):
        return _dense_row(layer.name, inp, layer.units or spec.classes, layer.activation)
    if isinstance(layer, Softmax):
        return Row(layer.name, "softmax", inp, input_shape=inp)
    raise TypeError(f"unknown layer {layer!r}")


def _analyze(spec: ModelSpec) -> Report:
    validate(spec)
    shape: Shape = tuple(spec.input_shape)  # type: ignore[assignment]
    rows: list[Row] = []
    aux_by_block = {a.after: a for a in spec.active_aux_heads}
    for layer in spec.active_layers:
        row = _layer_row(layer, shape, spec)
        rows.append(row)
        shape = row.output_shape
        if layer.name in aux_by_block:
            rows.append(_aux_row(aux_by_block[layer.name], shape, spec.classes))
    p, w, m = _sum_rows(rows)
    by_name = {}
    for r in rows:
        by_name[r.name] = r
        for part in r.parts:
            by_name[part.name] = part
    return Report(
        spec=spec,
        rows=tuple(rows),
        total_params=p,
        total_weights=w,
        total_macs=m,
        total_activations=sum(r.activations for r in rows),
        depth=sum(r.depth for r in rows if not r.aux),
        output_shape=shape,
        by_name=by_name,
    )


@lru_cache(maxsize=256)
def _analyze_cached(spec: ModelSpec) -> Report:
    return _analyze(spec)


def analyze(spec: ModelSpec) -> Report:
    """Count every layer, block and branch of ``spec`` (see the module docstring).

    Raises :class:`SpecError` for invalid widths or options, and for input sizes the
    network cannot take, naming the layer at which the spatial size falls below 1 and the
    smallest square input that works."""
    # Validate before the cache lookup: a spec with a width of 64.0 or True compares equal
    # to (and hashes like) the cached one with 64 or 1, and would otherwise be accepted.
    validate(spec)
    try:
        return _analyze_cached(spec)
    except _TooSmall as exc:
        h, w, _ = spec.input_shape
        smallest = min_input_side(spec)
        hint = f"; the smallest square input it takes is {smallest}x{smallest}" if smallest else ""
        raise SpecError(f"input {h}x{w} is too small for {spec.name}: {exc}{hint}") from None
    except TypeError as exc:  # unhashable values (lists in widths) -> validate for the message
        validate(spec)
        raise SpecError(str(exc)) from None


def min_input_side(spec: ModelSpec, limit: int = MAX_INPUT_SIDE) -> int | None:
    """The smallest square input side the network accepts (None if none up to ``limit``)."""
    import dataclasses

    lo, hi = 1, limit
    # Output sides are monotone in the input side, so bisect.
    def ok(side: int) -> bool:
        try:
            _analyze(dataclasses.replace(spec, input_shape=(side, side, spec.input_shape[2])))
            return True
        except _TooSmall:
            return False

    if not ok(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def conv_baseline(input_shape: Shape, filters: int, kernel: int, padding: str = "valid") -> Row:
    """A plain ``kernel x kernel`` conv with ``filters`` outputs on ``input_shape`` — the
    lecture's comparison (its slides use valid padding: 32x32 -> 28x28 for 5x5).

    Raises :class:`SpecError` (one line) for arguments no conv can have and when a valid
    conv's kernel is larger than the map; :func:`seed_comparison` turns that into a row."""
    _check_int(filters, "filters", 1, MAX_WIDTH)
    _check_int(kernel, "kernel", 1, MAX_INPUT_SIDE)
    if padding not in ("valid", "same"):
        raise SpecError(f"padding must be valid or same; got {padding!r}")
    return _conv_row(f"conv{kernel}x{kernel}", tuple(input_shape), filters, kernel, 1, padding)


@dataclass(frozen=True)
class SeedRow:
    """One row of the lecture's comparison of a block against plain convs.

    ``output_shape``/``params``/``macs`` are ``None`` when the conv is not possible (a
    valid conv whose kernel is larger than the map: ``note`` says so); the ratios are
    ``None`` when undefined (the block has no weights or no multiply-adds, e.g. a block
    with every width 0 that only pools)."""

    model: str
    input_shape: Shape
    output_shape: Shape | None
    params: int | None
    macs: int | None
    params_ratio: float | None  # params / the block's params
    macs_ratio: float | None  # MACs / the block's MACs
    note: str = ""


def _ratio(value: int | None, base: int) -> float | None:
    return None if value is None or not base else value / base


def seed_comparison(row: Row, filters: int, padding: str = "valid") -> tuple[SeedRow, ...]:
    """The block ``row`` against a plain 3x3 and a plain 5x5 conv with ``filters`` outputs
    on the block's input (``padding`` ``valid`` or ``same``). Total over every block the
    counter accepts: impossible convs and undefined ratios become ``None`` with a note."""
    if row.kind != "inception" or row.input_shape is None:
        raise SpecError(f"the seed comparison needs an Inception block; {row.name} is a {row.kind} layer")
    rows = [SeedRow(f"Inception {row.name}", row.input_shape, row.output_shape, row.params, row.macs,
                    1.0 if row.params else None, 1.0 if row.macs else None,
                    "" if row.params else "this block has no weights (only its pool branch): no ratios")]
    h, w, _ = row.input_shape
    for k in (3, 5):
        label = f"plain {k}x{k} conv, {filters} filters"
        try:
            c = conv_baseline(row.input_shape, filters, k, padding)
        except _TooSmall:
            rows.append(SeedRow(label, row.input_shape, None, None, None, None, None,
                                f"not possible: a {k}x{k} valid conv needs a map of at least {k}x{k}; this one is {h}x{w}"))
            continue
        rows.append(SeedRow(label, row.input_shape, c.output_shape, c.params, c.macs,
                            _ratio(c.params, row.params), _ratio(c.macs, row.macs)))
    return tuple(rows)


def fmt_int(n: int) -> str:
    """Exact, with thousands separators: 6,998,552."""
    return f"{n:,}"


def fmt_k(n: int, k: int = 1000) -> str:
    """Compact with a unit: 7.00 M (K = 1000 unless ``k=1024``, the paper's unit)."""
    for unit, scale in (("G", k**3), ("M", k**2), ("K", k)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


__all__ = [
    "Row",
    "Branch",
    "Report",
    "analyze",
    "validate",
    "min_input_side",
    "conv_baseline",
    "SeedRow",
    "seed_comparison",
    "fmt_int",
    "fmt_k",
    "WIDTH_KEYS",
    "math",
]
