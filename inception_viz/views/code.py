"""Code: Keras code for the current model in the notes' ``inception(...)`` style."""

from __future__ import annotations

import streamlit as st

from .. import codegen
from .context import ViewContext


def render(ctx: ViewContext) -> None:
    spec = ctx.spec
    code = codegen.keras_code(spec)
    st.caption("Plain Keras 3, in the style of the lecture's inception(...) helper; paste it into a notebook. "
               "It builds the same network as the app (same parameters, same shapes).")
    st.download_button("Download as .py", code, file_name=f"{spec.name}.py", mime="text/x-python")
    st.code(code, language="python")
