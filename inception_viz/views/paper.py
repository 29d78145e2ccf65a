"""Paper Table 1: the paper's rows beside the current model, deltas, flagged rows explained."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import paper
from ..graph import shape_str
from ..i18n import N_, _, current, ngettext
from .context import ViewContext

STATUS_COLORS = {"agrees": "#D9F2E3", "input size": "#E8F0E0", "paper error": "#FFE7B3", "edited": "#DCEBFA", "differs": "#F9D0D0", "missing": "#EEEEEE"}
#: The status column's words (the statuses themselves stay English: the CLI's contract).
STATUS_LABELS = {
    "agrees": N_("agrees"), "input size": N_("input size"), "paper error": N_("paper error"), "edited": N_("edited"),
    "differs": N_("differs"), "missing": N_("missing"),
}


def note_text(note: str) -> str:
    """A note's arithmetic as a class reads it: ``7*7*3*8`` as ``7×7×3×8``. Alerts render
    Markdown, which would take the ``*`` signs for italics and drop them."""
    return note.replace(" * ", " × ").replace("*", "×")


def table(comps) -> pd.DataFrame:
    tr = current()
    rows = []
    for c in comps:
        p = c.paper
        params_here, params_paper = paper.fmt_pair(c.params_k if p.params_k is not None else None, p.params_k, tr=tr)
        ops_here, ops_paper = paper.fmt_pair(c.ops_m if p.ops_m is not None else None, p.ops_m, tr=tr)
        rows.append({
            _("layer"): p.label,  # the paper's own row names stay as in the paper
            _("output (paper)"): shape_str(p.output),
            _("output (here)"): shape_str(c.output) if c.output else "—",
            _("params K (paper)"): params_paper,
            _("params K (here)"): params_here,
            _("Δ params"): paper.fmt_delta(c.params_delta, tr),
            _("ops M (paper)"): ops_paper,
            _("ops M (here)"): ops_here,
            _("Δ ops"): paper.fmt_delta(c.ops_delta, tr),
            _("status"): _(STATUS_LABELS[c.status]) if c.status in STATUS_LABELS else c.status,
        })
    return pd.DataFrame(rows)


def render(ctx: ViewContext) -> None:
    spec = ctx.spec
    tr = current()
    st.caption(_("Szegedy et al. 2015, Table 1, beside the current model. Params in the paper's unit: "
                 "K = 1024 weights, biases excluded. Ops in millions (10^6) of multiply-adds."))
    if spec.preset not in ("googlenet", "naive"):
        st.info(_("Table 1 describes GoogLeNet; the {preset} preset shares only some layer names with it.").format(preset=spec.preset))
    comps = paper.compare(ctx.report)
    df = table(comps)
    # coloured by each row's status (English keys; the column shows the translated word)
    colors = [STATUS_COLORS.get(c.status, "") for c in comps]
    styled = df.style.apply(lambda r: [f"background-color: {colors[r.name]}"] * len(r), axis=1)
    # "content": exactly as tall as its rows (a height in pixels guessed the row height
    # and left empty rows under the last one)
    st.dataframe(styled, width="stretch", hide_index=True, height="content")
    sized = [c for c in comps if c.status == "input size"]
    if sized:
        h, w, _depth = spec.input_shape
        st.info(ngettext(
            "**Input {h}×{w}** (height × width), not the paper's {ph}×{pw}: {n} row differs only in its output size "
            "and ops, which follow the input; its parameters agree with the paper. Rows that differ at 224×224 too "
            "keep their own explanation.",
            "**Input {h}×{w}** (height × width), not the paper's {ph}×{pw}: {n} rows differ only in their output size "
            "and ops, which follow the input; their parameters agree with the paper. Rows that differ at 224×224 too "
            "keep their own explanation.",
            len(sized),
        ).format(h=h, w=w, ph=paper.PAPER_INPUT[0], pw=paper.PAPER_INPUT[1], n=len(sized)))
    for c in comps:
        note = note_text(c.note_text(tr))
        if c.status == "paper error":
            st.warning(_("**{row}** ({layer}): the paper's numbers are off. {note}").format(row=c.paper.label, layer=c.name, note=note))
        elif c.status in ("differs", "edited"):
            st.info(_("**{row}** ({layer}): {note}").format(row=c.paper.label, layer=c.name, note=note))
