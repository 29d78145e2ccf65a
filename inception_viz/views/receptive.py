"""Receptive fields: which input pixels a unit sees, in theory and in fact.

The theoretical field of the block in focus, layer by layer and branch by branch (the
analytic counter, no TensorFlow), and behind a switch the *effective* field (Luo et al.
2016) of the block's centre unit: where the gradient of that unit actually lands on the
input, as a heat map with the theoretical square on top, from one backward pass
(:func:`inception_viz.receptive.effective_field`, cached). Weights and image are the
Predictions view's own widgets (same keys: a choice made there holds here).

Also :func:`unit_field_ui`, the unit picker of the Predictions view's enlarged channel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ..counter import FieldBox, ReceptiveField, Report
from ..graph import branch_label
from ..i18n import N_, Translator, _, current
from ..spec import BRANCH_KEYS, SpecError
from .common import PERSIST, error, fmt_g, get_runner, heavy, sample_image
from .context import ViewContext
from .predictions import image_ui, weights_ui

#: Outline of the central square the mass share is measured in (Okabe-Ito sky blue; the
#: theoretical field is vermillion, images.FIELD_COLOR).
SQUARE_COLOR = (86, 180, 233)
SOURCES = ("samples", "image")
SOURCE_LABELS = {"samples": N_("the four sample photos (averaged)"), "image": N_("one image (the Predictions view's)")}
#: The field table's columns (msgids; the DataFrame gets them translated).
FIELD_COLUMNS = {
    "branch": N_("branch"), "layer": N_("layer"), "what": N_("what"), "output": N_("output"),
    "field": N_("field (px)"), "jump": N_("jump (px)"), "start": N_("start (px)"),
}


# ---------------------------------------------------------------------------------------
# the numbers as text


def _g(v, tr: Translator | None = None) -> str:
    """``v`` as ``f"{v:g}"`` with ``tr``'s decimal mark (``-0,5`` in Spanish)."""
    return fmt_g(v, tr)


def _pair(values, tr: Translator | None = None) -> str:
    """``8`` when both axes agree, ``8, 4`` (H, W) otherwise (Spanish: ``8; 4``, the comma
    being the decimal mark)."""
    a, b = (_g(v, tr) for v in values)
    sep = ", " if tr is None or tr.lang == "en" else "; "
    return a if a == b else f"{a}{sep}{b}"


def _shape(shape) -> str:
    return "x".join(str(v) for v in shape)


def field_table(report: Report, block: str, tr: Translator | None = None) -> pd.DataFrame:
    """The theoretical field of ``block``'s input, of every layer inside it (branch by
    branch, as the counter names them) and of its output (the concat: the largest
    branch). A dropped branch has no row. ``tr``: the language of the words, column names
    and numbers (English)."""
    tr = tr or current()
    rows = [r for r in report.rows if not r.aux]
    i = next(i for i, r in enumerate(rows) if r.name == block)
    row = rows[i]
    before = rows[i - 1].receptive_field if i else ReceptiveField()

    def entry(branch: str, layer: str, what: str, shape, f: ReceptiveField) -> dict:
        values = {"branch": branch, "layer": layer, "what": what, "output": _shape(shape), "field": f.label,
                  "jump": _pair(f.jump, tr), "start": _pair(f.start, tr)}
        return {tr.gettext(FIELD_COLUMNS[k]): v for k, v in values.items()}

    out = [entry(tr.gettext("(input)"), rows[i - 1].name if i else "input",  # i18n: keep (a layer name)
                 tr.gettext("what the block reads"), row.input_shape, before)]
    for key in BRANCH_KEYS:
        br = row.branches[key]
        for part in br.parts:
            out.append(entry(branch_label(key, tr), part.name, f"{part.kind} {part.detail}".strip(), part.output_shape,
                             part.receptive_field))
    out.append(entry("concat", block, tr.gettext("output: the largest branch"), row.output_shape,  # i18n: keep
                     row.receptive_field))
    return pd.DataFrame(out)


def _unit_text(report: Report, layer: str, unit: tuple[int, int], tr: Translator | None = None) -> str:
    """Where unit ``unit`` of ``layer`` looks: field, jump, start, its centre and box."""
    tr = tr or current()
    row = report.row(layer)
    f = row.receptive_field
    h, w = report.spec.input_shape[:2]
    cy, cx = f.centre(*unit)
    box = report.unit_box(layer, *unit)
    if box is None:
        where = tr.gettext("only padding (the unit sees no input pixel)")
    else:
        where = tr.gettext("rows {top}..{bottom}, columns {left}..{right} of the {h}x{w} input").format(
            top=box.top, bottom=box.bottom, left=box.left, right=box.right, h=h, w=w)
    clipped = box is not None and box != f.box(*unit)
    text = tr.gettext("Unit ({row}, {col}) of {layer}'s {map} map: field {field} px, jump {jump} px, start {start} px; "
                      "centred at ({cy}, {cx}); sees {where}")
    text = text.format(row=unit[0], col=unit[1], layer=layer, map=_shape(row.output_shape[:2]), field=f.label,
                       jump=_pair(f.jump, tr), start=_pair(f.start, tr), cy=_g(cy, tr), cx=_g(cx, tr), where=where)
    return text + (tr.gettext(" (clipped at the borders)") if clipped else "") + "."


# ---------------------------------------------------------------------------------------
# the unit picker (Predictions view)


def unit_field_ui(report: Report, layer: str, shown: np.ndarray, channel_image: np.ndarray, caption: str, key: str) -> None:
    """Pick a unit of ``layer``'s map (two sliders, starting at the centre unit) and see
    it outlined on the enlarged channel (``channel_image``, captioned ``caption``) beside
    its theoretical field drawn on ``shown`` (the photo as the network sees it), clipped
    at the borders. ``key``: the sliders' key prefix (tied to the map, so a row valid for
    one map never overflows another)."""
    from inception_viz import images

    tr = current()
    mh, mw = report.row(layer).output_shape[:2]
    cy, cx = report.centre_unit(layer)
    s1, s2 = st.columns(2)
    labels = {"row": _("Unit row (0–{last})"), "column": _("Unit column (0–{last})")}
    unit = [
        int(col.slider(labels[name].format(last=n - 1), 0, n - 1, start, key=f"{key}:{name}", persist_state=PERSIST))
        if n > 1 else 0
        for col, name, n, start in ((s1, "row", mh, cy), (s2, "column", mw, cx))
    ]
    c1, c2 = st.columns(2)
    marked = images.draw_field(channel_image, FieldBox(unit[0], unit[1], unit[0], unit[1]), (mh, mw), dim=0.0)
    c1.image(marked, output_format="PNG", width="stretch",
             caption=caption + _("; the unit ({row}, {col}) outlined").format(row=unit[0], col=unit[1]))
    k = max(1, -(-channel_image.shape[0] // shown.shape[0]))  # as large as the channel, so the outline shows
    field = images.draw_unit_field(shown.repeat(k, axis=0).repeat(k, axis=1), report, layer, *unit)
    c2.image(field, output_format="PNG", width="stretch", caption=_unit_text(report, layer, tuple(unit), tr))


# ---------------------------------------------------------------------------------------
# the view


def render(ctx: ViewContext) -> None:
    spec, report, block = ctx.spec, ctx.report, ctx.focus
    tr = current()
    if block is None:
        st.info(_("The {name} model has no Inception block. Fields per layer: Charts.").format(name=spec.name))
        return
    st.subheader(_("Theoretical field of {block}").format(block=block))
    st.caption(_("Per axis, in input pixels: **field** = the side of the input square one unit sees (borders ignored); "
                 "**jump** = the distance between neighbouring units' fields (the product of the strides); "
                 "**start** = the centre of the top-left unit's field (pixel centres at 0, 1, …; negative with padding). "
                 "Change the block in the sidebar (Block in focus); the growth layer by layer is in Charts."))
    st.dataframe(field_table(report, block, tr), width="stretch", hide_index=True)

    st.subheader(_("Effective field (Luo et al. 2016)"))
    h, w, c = spec.input_shape
    if c not in (1, 3):
        st.info(_("The {name} model takes {h}x{w}x{c} inputs, not images: the effective field needs an image input "
                  "(googlenet, simplified or naive).").format(name=spec.name, h=h, w=w, c=c))
        return
    st.caption(_("Where the gradient of one unit actually lands on the input: |d unit / d pixel| for the centre unit of "
                 "{block} (the sum of its channels), normalised per image. TensorFlow loads (a few seconds) and one "
                 "backward pass runs only when you turn this on.").format(block=block))
    if not st.toggle(_("Compute the effective field"), key="rf-on", persist_state=PERSIST):
        return
    effective_ui(spec, report, block)


def effective_ui(spec, report: Report, block: str) -> None:
    from inception_viz import images, receptive

    tr = current()
    row = report.row(block)
    branches = ["concat", *(k for k in BRANCH_KEYS if not row.branches[k].dropped)]
    c1, c2 = st.columns([3, 2])
    branch = c1.radio(_("Unit of"), branches, horizontal=True, key=f"rf-branch:{block}", persist_state=PERSIST,
                      format_func=lambda k: f"{block} (concat)" if k == "concat"  # i18n: keep (a layer name)
                      else tr.gettext("branch {label}").format(label=branch_label(k, tr)))
    source = c2.radio(_("Averaged over"), SOURCES, horizontal=True, key="rf-source", persist_state=PERSIST,
                      format_func=lambda k: tr.gettext(SOURCE_LABELS[k]))
    layer = block if branch == "concat" else row.branches[branch].parts[-1].name
    field = report.row(layer).receptive_field
    side_max = max(*field.size, *spec.input_shape[:2])
    default = min(side_max, (min(*field.size, *spec.input_shape[:2]) // 2) | 1)
    square = int(st.number_input(_("Side of the central square for the mass share (px)"), 1, side_max, default,
                                 key=f"rf-square:{layer}", persist_state=PERSIST,
                                 help=_("The theoretical field is {field} px: all of the gradient lies inside it").format(
                                     field=field.label)))
    if source == "image":
        name, rgb = image_ui()
        photos = [rgb]
    else:
        name, photos = None, [sample_image(n) for n in images.SAMPLES]
    weights = weights_ui()
    if weights is None:
        return
    try:
        with heavy(N_("effective receptive field")):
            runner = get_runner(spec, weights)
            with st.spinner(_("One backward pass…")):
                ef = receptive.effective_field(runner, photos, block, None if branch == "concat" else branch)
    except SpecError as exc:
        error(exc)
        return
    if not weights.trained:
        st.warning(_("Random weights: the effective field of an untrained network is not the trained one's. Training "
                     "reshapes it (Luo et al. 2016); pick the ImageNet weights to see the trained network's."))
    elif runner.note:
        st.warning(_(runner.note))  # a msgid of inception_viz.weights (N_)
    doc = receptive.field_json(ef, square)
    doc["weights"] = weights.label
    metrics_ui(ef, doc, tr)
    shown = None if name is None else images.resize_to_input(photos[0], (spec.input_shape[0], spec.input_shape[1]),
                                                              runner.preprocessing.resize)
    picture = receptive.field_image(ef, shown)
    picture = images.draw_field(picture, central_square(ef, square), ef.heatmap.shape, color=SQUARE_COLOR, dim=0.0)
    over = (_("over {name}").format(name=name) if name
            else _("averaged over the {n} sample photos").format(n=tr.int(ef.images)))
    st.image(picture, output_format="PNG", width=448,
             caption=_("|gradient| of unit ({row}, {col}) of {layer} ({map} map) {over}, scaled to its maximum (dark: "
                       "none, bright: the most). Vermillion: the theoretical field ({field} px, clipped); blue: the "
                       "central {square} px square.").format(
                 row=ef.unit[0], col=ef.unit[1], layer=ef.layer, map=_shape(ef.map_shape), over=over,
                 field=ef.field.label, square=square))
    if ef.zero_images:
        st.caption(_("{zero} of {n} images sent no gradient to the input (every ReLU on the path off); they are left "
                     "out of the average.").format(zero=tr.int(ef.zero_images), n=tr.int(ef.images)))
    with st.expander(_("The numbers as JSON (what `python -m inception_viz rf … --format json` prints)")):
        st.json(doc)


def central_square(ef, side: int) -> FieldBox | None:
    """The pixels within ``(side-1)/2`` of the field's centre on both axes (what
    ``share_inside(side)`` sums), clipped at the borders."""
    half = (side - 1) / 2
    (cy, cx), (h, w) = ef.centre, ef.heatmap.shape
    box = FieldBox(int(np.ceil(cy - half)), int(np.ceil(cx - half)), int(np.floor(cy + half)), int(np.floor(cx + half)))
    return box.clipped(h, w)


def metrics_ui(ef, doc: dict, tr: Translator | None = None) -> None:
    """The five numbers of ``doc`` (:func:`inception_viz.receptive.field_json`)."""
    tr = tr or current()
    t, e = doc["theoretical"], doc["effective"]
    cols = st.columns(5)
    cols[0].metric(_("Theoretical field"), _("{n} px").format(n=ef.field.label),
                   help=_("jump {jump} px, start {start} px, centred at ({cy}, {cx})").format(
                       jump=_pair(t["jump"], tr), start=_pair(t["start"], tr), cy=_g(t["centre"][0], tr),
                       cx=_g(t["centre"][1], tr)))
    for col, q in ((cols[1], 50), (cols[2], 90)):
        r = e[f"radius_{q}"]
        col.metric(_("{q} % radius").format(q=q), _("no gradient") if r is None else _("{n} px").format(n=_g(r, tr)),
                   help=_("No gradient reached the input") if r is None else
                   _("{q} % of the gradient mass lies within {r} px of the centre on both axes: a {side} px square").format(
                       q=q, r=_g(r, tr), side=_g(2 * r + 1, tr)))
    cols[3].metric(_("Inside {n} px square").format(n=e["square"]), tr.percent(e["share_inside_square"], 1),
                   help=_("Share of the gradient mass in the central {n} px square (blue)").format(n=e["square"]))
    cols[4].metric(_("Inside the field"), tr.percent(e["share_inside_theoretical"], 1),
                   help=_("Share of the gradient mass inside the theoretical field (vermillion): all of it, up to rounding"))
