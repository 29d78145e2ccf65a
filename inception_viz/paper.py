"""The paper's Table 1 (Szegedy et al. 2015) beside computed values.

The table is transcribed from the lecture notes (``shared/seed``; a test checks the
transcription against them). The paper counts parameters in K = 1024 *weights* (biases
excluded) and ops in millions (10^6) of multiply-adds; :func:`compare` uses the same units.

Three rows do not follow from the paper's own widths; they are flagged with the reason
instead of being "fixed" or copied (:data:`ERRATA`). Every other row agrees within
:data:`TOLERANCE`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .counter import Report, analyze
from .i18n import N_, Translator, resolve
from .presets import googlenet
from .spec import WIDTH_KEYS

#: Relative difference within which a computed value "agrees" with the paper.
TOLERANCE = 0.03
#: The paper's parameter unit: K = 1024 weights, biases excluded.
PAPER_K = 1024


@dataclass(frozen=True)
class PaperRow:
    type: str
    patch: str  # "7x7/2" or ""
    output: tuple[int, int, int]
    depth: int
    widths: tuple[int, ...] | None  # the six Table 1 columns (None where empty)
    params_k: float | None  # the paper's "params" in K = 1024 weights
    ops_m: float | None  # the paper's "ops" in millions of multiply-adds
    layers: tuple[str, ...]  # our layer names that make up the row

    @property
    def label(self) -> str:
        return f"{self.type} {self.patch}".strip()


def _w(s: str) -> tuple[int, ...]:
    return tuple(int(v) for v in s.split())


#: Table 1 as printed. conv2's "3x3 reduce" 64 is the 1x1 conv before its 3x3 conv.
TABLE1: tuple[PaperRow, ...] = (
    PaperRow("convolution", "7x7/2", (112, 112, 64), 1, None, 2.7, 34, ("conv1",)),
    PaperRow("max pool", "3x3/2", (56, 56, 64), 0, None, None, None, ("pool1",)),
    PaperRow("convolution", "3x3/1", (56, 56, 192), 2, (0, 64, 192, 0, 0, 0), 112, 360, ("conv2_reduce", "conv2")),
    PaperRow("max pool", "3x3/2", (28, 28, 192), 0, None, None, None, ("pool2",)),
    PaperRow("inception (3a)", "", (28, 28, 256), 2, _w("64 96 128 16 32 32"), 159, 128, ("inception_3a",)),
    PaperRow("inception (3b)", "", (28, 28, 480), 2, _w("128 128 192 32 96 64"), 380, 304, ("inception_3b",)),
    PaperRow("max pool", "3x3/2", (14, 14, 480), 0, None, None, None, ("pool3",)),
    PaperRow("inception (4a)", "", (14, 14, 512), 2, _w("192 96 208 16 48 64"), 364, 73, ("inception_4a",)),
    PaperRow("inception (4b)", "", (14, 14, 512), 2, _w("160 112 224 24 64 64"), 437, 88, ("inception_4b",)),
    PaperRow("inception (4c)", "", (14, 14, 512), 2, _w("128 128 256 24 64 64"), 463, 100, ("inception_4c",)),
    PaperRow("inception (4d)", "", (14, 14, 528), 2, _w("112 144 288 32 64 64"), 580, 119, ("inception_4d",)),
    PaperRow("inception (4e)", "", (14, 14, 832), 2, _w("256 160 320 32 128 128"), 840, 170, ("inception_4e",)),
    PaperRow("max pool", "3x3/2", (7, 7, 832), 0, None, None, None, ("pool4",)),
    PaperRow("inception (5a)", "", (7, 7, 832), 2, _w("256 160 320 32 128 128"), 1072, 54, ("inception_5a",)),
    PaperRow("inception (5b)", "", (7, 7, 1024), 2, _w("384 192 384 48 128 128"), 1388, 71, ("inception_5b",)),
    PaperRow("avg pool", "7x7/1", (1, 1, 1024), 0, None, None, None, ("pool5",)),
    PaperRow("dropout (40%)", "", (1, 1, 1024), 0, None, None, None, ("dropout",)),
    PaperRow("linear", "", (1, 1, 1000), 1, None, 1000, 1, ("linear",)),
    PaperRow("softmax", "", (1, 1, 1000), 0, None, None, None, ("softmax",)),
)

#: Rows of Table 1 that contradict the paper's own widths: (fields, reason).
ERRATA: dict[str, tuple[tuple[str, ...], str]] = {
    "conv1": (
        ("params", "ops"),
        N_("2.7K / 34M match a depthwise-separable 7x7 with multiplier 8 "
        "(7*7*3*8 + 24*64 = 2,712 weights; 2,712 * 112*112 = 34.0M MACs), "
        "not the full 7x7 conv the table describes (7*7*3*64 = 9,408 weights, 118M MACs)"),
    ),
    "inception_4c": (
        ("params",),
        N_("its widths give 509,440 weights = 497.5K "
        "(512*128 + 512*128 + 9*128*256 + 512*24 + 25*24*64 + 512*64), not 463K"),
    ),
    "inception_5a": (
        ("params", "ops"),
        N_("its widths give 1,042,432 weights = 1,018K and 51.1M MACs at 7x7 "
        "(832*256 + 832*160 + 9*160*320 + 832*32 + 25*32*128 + 832*128), not 1,072K / 54M"),
    ),
}


#: Names of the fields a row can differ in (msgids), in :attr:`Comparison.note_text`.
FLAG_NAMES = {"params": N_("params"), "ops": N_("ops"), "shape": N_("shape")}
EDITED_NOTE = N_("widths differ from the paper's: deltas show the edit")
#: What follows the input size, per set of fields that differ only because of it (one
#: whole sentence each, so a language can make its own agreement; ``shape``, ``params``,
#: ``ops`` in this order).
SIZE_NOTES = {
    ("shape",): N_("output follows the {h}×{w} input (height × width; the paper's is {ph}×{pw})"),
    ("params",): N_("params follows the {h}×{w} input (height × width; the paper's is {ph}×{pw})"),
    ("ops",): N_("ops follow the {h}×{w} input (height × width; the paper's is {ph}×{pw})"),
    ("shape", "params"): N_("output and params follow the {h}×{w} input (height × width; the paper's is {ph}×{pw})"),
    ("shape", "ops"): N_("output and ops follow the {h}×{w} input (height × width; the paper's is {ph}×{pw})"),
    ("params", "ops"): N_("params and ops follow the {h}×{w} input (height × width; the paper's is {ph}×{pw})"),
    ("shape", "params", "ops"): N_("output and params and ops follow the {h}×{w} input (height × width; the paper's is {ph}×{pw})"),
}


def size_note(fields, h: int, w: int, tr: Translator | None = None) -> str:
    """Which of ``fields`` (``shape``/``params``/``ops``) follow an input of ``h``×``w``
    instead of the paper's, in ``tr``'s language."""
    key = tuple(f for f in ("shape", "params", "ops") if f in fields)
    return resolve(tr).gettext(SIZE_NOTES[key]).format(h=h, w=w, ph=PAPER_INPUT[0], pw=PAPER_INPUT[1])


@dataclass(frozen=True)
class Comparison:
    paper: PaperRow
    name: str  # our first layer name for the row
    output: tuple[int, int, int] | None
    depth: int | None
    weights: int | None  # exact weights (biases excluded), the paper's params unit before /1024
    macs: int | None
    widths: tuple[int, ...] | None
    status: str  # "agrees", "paper error", "differs", "edited", "missing"
    note: str = ""  # English (the CLI's contract); note_text(tr) in another language
    flags: tuple[str, ...] = ()  # what differs: "params", "ops", "shape"
    size_fields: tuple[str, ...] = ()  # what differs only because of the input size
    input_hw: tuple[int, int] | None = None  # the model's input height × width

    @property
    def params_k(self) -> float | None:
        return None if self.weights is None else self.weights / PAPER_K

    @property
    def ops_m(self) -> float | None:
        return None if self.macs is None else self.macs / 1e6

    @staticmethod
    def _delta(ours: float | None, paper: float | None) -> float | None:
        if ours is None or paper is None:
            return None
        return (ours - paper) / paper

    def note_text(self, tr: Translator | None = None) -> str:
        """:attr:`note` in ``tr``'s language (English: :attr:`note` itself)."""
        tr = resolve(tr)
        if not self.size_fields:
            return self._base_text(self.note, tr)
        size = size_note(self.size_fields, *self.input_hw, tr)
        if self.status == "input size":
            return size[:1].upper() + size[1:]
        base = self.note.removesuffix("; " + size_note(self.size_fields, *self.input_hw))
        return f"{self._base_text(base, tr)}; {size}"

    def _base_text(self, note: str, tr: Translator) -> str:
        if self.status == "differs":
            fields = ", ".join(tr.gettext(FLAG_NAMES[f]) for f in self.flags)
            return tr.gettext("differs from the paper in {fields}").format(fields=fields)
        return tr.gettext(note) if note else ""

    @property
    def params_delta(self) -> float | None:
        """Relative difference (ours - paper) / paper of params in K = 1024 weights."""
        return self._delta(self.params_k, self.paper.params_k)

    @property
    def ops_delta(self) -> float | None:
        return self._delta(self.ops_m, self.paper.ops_m)


def _row_widths(report: Report, paper: PaperRow) -> tuple[int, ...] | None:
    if paper.layers == ("conv2_reduce", "conv2"):
        try:
            return (0, report.row("conv2_reduce").output_shape[2], report.row("conv2").output_shape[2], 0, 0, 0)
        except Exception:
            return None
    name = paper.layers[0]
    if name.startswith("inception_"):
        try:
            return report.spec.block(name).width_tuple
        except Exception:
            return None
    return None


#: The input size Table 1 is computed at (height × width).
PAPER_INPUT = (224, 224)


def _measure(report: Report, p: PaperRow):
    """``(output, depth, weights, macs)`` of the layers that make up ``p`` in ``report``."""
    rows = [report.row(n) for n in p.layers]
    return rows[-1].output_shape, sum(r.depth for r in rows), sum(r.weights for r in rows), sum(r.macs for r in rows)


def _off(p: PaperRow, output, depth, weights, macs) -> list[str]:
    """The fields (``params``, ``ops``, ``shape``) in which a measurement misses ``p``."""
    cmp = Comparison(p, p.layers[0], output, depth, weights, macs, None, "agrees")
    bad = [f for f, d in (("params", cmp.params_delta), ("ops", cmp.ops_delta)) if d is not None and abs(d) > TOLERANCE]
    if output != p.output or depth != p.depth:
        bad.append("shape")
    return bad


def _at_paper_input(report: Report) -> Report | None:
    """The same model counted at the paper's 224×224 input, or ``None`` when the model
    already has that input (or cannot take it)."""
    h, w, c = report.spec.input_shape
    if (h, w) == PAPER_INPUT:
        return None
    try:
        return analyze(report.spec.with_options(input_shape=(*PAPER_INPUT, c)))
    except Exception:  # noqa: BLE001 - a model that cannot take 224×224: no size attribution
        return None


def compare(report: Report | None = None) -> list[Comparison]:
    """Table 1 beside ``report`` (default: the ``googlenet`` preset), row by row.

    ``status``: ``agrees`` (params, ops and output within :data:`TOLERANCE`), ``paper
    error`` (a row of :data:`ERRATA` with the paper's widths: ``note`` says why),
    ``edited`` (the widths differ from the paper's, so deltas are the edit's effect),
    ``input size`` (only the output's height × width and the ops differ, because the
    input is not the paper's 224×224), ``differs`` (unexplained) or ``missing`` (no such
    layer in this model).

    At another input size every row is judged as the same model counted at 224×224 (a
    second, independent count): what differs only at the current size is the input
    size's doing and the note says so; what differs at 224×224 too (the paper's errata,
    an edit) keeps its own status and explanation."""
    report = report or analyze(googlenet())
    at_paper = _at_paper_input(report)
    h, w, _ = report.spec.input_shape

    out = []
    for p in TABLE1:
        try:
            output, depth, weights, macs = _measure(report, p)
        except Exception:
            out.append(Comparison(p, p.layers[0], None, None, None, None, None, "missing"))
            continue
        widths = _row_widths(report, p)
        bad = _off(p, output, depth, weights, macs)
        size_only: list[str] = []
        if at_paper is not None:
            try:
                bad_at_paper = _off(p, *_measure(at_paper, p))
            except Exception:  # noqa: BLE001
                bad_at_paper = bad
            size_only = [f for f in bad if f not in bad_at_paper]
            bad = [f for f in bad if f in bad_at_paper]
        if p.widths is not None and widths is not None and widths != p.widths:
            status, note = "edited", EDITED_NOTE
        elif not bad:
            status, note = ("input size", size_note(size_only, h, w).capitalize()) if size_only else ("agrees", "")
        elif p.layers[0] in ERRATA and set(bad) <= set(ERRATA[p.layers[0]][0]):
            status, note = "paper error", ERRATA[p.layers[0]][1]
        else:
            status, note = "differs", "differs from the paper in " + ", ".join(bad)
        if size_only and status != "input size":  # an input-size row's note is the size note itself
            note += f"; {size_note(size_only, h, w)}"
        out.append(Comparison(p, p.layers[0], output, depth, weights, macs, widths, status, note, tuple(bad),
                              tuple(size_only), (h, w)))
    return out


def fmt_delta(d: float | None, tr: Translator | None = None) -> str:
    """A relative difference as a class reads it: ``+7.5%``; one that rounds to zero is
    ``0.0%`` (never ``-0.0%``), and a nonzero one that rounds to zero says ``<0.1%``
    with its sign instead of looking like none. Numbers in ``tr``'s format (``+7,5%``)."""
    if d is None:
        return ""
    tr = resolve(tr)
    if round(d * 100, 1) == 0:
        return tr.percent(0, 1) if d == 0 else ("+<" if d > 0 else "−<") + tr.percent(0.001, 1)
    text = tr.percent(d, 1)
    return (text if text.startswith("-") else "+" + text).replace("-", "−")


def fmt_pair(ours: float | None, paper: float | None, max_decimals: int = 3, tr: Translator | None = None) -> tuple[str, str]:
    """``(ours, paper)`` with one decimal, or as many more (up to ``max_decimals``) as
    it takes for a difference to show: 1.024M beside the paper's 1M reads ``1.02`` vs
    ``1.00``, not ``1.0`` vs ``1.0`` next to ``+2.4%``. Numbers in ``tr``'s format."""
    tr = resolve(tr)

    def f(v, d):
        return "" if v is None else tr.decimal(v, d)

    d = 1
    if ours is not None and paper is not None and ours != paper:
        while d < max_decimals and f(ours, d) == f(paper, d):
            d += 1
    return f(ours, d), f(paper, d)


def width_header() -> tuple[str, ...]:
    return WIDTH_KEYS
