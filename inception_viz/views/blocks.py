"""Blocks: the block in focus (six widths, the Figure 2(a)/(b) switch) and, in a folded
section, every block in one table, drawn as HTML until the visitor switches on editing in it."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import streamlit as st

from .. import counter, presets
from ..edits import apply_table_edits, edited_widths, reference_widths, with_form
from ..graph import shape_str
from ..spec import BRANCH_KEYS, MAX_WIDTH, WIDTH_KEYS, SpecError
from ..i18n import N_, _, current
from .common import IN_PLACE, accept, current_spec, error, folded_section, localized, rerun_here, skey, synced, wkey
from .context import ViewContext

if TYPE_CHECKING:  # pandas is imported by the folded All blocks section only (a fresh page does not need it)
    import pandas as pd

#: The editor's headers of the columns that are not widths (the DataFrame keeps English
#: keys: the edits and the tests read them; the width keys are the paper's own names).
COLUMN_LABELS = {"naive": N_("naive (2a)"), "input": N_("input"), "output": N_("output"), "params": N_("params"),
                 "vs preset": N_("vs preset")}
#: The session-state key of the "Edit in the table" switch (one per session, not per
#: preset: a lecturer who edits in the table keeps it across presets and edits).
TABLE_EDIT_KEY = "blocks-table-edit"
#: The session-state key of the folded *All blocks* section (True: open). One per session,
#: like the table switch: once a lecturer opens it, it stays open across edits, presets and
#: views until they fold it again.
ALL_BLOCKS_KEY = "blocks-all"


def render(ctx: ViewContext) -> None:
    """The six widths of the block in focus (inputs), with the Figure 2(a)/(b) switch, and
    of every block (a table in a folded section). Cells that differ from the preset are
    highlighted.

    *All blocks* starts folded, and only an open section draws its table (a lazy expander,
    as the sidebar's). Each element of this view is redrawn by the browser several times
    per edit (when the run starts, when its status changes, when the new elements come),
    so what the view shows decides how soon an edit's new totals appear: with the table
    open an edit took ~12 ms longer to show its totals in Chromium (interleaved A/B,
    docs/bench.md). The edit's own results are above it: the totals against the preset,
    the block's shapes, parameters and concat sum, and the ✎ on each edited width."""
    spec = ctx.spec
    if not spec.blocks:
        st.info(_("This model has no Inception blocks."))
        return
    if ctx.focus:  # the block in focus first: +/- buttons are the quickest edit while talking
        block_inputs_ui(spec, ctx.report, ctx.focus, shown=ctx.in_place == ctx.focus)
    section = folded_section(st, _("All blocks"), ALL_BLOCKS_KEY)
    if section.open:
        with section:
            table_ui(spec, ctx.report)


# -- callbacks (run before the script, so the page always draws the accepted spec) ------


@localized
def _on_width(block_name: str, width: str, key: str) -> None:
    st.session_state[IN_PLACE] = block_name  # this run redraws the boxes the browser shows
    value = st.session_state.get(key)
    if value is None:
        st.session_state.error = _("{block} {width} needs a number (0 drops or skips it)").format(block=block_name, width=width)
        return
    try:
        accept(current_spec().with_block(block_name, **{width: int(value)}))
    except SpecError as exc:
        st.session_state.error = str(exc)


def _on_form(block_name: str, key: str) -> None:
    st.session_state[IN_PLACE] = block_name
    accept(with_form(current_spec(), block_name, bool(st.session_state[key])))


# -- the block in focus ---------------------------------------------------------------


def block_inputs_ui(spec, report, focus: str, shown: bool = False) -> None:
    """The block in focus: its shapes and params, the form switch, the six width boxes and
    the concat sum. ``shown``: this run was started by one of these widgets (the browser
    shows them already; see ``common.synced``)."""
    b = spec.block(focus)
    row = report.row(focus)
    ref = reference_widths(spec, focus)
    preset_widths = presets.preset(spec.preset).block(focus).widths
    tr = current()
    st.subheader(_("{block}: {input} → {output}, {params} params").format(
        block=focus, input=shape_str(row.input_shape), output=shape_str(row.output_shape), params=tr.int(row.params)))
    # stable keys (skey), values from the spec (synced): an edit updates these widgets in
    # the browser instead of replacing them
    fkey = synced(skey(f"form-{focus}"), b.is_naive, shown)
    st.toggle(_("Naive form, Figure 2(a) (no 1x1 reductions, unprojected pool)"), key=fkey, on_change=_on_form, args=(focus, fkey))
    boxes = st.container(horizontal=True)  # one element holding the six boxes, not 6 columns
    for k in WIDTH_KEYS:
        key = synced(skey(f"w-{focus}-{k}"), b.widths[k], shown)
        boxes.number_input(
            f"{k} ✎" if b.widths[k] != preset_widths[k] else k,  # i18n: keep (the paper's width names)
            min_value=0,
            max_value=MAX_WIDTH,
            step=1,
            key=key,
            on_change=_on_width,
            args=(focus, k, key),
            help=_("preset: {preset}; reduced form: {reduced}").format(preset=preset_widths[k], reduced=ref[k]),
        )
    parts = " + ".join(f"{row.branches[k].channels}" for k in BRANCH_KEYS)
    st.caption(_("Concat: {parts} = {maps} maps (1x1 + 3x3 + 5x5 + pool branch)").format(parts=parts, maps=row.output_shape[2]))


# -- all blocks -----------------------------------------------------------------------


#: What marks an edit in the editor: in the edited columns' headers and the rows' *vs preset*.
EDIT_MARK = "✎"


def block_table(spec, report) -> pd.DataFrame:
    """One row per block: *vs preset* first (``=`` or ``✎ 3x3: 128→256``, so the edit is
    visible where the editing happens), the six widths, the form, shapes and params."""
    tr = current()
    edits = edited_widths(spec)
    rows = []
    for b in spec.blocks:
        r = report.row(b.name)
        changed = [f"{k}: {was}→{now}" for k, (was, now) in edits.get(b.name, {}).items()]
        rows.append({
            "vs preset": f"{EDIT_MARK} " + ", ".join(changed) if changed else "=",
            **b.widths,
            "naive": b.is_naive,
            "input": shape_str(r.input_shape),
            "output": shape_str(r.output_shape),
            "params": tr.int(r.params),
        })
    import pandas as pd  # here, not at the top: the first page draws no table (~0.4 s of imports)

    return pd.DataFrame(rows, index=list(spec.block_names))


def edits_by_width(spec) -> dict[str, list[str]]:
    """Width key -> ``inception_3b (96→1)`` for each block where that width differs from
    the preset: the editor's header reads ``5x5 ✎`` and its tooltip lists them
    (st.data_editor cannot style a cell; a header can carry the mark)."""
    out: dict[str, list[str]] = {k: [] for k in WIDTH_KEYS}
    for name, widths in edited_widths(spec).items():
        for k, (was, now) in widths.items():
            out[k].append(f"{name} ({was}→{now})")
    return out


def table_ui(spec, report) -> None:
    """Every block, as a text table (the edited cells in bold with their mark), or as an
    editable grid while "Edit in the table" is on.

    Why not always the grid: ``st.data_editor`` is the heaviest element on the first page
    (1.3 MB of script for a fresh browser) and redraws its canvas on every edit; the
    lecture's edits happen in the focus block's boxes. bench --browser measured it."""
    st.caption(_("Widths in the paper's Table 1 order. 0 drops a branch (1x1, 3x3, 5x5), skips a reduction "
                 "(3x3_reduce, 5x5_reduce: Figure 2(a)) or leaves the pooled input unprojected (pool_proj)."))
    editing = st.toggle(_("Edit in the table"), key=TABLE_EDIT_KEY,
                        help=_("Any block's widths and form, in a spreadsheet-like grid; off, the table is text"))
    if editing:
        st.caption(_("Tick *naive* for Figure 2(a); untick to restore the reductions."))
        editor_ui(spec, report)
    else:
        st.html(html_table(spec, report))


#: The text table's look: table lines, numbers right-aligned, no wrapping inside a cell;
#: on a narrow window the table scrolls sideways in its box instead.
_TABLE_CSS = ("<style>.iv-scroll{overflow-x:auto}.iv-blocks{border-collapse:collapse;width:100%;font-size:.9rem}"
              ".iv-blocks th,.iv-blocks td{border:1px solid rgba(128,128,128,.3);padding:.25rem .5rem;white-space:nowrap}"
              ".iv-blocks th{font-weight:600;text-align:left}.iv-blocks .n{text-align:right}</style>")


def html_table(spec, report) -> str:
    """The rows of :func:`block_table` as one HTML table: block, *vs preset*, the six widths
    (an edited one bold, with ✎), naive, input, output, params. Every text is escaped.

    HTML through ``st.html``, not a Markdown table: the browser sets it as one piece of
    markup instead of parsing Markdown into ~130 React cells on every run (A/B in the page:
    page ready −0.19 of the floor's, an edit −10 to 15 ms)."""
    df = block_table(spec, report)
    edits = edited_widths(spec)
    columns = list(df.columns)  # the grid's columns, in its order

    def align(c: str) -> str:  # numbers right-aligned
        return " class=n" if c in WIDTH_KEYS or c == "params" else ""

    head = "<th>" + html.escape(_("block")) + "</th>" + "".join(
        f"<th{align(c)}>{html.escape(c if c in WIDTH_KEYS else _(COLUMN_LABELS[c]))}</th>" for c in columns)
    rows = []
    for name, row in df.iterrows():
        cells = [f"<td>{html.escape(str(name))}</td>"]
        for c in columns:
            v = row[c]
            if c == "naive":
                text = "✓" if v else ""
            elif c in WIDTH_KEYS and c in edits.get(name, {}):
                text = f"<strong>{int(v)}</strong> {EDIT_MARK}"
            else:
                text = html.escape(str(v))
            cells.append(f"<td{align(c)}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'{_TABLE_CSS}<div class="iv-scroll"><table class="iv-blocks"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def editor_ui(spec, report) -> None:
    """The grid: every width and the form of every block, edited in place."""
    key = wkey("table")
    names = list(spec.block_names)
    edits = edits_by_width(spec)
    width_cols = {
        k: st.column_config.NumberColumn(
            f"{k} {EDIT_MARK}" if edits[k] else k, min_value=0, max_value=MAX_WIDTH, step=1, required=True, format="%d",
            help=_("{mark} edited against the {preset} preset in: {blocks}").format(
                mark=EDIT_MARK, preset=spec.preset, blocks=", ".join(edits[k])) if edits[k] else None)
        for k in WIDTH_KEYS
    }
    st.data_editor(
        block_table(spec, report),
        key=key,
        disabled=["input", "output", "params", "vs preset"],
        column_config={
            **width_cols,
            "naive": st.column_config.CheckboxColumn(_(COLUMN_LABELS["naive"])),
            **{c: st.column_config.TextColumn(_(COLUMN_LABELS[c])) for c in ("input", "output", "params")},
            # first and pinned: never cut off at the right edge of a projected page
            "vs preset": st.column_config.TextColumn(
                _(COLUMN_LABELS["vs preset"]), pinned=True, width="medium",
                help=_("{mark} what differs from the {preset} preset in this block").format(mark=EDIT_MARK, preset=spec.preset)),
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
            error(_("{error}. The model above is the last valid one.").format(error=exc))
        else:
            accept(candidate)
            rerun_here()  # the view again (with the headline), drawn from the new spec

