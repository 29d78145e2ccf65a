"""One immutable description of an Inception V1 network.

Every view of the explorer (the analytic counter, the Keras builder, the Graphviz graph,
the Plotly figures, the CLI) reads a :class:`ModelSpec`. An edit never mutates a spec: it
makes a new one (:meth:`ModelSpec.with_block`, :func:`dataclasses.replace`).

An Inception block carries the paper's six widths under the paper's names
(Szegedy et al. 2015, Table 1): ``1x1``, ``3x3_reduce``, ``3x3``, ``5x5_reduce``, ``5x5``,
``pool_proj``. Its input channels are never stored; they follow from the layer before it.

Zero widths have a meaning, so the paper's Figure 2 argument can be shown:

* ``1x1 = 0``, ``3x3 = 0`` or ``5x5 = 0`` drops that branch (a dropped 3x3/5x5 branch
  takes its reduction with it);
* ``3x3_reduce = 0`` / ``5x5_reduce = 0`` means no 1x1 reduction: the 3x3 / 5x5 conv reads
  the block input directly, as in Figure 2(a) "naive";
* ``pool_proj = 0`` means the pooled input passes unprojected (its channels are the
  block's input channels).

This module imports nothing heavy (no TensorFlow, no numpy), so the first page of the app
and the CLI appear at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal, Union

#: The paper's six column names, in the paper's (Table 1) order.
WIDTH_KEYS: tuple[str, ...] = ("1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool_proj")
#: The four branches of a block, in concat order; each keeps one colour in every view.
BRANCH_KEYS: tuple[str, ...] = ("1x1", "3x3", "5x5", "pool_proj")
#: Largest width the spec accepts for one conv (a sanity bound; memory is checked separately).
MAX_WIDTH = 65536
MAX_INPUT_SIDE = 4096
MAX_INPUT_CHANNELS = 64
MAX_CLASSES = 100_000


class SpecError(ValueError):
    """An invalid spec or config. The message is one line that says what to change."""


Padding = Union[Literal["same", "valid"], int]


@dataclass(frozen=True)
class Conv:
    """A 2-D convolution with bias, followed by ReLU unless ``activation`` is ``None``.

    ``padding`` is ``"same"`` (Keras/TensorFlow semantics: output ``ceil(H / stride)``),
    ``"valid"``, or an int ``p``: ``p`` zeros on every side, then a valid conv (Caffe).
    """

    name: str
    filters: int
    kernel: int
    stride: int = 1
    padding: Padding = "same"
    activation: str | None = "relu"
    kind: str = field(default="conv", init=False)


@dataclass(frozen=True)
class Pool:
    """Max or average pooling.

    ``padding``: ``"same"`` / ``"valid"`` as in Keras; ``"ceil"`` is Caffe's ceil mode
    (output ``ceil((H - k) / s) + 1``, windows at the end clipped, padding never counted
    in a max); ``"global"`` averages (or maxes) the whole map.
    """

    name: str
    op: Literal["max", "avg"]
    size: int = 3
    stride: int = 2
    padding: Literal["same", "valid", "ceil", "global"] = "same"
    kind: str = field(default="pool", init=False)


@dataclass(frozen=True)
class LRN:
    """Local response normalisation across channels with Caffe's semantics:
    ``b = a / (k + alpha / size * sum(a^2 over size channels)) ** beta``.
    Present in the spec even when the model's ``lrn`` option is off (then it is skipped).
    """

    name: str
    size: int = 5
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0
    kind: str = field(default="lrn", init=False)


@dataclass(frozen=True)
class Dropout:
    name: str
    rate: float
    kind: str = field(default="dropout", init=False)


@dataclass(frozen=True)
class Dense:
    """A fully connected layer on the flattened input. ``units=None`` means the model's
    ``classes``. ``activation`` is ``None`` (logits), ``"relu"`` or ``"softmax"``."""

    name: str
    units: int | None = None
    activation: str | None = None
    kind: str = field(default="dense", init=False)


@dataclass(frozen=True)
class Softmax:
    name: str
    kind: str = field(default="softmax", init=False)


@dataclass(frozen=True)
class Inception:
    """An Inception block with the paper's six widths (see the module docstring for zeros)."""

    name: str
    w1x1: int
    w3x3_reduce: int
    w3x3: int
    w5x5_reduce: int
    w5x5: int
    pool_proj: int
    kind: str = field(default="inception", init=False)

    @classmethod
    def from_widths(cls, name: str, widths: dict[str, int] | tuple[int, ...]) -> "Inception":
        if isinstance(widths, dict):
            widths = tuple(widths[k] for k in WIDTH_KEYS)
        return cls(name, *widths)

    @property
    def widths(self) -> dict[str, int]:
        """The six widths under the paper's names, in Table 1 order."""
        return dict(zip(WIDTH_KEYS, self.width_tuple))

    @property
    def width_tuple(self) -> tuple[int, ...]:
        return (self.w1x1, self.w3x3_reduce, self.w3x3, self.w5x5_reduce, self.w5x5, self.pool_proj)

    def replace_widths(self, **changes: int) -> "Inception":
        """A copy with some widths changed, given under the paper's names."""
        w = self.widths
        for key, value in changes.items():
            if key not in w:
                raise SpecError(
                    f"unknown width {key!r} for {self.name}; allowed: {', '.join(WIDTH_KEYS)}"
                )
            w[key] = value
        return Inception.from_widths(self.name, w)

    @property
    def branch_layers(self) -> dict[str, str]:
        """Branch key -> the Keras layer whose output the branch puts into the concat (its
        last layer: ``_1x1``, ``_3x3``, ``_5x5``, ``_pool_proj``, or the bare ``_pool`` when
        unprojected); dropped branches are absent."""
        n = self.name
        out = {}
        if self.w1x1:
            out["1x1"] = f"{n}_1x1"
        if self.w3x3:
            out["3x3"] = f"{n}_3x3"
        if self.w5x5:
            out["5x5"] = f"{n}_5x5"
        out["pool_proj"] = f"{n}_pool_proj" if self.pool_proj else f"{n}_pool"
        return out

    @property
    def is_naive(self) -> bool:
        """Figure 2(a): no 1x1 reductions and an unprojected pool branch."""
        return self.w3x3_reduce == 0 and self.w5x5_reduce == 0 and self.pool_proj == 0


@dataclass(frozen=True)
class AuxHead:
    """The paper's auxiliary classifier, attached to the output of block ``after``:
    average pool 5x5/3 (valid), 1x1 conv 128 + ReLU, FC 1024 + ReLU, dropout 70 %,
    linear to ``classes``, softmax."""

    name: str
    after: str
    kind: str = field(default="aux", init=False)


Layer = Union[Conv, Pool, LRN, Dropout, Dense, Softmax, Inception]


@dataclass(frozen=True)
class ModelSpec:
    """The whole network: an ordered chain of layers plus input shape, classes and options.

    ``lrn``: LRN layers are applied (True) or skipped (False).
    ``aux``: the auxiliary classifiers in ``aux_heads`` are built (False by default, as
    in inference).
    """

    name: str
    layers: tuple[Layer, ...]
    input_shape: tuple[int, int, int] = (224, 224, 3)
    classes: int = 1000
    lrn: bool = True
    aux: bool = False
    aux_heads: tuple[AuxHead, ...] = ()
    description: str = ""
    preset: str = ""

    # -- lookups ---------------------------------------------------------------
    @property
    def blocks(self) -> tuple[Inception, ...]:
        return tuple(layer for layer in self.layers if isinstance(layer, Inception))

    @property
    def block_names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.blocks)

    def block(self, name: str) -> Inception:
        for b in self.blocks:
            if b.name == name:
                return b
        raise SpecError(f"no block named {name!r}; blocks are: {', '.join(self.block_names)}")

    @property
    def active_layers(self) -> tuple[Layer, ...]:
        """The layers that are built: LRN layers drop out when ``lrn`` is off."""
        return tuple(l for l in self.layers if self.lrn or not isinstance(l, LRN))

    @property
    def active_aux_heads(self) -> tuple[AuxHead, ...]:
        return self.aux_heads if self.aux else ()

    # -- edits (each returns a new spec) --------------------------------------
    def with_block(self, name: str, **widths: int) -> "ModelSpec":
        """A new spec with some widths of block ``name`` changed (paper names as keys;
        use ``**{"3x3": 128}``)."""
        self.block(name)  # raises for unknown names
        layers = tuple(
            l.replace_widths(**widths) if isinstance(l, Inception) and l.name == name else l
            for l in self.layers
        )
        return dataclasses.replace(self, layers=layers)

    def with_options(self, **changes) -> "ModelSpec":
        """``input_shape``, ``classes``, ``lrn``, ``aux`` changed (validated on analysis)."""
        if "input_shape" in changes:
            changes["input_shape"] = tuple(changes["input_shape"])
        return dataclasses.replace(self, **changes)

    def key(self) -> tuple:
        """A hashable key that identifies what gets built (cache key for models)."""
        return (self.layers, self.input_shape, self.classes, self.lrn, self.aux, self.aux_heads)
