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
from ..graph import BRANCH_LABELS
from ..spec import BRANCH_KEYS, SpecError
from .common import PERSIST, error, get_runner, heavy, sample_image
from .context import ViewContext
from .predictions import image_ui, weights_ui

#: Outline of the central square the mass share is measured in (Okabe-Ito sky blue; the
#: theoretical field is vermillion, images.FIELD_COLOR).
SQUARE_COLOR = (86, 180, 233)
SOURCES = ("samples", "image")
SOURCE_LABELS = {"samples": "the four sample photos (averaged)", "image": "one image (the Predictions view's)"}


# ---------------------------------------------------------------------------------------
# the numbers as text


def _pair(values) -> str:
    """``8`` when both axes agree, ``8, 4`` (H, W) otherwise."""
    a, b = (f"{v:g}" for v in values)
    return a if a == b else f"{a}, {b}"


def _shape(shape) -> str:
    return "x".join(str(v) for v in shape)


def field_table(report: Report, block: str) -> pd.DataFrame:
    """The theoretical field of ``block``'s input, of every layer inside it (branch by
    branch, as the counter names them) and of its output (the concat: the largest
    branch). A dropped branch has no row."""
    rows = [r for r in report.rows if not r.aux]
    i = next(i for i, r in enumerate(rows) if r.name == block)
    row = rows[i]
    before = rows[i - 1].receptive_field if i else ReceptiveField()

    def entry(branch: str, layer: str, what: str, shape, f: ReceptiveField) -> dict:
        return {"branch": branch, "layer": layer, "what": what, "output": _shape(shape), "field (px)": f.label,
                "jump (px)": _pair(f.jump), "start (px)": _pair(f.start)}

    out = [entry("(input)", rows[i - 1].name if i else "input", "what the block reads",
                 row.input_shape, before)]
    for key in BRANCH_KEYS:
        br = row.branches[key]
        for part in br.parts:
            out.append(entry(BRANCH_LABELS[key], part.name, f"{part.kind} {part.detail}".strip(), part.output_shape,
                             part.receptive_field))
    out.append(entry("concat", block, "output: the largest branch", row.output_shape, row.receptive_field))
    return pd.DataFrame(out)


def _unit_text(report: Report, layer: str, unit: tuple[int, int]) -> str:
    """Where unit ``unit`` of ``layer`` looks: field, jump, start, its centre and box."""
    row = report.row(layer)
    f = row.receptive_field
    h, w = report.spec.input_shape[:2]
    cy, cx = f.centre(*unit)
    box = report.unit_box(layer, *unit)
    where = ("only padding (the unit sees no input pixel)" if box is None
             else f"rows {box.top}..{box.bottom}, columns {box.left}..{box.right} of the {h}x{w} input")
    clipped = box is not None and box != f.box(*unit)
    return (f"Unit ({unit[0]}, {unit[1]}) of {layer}'s {_shape(row.output_shape[:2])} map: field {f.label} px, "
            f"jump {_pair(f.jump)} px, start {_pair(f.start)} px; centred at ({cy:g}, {cx:g}); sees {where}"
            + (" (clipped at the borders)" if clipped else "") + ".")


# ---------------------------------------------------------------------------------------
# the unit picker (Predictions view)


def unit_field_ui(report: Report, layer: str, shown: np.ndarray, channel_image: np.ndarray, caption: str, key: str) -> None:
    """Pick a unit of ``layer``'s map (two sliders, starting at the centre unit) and see
    it outlined on the enlarged channel (``channel_image``, captioned ``caption``) beside
    its theoretical field drawn on ``shown`` (the photo as the network sees it), clipped
    at the borders. ``key``: the sliders' key prefix (tied to the map, so a row valid for
    one map never overflows another)."""
    from inception_viz import images

    mh, mw = report.row(layer).output_shape[:2]
    cy, cx = report.centre_unit(layer)
    s1, s2 = st.columns(2)
    unit = [
        int(col.slider(f"Unit {name} (0–{n - 1})", 0, n - 1, start, key=f"{key}:{name}", persist_state=PERSIST))
        if n > 1 else 0
        for col, name, n, start in ((s1, "row", mh, cy), (s2, "column", mw, cx))
    ]
    c1, c2 = st.columns(2)
    marked = images.draw_field(channel_image, FieldBox(unit[0], unit[1], unit[0], unit[1]), (mh, mw), dim=0.0)
    c1.image(marked, output_format="PNG", width="stretch", caption=caption + f"; the unit ({unit[0]}, {unit[1]}) outlined")
    k = max(1, -(-channel_image.shape[0] // shown.shape[0]))  # as large as the channel, so the outline shows
    field = images.draw_unit_field(shown.repeat(k, axis=0).repeat(k, axis=1), report, layer, *unit)
    c2.image(field, output_format="PNG", width="stretch", caption=_unit_text(report, layer, tuple(unit)))


# ---------------------------------------------------------------------------------------
# the view


def render(ctx: ViewContext) -> None:
    spec, report, block = ctx.spec, ctx.report, ctx.focus
    if block is None:
        st.info(f"The {spec.name} model has no Inception block. Fields per layer: Charts.")
        return
    st.subheader(f"Theoretical field of {block}")
    st.caption("Per axis, in input pixels: **field** = the side of the input square one unit sees (borders ignored); "
               "**jump** = the distance between neighbouring units' fields (the product of the strides); "
               "**start** = the centre of the top-left unit's field (pixel centres at 0, 1, …; negative with padding). "
               "Change the block in the sidebar (Block in focus); the growth layer by layer is in Charts.")
    st.dataframe(field_table(report, block), width="stretch", hide_index=True)

    st.subheader("Effective field (Luo et al. 2016)")
    h, w, c = spec.input_shape
    if c not in (1, 3):
        st.info(f"The {spec.name} model takes {h}x{w}x{c} inputs, not images: the effective field needs an image input "
                "(googlenet, simplified or naive).")
        return
    st.caption("Where the gradient of one unit actually lands on the input: |d unit / d pixel| for the centre unit of "
               f"{block} (the sum of its channels), normalised per image. TensorFlow loads (a few seconds) and one "
               "backward pass runs only when you turn this on.")
    if not st.toggle("Compute the effective field", key="rf-on", persist_state=PERSIST):
        return
    effective_ui(spec, report, block)


def effective_ui(spec, report: Report, block: str) -> None:
    from inception_viz import images, receptive

    row = report.row(block)
    branches = ["concat", *(k for k in BRANCH_KEYS if not row.branches[k].dropped)]
    c1, c2 = st.columns([3, 2])
    branch = c1.radio("Unit of", branches, horizontal=True, key=f"rf-branch:{block}", persist_state=PERSIST,
                      format_func=lambda k: f"{block} (concat)" if k == "concat" else f"branch {BRANCH_LABELS[k]}")
    source = c2.radio("Averaged over", SOURCES, horizontal=True, key="rf-source", persist_state=PERSIST,
                      format_func=SOURCE_LABELS.get)
    layer = block if branch == "concat" else row.branches[branch].parts[-1].name
    field = report.row(layer).receptive_field
    side_max = max(*field.size, *spec.input_shape[:2])
    default = min(side_max, (min(*field.size, *spec.input_shape[:2]) // 2) | 1)
    square = int(st.number_input("Side of the central square for the mass share (px)", 1, side_max, default,
                                 key=f"rf-square:{layer}", persist_state=PERSIST,
                                 help=f"The theoretical field is {field.label} px: all of the gradient lies inside it"))
    if source == "image":
        name, rgb = image_ui()
        photos = [rgb]
    else:
        name, photos = None, [sample_image(n) for n in images.SAMPLES]
    weights = weights_ui()
    if weights is None:
        return
    try:
        with heavy("effective receptive field"):
            runner = get_runner(spec, weights)
            with st.spinner("One backward pass…"):
                ef = receptive.effective_field(runner, photos, block, None if branch == "concat" else branch)
    except SpecError as exc:
        error(exc)
        return
    if not weights.trained:
        st.warning("Random weights: the effective field of an untrained network is not the trained one's. Training "
                   "reshapes it (Luo et al. 2016); pick the ImageNet weights to see the trained network's.")
    elif runner.note:
        st.warning(runner.note)
    doc = receptive.field_json(ef, square)
    doc["weights"] = weights.label
    metrics_ui(ef, doc)
    shown = None if name is None else images.resize_to_input(photos[0], (spec.input_shape[0], spec.input_shape[1]),
                                                              runner.preprocessing.resize)
    picture = receptive.field_image(ef, shown)
    picture = images.draw_field(picture, central_square(ef, square), ef.heatmap.shape, color=SQUARE_COLOR, dim=0.0)
    over = f"over {name}" if name else f"averaged over the {ef.images} sample photos"
    st.image(picture, output_format="PNG", width=448,
             caption=f"|gradient| of unit ({ef.unit[0]}, {ef.unit[1]}) of {ef.layer} ({_shape(ef.map_shape)} map) {over}, "
                     f"scaled to its maximum (dark: none, bright: the most). Vermillion: the theoretical field "
                     f"({ef.field.label} px, clipped); blue: the central {square} px square.")
    if ef.zero_images:
        st.caption(f"{ef.zero_images} of {ef.images} images sent no gradient to the input (every ReLU on the path off); "
                   "they are left out of the average.")
    with st.expander("The numbers as JSON (what `python -m inception_viz rf … --format json` prints)"):
        st.json(doc)


def central_square(ef, side: int) -> FieldBox | None:
    """The pixels within ``(side-1)/2`` of the field's centre on both axes (what
    ``share_inside(side)`` sums), clipped at the borders."""
    half = (side - 1) / 2
    (cy, cx), (h, w) = ef.centre, ef.heatmap.shape
    box = FieldBox(int(np.ceil(cy - half)), int(np.ceil(cx - half)), int(np.floor(cy + half)), int(np.floor(cx + half)))
    return box.clipped(h, w)


def metrics_ui(ef, doc: dict) -> None:
    """The five numbers of ``doc`` (:func:`inception_viz.receptive.field_json`)."""
    t, e = doc["theoretical"], doc["effective"]
    cols = st.columns(5)
    cols[0].metric("Theoretical field", f"{ef.field.label} px",
                   help=f"jump {_pair(t['jump'])} px, start {_pair(t['start'])} px, centred at "
                        f"({t['centre'][0]:g}, {t['centre'][1]:g})")
    for col, q in ((cols[1], 50), (cols[2], 90)):
        r = e[f"radius_{q}"]
        col.metric(f"{q} % radius", "no gradient" if r is None else f"{r:g} px",
                   help="No gradient reached the input" if r is None else
                   f"{q} % of the gradient mass lies within {r:g} px of the centre on both axes: a {2 * r + 1:g} px square")
    cols[3].metric(f"Inside {e['square']} px square", f"{e['share_inside_square']:.1%}",
                   help=f"Share of the gradient mass in the central {e['square']} px square (blue)")
    cols[4].metric("Inside the field", f"{e['share_inside_theoretical']:.1%}",
                   help="Share of the gradient mass inside the theoretical field (vermillion): all of it, up to rounding")
