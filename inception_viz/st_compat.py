"""Two adjustments to Streamlit's server, installed by ``app.py`` when its server starts (its
``st.App``'s lifespan) and again on each run (idempotent).

**A click naming an unknown fragment runs the page.** The app's views run in fragments
(``app.main_area``, ``app.view_area``): a click in a view asks the server for a run of that
fragment by its id. A session that has never run the page knows no fragment: after a
reconnect to a restarted server, or to the other replica behind ``scripts/hall.py``'s
HAProxy, the page keeps showing the model and its next click names a fragment of the old
session. Streamlit 1.67 drops such a request (``AppSession.request_rerun``: "the fragment
... does not exist anymore"), so every click in the views would be ignored until a sidebar
widget or a reload ran the whole page. Here an unknown fragment's request becomes a
whole-page run with the same widget states and address: the first click after a failover
redraws the page from the URL's model, as before fragments (tests/test_hall.py,
tests/test_load.py).

**No Nagle delay on the server's connections** (:func:`nodelay_sockets`). Streamlit 1.67
binds its listening socket itself, with ``socket.socket(family)``: its protocol number is 0,
so asyncio never turns on ``TCP_NODELAY`` for the connections it accepts (it checks for
``IPPROTO_TCP``; uvicorn issue #3149). With Nagle's algorithm on, each small websocket
message waits until the client has acknowledged the previous one, and a client that delays
its acknowledgements (40 ms on Linux, up to 200 ms on Windows) gets every run's elements
that much later: a width edit's first element reached ``scripts/loadtest.py``'s client
after ~51 ms instead of ~11, directly and through ``scripts/hall.py``'s HAProxy alike.
Chromium on this machine acknowledges a websocket's frames at once, so its edits did not
move; its fresh pages (~100 files over keep-alive connections) got faster: the bench's
floor app from a median of ~1,110-1,230 ms to ~990 ms (docs/bench.md, "Eighth session").
"""

from __future__ import annotations

_INSTALLED = "_inception_viz_unknown_fragment_runs_page"
#: Marks Streamlit's bind once it is wrapped by :func:`_bind_with_nodelay`.
_NODELAY_BIND = "_inception_viz_bind_with_nodelay"


def install() -> None:
    """Both adjustments; cheap after the first call (``app.main`` calls it on every run)."""
    global _NODELAY_DONE
    if not _NODELAY_DONE:
        _NODELAY_DONE = True
        _bind_with_nodelay()  # a server that binds after this (st_compat.main) listens with it
        nodelay_sockets()  # a server already listening (streamlit run app.py): it and its connections
    _run_page_for_unknown_fragments()


#: Whether :func:`install` has done the ``TCP_NODELAY`` part in this process: the bind is
#: wrapped, and a listening socket that existed then was swept. A connection accepted later
#: gets the option from its listener, so once is enough.
_NODELAY_DONE = False


def _bind_with_nodelay() -> None:
    """Streamlit's own bind (``starlette_server._bind_socket``), then ``TCP_NODELAY`` on the
    listening socket, for a server that starts after :func:`install` (``st_compat.main``)."""
    import socket

    try:
        from streamlit.web.server.starlette import starlette_server

        original = starlette_server._bind_socket
    except (ImportError, AttributeError):  # another Streamlit: the sweep still covers a running server
        return
    if getattr(original, _NODELAY_BIND, False):
        return

    def _bind_socket(*args, **kwargs):
        sock = original(*args, **kwargs)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    setattr(_bind_socket, _NODELAY_BIND, True)
    starlette_server._bind_socket = _bind_socket


def nodelay_sockets() -> int:
    """``TCP_NODELAY`` on every TCP socket this process holds: the server's listening socket
    (Linux and the BSDs copy it to each connection accepted afterwards) and the connections
    accepted before this call (the first browser's). Each descriptor is duplicated first, so
    nothing here closes or owns the server's sockets; a descriptor closed meanwhile is
    skipped. Returns how many listening sockets were found."""
    import os
    import socket
    import stat

    listening = 0
    fd_dir = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    try:
        fds = [int(name) for name in os.listdir(fd_dir) if name.isdigit()]
    except OSError:
        return 0
    for fd in fds:
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=os.dup(fd))  # family and type read from the descriptor
        except OSError:
            continue
        with sock:
            if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
                continue
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                listening += bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
            except OSError:
                continue
    return listening


def _run_page_for_unknown_fragments() -> None:
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
    that has served no page yet runs the whole page for a stale click, and its listening
    socket has ``TCP_NODELAY`` from the start (``scripts/hall.py`` starts its replicas this
    way, ``bench --browser`` its floor app; ``app.py`` installs both when its server starts)."""
    import sys

    from streamlit.web import cli

    install()
    sys.argv = ["streamlit", *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    raise SystemExit(main())
