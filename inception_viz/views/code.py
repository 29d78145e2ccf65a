"""Code: Keras code for the current model in the notes' ``inception(...)`` style."""

from __future__ import annotations

import streamlit as st

from .. import exports
from ..i18n import _
from .common import export_button
from .context import ViewContext


def render(ctx: ViewContext) -> None:
    spec = ctx.spec
    data = exports.keras_code(spec)  # the bytes `export --format py` writes
    code = data.decode("utf-8")
    st.caption(_("Plain Keras 3, in the style of the lecture's inception(...) helper; paste it into a notebook. "
                 "It builds the same network as the app (same parameters, same shapes)."))
    export_button(_("Download as .py"), "py", spec, data)
    st.code(code, language="python")  # the generated code keeps English identifiers and comments (issue 15)
