"""Blocks: the block in focus (six widths, the Figure 2(a)/(b) switch) and every block in
an editable table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import counter, presets
from ..edits import apply_table_edits, edited_blocks, reference_widths, with_form
from ..graph import shape_str
from ..spec import BRANCH_KEYS, MAX_WIDTH, WIDTH_KEYS, SpecError
from ..i18n import N_, _, current
from .common import accept, current_spec, localized, wkey
from .context import ViewContext

EDITED_CELL = "background-color: #FFD8B0; font-weight: bold"
#: The editor's headers of the columns that are not widths (the DataFrame keeps English
#: keys: the edits and the tests read them; the width keys are the paper's own names).
COLUMN_LABELS = {"naive": N_("naive (2a)"), "input": N_("input"), "output": N_("output"), "params": N_("params"),
                 "vs preset": N_("vs preset")}


def render(ctx: ViewContext) -> None:
    """The six widths of every block (table) and of the block in focus (inputs), with
    the Figure 2(a)/(b) switch. Cells that differ from the preset are highlighted."""
    spec = ctx.spec
    if not spec.blocks:
        st.info(_("This model has no Inception blocks."))
        return
    if ctx.focus:  # the block in focus first: +/- buttons are the quickest edit while talking
        block_inputs_ui(spec, ctx.report, ctx.focus)
    table_ui(spec, ctx.report)


# -- callbacks (run before the script, so the page always draws the accepted spec) ------


@localized
def _on_width(block_name: str, width: str, key: str) -> None:
    value = st.session_state.get(key)
    if value is None:
        st.session_state.error = _("{block} {width} needs a number (0 drops or skips it)").format(block=block_name, width=width)
        return
    try:
        accept(current_spec().with_block(block_name, **{width: int(value)}))
    except SpecError as exc:
        st.session_state.error = str(exc)


def _on_form(block_name: str, key: str) -> None:
    accept(with_form(current_spec(), block_name, bool(st.session_state[key])))


# -- the block in focus ---------------------------------------------------------------


def block_inputs_ui(spec, report, focus: str) -> None:
    b = spec.block(focus)
    row = report.row(focus)
    ref = reference_widths(spec, focus)
    preset_widths = presets.preset(spec.preset).block(focus).widths
    tr = current()
    st.subheader(_("{block}: {input} → {output}, {params} params").format(
        block=focus, input=shape_str(row.input_shape), output=shape_str(row.output_shape), params=tr.int(row.params)))
    fkey = wkey(f"form-{focus}")
    st.toggle(_("Naive form, Figure 2(a) (no 1x1 reductions, unprojected pool)"), b.is_naive, key=fkey, on_change=_on_form, args=(focus, fkey))
    cols = st.columns(6)
    for col, k in zip(cols, WIDTH_KEYS):
        key = wkey(f"w-{focus}-{k}")
        col.number_input(
            f"{k} ✎" if b.widths[k] != preset_widths[k] else k,  # i18n: keep (the paper's width names)
            min_value=0,
            max_value=MAX_WIDTH,
            value=b.widths[k],
            step=1,
            key=key,
            on_change=_on_width,
            args=(focus, k, key),
            help=_("preset: {preset}; reduced form: {reduced}").format(preset=preset_widths[k], reduced=ref[k]),
        )
    parts = " + ".join(f"{row.branches[k].channels}" for k in BRANCH_KEYS)
    st.caption(_("Concat: {parts} = {maps} maps (1x1 + 3x3 + 5x5 + pool branch)").format(parts=parts, maps=row.output_shape[2]))


# -- all blocks -----------------------------------------------------------------------


def block_table(spec, report) -> pd.DataFrame:
    tr = current()
    base = presets.preset(spec.preset)
    rows = []
    for b in spec.blocks:
        r = report.row(b.name)
        ref = base.block(b.name).widths if b.name in base.block_names else b.widths
        changed = [f"{k}: {ref[k]}→{v}" for k, v in b.widths.items() if ref[k] != v]
        rows.append({
            **b.widths,
            "naive": b.is_naive,
            "input": shape_str(r.input_shape),
            "output": shape_str(r.output_shape),
            "params": tr.int(r.params),
            "vs preset": ", ".join(changed) or "=",
        })
    return pd.DataFrame(rows, index=list(spec.block_names))


def edited_blocks_styler(spec) -> "pd.io.formats.style.Styler | None":
    """The blocks whose widths differ from the preset, with those cells highlighted (the
    data editor cannot style cells); None when nothing is edited."""
    names = edited_blocks(spec)
    if not names:
        return None
    base = presets.preset(spec.preset)
    df = pd.DataFrame([spec.block(n).widths for n in names], index=names)
    ref = pd.DataFrame([base.block(n).widths for n in names], index=names)
    styles = pd.DataFrame("", index=df.index, columns=df.columns).where(df == ref, EDITED_CELL)
    return df.style.apply(lambda _frame: styles, axis=None)


def table_ui(spec, report) -> None:
    st.subheader(_("All blocks"))
    st.caption(_("Widths in the paper's Table 1 order. 0 drops a branch (1x1, 3x3, 5x5), skips a reduction "
                 "(3x3_reduce, 5x5_reduce: Figure 2(a)) or leaves the pooled input unprojected (pool_proj). "
                 "Tick *naive* for Figure 2(a); untick to restore the reductions."))
    key = wkey("table")
    names = list(spec.block_names)
    width_cols = {k: st.column_config.NumberColumn(k, min_value=0, max_value=MAX_WIDTH, step=1, required=True, format="%d") for k in WIDTH_KEYS}
    st.data_editor(
        block_table(spec, report),
        key=key,
        disabled=["input", "output", "params", "vs preset"],
        column_config={
            **width_cols,
            "naive": st.column_config.CheckboxColumn(_(COLUMN_LABELS["naive"])),
            **{c: st.column_config.TextColumn(_(COLUMN_LABELS[c])) for c in ("input", "output", "params", "vs preset")},
        },
        width="stretch",
    )
    # Edits are relative to the table drawn from the current spec; an accepted edit makes
    # a new spec (and a new table key), so the table is redrawn from it.
    edits = (st.session_state.get(key) or {}).get("edited_rows") or {}
    if edits:
        try:
            candidate = apply_table_edits(spec, edits, names)
            counter.analyze(candidate)
        except SpecError as exc:
            st.error(_("{error}. The model above is the last valid one.").format(error=exc))
        else:
            accept(candidate)
            st.rerun()
    edited = edited_blocks_styler(spec)
    if edited is not None:
        st.caption(_("Edited against the {preset} preset (changed cells in orange):").format(preset=spec.preset))
        st.dataframe(edited, width="stretch")
