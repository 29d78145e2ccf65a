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

Receptive fields (:class:`ReceptiveField`, per axis ``(H, W)``, in input pixels whose
centres sit at 0, 1, ...): ``size`` is the side of the field of one output unit (borders
ignored), ``jump`` the distance between the fields of neighbouring output units, ``start``
the centre of the top-left unit's field. A layer with kernel ``k``, stride ``s`` and ``p``
padding pixels before the first input pixel maps ``(size, jump, start)`` to
``(size + (k-1)*jump, jump*s, start + ((k-1)/2 - p)*jump)``. ``p`` is the real padding:
an int ``p`` (Caffe), 0 for ``valid`` and Caffe's ceil mode (its extra windows hang over
the bottom/right only), ``max((out-1)*s + k - n, 0) // 2`` for TensorFlow's ``same`` on an
``n``-pixel side. A global pool and a dense layer see their whole input (``k = s = n``);
LRN (across channels), dropout and softmax keep the field. A block's field is the union
(= the largest, its branches share centre and jump) of its branches' fields; a dropped
branch has none (``None``).

Shapes are ``(H, W, C)``; every number is an exact Python int.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
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
Num = int | float


def _num(v) -> Num:
    """An int when whole (start is a half-integer only after an even kernel)."""
    return int(v) if float(v).is_integer() else float(v)


@dataclass(frozen=True)
class FieldBox:
    """The input pixels one unit sees: rows ``top..bottom`` and columns ``left..right``,
    inclusive (pixel indices; may lie outside the image: use :meth:`clipped`)."""

    top: int
    left: int
    bottom: int
    right: int

    def clipped(self, height: int, width: int) -> "FieldBox | None":
        """The part inside a ``height x width`` image (``None`` if it misses the image)."""
        box = FieldBox(max(self.top, 0), max(self.left, 0), min(self.bottom, height - 1), min(self.right, width - 1))
        return box if box.top <= box.bottom and box.left <= box.right else None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.bottom - self.top + 1, self.right - self.left + 1)


@dataclass(frozen=True)
class ReceptiveField:
    """The theoretical receptive field of a layer's units, per axis ``(H, W)`` (see the
    module docstring). ``start - (size-1)/2`` is always a whole number (minus the padding
    summed over the layers, weighted by their input jumps), so a unit's box has integer
    edges."""

    size: tuple[int, int] = (1, 1)
    jump: tuple[int, int] = (1, 1)
    start: tuple[Num, Num] = (0, 0)

    def then(self, kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int]) -> "ReceptiveField":
        """The field after a layer with this kernel, stride and leading padding per axis."""
        (r0, r1), (j0, j1), (s0, s1) = self.size, self.jump, self.start
        (k0, k1), (p0, p1) = kernel, pad
        return ReceptiveField(
            (r0 + (k0 - 1) * j0, r1 + (k1 - 1) * j1),
            (j0 * stride[0], j1 * stride[1]),
            (_num(s0 + ((k0 - 1) / 2 - p0) * j0), _num(s1 + ((k1 - 1) / 2 - p1) * j1)),
        )

    def union(self, other: "ReceptiveField") -> "ReceptiveField":
        """The field covering both (a concat); the jumps must agree."""
        if self.jump != other.jump:
            raise ValueError(f"cannot join fields with jumps {self.jump} and {other.jump}")
        size, start = [], []
        for r1, s1, r2, s2 in zip(self.size, self.start, other.size, other.start):
            lo = min(s1 - (r1 - 1) / 2, s2 - (r2 - 1) / 2)
            hi = max(s1 + (r1 - 1) / 2, s2 + (r2 - 1) / 2)
            size.append(int(hi - lo) + 1)
            start.append(_num((lo + hi) / 2))
        return ReceptiveField(tuple(size), self.jump, tuple(start))

    def centre(self, row: int, col: int) -> tuple[Num, Num]:
        """Input-pixel coordinates of the centre of unit ``(row, col)``'s field."""
        return (_num(self.start[0] + row * self.jump[0]), _num(self.start[1] + col * self.jump[1]))

    def box(self, row: int, col: int) -> FieldBox:
        """Unit ``(row, col)``'s field (not clipped at the borders)."""
        (cy, cx), (h, w) = self.centre(row, col), self.size
        top, left = int(cy - (h - 1) / 2), int(cx - (w - 1) / 2)
        return FieldBox(top, left, top + h - 1, left + w - 1)

    @property
    def label(self) -> str:
        """``59`` when square, ``59x43`` (H x W) otherwise."""
        h, w = self.size
        return str(h) if h == w else f"{h}x{w}"

    def to_json(self) -> dict:
        """The CLI contract: ``{"size": [h, w], "jump": [h, w], "start": [h, w]}``."""
        return {"size": list(self.size), "jump": list(self.jump), "start": list(self.start)}


#: The field of the input itself: each pixel sees itself.
INPUT_FIELD = ReceptiveField()


def _leading_pad(n: int, out: int, kernel: int, stride: int, padding) -> int:
    """Padding pixels before the first input pixel on an ``n``-pixel side (the real
    padding of each mode, see the module docstring)."""
    if padding == "same":
        return max((out - 1) * stride + kernel - n, 0) // 2
    if isinstance(padding, int) and not isinstance(padding, bool):
        return padding
    return 0  # valid, ceil (extra windows at the bottom/right), global


def _field_after(rf: ReceptiveField, inp: Shape, out: tuple[int, int], kernel: int, stride: int, padding) -> ReceptiveField:
    return _field_after_cached(rf, inp[0], inp[1], out[0], out[1], kernel, stride, padding)


@lru_cache(maxsize=4096)  # edits recount every layer; most keep their input's field
def _field_after_cached(rf: ReceptiveField, h: int, w: int, oh: int, ow: int, kernel: int, stride: int,
                        padding) -> ReceptiveField:
    if padding == "global":  # a pool (or dense layer) over the whole input
        return rf.then((h, w), (h, w), (0, 0))
    return rf.then(
        (kernel, kernel),
        (stride, stride),
        (_leading_pad(h, oh, kernel, stride, padding), _leading_pad(w, ow, kernel, stride, padding)),
    )


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
    receptive_field: ReceptiveField | None = None
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
    #: the field of the branch's output (its last layer's); ``None`` when dropped
    receptive_field: ReceptiveField | None = None

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

    def unit_box(self, layer: str, row: int, col: int, clip: bool = True) -> FieldBox | None:
        """The input pixels unit ``(row, col)`` of ``layer``'s map sees (``layer``: any
        row or block part name, e.g. ``conv1``, ``inception_4c``, ``inception_4c_3x3``),
        clipped at the input's borders unless ``clip=False``; ``None`` when the field lies
        wholly in the padding (a border unit of a conv padded more than its kernel reaches).
        A unit outside the map is a :class:`SpecError` naming the map's size."""
        r = self.row(layer)
        h, w = r.output_shape[:2]
        if isinstance(row, bool) or isinstance(col, bool) or not (
            isinstance(row, numbers.Integral) and isinstance(col, numbers.Integral) and 0 <= row < h and 0 <= col < w
        ):
            raise SpecError(f"unit ({row}, {col}) is outside {layer}'s {h}x{w} map; rows 0..{h - 1}, columns 0..{w - 1}")
        box = r.receptive_field.box(int(row), int(col))
        if not clip:
            return box
        ih, iw = self.spec.input_shape[:2]
        return box.clipped(ih, iw)

    def centre_unit(self, layer: str) -> tuple[int, int]:
        """The unit of ``layer``'s map whose field centre is nearest the input's centre
        (ties: the lower index)."""
        r = self.row(layer)
        f = r.receptive_field
        out = []
        for axis, n in enumerate(r.output_shape[:2]):
            mid = (self.spec.input_shape[axis] - 1) / 2
            out.append(min(range(n), key=lambda i: (abs(f.start[axis] + i * f.jump[axis] - mid), i)))
        return tuple(out)
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


def _conv_row(name: str, inp: Shape, filters: int, kernel: int, stride: int = 1, padding="same",
              rf: ReceptiveField = INPUT_FIELD) -> Row:
    """``rf``: the field of the input's units (the network input's by default)."""
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
        receptive_field=_field_after(rf, inp, (oh, ow), kernel, stride, padding),
        kernel=kernel,
        helper_values=padded,
    )


def _pool_row(name: str, inp: Shape, op: str, size: int, stride: int, padding: str,
              rf: ReceptiveField = INPUT_FIELD) -> Row:
    h, w, c = inp
    label = f"{op} pool {size}x{size}/{stride}" if padding != "global" else f"global {op} pool"
    oh, ow = _spatial(name, label, h, w, size, stride, padding)
    detail = "global" if padding == "global" else f"{size}x{size}/{stride}" + (
        ", ceil mode" if padding == "ceil" else ""
    )
    return Row(name=name, kind=f"{op}pool", output_shape=(oh, ow, c), detail=detail, input_shape=inp,
               receptive_field=_field_after(rf, inp, (oh, ow), size, stride, padding))


def _dense_row(name: str, inp: Shape, units: int, activation: str | None = None,
               rf: ReceptiveField = INPUT_FIELD) -> Row:
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
        receptive_field=_field_after(rf, inp, (1, 1), 0, 0, "global"),  # every input value
        helper_values=n_in,  # the Flatten before it (a reshape; counted to stay on the safe side)
    )


def _sum_rows(rows) -> tuple[int, int, int]:
    rows = list(rows)
    return sum(r.params for r in rows), sum(r.weights for r in rows), sum(r.macs for r in rows)


def _inception_row(block: Inception, inp: Shape, rf: ReceptiveField = INPUT_FIELD) -> Row:
    h, w, c = inp
    n = block.name
    branches: dict[str, Branch] = {}

    def make(key: str, parts: list[Row], channels: int, depth: int) -> None:
        p, wt, m = _sum_rows(parts)
        field = parts[-1].receptive_field if channels else None
        branches[key] = Branch(key, channels, p, wt, m, depth, tuple(parts), field)

    # 1x1
    if block.w1x1:
        make("1x1", [_conv_row(f"{n}_1x1", inp, block.w1x1, 1, rf=rf)], block.w1x1, 1)
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
            parts.append(_conv_row(f"{n}_{key}_reduce", inp, reduce_w, 1, rf=rf))
            src = parts[-1].output_shape
        parts.append(_conv_row(f"{n}_{key}", src, conv_w, k, rf=parts[-1].receptive_field if parts else rf))
        make(key, parts, conv_w, len(parts))
    # pool branch: 3x3/1 max pool, then an optional projection
    parts = [_pool_row(f"{n}_pool", inp, "max", 3, 1, "same", rf=rf)]
    if block.pool_proj:
        parts.append(_conv_row(f"{n}_pool_proj", inp, block.pool_proj, 1, rf=parts[0].receptive_field))
        make("pool_proj", parts, block.pool_proj, 1)
    else:
        make("pool_proj", parts, c, 0)

    out_c = sum(b.channels for b in branches.values())
    if out_c < 1:
        raise SpecError(f"{n} has no output channels; give at least one branch a width above 0")
    p, wt, m = _sum_rows(branches[k] for k in branches)
    all_parts = tuple(part for k in ("1x1", "3x3", "5x5", "pool_proj") for part in branches[k].parts)
    fields = [b.receptive_field for b in branches.values() if b.receptive_field is not None]
    field = fields[0]
    for f in fields[1:]:
        field = field.union(f)
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
        receptive_field=field,
    )


def _aux_row(head: AuxHead, inp: Shape, classes: int, rf: ReceptiveField = INPUT_FIELD) -> Row:
    n = head.name
    pool = _pool_row(f"{n}_pool", inp, "avg", 5, 3, "valid", rf=rf)
    conv = _conv_row(f"{n}_conv", pool.output_shape, 128, 1, rf=pool.receptive_field)
    fc = _dense_row(f"{n}_fc", conv.output_shape, 1024, "relu", rf=conv.receptive_field)
    # the classifier reads the fc's flat output (no Flatten); the dropout between them is
    # the head's helper tensor
    cls = dataclasses.replace(_dense_row(f"{n}_classifier", fc.output_shape, classes, rf=fc.receptive_field),
                              helper_values=0)
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
        receptive_field=cls.receptive_field,
        helper_values=fc.output_shape[2],
    )


def _layer_row(layer, inp: Shape, spec: ModelSpec, rf: ReceptiveField = INPUT_FIELD) -> Row:
    """The row of ``layer`` on input ``inp`` whose units have field ``rf``."""
    if isinstance(layer, Conv):
        return _conv_row(layer.name, inp, layer.filters, layer.kernel, layer.stride, layer.padding, rf)
    if isinstance(layer, Pool):
        return _pool_row(layer.name, inp, layer.op, layer.size, layer.stride, layer.padding, rf)
    if isinstance(layer, Inception):
        return _inception_row(layer, inp, rf)
    # LRN works across channels; dropout and softmax act value by value: the field stays
    if isinstance(layer, LRN):
        return Row(layer.name, "lrn", inp, detail=f"size {layer.size}", input_shape=inp, receptive_field=rf)
    if isinstance(layer, Dropout):
        return Row(layer.name, "dropout", inp, detail=f"{layer.rate:.0%}", input_shape=inp, receptive_field=rf)
    if isinstance(layer, Dense):
        return _dense_row(layer.name, inp, layer.units or spec.classes, layer.activation, rf)
    if isinstance(layer, Softmax):
        return Row(layer.name, "softmax", inp, input_shape=inp, receptive_field=rf)
    raise TypeError(f"unknown layer {layer!r}")


def _analyze(spec: ModelSpec) -> Report:
    validate(spec)
    shape: Shape = tuple(spec.input_shape)  # type: ignore[assignment]
    field = INPUT_FIELD
    rows: list[Row] = []
    aux_by_block = {a.after: a for a in spec.active_aux_heads}
    for layer in spec.active_layers:
        row = _layer_row(layer, shape, spec, field)
        rows.append(row)
        shape, field = row.output_shape, row.receptive_field
        if layer.name in aux_by_block:
            rows.append(_aux_row(aux_by_block[layer.name], shape, spec.classes, field))
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


def seed_comparison(row: Row, filters: int, padding: str = "valid", tr=None) -> tuple[SeedRow, ...]:
    """The block ``row`` against a plain 3x3 and a plain 5x5 conv with ``filters`` outputs
    on the block's input (``padding`` ``valid`` or ``same``). Total over every block the
    counter accepts: impossible convs and undefined ratios become ``None`` with a note.
    ``tr`` (:class:`inception_viz.i18n.Translator`, default English): the language of the
    row labels and notes."""
    from .i18n import resolve  # the counter itself needs no catalogue; only these words do

    tr = resolve(tr)
    if row.kind != "inception" or row.input_shape is None:
        raise SpecError(f"the seed comparison needs an Inception block; {row.name} is a {row.kind} layer")
    rows = [SeedRow(tr.gettext("Inception {block}").format(block=row.name), row.input_shape, row.output_shape, row.params,
                    row.macs, 1.0 if row.params else None, 1.0 if row.macs else None,
                    "" if row.params else tr.gettext("this block has no weights (only its pool branch): no ratios"))]
    h, w, _ = row.input_shape
    for k in (3, 5):
        label = tr.gettext("plain {k}x{k} conv, {n} filters").format(k=k, n=filters)
        try:
            c = conv_baseline(row.input_shape, filters, k, padding)
        except _TooSmall:
            note = tr.gettext("not possible: a {k}x{k} valid conv needs a map of at least {k}x{k}; this one is {h}x{w}")
            rows.append(SeedRow(label, row.input_shape, None, None, None, None, None, note.format(k=k, h=h, w=w)))
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
    "ReceptiveField",
    "FieldBox",
    "INPUT_FIELD",
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
