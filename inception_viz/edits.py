"""Edits a lecturer makes to a spec, as pure functions (no Streamlit): the Figure 2(a)/(b)
switch of one block and the block table's cell edits. The app's views call these; the
tests call them directly.
"""

from __future__ import annotations

from .presets import PAPER_WIDTHS, preset
from .spec import MAX_WIDTH, WIDTH_KEYS, ModelSpec, SpecError

#: The widths Figure 2(a) (the naive form) sets to 0: no 1x1 reductions, unprojected pool.
NAIVE_KEYS = ("3x3_reduce", "5x5_reduce", "pool_proj")


def reference_widths(spec: ModelSpec, block_name: str) -> dict[str, int]:
    """The widths "reduced" restores: the preset's, or the paper's when the preset's
    block is itself naive."""
    base = preset(spec.preset)
    ref = base.block(block_name).widths if block_name in base.block_names else spec.block(block_name).widths
    if ref["3x3_reduce"] == 0 and ref["5x5_reduce"] == 0 and ref["pool_proj"] == 0 and block_name in PAPER_WIDTHS:
        ref = dict(zip(WIDTH_KEYS, PAPER_WIDTHS[block_name]))
    return ref


def with_form(spec: ModelSpec, block_name: str, naive: bool) -> ModelSpec:
    """Switch one block between Figure 2(a) (naive) and 2(b) (reduced)."""
    if naive:
        return spec.with_block(block_name, **{k: 0 for k in NAIVE_KEYS})
    ref = reference_widths(spec, block_name)
    return spec.with_block(block_name, **{k: ref[k] for k in NAIVE_KEYS})


def edited_blocks(spec: ModelSpec) -> list[str]:
    """The blocks whose widths differ from the spec's preset, in network order."""
    base = preset(spec.preset)
    return [b.name for b in spec.blocks if b.name in base.block_names and b.widths != base.block(b.name).widths]


def edited_widths(spec: ModelSpec) -> dict[str, dict[str, tuple[int, int]]]:
    """Block -> {width key -> (preset value, current value)} for every width that differs
    from the spec's preset; blocks without edits are left out."""
    base = preset(spec.preset)
    out = {}
    for name in edited_blocks(spec):
        ref, now = base.block(name).widths, spec.block(name).widths
        out[name] = {k: (ref[k], now[k]) for k in WIDTH_KEYS if ref[k] != now[k]}
    return out


def _table_row(pos, names: list[str]) -> str:
    """The block name of the editor's row ``pos`` (an int or its text, 0-based)."""
    text = str(pos)
    if isinstance(pos, bool) or not (isinstance(pos, int) or (isinstance(pos, str) and text.isdecimal() and text.isascii())):
        raise SpecError(f"the block table has no row {text[:20]!r}")
    index = int(text)
    if not 0 <= index < len(names):
        raise SpecError(f"the block table has no row {text[:20]!r}; rows are 0 to {len(names) - 1}")
    return names[index]


def _table_width(value, name: str, col: str) -> int:
    """A width cell's value as an int (the editor sends ints or floats)."""
    if value is None or (isinstance(value, float) and value != value):
        raise SpecError(f"{name} {col} needs a number (0 drops or skips it)")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value in (float("inf"), float("-inf")) or float(value) != int(value):
        shown = repr(value)[:20]
        raise SpecError(f"{name} {col} must be a whole number from 0 to {MAX_WIDTH}; got {shown}")
    if not 0 <= value <= MAX_WIDTH:
        raise SpecError(f"{name} {col} must be from 0 to {MAX_WIDTH}; got {int(value)}")
    return int(value)


def apply_table_edits(spec: ModelSpec, edits: dict, names: list[str]) -> ModelSpec:
    """The spec after the data editor's ``edited_rows`` (``{row: {column: value}}``,
    relative to the table drawn from ``spec``). A changed *naive* tick switches the
    block's form first; then width cells apply; other columns are read-only and ignored.
    Raises :class:`SpecError` (one line) for anything else."""
    for pos, change in edits.items():
        name = _table_row(pos, names)
        if not isinstance(change, dict):
            raise SpecError(f"the block table's row {name} edit must map columns to values")
        if "naive" in change and bool(change["naive"]) != spec.block(name).is_naive:
            spec = with_form(spec, name, bool(change["naive"]))
        widths = {col: _table_width(value, name, col) for col, value in change.items() if col in WIDTH_KEYS}
        if widths:
            spec = spec.with_block(name, **widths)
    return spec
