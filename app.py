"""Inception Explorer: take Inception V1 (GoogLeNet) apart live in front of a class.

    streamlit run app.py

This file only wires: page setup, the session's state and the URL, the sidebar, the
headline, and the dispatch to the open view. Each view is one module of
``inception_viz.views`` (registry: ``views.VIEWS``) with one entry point ``render(ctx)``.

The current spec lives in ``st.session_state["spec"]`` and in the URL (``st.query_params``,
plus ``&view=<key>`` for the open view and ``&lang=<en|es>`` for the language); every widget starts from the spec. Most
widget keys carry the preset and a generation number that changes whenever the spec changes
(``common.wkey``), so a preset switch, an upload or a restored URL never leaves a stale widget
value behind; the focus block's width boxes and form switch keep one key per preset
(``common.skey``) and get the spec's value assigned before each draw (``common.synced``), so
an edit updates them in the browser instead of replacing them. An edit is accepted only if the
analytic counter accepts the new spec; otherwise ``st.error`` says what is wrong and the last
good model stays on screen.

Who is watching matters (``inception_viz.trust``): in shared mode, and in local mode for any
browser not on the server's machine, no view shows a server path, and an unexpected exception
shows only its type (``ServerError``), never a traceback.

The page's language (``inception_viz.i18n``): the URL's ``lang``, else the browser's, else
English, then the sidebar's selector (``st.session_state["lang"]``). Every run starts with
``i18n.use(lang)``, which sets it for this session's thread; views translate with
``i18n._`` and format numbers with ``i18n.current()``. View labels are msgids in
``views.VIEWS``, translated here; URL keys stay English.

Only the open view runs (a segmented control picks it): a hidden view costs nothing and
sends nothing. The view switcher and the open view are fragments (``main_area``,
``view_area``; see ``page``): a width edit reruns and sends only the headline and the view.
Nothing on the first page imports TensorFlow; "Instantiate" and "Predictions" load it on
demand.
"""

from __future__ import annotations

import logging
import math
import traceback
from contextlib import contextmanager
from typing import Callable

import streamlit as st

from inception_viz import config, counter, exports, i18n, presets, st_compat
from inception_viz.edits import edited_blocks
from inception_viz.graph import shape_str
from inception_viz.i18n import N_, _
from inception_viz.presets import PRESET_NAMES
from inception_viz.spec import LRN, Dense, SpecError
from inception_viz.views import VIEWS, View, ViewContext, view_by_key, view_by_label
from inception_viz.views.common import (IN_PLACE, LANG_KEY, MAIN, MAX_UPLOAD_BYTES, VIEW, accept, current_spec, error, export_button,
                                        folded_section, localized, uploaded_config, visitor_trusted, wkey)

#: The view switcher's widget key; its session-state value is the open view's (translated) label.
VIEW_KEY = "view"
#: The open view's container key prefix: the page's element carrying the CSS class
#: ``st-key-view-<url key>`` holds that view, under the headline (bench --browser, tests).
VIEW_CONTAINER = "view-"
#: The sidebar's "Block in focus" selector's key, one per preset (its value: a block name).
FOCUS_KEY = "focus@{preset}"
#: The sidebar's two lazy expanders' keys (their values: open or not).
OPTIONS_KEY, SHARE_KEY = "sb-options", "sb-share"
#: The input fields' names in the "needs a number" error (msgids).
INPUT_NAMES = {"height": N_("height"), "width": N_("width"), "channels": N_("channels")}
#: Where an unexpected failure's traceback goes (the server's log, never the page).
log = logging.getLogger("inception_viz.app")


def guarded(where: str, fn: Callable, *args):
    """``fn(*args)``, but a failure stays inside ``where`` (a view, the sidebar, the
    headline): a :class:`SpecError` shows its one line; anything else shows one generic line
    that says what to do, and its traceback goes to the server's log only (no paths, no
    code on the page). Everything after it on the page still renders. Streamlit's own
    st.rerun()/st.stop() are BaseExceptions and pass through. Returns ``fn``'s result or
    ``None`` after a failure."""
    try:
        return fn(*args)
    except SpecError as exc:
        error(exc)  # one line, no server paths for an untrusted visitor
    except Exception:
        log.exception("%s failed", where)
        st.error(_("{part} failed unexpectedly (the details are in the server's log). Undo the last change or "
                   "press “{reset}”; the rest of the page still works.").format(part=where, reset=_("Reset to the paper's GoogLeNet")))
    return None


# ---------------------------------------------------------------------------------------
# state and URL


def browser_language() -> str | None:
    """The browser's language: ``navigator.language``, else the Accept-Language header."""
    return i18n.normalize(st.context.locale) or i18n.from_accept_language(st.context.headers.get("Accept-Language"))


def init_state() -> None:
    """Once per session: the language, the spec and the open view from the URL (a bad
    model: the preset it names, with an error; a bad view or language: the default,
    silently). The language is the URL's, else the browser's, else English."""
    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = i18n.normalize(st.query_params.get(LANG_KEY)) or browser_language() or i18n.DEFAULT_LANGUAGE
    i18n.use(st.session_state[LANG_KEY])
    if VIEW_KEY not in st.session_state:
        st.session_state[VIEW_KEY] = _(view_by_key(st.query_params.get(VIEW_KEY)).label)
    if "spec" in st.session_state:
        return
    error = None
    try:
        spec = config.spec_from_query(st.query_params.to_dict())
    except SpecError as exc:
        name = st.query_params.get("preset", "googlenet")
        name = name if name in PRESET_NAMES else "googlenet"
        spec = presets.preset(name)
        error = _("The address does not describe a valid model: {error}. Showing the {preset} preset instead.").format(error=exc, preset=name)
    st.session_state.spec = spec
    st.session_state.gen = 0
    st.session_state.error = error


def sync_url(spec, view: View, lang: str) -> None:
    """The address bar: the spec's keys, the open view, the language, and every other key
    the link came with (``utm_source``, ``fbclid``, ...) left as it was."""
    query = {**config.merge_query(st.query_params.to_dict(), spec), VIEW_KEY: view.key, LANG_KEY: lang}
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)


# -- callbacks (run before the script, so the page always draws the accepted spec) ------


def _rerun_view() -> None:
    st.rerun(VIEW)  # from a callback: a new block in focus reruns only the open view


@localized
def _on_preset(key: str) -> None:
    accept(presets.preset(st.session_state[key]))


@localized
def _on_reset() -> None:
    accept(presets.preset("googlenet"))


@localized
def _on_options(keys: dict[str, str]) -> None:
    spec = current_spec()
    v = {name: st.session_state.get(key) for name, key in keys.items()}
    for name in ("height", "width", "channels"):
        if v[name] is None:
            st.session_state.error = _("input {name} needs a number").format(name=_(INPUT_NAMES[name]))
            return
    changes = dict(
        input_shape=(int(v["height"]), int(v["width"]), int(v["channels"])),
        # a disabled box (no LRN layers / no aux heads) shows unticked: keep the spec's value
        lrn=bool(v["lrn"]) if has_lrn(spec) else spec.lrn,
        aux=bool(v["aux"]) if spec.aux_heads else spec.aux,
    )
    if "classes" in v and v["classes"] is not None:
        changes["classes"] = int(v["classes"])
    accept(spec.with_options(**changes))


@localized
def _on_upload(key: str) -> None:
    upload = st.session_state.get(key)
    if upload is None:
        return
    try:
        spec = uploaded_config(upload)
    except SpecError as exc:
        st.session_state.error = f"{upload.name}: {exc}"  # i18n: keep
        return
    if accept(spec):
        report = counter.analyze(spec)
        tr, n = i18n.current(), len(edited_blocks(spec))
        what = (tr.ngettext("the {preset} preset with {n} edited block", "the {preset} preset with {n} edited blocks", n)
                if n else tr.gettext("the {preset} preset")).format(preset=spec.preset, n=n)
        st.session_state.notice = tr.gettext("Loaded {file}: {what}, {params} parameters.").format(
            file=upload.name, what=what, params=tr.int(report.total_params))


# ---------------------------------------------------------------------------------------
# sidebar and headline


def has_lrn(spec) -> bool:
    """Whether the model has LRN layers the *LRN layers* option can switch."""
    return any(isinstance(l, LRN) for l in spec.layers)


def sidebar_ui(spec) -> None:
    """Language, preset, input, options, reset, block in focus, config upload. Nothing here
    changes when a width changes (the headline carries the config download), so an edit in
    the main area need not redraw the sidebar."""
    sb = st.sidebar
    sb.title("Inception Explorer")  # i18n: keep (the product's name)
    sb.selectbox(_("Language"), i18n.LANGUAGES, key=LANG_KEY, format_func=i18n.LANGUAGE_NAMES.get,
                 help=_("Also in the address: ?lang=es or ?lang=en"))
    key = wkey("preset")
    sb.selectbox(
        _("Preset"),
        PRESET_NAMES,
        index=PRESET_NAMES.index(spec.preset),
        key=key,
        on_change=_on_preset,
        args=(key,),
        help=_("googlenet: the paper · simplified: the lecture's InceptionV1 · block: the lecture's one-block demo · naive: every block in Figure 2(a) form"),
    )
    sb.button(_("Reset to the paper's GoogLeNet"), on_click=_on_reset, width="stretch")
    if spec.blocks:  # a new focus changes only the open view: rerun only that (view_area)
        sb.selectbox(_("Block in focus"), spec.block_names, key=FOCUS_KEY.format(preset=spec.preset),
                     on_change=_rerun_view, help=_("The block the editor, the block graph and the seed comparison show"))

    # Two lazy expanders (only an open one draws its widgets): the input size and the
    # options, and the config upload, change rarely during a lecture; folded, a fresh page
    # draws and loads less before the totals show. The input and options' label says
    # their current values, so nothing is hidden.
    tr = i18n.current()
    summary = _("Input and options: {shape}").format(shape=shape_str(spec.input_shape))
    if has_classes(spec):
        summary += " · " + tr.ngettext("{n} class", "{n} classes", spec.classes).format(n=tr.int(spec.classes))
    options = folded_section(sb, summary, OPTIONS_KEY)
    if options.open:
        options_ui(options, spec)
    share = folded_section(sb, _("Share or load a config"), SHARE_KEY)
    if share.open:
        share.caption(_("The address bar holds the whole model: copy it to share this exact configuration. "
                        "“Download config JSON” (beside the totals) saves it as a file."))
        up = wkey("upload")
        share.file_uploader(_("Load a config JSON"), type=["json"], key=up, on_change=_on_upload, args=(up,),
                            max_upload_size=1, help=_("at most {size} KiB").format(size=MAX_UPLOAD_BYTES // 1024))


def has_classes(spec) -> bool:
    """Whether the model has a class count the *Classes* box can set."""
    return any(isinstance(l, Dense) and l.units is None for l in spec.layers) or bool(spec.aux_heads)


def options_ui(box, spec) -> None:
    """The input size, the class count, the LRN and auxiliary-classifier switches."""
    box.caption(_("Sizes everywhere are height × width (× channels)."))
    keys = {n: wkey(f"opt-{n}") for n in ("height", "width", "channels", "classes", "lrn", "aux")}
    if not has_classes(spec):
        keys.pop("classes")
    c1, c2, c3 = box.columns(3)
    h, w, c = spec.input_shape
    c1.number_input(_("Height"), 1, 4096, h, 1, key=keys["height"], on_change=_on_options, args=(keys,))
    c2.number_input(_("Width"), 1, 4096, w, 1, key=keys["width"], on_change=_on_options, args=(keys,))
    c3.number_input(_("Channels"), 1, 64, c, 1, key=keys["channels"], on_change=_on_options, args=(keys,))
    if "classes" in keys:
        box.number_input(_("Classes"), 1, 100_000, spec.classes, 1, key=keys["classes"], on_change=_on_options, args=(keys,))
    # a preset without LRN layers (or aux heads) shows its box unticked and disabled: a
    # ticked box would claim layers the model does not have
    lrn = has_lrn(spec)
    box.checkbox(_("LRN layers"), spec.lrn and lrn, key=keys["lrn"], on_change=_on_options, args=(keys,), disabled=not lrn,
                 help=_("Local response normalisation after conv1/pool1 and conv2 (Caffe semantics)") if lrn
                 else _("The {preset} preset has no LRN layers").format(preset=spec.preset))
    box.checkbox(_("Auxiliary classifiers"), spec.aux and bool(spec.aux_heads), key=keys["aux"], on_change=_on_options, args=(keys,),
                 disabled=not spec.aux_heads,
                 help=_("The paper's two training-only side heads on 4a and 4d") if spec.aux_heads
                 else _("The {preset} preset has no auxiliary classifiers").format(preset=spec.preset))


def title_ui(spec) -> None:
    """The model's name and description (full runs only: an edit keeps both)."""
    st.title(f"Inception Explorer · {spec.name}")  # i18n: keep (the product's and the model's names)
    if spec.description:
        st.caption(i18n.current().gettext(spec.description))  # preset descriptions are msgids (presets.py)


def headline_ui(spec, report, base) -> None:
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


# ---------------------------------------------------------------------------------------


def view_nav() -> View:
    """The view switcher; only the open view runs. A segmented control, not ``st.tabs``:
    both rerun only the main area on a click, but the browser re-renders the 11 tabs on
    every run, an edit's too: ~48 ms from an edit's start message to its first element
    against ~16 ms with the control (in-page timeline, docs/bench.md). Returns the open view.

    Its session value is the open view's label in the page's language; after a language
    switch it still names the old one, so it is mapped back to its view (labels of every
    language are known) and rewritten before the control is drawn."""
    open_now = view_by_label(st.session_state.get(VIEW_KEY))
    if st.session_state.get(VIEW_KEY) != _(open_now.label):
        st.session_state[VIEW_KEY] = _(open_now.label)
    st.segmented_control(_("View"), [_(v.label) for v in VIEWS], key=VIEW_KEY, required=True,
                         label_visibility="collapsed", width="stretch")
    return view_by_label(st.session_state[VIEW_KEY])


class ServerError(Exception):
    """What an untrusted visitor sees of an unexpected exception: its type, no traceback."""


def page() -> None:
    """A full run: the state, the title, the main area, then the sidebar.

    Two nested fragments, so that an interaction redraws only what it changes (each element
    a run sends costs the browser a re-render; bench --browser measures it):

    - ``main_area`` (:data:`MAIN`): the view switcher; a click on it reruns it (switcher and view);
    - ``view_area`` (:data:`VIEW`), below it: the headline (totals, last error,
      config download) and the open view. A widget of the view (a width, a table cell, a
      predictions upload) reruns only this: the switcher and the sidebar stay as they are.

    The sidebar comes last in the script (not on the page) so that the totals reach the
    browser first on a fresh page; nothing in the main area reads what the sidebar draws
    (the widgets' values are in session state before the script starts). Everything that
    changes the sidebar (preset, input and options, language, a config upload) is a sidebar
    widget, which reruns the whole page."""
    init_state()  # also i18n.use(the session's language) for this run
    spec = current_spec()
    title_ui(spec)
    main_area()
    guarded(_("The sidebar"), sidebar_ui, spec)


def focus_block(spec) -> str | None:
    """The block in focus: the sidebar selector's value (its key is per preset), the first
    block when the selector has none yet or names a block this model does not have."""
    if not spec.blocks:
        return None
    chosen = st.session_state.get(FOCUS_KEY.format(preset=spec.preset))
    return chosen if chosen in spec.block_names else spec.block_names[0]


@st.fragment(key=MAIN)
def main_area() -> None:
    with shielded():
        i18n.use(st.session_state[LANG_KEY])  # a fragment run does not pass through page()
        view_area(view_nav().key)


@st.fragment(key=VIEW)
def view_area(key: str) -> None:
    """The headline, the open view (``key``: its URL key) and the address bar."""
    with shielded():
        i18n.use(st.session_state[LANG_KEY])
        spec = current_spec()
        report, base = counter.analyze(spec), counter.analyze(presets.preset(spec.preset))
        view = view_by_key(key)
        in_place = st.session_state.pop(IN_PLACE, None)  # set by the callback of this run only
        guarded(_("The headline"), headline_ui, spec, report, base)
        # the view in a box keyed by it (CSS class st-key-view-<key>): a switch replaces the
        # view's elements and updates the headline's in place
        with st.container(key=f"{VIEW_CONTAINER}{view.key}"):
            guarded(_("The {view} view").format(view=_(view.label)), view.module.render,
                    ViewContext(spec, report, base, focus_block(spec), in_place))
        # The address bar last: its message makes the browser redraw the page once more, and
        # sent before the headline it delayed an edit's new totals by ~15 ms (interleaved A/B,
        # docs/bench.md). A run that a view ends early (st.rerun) leaves it to the next run.
        sync_url(spec, view, i18n.current().lang)


@contextmanager
def shielded():
    """An exception that no view's guard caught: the lecturer's own browser sees its
    traceback, an untrusted visitor only its type (:class:`ServerError`); the terminal gets
    the traceback either way. Around a full run (``main``) and around each fragment
    (``main_area``, ``view_area``), whose own runs do not pass through ``main``."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - an untrusted visitor sees no traceback (paths, account)
        traceback.print_exc()  # for the lecturer's terminal
        if visitor_trusted():
            st.exception(exc)
        else:  # never raised: no traceback, no chained cause; tests still see an exception element
            st.exception(ServerError(f"Something went wrong on the server ({type(exc).__name__}); the lecturer's "
                                     "terminal has the details. Your model is kept: reload the page to continue."))


def main() -> None:
    st_compat.install()  # a click naming a fragment this session never drew runs the page
    st.set_page_config(page_title="Inception Explorer", page_icon="🧩", layout="wide")
    # Streamlit's own handler (a widget callback, anything outside page()) is process-wide and
    # cannot ask who is watching: it shows no traceback. shielded() decides per visitor
    # (inception_viz.trust): the lecturer's own browser gets the traceback.
    if st.get_option("client.showErrorDetails") != "none":
        st.set_option("client.showErrorDetails", "none")
    with shielded():
        page()


if __name__ == "__main__":  # streamlit runs the script as __main__; tests import its helpers
    main()
