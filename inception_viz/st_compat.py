"""One adjustment to Streamlit's server, installed by ``app.py`` (idempotent).

The app's views run in fragments (``app.main_area``, ``app.view_area``): a click in a view
asks the server for a run of that fragment by its id. A session that has never run the
page knows no fragment: after a reconnect to a restarted server, or to the other replica
behind ``scripts/hall.py``'s HAProxy, the page keeps showing the model and its next click
names a fragment of the old session. Streamlit 1.67 drops such a request (``AppSession.
request_rerun``: "the fragment ... does not exist anymore"), so every click in the views
would be ignored until a sidebar widget or a reload ran the whole page. Here an unknown
fragment's request becomes a whole-page run with the same widget states and address: the
first click after a failover redraws the page from the URL's model, as before fragments
(tests/test_hall.py, tests/test_load.py).
"""

from __future__ import annotations

_INSTALLED = "_inception_viz_unknown_fragment_runs_page"


def install() -> None:
    from streamlit.runtime.app_session import AppSession

    if getattr(AppSession.request_rerun, _INSTALLED, False):
        return
    original = AppSession.request_rerun

    def request_rerun(self, client_state):
        if client_state is not None and client_state.fragment_id and not self.has_fragment(client_state.fragment_id):
            client_state.fragment_id = ""  # the whole page instead of nothing
        return original(self, client_state)

    setattr(request_rerun, _INSTALLED, True)
    AppSession.request_rerun = request_rerun


def main(argv: list[str] | None = None) -> int:
    """``python -m inception_viz.st_compat run app.py [streamlit options]``: Streamlit's own
    command line with :func:`install` done before the server starts, so that even a replica
    that has served no page yet runs the whole page for a stale click (``scripts/hall.py``
    starts its replicas this way; ``app.py`` installs it too, on its first run)."""
    import sys

    from streamlit.web import cli

    install()
    sys.argv = ["streamlit", *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    raise SystemExit(main())
