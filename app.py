"""Inception Explorer: take Inception V1 (GoogLeNet) apart live in front of a class.

    streamlit run app.py

This file only wires: page setup, the session's state and the URL, the fragments, and the
dispatch to the sidebar (``views.sidebar``), the title and headline (``views.headline``) and
the open view. Each view is one module of ``inception_viz.views`` (registry:
``views.VIEWS``) with one entry point ``render(ctx)``.

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

``streamlit run app.py`` first imports this file and finds :data:`app`, an ``st.App``: the
server is served through it, and its lifespan (``_before_the_first_page``) runs once at the
server's start, before any page: ``TCP_NODELAY`` (``st_compat``) and every view's imports. Each
page is still a script run of this file as ``__main__`` (``main``).
"""

from __future__ import annotations

import logging
import time
import traceback
from contextlib import asynccontextmanager, contextmanager
from typing import Callable

import streamlit as st

from inception_viz import config, counter, heap, i18n, presets, st_compat
from inception_viz.i18n import _
from inception_viz.presets import PRESET_NAMES
from inception_viz.spec import SpecError
from inception_viz.views import VIEWS, View, ViewContext, headline, sidebar, view_by_key, view_by_label
from inception_viz.views.common import (IN_PLACE, LANG_KEY, MAIN, VIEW, current_spec, error, fragment_run,
                                        visitor_trusted)

#: The view switcher's widget key; its session-state value is the open view's (translated) label.
VIEW_KEY = "view"
#: The open view's container key prefix: the page's element carrying the CSS class
#: ``st-key-view-<url key>`` holds that view, under the headline (bench --browser, tests).
VIEW_CONTAINER = "view-"
#: Where an unexpected failure's traceback goes (the server's log, never the page).
log = logging.getLogger("inception_viz.app")
#: Seconds a fragment run (an edit, a view switch) waits between its last element and the
#: address bar's update, so that the browser draws the new totals before it updates its
#: history and redraws for the new address (docs/bench.md, "Eighth session"). Nothing visible
#: waits. Full runs do not wait: the sidebar comes after the view there.
URL_AFTER_VIEW_S = 0.02


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


def sync_url(spec, view: View, lang: str, wait_s: float = 0.0) -> None:
    """The address bar: the spec's keys, the open view, the language, and every other key
    the link came with (``utm_source``, ``fbclid``, ...) left as it was. ``wait_s``: seconds
    to wait first, only when the address changes (:data:`URL_AFTER_VIEW_S`)."""
    query = {**config.merge_query(st.query_params.to_dict(), spec), VIEW_KEY: view.key, LANG_KEY: lang}
    if st.query_params.to_dict() != query:
        if wait_s > 0:
            time.sleep(wait_s)  # the run's elements leave first (Streamlit flushes every 5 ms)
        st.query_params.from_dict(query)


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
    headline.title(spec)
    main_area()
    guarded(_("The sidebar"), sidebar.render, spec)


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
        guarded(_("The headline"), headline.render, spec, report, base)
        # the view in a box keyed by it (CSS class st-key-view-<key>): a switch replaces the
        # view's elements and updates the headline's in place
        with st.container(key=f"{VIEW_CONTAINER}{view.key}"):
            guarded(_("The {view} view").format(view=_(view.label)), render_view, view,
                    ViewContext(spec, report, base, sidebar.focus_block(spec), in_place))
        # The address bar last, a moment after the view (URL_AFTER_VIEW_S): its message makes
        # the browser update its history and redraw the page once more, and sent before the
        # headline it delayed an edit's new totals by ~15 ms (interleaved A/B, docs/bench.md).
        # A run that a view ends early (st.rerun) leaves it to the next run.
        sync_url(spec, view, i18n.current().lang, URL_AFTER_VIEW_S if fragment_run() else 0.0)


def render_view(view: View, ctx: ViewContext) -> None:
    """The view's ``render(ctx)``. Under ``streamlit run`` every view was imported at the
    server's start (``_before_the_first_page``); elsewhere (AppTest) its module is imported
    here the first time the view opens (``View.module``). Either way inside the view's guard:
    a view that fails to import is one failed view, not a failed page."""
    view.module.render(ctx)


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
    # Streamlit's and the app's modules are all imported now: out of the garbage collector's
    # way, once per process (inception_viz.heap: a full collection took up to ~100 ms, mid-edit)
    heap.freeze_once("app")


@asynccontextmanager
async def _before_the_first_page(_app):
    """``streamlit run app.py`` serves the page through :data:`app` (``st.App``), so that this
    runs once when the server starts, before any page: ``TCP_NODELAY`` on its sockets (until the
    first run installed it, the first page's ~100 files came with Nagle's delays), every view's
    module (pandas, Plotly's figures; each frozen out of the collector's way, ``View.module``)
    and Streamlit's emoji table, which ``st.set_page_config`` loads to check the page icon.
    Neither the first page nor a view's first open waits for an import then (docs/bench.md,
    "Tenth session"); the server answers ~0.6 s later after its start (0.54-0.64 s, measured)."""
    st_compat.install()
    import streamlit.emojis  # noqa: F401

    for view in VIEWS:
        _ = view.module  # imported (and frozen) now
    yield


if __name__ == "__main__":  # streamlit runs the script as __main__; tests import its helpers
    main()
else:  # imported: by `streamlit run app.py` (which finds `app` here and serves through it), or by tests
    app = st.App(__file__, lifespan=_before_the_first_page)
