"""What several views (and the sidebar) share: the accepted spec in session state, widget
keys tied to it, the Plotly and Graphviz helpers, config uploads, and the caches of
rendered graphs, built models, weights, runners and images.

TensorFlow is imported only inside the cached builders, when a view asks for a model.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from contextlib import contextmanager

import streamlit as st

from .. import config, counter, exports, graph, i18n, limits, trust
from ..i18n import _, current, ngettext
from ..spec import SpecError

# Streamlit checks each @st.cache_data below when this module is imported. Imported before its
# runtime exists (``streamlit run app.py`` imports app.py to find its st.App before the runtime
# starts; tests), it logs "No runtime found, using MemoryCacheStorageManager" once per
# decorator. The caches themselves are made in the runtime at their first call, so that one
# line is dropped from the lecturer's terminal; every other warning of that logger stays.
logging.getLogger("streamlit.runtime.caching.cache_data_api").addFilter(
    lambda record: "No runtime found" not in record.getMessage())

#: Built Keras models kept in memory at once, Instantiate's and Predictions' together: one
#: process-wide registry (:class:`inception_viz.limits.LiveModels`, also under a memory budget).
MODEL_CACHE_ENTRIES = limits.MAX_LIVE_MODELS
#: Config uploads larger than this are refused (also capped by .streamlit/config.toml).
MAX_UPLOAD_BYTES = config.MAX_CONFIG_BYTES
#: Widgets of a view keep their value while another view is open (lazy tabs do not draw
#: hidden views, and Streamlit forgets a widget that is not drawn otherwise).
PERSIST = "session"
#: The page's language: its session-state key, the sidebar selector's key and the URL
#: parameter (``?lang=es``).
LANG_KEY = "lang"
#: st.graphviz_chart forces every SVG text to one small size (about 10 px), which a
#: projector cannot show; give the labels back the sizes the DOT asks for.
GRAPH_CSS = "<style>" + "".join(
    f'[data-testid="stGraphVizChart"] svg text[font-size="{size}.00"] {{ font-size: {size}px !important; }}'
    for size in graph.FONT_SIZES
) + "</style>"


# ---------------------------------------------------------------------------------------
# the spec, its generation, the last error (initialised by app.py)


def current_spec():
    return st.session_state.spec


def wkey(name: str) -> str:
    """A widget key tied to the current preset and spec generation."""
    return f"{name}@{current_spec().preset}#{st.session_state.gen}"


def skey(name: str) -> str:
    """A widget key tied to the current preset only: the widget stays the same element in
    the browser across edits (no remount, the caret stays in a width box after Enter). Its
    value follows the spec through :func:`synced`, not through ``value=``."""
    return f"{name}@{current_spec().preset}"


def synced(key: str, value, shown: bool = False):
    """Make the widget ``key`` show ``value`` (the spec's) on this run, before the widget
    is drawn without a ``value=`` argument: an accepted edit shows what was typed, a refused
    one the last good value, an edit made elsewhere (the table, an upload) the new value.

    Assigned on every run, also when session state already holds it: only an assignment
    sends the value with the widget, and a widget the browser draws anew (its view was
    closed and opened again) would otherwise start from its default (0 for a width box),
    and send that back with the next edit. Except when ``shown``: the run was started by
    one of the widgets drawn beside this one (:data:`IN_PLACE`), so the browser shows this
    widget already; then an unchanged value is not sent again (each value sent makes the
    browser redraw that widget on the edit's critical path).
    """
    if not (shown and key in st.session_state and st.session_state[key] == value):
        st.session_state[key] = value
    return key


#: Session-state key a callback of the focus block's own widgets (a width box, the form
#: switch) sets to that block's name: the run it starts redraws widgets the browser already
#: shows (:func:`synced`). ``app.view_area`` takes it off at the start of every run that
#: draws a view (``ViewContext.in_place``), so it never outlives the run it was set for.
IN_PLACE = "in-place-edit"


#: The page's fragments (``app.py``): the main area (the view switcher) and, inside it, the
#: open view with the headline. ``st.rerun(key)`` from a widget callback reruns only that one.
MAIN, VIEW = "main", "view"


def yield_to_visitor() -> None:
    """A yield point for long work in a view: when the visitor has clicked or typed since
    this run started, end the run here and run that interaction, as Streamlit does by itself
    at any ``st.*`` call of a whole-page run. In a fragment's run this asks for a rerun of
    the fragment (``st.rerun(scope="fragment")``), which Streamlit merges with the waiting
    request (its widget states, its fragments) and starts at once (``st.stop`` would drop
    the waiting request).

    The views run inside fragments (``app.view_area``), and Streamlit lets a fragment's run
    finish when the interaction comes from a fragment's widget (so that nothing outside the
    fragment is cut short): without this, Stop could not end a feature visualisation and a
    click on another view would wait for a queued prediction. Streamlit has no public way to
    ask whether a request is waiting; this reads the session's script-request state
    (Streamlit is pinned in requirements; if that state is not there, nothing is ended)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    try:
        from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType

        ctx = get_script_run_ctx()
        pending = ctx is not None and getattr(ctx.script_requests, "_state", None) == ScriptRequestType.RERUN
    except ImportError:
        pending = False
    if pending and ctx.fragment_ids_this_run:  # a whole-page run ends at its next st.* call by itself
        st.rerun(scope="fragment")


def folded_section(where, label: str, key: str):
    """A folded section (``st.expander``) that draws its content only while open: a click
    on it reruns (``on_change="rerun"``), and the caller draws into it only when ``.open``.

    It stays as the visitor left it. Streamlit makes a new element when an expander's label
    changes (a language switch; the input size in the sidebar's label), and a new element
    would start folded: so an open section's state is assigned again before it is drawn."""
    if st.session_state.get(key):
        st.session_state[key] = True
    return where.expander(label, key=key, on_change="rerun")


def fragment_run() -> bool:
    """Whether this run reruns fragments only (an edit or a click in a view, a view
    switch), not the whole page."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def rerun_here() -> None:
    """From a script body: rerun what is running, the open view's fragment on a fragment
    run, the page otherwise (``st.rerun(scope="fragment")`` is refused during a full run)."""
    st.rerun(scope="fragment" if fragment_run() else "app")


def accept(candidate) -> bool:
    """Make ``candidate`` the current spec if the counter accepts it; otherwise remember
    the error and keep the last good spec."""
    try:
        counter.analyze(candidate)
    except SpecError as exc:
        st.session_state.error = str(exc)
        return False
    st.session_state.spec = candidate
    st.session_state.gen += 1
    st.session_state.error = None
    return True


def localized(callback):
    """``callback`` run in the session's language. Streamlit calls widget callbacks before
    the script body (where ``app.py`` calls ``i18n.use``), so a callback that writes text a
    person reads (an error) is decorated with this."""

    @functools.wraps(callback)
    def run(*args, **kwargs):
        i18n.use(st.session_state.get(LANG_KEY))
        return callback(*args, **kwargs)

    return run


def fmt_g(value, tr=None, spec: str = "g") -> str:
    """``format(value, spec)`` (a ``g``-style number: ``0.0123``, ``-0.5``) with ``tr``'s
    decimal mark; English (``tr`` None or English) is exactly ``format(value, spec)``."""
    from babel.numbers import get_decimal_symbol

    s = format(value, spec)
    return s if tr is None or tr.lang == "en" else s.replace(".", get_decimal_symbol(tr.locale))


def uploaded_config(upload):
    """The spec of an uploaded config JSON; the size is checked before the bytes are read.
    The caller puts the file's name in front of the error."""
    if upload.size > MAX_UPLOAD_BYTES:
        tr = current()
        raise SpecError(_("{size} bytes; a config is at most {limit}").format(size=tr.int(upload.size),
                                                                            limit=tr.int(MAX_UPLOAD_BYTES)))
    return config.loads_config(upload.getvalue())


# ---------------------------------------------------------------------------------------
# the visitor: trusted or not (inception_viz.trust), errors, heavy requests


def visitor_trusted() -> bool:
    """Whether the visitor of this script run may name and see server paths."""
    return trust.trusted()


def error(text) -> None:
    """``st.error`` for a message built from an exception: for an untrusted visitor any
    server path, folder or account name in it is replaced (a second line of defence; the
    messages are written without them)."""
    text = str(text)
    st.error(text if visitor_trusted() else trust.redact(text, trust.server_secrets()))


#: A wait interrupted by the visitor's next click keeps its place in the queue this long.
REJOIN_S = 30.0
_SEQ_KEY = "heavy-seq"


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else f"thread-{threading.get_ident()}"


@contextmanager
def heavy(kind: str):
    """Run the block as one heavy request (``kind``: a msgid, ``N_("build")``,
    ``N_("prediction")``, …, shown translated) of
    :data:`inception_viz.heavy.GATE`: first come, first served with the other sessions,
    one at a time per session, the queue position on the page while it waits. Nested
    sections of the same run count once."""
    from ..heavy import GATE, Busy

    sid = _session_id()
    held = GATE.holder(sid)
    if held is not None and held.running and held.thread == threading.get_ident():
        yield
        return
    note = st.empty()
    saved = st.session_state.get(_SEQ_KEY)
    seq = saved[0] if saved and time.monotonic() - saved[1] < REJOIN_S else None
    while True:
        try:
            ticket = GATE.join(sid, kind, seq)
            break
        except Busy as busy:
            note.warning(_("Your {running} is still running: one heavy request at a time per visitor. This {kind} "
                           "starts when it has finished.").format(running=_(busy.kind), kind=_(kind)))
            yield_to_visitor()
            time.sleep(0.5)
    st.session_state[_SEQ_KEY] = (ticket.seq, time.monotonic())
    started = False
    try:
        while not (started := GATE.wait(ticket, timeout=0.5)):
            yield_to_visitor()  # a click elsewhere ends the wait (the place is kept REJOIN_S)
            n = GATE.ahead(ticket)
            note.info(ngettext("Waiting for {n} other heavy request (model builds, predictions, Grad-CAM) to finish: "
                               "your {kind} is number {place} in the queue.",
                               "Waiting for {n} other heavy requests (model builds, predictions, Grad-CAM) to finish: "
                               "your {kind} is number {place} in the queue.", n).format(
                                   n=current().int(n), kind=_(kind), place=current().int(n + 1)))
        note.empty()
        yield
    finally:
        GATE.leave(ticket)
        if started:  # done (or failed while running): the next request queues afresh
            st.session_state.pop(_SEQ_KEY, None)


# ---------------------------------------------------------------------------------------
# drawing


def chart(fig, key: str) -> None:
    """A Plotly figure with its own fonts and colours (Streamlit's theme would shrink the
    fonts a projector needs and recolour the branches)."""
    st.plotly_chart(fig, theme=None, key=key)


#: A graph drawn at its own size (not shrunk to the page) scrolls sideways instead.
NATURAL_CSS = ('<style>[data-testid="stGraphVizChart"] { overflow-x: auto; } '
               '[data-testid="stGraphVizChart"] svg { max-width: none !important; }</style>')


def graphviz(source: str, natural: bool = False) -> None:
    """A DOT graph at the font sizes it asks for. ``natural``: at the graph's own size,
    scrolling sideways where it is wider than the page, instead of shrunk to the page's
    width (a wide left-to-right overview would otherwise shrink its text)."""
    st.html(GRAPH_CSS + (NATURAL_CSS if natural else ""))
    st.graphviz_chart(source, width="content" if natural else "stretch")


def export_button(label: str, fmt: str, spec, data, *, view: str = "overview", where=None, **kwargs):
    """A download button for format ``fmt`` of :data:`inception_viz.exports.FORMATS`: its
    file name and MIME type from :mod:`~inception_viz.exports`, its bytes from ``data``
    (what an ``exports`` function returned, or a callable calling one: run only on the
    click), so the download equals ``python -m inception_viz export`` byte for byte.
    ``where``: the container (default: the main area); ``view`` names a graph's view."""
    return (where or st).download_button(label, data, file_name=exports.file_name(spec, fmt, view, i18n.current()),
                                         mime=exports.FORMATS[fmt].mime, **kwargs)


def model_downloads(spec, weights, model) -> None:
    """``.keras`` and ONNX of ``model`` (``spec`` built and carrying ``weights``), made on
    the click by :mod:`inception_viz.exports`: the bytes of ``python -m inception_viz
    export --format keras|onnx`` with the same weights; and how to open the ONNX file."""
    from inception_viz import weights as W

    d1, d2 = st.columns(2)
    export_button(_("Download the model (.keras)"), "keras", spec, lambda: exports.keras_bytes(spec, weights, model),
                  where=d1, width="stretch",
                  help=_("Saved with model.save; load with keras.models.load_model(..., safe_mode=True)"))
    export_button(_("Download ONNX"), "onnx", spec, lambda: exports.onnx_bytes(spec, weights, model), where=d2,
                  width="stretch",
                  help=_("Input `input`: float32 [N, H, W, C], the preprocessed RGB image (the preprocessing is in "
                         "the file's metadata); output `probabilities` [N, classes], or `output` (the last feature "
                         "map) for a model without a classifier. For Netron and onnxruntime."))
    name = exports.file_name(spec, "onnx")
    st.caption(_("Weights: {weights}. To look at the ONNX file offline in Netron: "
                 "`pip install netron && netron {file}`.").format(weights=W.weights_label(weights, current()), file=name))


# ---------------------------------------------------------------------------------------
# models, weights, runners, images (TensorFlow only inside)


def keras_model_module():
    from inception_viz import keras_model  # imports TensorFlow (~3 s)

    return keras_model


def build_model(spec, device: str):
    """The Keras model of ``spec`` on ``device`` (random weights, seed 0) from the same
    process-wide registry as the Predictions view's runners
    (:func:`inception_viz.inference.cached_model`): checked against the memory limit and the
    live-model budget before anything is built (:class:`SpecError`, one line), at most
    :data:`MODEL_CACHE_ENTRIES` models alive at once, one build at a time."""
    from inception_viz import inference  # imports TensorFlow

    with st.spinner(_("Building the Keras model…")):
        return inference.cached_model(spec, weights=None, device=device)


def clear_models() -> None:
    """Drop every live model of the registry (the load test starts from none)."""
    from inception_viz import inference

    inference._RUNNERS.clear()


@st.cache_resource(max_entries=2, show_spinner=False)
def weights_from_bytes(digest: str, name: str, _data: bytes):
    """Weights of an uploaded file, keyed by its SHA-256 (the caller shows the spinner, in
    the session's language)."""
    from inception_viz import weights as W

    return W.load_weights_file(_data, name=name)


@st.cache_resource(max_entries=1, show_spinner=False)
def zoo_weights(path: str, mtime_ns: int):
    """The zoo's weights (the caller shows the spinner, in the session's language)."""
    from inception_viz import weights as W

    return W.load_onnx(path)


def get_runner(spec, weights):
    """A model of ``spec`` with ``weights`` transferred onto it, its compiled forward and
    activation pass, from :func:`inception_viz.inference.get_runner`: one process-wide LRU
    of ``MAX_RUNNERS`` models behind one lock, so thirty students pressing predict on
    thirty different edits build one model at a time instead of thirty at once (the load
    test's burst peaked at ~5 GB with a per-spec cache)."""
    from inception_viz import inference  # imports TensorFlow

    with st.spinner(_("Building the model and loading the weights…")):
        return inference.get_runner(spec, weights)


@st.cache_data(max_entries=16, show_spinner=False)
def decode_image(data: bytes, name: str):
    from inception_viz import images

    return images.decode_image(data, name)


@st.cache_data(max_entries=8, show_spinner=False)
def sample_image(name: str):
    from inception_viz import images

    return images.load_sample(name)
