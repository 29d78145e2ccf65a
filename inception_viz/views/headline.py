"""Above every view: the model's name and description (full runs), and the headline (the last
error or notice, the four totals against the preset, the config download), which
``app.view_area`` draws with the open view, so an edit redraws it with the view."""

from __future__ import annotations

import math

import streamlit as st

from .. import exports, i18n
from ..graph import shape_str
from .common import error, export_button


def title(spec) -> None:
    """The model's name and description (full runs only: an edit keeps both)."""
    st.title(f"Inception Explorer · {spec.name}")  # i18n: keep (the product's and the model's names)
    if spec.description:
        st.caption(i18n.current().gettext(spec.description))  # preset descriptions are msgids (presets.py)


def render(spec, report, base) -> None:
    """The last error or notice, the four totals against the preset, the config download."""
    tr = i18n.current()
    if st.session_state.error:
        error(st.session_state.error)
    notice = st.session_state.pop("notice", None)  # once, on the run after the upload
    if notice:
        st.success(notice)

    def delta(a: int, b: int) -> str | None:
        return None if a == b else tr.gettext("{delta} vs preset").format(delta=tr.signed_int(a - b))

    row = st.container(horizontal=True)  # one element holding the four, not 4 columns
    row.metric(tr.gettext("Parameters (weights + biases)"), tr.int(report.total_params), delta(report.total_params, base.total_params), delta_color="off")
    row.metric(tr.gettext("Multiply-adds (MACs) per image"), tr.int(report.total_macs), delta(report.total_macs, base.total_macs), delta_color="off")
    depth = tr.ngettext("{n} layer", "{n} layers", report.depth).format(n=tr.int(report.depth))
    row.metric(tr.gettext("Depth (layers with weights)"), depth, delta(report.depth, base.depth), delta_color="off")
    out_delta, arrow = output_delta(report.output_shape, base.output_shape)
    row.metric(tr.gettext("Output size"), shape_str(report.output_shape), out_delta, delta_color="off", delta_arrow=arrow,
               help=tr.gettext("height × width × channels, as every size in the app"))
    # made on the click: an edit's run sends no new file (the bytes are the same either way)
    export_button(tr.gettext("Download config JSON"), "json", spec, lambda: exports.config_json(spec), where=row,
                  help=tr.gettext("This model as a file; “Load a config JSON” in the sidebar opens it again"))


def output_delta(shape, preset_shape) -> tuple[str | None, str]:
    """The output-size metric's delta text and arrow: the preset's shape, with the arrow
    pointing the way the number of output values went (a text delta would always get
    "up"); no arrow when the count is the same."""
    if tuple(shape) == tuple(preset_shape):
        return None, "off"
    n, n0 = math.prod(shape), math.prod(preset_shape)
    text = i18n.current().gettext("preset: {shape}").format(shape=shape_str(preset_shape))
    return text, "up" if n > n0 else ("down" if n < n0 else "off")
