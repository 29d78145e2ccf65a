"""Paper Table 1: the paper's rows beside the current model, deltas, flagged rows explained."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import paper
from ..graph import shape_str
from ..i18n import N_, _, current
from .context import ViewContext

STATUS_COLORS = {"agrees": "#D9F2E3", "paper error": "#FFE7B3", "edited": "#DCEBFA", "differs": "#F9D0D0", "missing": "#EEEEEE"}
#: The status column's words (the statuses themselves stay English: the CLI's contract).
STATUS_LABELS = {
    "agrees": N_("agrees"), "paper error": N_("paper error"), "edited": N_("edited"), "differs": N_("differs"),
    "missing": N_("missing"),
}


def _num(v) -> str:
    return "" if v is None else current().decimal(v, 1)


def _pct(d) -> str:
    """A signed relative difference: ``+2.3%`` / ``-0.4%`` (``+2,3%`` in Spanish)."""
    if d is None:
        return ""
    text = current().percent(d, 1)
    return text if text.startswith("-") else "+" + text


def note_text(note: str) -> str:
    """A note's arithmetic as a class reads it: ``7*7*3*8`` as ``7×7×3×8``. Alerts render
    Markdown, which would take the ``*`` signs for italics and drop them."""
    return note.replace(" * ", " × ").replace("*", "×")


def table(comps) -> pd.DataFrame:
    rows = []
    for c in comps:
        p = c.paper
        rows.append({
            _("layer"): p.label,  # the paper's own row names stay as in the paper
            _("output (paper)"): shape_str(p.output),
            _("output (here)"): shape_str(c.output) if c.output else "—",
            _("params K (paper)"): _num(p.params_k),
            _("params K (here)"): _num(c.params_k if p.params_k is not None else None),
            _("Δ params"): _pct(c.params_delta),
            _("ops M (paper)"): _num(p.ops_m),
            _("ops M (here)"): _num(c.ops_m if p.ops_m is not None else None),
            _("Δ ops"): _pct(c.ops_delta),
            _("status"): _(STATUS_LABELS.get(c.status, c.status)),
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
    for c in comps:
        note = note_text(c.note_text(tr))
        if c.status == "paper error":
            st.warning(_("**{row}** ({layer}): the paper's numbers are off. {note}").format(row=c.paper.label, layer=c.name, note=note))
        elif c.status in ("differs", "edited"):
            st.info(_("**{row}** ({layer}): {note}").format(row=c.paper.label, layer=c.name, note=note))
