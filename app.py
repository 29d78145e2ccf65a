"""Inception Explorer: take Inception V1 (GoogLeNet) apart live in front of a class.

    streamlit run app.py

This file only wires: page setup, the session's state and the URL, the sidebar, the
headline, and the dispatch to the open view. Each view is one module of
``inception_viz.views`` (registry: ``views.VIEWS``) with one entry point ``render(ctx)``.

The current spec lives in ``st.session_state["spec"]`` and in the URL (``st.query_params``,
plus ``&view=<key>`` for the open view); every widget starts from the spec, and widget keys
carry the preset and a generation number that changes whenever the spec changes, so a
preset switch, an upload or a restored URL never leaves a stale widget value behind. An
edit is accepted only if the analytic counter accepts the new spec; otherwise ``st.error``
says what is wrong and the last good model stays on screen.

Who is watching matters (``inception_viz.trust``): in shared mode, and in local mode for any
browser not on the server's machine, no view shows a server path, and an unexpected exception
shows only its type (``ServerError``), never a traceback.

Only the open view runs (lazy tabs): a hidden view costs nothing and sends nothing.
Nothing on the first page imports TensorFlow; "Instantiate" and "Predictions" load it on
demand.
"""

from __future__ import annotations

import traceback

import streamlit as st

from inception_viz import config, counter, presets, trust
from inception_viz.counter import fmt_int
from inception_viz.graph import shape_str
from inception_viz.presets import PRESET_NAMES
from inception_viz.spec import LRN, Dense, SpecError
from inception_viz.views import VIEWS, View, ViewContext, view_by_key
from inception_viz.views.common import MAX_UPLOAD_BYTES, accept, current_spec, error, uploaded_config, visitor_trusted, wkey

#: The view tabs' widget key; its session-state value is the open tab's label.
VIEW_KEY = "view"


# ---------------------------------------------------------------------------------------
# state and URL


def init_state() -> None:
    """Once per session: the spec and the open view from the URL (a bad model: the preset
    it names, with an error; a bad view: the default view, silently)."""
    if VIEW_KEY not in st.session_state:
        st.session_state[VIEW_KEY] = view_by_key(st.query_params.get(VIEW_KEY)).label
    if "spec" in st.session_state:
        return
    error = None
    try:
        spec = config.spec_from_query(st.query_params.to_dict())
    except SpecError as exc:
        name = st.query_params.get("preset", "googlenet")
        name = name if name in PRESET_NAMES else "googlenet"
        spec = presets.preset(name)
        error = f"The address does not describe a valid model: {exc}. Showing the {name} preset instead."
    st.session_state.spec = spec
    st.session_state.gen = 0
    st.session_state.error = error


def sync_url(spec, view: View) -> None:
    query = {**config.spec_to_query(spec), VIEW_KEY: view.key}
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)


# -- callbacks (run before the script, so the page always draws the accepted spec) ------


def _on_preset(key: str) -> None:
    accept(presets.preset(st.session_state[key]))


def _on_reset() -> None:
    accept(presets.preset("googlenet"))


def _on_options(keys: dict[str, str]) -> None:
    spec = current_spec()
    v = {name: st.session_state.get(key) for name, key in keys.items()}
    for name in ("height", "width", "channels"):
        if v[name] is None:
            st.session_state.error = f"input {name} needs a number"
            return
    changes = dict(
        input_shape=(int(v["height"]), int(v["width"]), int(v["channels"])),
        lrn=bool(v["lrn"]),
        aux=bool(v["aux"]),
    )
    if "classes" in v and v["classes"] is not None:
        changes["classes"] = int(v["classes"])
    accept(spec.with_options(**changes))


def _on_upload(key: str) -> None:
    upload = st.session_state.get(key)
    if upload is None:
        return
    try:
        spec = uploaded_config(upload)
    except SpecError as exc:
        st.session_state.error = f"{upload.name}: {exc}"
        return
    accept(spec)


# ---------------------------------------------------------------------------------------
# sidebar and headline


def sidebar_ui(spec) -> str | None:
    """Preset, input, options, reset, config upload/download. Returns the block in focus."""
    sb = st.sidebar
    sb.title("Inception Explorer")
    key = wkey("preset")
    sb.selectbox(
        "Preset",
        PRESET_NAMES,
        index=PRESET_NAMES.index(spec.preset),
        key=key,
        on_change=_on_preset,
        args=(key,),
        help="googlenet: the paper · simplified: the lecture's InceptionV1 · block: the lecture's one-block demo · naive: every block in Figure 2(a) form",
    )
    sb.button("Reset to the paper's GoogLeNet", on_click=_on_reset, width="stretch")

    sb.subheader("Input and options")
    has_classes = any(isinstance(l, Dense) and l.units is None for l in spec.layers) or bool(spec.aux_heads)
    keys = {n: wkey(f"opt-{n}") for n in ("height", "width", "channels", "classes", "lrn", "aux")}
    if not has_classes:
        keys.pop("classes")
    c1, c2, c3 = sb.columns(3)
    h, w, c = spec.input_shape
    c1.number_input("Height", 1, 4096, h, 1, key=keys["height"], on_change=_on_options, args=(keys,))
    c2.number_input("Width", 1, 4096, w, 1, key=keys["width"], on_change=_on_options, args=(keys,))
    c3.number_input("Channels", 1, 64, c, 1, key=keys["channels"], on_change=_on_options, args=(keys,))
    if has_classes:
        sb.number_input("Classes", 1, 100_000, spec.classes, 1, key=keys["classes"], on_change=_on_options, args=(keys,))
    has_lrn = any(isinstance(l, LRN) for l in spec.layers)
    sb.checkbox("LRN layers", spec.lrn, key=keys["lrn"], on_change=_on_options, args=(keys,), disabled=not has_lrn,
                help="Local response normalisation after conv1/pool1 and conv2 (Caffe semantics)" if has_lrn else "this preset has no LRN layers")
    sb.checkbox("Auxiliary classifiers", spec.aux, key=keys["aux"], on_change=_on_options, args=(keys,), disabled=not spec.aux_heads,
                help="The paper's two training-only side heads on 4a and 4d" if spec.aux_heads else "this preset has no auxiliary heads")

    focus = None
    if spec.blocks:
        focus = sb.selectbox("Block in focus", spec.block_names, key=f"focus@{spec.preset}",
                             help="The block the editor, the block graph and the seed comparison show")

    sb.subheader("Share")
    sb.caption("The address bar holds the whole model: copy it to share this exact configuration.")
    sb.download_button("Download config JSON", config.dumps_config(spec), file_name=f"{spec.name}.json",
                       mime="application/json", width="stretch")
    up = wkey("upload")
    sb.file_uploader("Load a config JSON", type=["json"], key=up, on_change=_on_upload, args=(up,),
                     max_upload_size=1, help=f"at most {MAX_UPLOAD_BYTES // 1024} KiB")
    return focus


def headline_ui(spec, report, base) -> None:
    st.title(f"Inception Explorer · {spec.name}")
    if spec.description:
        st.caption(spec.description)
    if st.session_state.error:
        error(st.session_state.error)

    def delta(a: int, b: int) -> str | None:
        return None if a == b else f"{a - b:+,} vs preset"

    cols = st.columns(4)
    cols[0].metric("Parameters (weights + biases)", fmt_int(report.total_params), delta(report.total_params, base.total_params), delta_color="off")
    cols[1].metric("Multiply-adds (MACs) per image", fmt_int(report.total_macs), delta(report.total_macs, base.total_macs), delta_color="off")
    cols[2].metric("Depth (layers with weights)", f"{report.depth} layers", delta(report.depth, base.depth), delta_color="off")
    out_delta = None if report.output_shape == base.output_shape else f"preset: {shape_str(base.output_shape)}"
    cols[3].metric("Output size", shape_str(report.output_shape), out_delta, delta_color="off")


# ---------------------------------------------------------------------------------------


def open_view(ctx: ViewContext) -> None:
    """The view tabs; only the open one runs (``on_change="rerun"``: a click on a tab reruns
    the script, and ``.open`` says which tab is showing)."""
    tabs = st.tabs([v.label for v in VIEWS], key=VIEW_KEY, on_change="rerun")
    view, tab = next(((v, t) for v, t in zip(VIEWS, tabs) if t.open), (VIEWS[0], tabs[0]))
    sync_url(ctx.spec, view)
    with tab:
        view.module.render(ctx)


class ServerError(Exception):
    """What an untrusted visitor sees of an unexpected exception: its type, no traceback."""


def page() -> None:
    init_state()
    spec = current_spec()
    report = counter.analyze(spec)
    base = counter.analyze(presets.preset(spec.preset))
    focus = sidebar_ui(spec)
    headline_ui(spec, report, base)
    open_view(ViewContext(spec, report, base, focus))


def main() -> None:
    st.set_page_config(page_title="Inception Explorer", page_icon="🧩", layout="wide")
    # Streamlit's own handler (a widget callback, anything outside page()) is process-wide and
    # cannot ask who is watching: it shows no traceback. page()'s handler below decides per
    # visitor (inception_viz.trust): the lecturer's own browser gets the traceback.
    if st.get_option("client.showErrorDetails") != "none":
        st.set_option("client.showErrorDetails", "none")
    try:
        page()
    except Exception as exc:  # noqa: BLE001 - an untrusted visitor sees no traceback (paths, account)
        traceback.print_exc()  # for the lecturer's terminal
        if visitor_trusted():
            st.exception(exc)
        else:  # never raised: no traceback, no chained cause; tests still see an exception element
            st.exception(ServerError(f"Something went wrong on the server ({type(exc).__name__}); the lecturer's "
                                     "terminal has the details. Your model is kept: reload the page to continue."))


if __name__ == "__main__":  # streamlit runs the script as __main__; tests import its helpers
    main()
