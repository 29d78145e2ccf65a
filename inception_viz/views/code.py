"""Code: Keras code for the current model in the notes' ``inception(...)`` style."""

from __future__ import annotations

import streamlit as st

from .. import codegen, exports
from ..i18n import N_, _, current
from .common import export_button
from .context import ViewContext

STYLE = N_("Plain Keras 3, in the style of the lecture's inception(...) helper; paste it into a notebook.")


def caption(ctx: ViewContext) -> str:
    """What the code builds, derived from numbers: the parameters of what the code
    contains (``codegen.code_params``, counted by the analytic counter) against the
    header's total. The same network is claimed only when they are equal; otherwise the
    caption says by how much and, where the auxiliary heads account for it, why. Whole
    sentences, each one msgid, in the page's language."""
    tr = current()
    code, header = codegen.code_params(ctx.spec), ctx.report.total_params
    if code == header:
        return _(STYLE) + " " + _("It builds the same network as the app: {n} parameters, the same shapes.").format(n=tr.int(code))
    aux = sum(r.params for r in ctx.report.rows if r.aux)
    why = (" " + _("The difference is the auxiliary classifiers (training only), which the code leaves out.")
           if header - code == aux else "")
    return _(STYLE) + " " + _("It builds {n} parameters, not the header's {header} ({delta}).").format(
        n=tr.int(code), header=tr.int(header), delta=tr.signed_int(code - header)) + why


def render(ctx: ViewContext) -> None:
    spec = ctx.spec
    data = exports.keras_code(spec)  # the bytes `export --format py` writes
    code = data.decode("utf-8")
    st.caption(caption(ctx))
    export_button(_("Download as .py"), "py", spec, data)
    st.code(code, language="python")  # the generated code keeps English identifiers and comments (issue 15)
