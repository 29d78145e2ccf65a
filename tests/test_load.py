"""The load, endurance and thread-safety runs of ``scripts/loadtest.py`` in their short form
(issue 6). The full run (30 sessions, 200 edits) is ``python scripts/loadtest.py --full``;
its figures are in README "Reliability".

Nothing here asserts a time: latencies are reported by the script, never tested.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.load

ROOT = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location("loadtest", ROOT / "scripts" / "loadtest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["loadtest"] = module  # dataclasses look their module up while executing it
    spec.loader.exec_module(module)
    return module


loadtest = _load_script()


@pytest.fixture(scope="module")
def chromium():
    if not Path(loadtest.CHROMIUM).exists():
        pytest.skip(f"{loadtest.CHROMIUM} is not installed (.ci/run installs Debian's chromium)")
    pytest.importorskip("playwright")
    return loadtest.CHROMIUM


def test_server_listens_on_loopback_only():
    """The script's server binds 127.0.0.1 and nothing else."""
    assert loadtest.HOST == "127.0.0.1"
    with loadtest.StreamlitServer() as server:
        import psutil

        procs = [psutil.Process(server.proc.pid), *psutil.Process(server.proc.pid).children(recursive=True)]
        addrs = {c.laddr.ip for p in procs for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
        assert addrs == {"127.0.0.1"}, addrs
        assert server.url.startswith("http://127.0.0.1:")
    assert server.proc.poll() is not None  # stopped by the context manager
    assert server.peak_rss > 0


def test_a_click_naming_an_unknown_fragment_runs_the_whole_page():
    """After a reconnect to the other replica (or a restarted server), the page's next click
    names a fragment the new session never drew: the server runs the whole page for it
    (inception_viz.st_compat, installed by the process's first run of app.py) instead of
    dropping it, so the page answers. One session loads the page as usual (the replica has
    served others), then a fresh session sends exactly that click as its first message."""
    import asyncio

    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async def first_run(url: str, fragment_id: str = "") -> list:
        async with websockets.connect(url.replace("http://", "ws://") + "_stcore/stream", subprotocols=["streamlit"],
                                      origin=url.rstrip("/"), max_size=None, open_timeout=60) as ws:
            msg = BackMsg()
            msg.rerun_script.query_string = "preset=googlenet"
            msg.rerun_script.fragment_id = fragment_id
            await ws.send(msg.SerializeToString())
            elements = []
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=120))
                kind = fwd.WhichOneof("type")
                if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                    elements.append(fwd.delta.new_element)
                elif kind == "script_finished":
                    return elements

    with loadtest.StreamlitServer() as server:
        assert loadtest._metric(asyncio.run(first_run(server.url)), "Parameters (weights") == "6,998,552"
        elements = asyncio.run(first_run(server.url, "0123456789abcdef0123456789abcdef"))  # the old session's view
    assert loadtest._metric(elements, "Parameters (weights") == "6,998,552"
    assert any(e.WhichOneof("type") == "selectbox" and e.selectbox.label == "Preset" for e in elements)  # the sidebar too


def test_nodelay_reaches_the_listening_socket_and_its_connections():
    """Streamlit 1.67 binds its listening socket with protocol number 0, so asyncio leaves
    Nagle's algorithm on for every connection it accepts (inception_viz.st_compat). A socket
    bound the same way here: ``nodelay_sockets`` finds it, turns TCP_NODELAY on for it and
    for the connection it accepted before, and a connection accepted afterwards has it from
    the listener. It never closes or takes over a socket: all of them still work."""
    import socket

    from inception_viz import st_compat

    nodelay = lambda s: s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)  # noqa: E731
    listener = socket.socket(family=socket.AF_INET)  # as streamlit's starlette_server._bind_socket
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    with listener, client, accepted:
        assert listener.proto == 0 and (nodelay(listener), nodelay(accepted)) == (0, 0)
        assert st_compat.nodelay_sockets() >= 1  # the listener (and any other of this process)
        later_client = socket.create_connection(listener.getsockname())
        later, _ = listener.accept()
        with later_client, later:
            assert [nodelay(s) for s in (listener, accepted, client, later)] == [1, 1, 1, 1]
            client.sendall(b"ping")
            assert accepted.recv(4) == b"ping"  # still open, still ours


def test_a_server_started_after_install_listens_with_nodelay():
    """Under ``python -m inception_viz.st_compat run`` (the hall's replicas, bench --browser's
    floor app) ``install()`` comes before the server binds: Streamlit's own bind then returns
    a listening socket with TCP_NODELAY, which every accepted connection inherits."""
    import socket

    from streamlit.web.server.starlette import starlette_server

    from inception_viz import st_compat

    st_compat.install()
    with starlette_server._bind_socket("127.0.0.1", 0, 8) as listener:
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        with socket.create_connection(listener.getsockname()):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_an_edit_sends_its_elements_before_the_address_bar():
    """A width edit reruns the view's fragment; its run sends the totals and the view, then,
    ``app.URL_AFTER_VIEW_S`` later, the address bar's update (``page_info_changed``), so that
    the browser draws the new totals before it updates its history and redraws for the new
    address (docs/bench.md, "Eighth session"). Three edits on the real server, as the browser
    sends them: the address message comes after every element of the run, at least half the
    wait after the last one (Streamlit flushes its queue every 5 ms; without the wait it came
    within the same flush), and carries the edit. The first page (a full run, which does not
    wait) writes the address too."""
    import asyncio
    import statistics
    import urllib.parse

    import websockets
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    import app

    async def session(url: str):
        async with websockets.connect(url.replace("http://", "ws://") + "_stcore/stream", subprotocols=["streamlit"],
                                      origin=url.rstrip("/"), max_size=None, open_timeout=60) as ws:
            client = loadtest._Protocol(ws)
            elements = await client.rerun(120)
            first_page = list(client.arrivals)
            box = next(e.number_input for e in elements
                       if e.WhichOneof("type") == "number_input" and e.number_input.label == loadtest.EDIT_WIDTH)
            assert client.fragment_of[box.id], "the width box is drawn by a fragment: an edit reruns only it"
            edits = []
            for value in (129, 130, 131):
                await client.rerun(120, [WidgetState(id=box.id, int_value=value)])
                widths = urllib.parse.parse_qs(client.query_string)[loadtest.EDIT_BLOCK][0].split("-")
                assert widths[2] == str(value), client.query_string  # 1x1, 3x3_reduce, 3x3, ...
                edits.append(list(client.arrivals))
            return first_page, edits

    def gap(arrivals) -> float:
        kinds = [k for k, _ in arrivals]
        last_delta = max(i for i, k in enumerate(kinds) if k == "delta")
        url = kinds.index("page_info_changed")
        assert last_delta < url < kinds.index("script_finished"), kinds
        return arrivals[url][1] - arrivals[last_delta][1]

    with loadtest.StreamlitServer() as server:
        first_page, edits = asyncio.run(session(server.url))
    gaps = [gap(a) for a in edits]
    assert statistics.median(gaps) >= app.URL_AFTER_VIEW_S / 2, gaps
    kinds = [k for k, _ in first_page]
    assert "page_info_changed" in kinds  # the first page writes the model into the address too


def test_concurrent_sessions_each_see_their_own_edit(chromium):
    """4 protocol sessions and 1 Chromium session at once: each loads the page
    (6,998,552 params), sets inception_3a's 3x3 to its own width (129 ... 133) and must
    then show the counter's total for its own width (see the next test): a session shown
    another session's state fails. Then each uploads a sample photo to the predictions
    section and must get the top-k chart captioned with that file's name."""
    r = loadtest.run_sessions(4, n_browser=1, step_timeout_s=240, total_timeout_s=600)
    assert r["ok"] == r["sessions"] == 5, (r["errors"], r["server_log_tail"])
    assert sorted(res["client"] for res in r["results"]) == ["browser"] + ["protocol"] * 4
    for res in r["results"]:
        assert {"load", "edit"} <= set(res["steps"]), res
        if r["predict_step"]:
            assert "predict" in res["steps"], res
    assert r["server_peak_rss_mb"] > 0


def test_edited_total_is_the_counter_arithmetic():
    """The number the sessions wait for, derived by hand for 3x3 = 129 (paper: 128):
    inception_3a_3x3 gains 3*3*96 weights + 1 bias = 865; inception_3a's output grows
    from 256 to 257 maps, so each 1x1 conv reading it in inception_3b gains one input
    channel: 1x1 (128) + 3x3_reduce (128) + 5x5_reduce (32) + pool_proj (64) = 352 weights.
    Total 6,998,552 + 865 + 352 = 6,999,769."""
    assert loadtest.edited_total(129) == 6_998_552 + 865 + 352 == 6_999_769


def test_endurance_memory_bounded_by_the_cache():
    """20 width edits, a build after each, through the app's cached builder: no error,
    every count_params equals the counter, and never more models alive than the cache
    holds (and exactly that many once it has filled, so the cache is really used)."""
    e = loadtest.endurance(20)
    assert e["errors"] == []
    assert e["edits"] == 20
    assert e["max_models_alive"] == e["cache_limit"], e


def test_threads_sharing_a_cached_model_get_single_threaded_results():
    t = loadtest.thread_safety(threads=4, inputs_per_thread=3)
    assert t["distinct_models_from_concurrent_builds"] == 1
    assert t["max_abs_diff_vs_single_thread"] <= 1e-5
    assert t["same_top1"]
    assert t["distinct_outputs"] == t["forward_passes"] == 12
    if "runner_images" in t:  # the predictions runner shared by the same threads
        assert t["runner_distinct_from_concurrent_requests"] == 1
        assert t["runner_images"] == 12
        assert t["runner_max_abs_diff_vs_single_thread"] <= 1e-5


def test_checker_reports_each_kind_of_failure():
    """The script's pass/fail logic, on made-up reports (so a broken checker cannot make
    every run pass)."""
    good = {
        "sessions": {"sessions": 3, "ok": 3, "errors": []},
        "endurance": {"errors": [], "max_models_alive": 2, "cache_limit": 2},
        "threads": {"distinct_models_from_concurrent_builds": 1, "max_abs_diff_vs_single_thread": 0.0,
                    "same_top1": True, "distinct_outputs": 4, "forward_passes": 4,
                    "runner_distinct_from_concurrent_requests": 1, "runner_images": 4,
                    "runner_max_abs_diff_vs_single_thread": 0.0},
    }
    assert loadtest.check(good) == []
    bad = {
        "sessions": {"sessions": 3, "ok": 2, "errors": ["edit: timeout"]},
        "endurance": {"errors": [], "max_models_alive": 5, "cache_limit": 2},
        "threads": {"distinct_models_from_concurrent_builds": 2, "max_abs_diff_vs_single_thread": 0.5,
                    "same_top1": False, "distinct_outputs": 1, "forward_passes": 4,
                    "runner_distinct_from_concurrent_requests": 3, "runner_images": 4,
                    "runner_max_abs_diff_vs_single_thread": 0.5},
    }
    problems = loadtest.check(bad)
    assert len(problems) == 7, problems


def test_percentiles_nearest_rank():
    """p95 of 1..20 by nearest rank is the 19th value; the median of 1..20 is 10.5."""
    p = loadtest.percentiles([float(v) for v in range(20, 0, -1)])
    assert p == {"n": 20, "p50_s": 10.5, "p95_s": 19.0, "max_s": 20.0}


# ---------------------------------------------------------------------------------------
# thread-safety of the predictions runner shared between sessions (inception_viz.inference)


@pytest.fixture(scope="module")
def runner():
    inference = pytest.importorskip("inception_viz.inference")
    from inception_viz.presets import preset

    return inference.Runner(preset("googlenet"), None)


def _images(n: int):
    import numpy as np

    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (64 + 8 * i, 80, 3), dtype=np.uint8) for i in range(n)]


def test_runner_shared_by_threads_gives_single_threaded_predictions(runner):
    """8 images, 4 threads, one shared Runner: every probability vector equals the one a
    single thread computes for that image."""
    import numpy as np
    from concurrent.futures import ThreadPoolExecutor

    imgs = _images(8)
    with ThreadPoolExecutor(4) as pool:  # the first calls run eagerly and trace while others call
        concurrent = list(pool.map(runner.probabilities, imgs))
    sequential = [runner.probabilities(im) for im in imgs]
    for a, b in zip(sequential, concurrent):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert len({a.tobytes() for a in sequential}) == len(imgs)


class _Interleave:
    """Forces one schedule of two threads: thread A stores its cached activations, then
    waits (at most 10 s) until thread B has stored its own, then A continues."""

    def __init__(self):
        import threading

        self.a_stored = threading.Event()
        self.b_stored = threading.Event()
        self.a_thread = None

    def install(self, runner):
        gate = self
        cls = type(runner)

        class Gated(cls):
            @property
            def _last(self):
                return self.__dict__.get("_gated_last")

            @_last.setter
            def _last(self, value):
                import threading

                self.__dict__["_gated_last"] = value
                if value is None:
                    return
                if threading.current_thread() is gate.a_thread and not gate.a_stored.is_set():
                    gate.a_stored.set()
                    gate.b_stored.wait(10)
                elif gate.a_stored.is_set():
                    gate.b_stored.set()

        runner.__dict__.pop("_last", None)
        runner.__class__ = Gated
        runner._last = None


def test_runner_activations_are_per_caller_under_interleaving(runner):
    """Two sessions share one cached Runner and ask for the activations of different
    images. With thread B storing its result while thread A is between storing and
    returning its own, A must still get A's activations (Runner.activations keeps the
    last image's result in an attribute shared by every session)."""
    import threading

    import numpy as np

    inference = pytest.importorskip("inception_viz.inference")
    img_a = np.zeros((224, 224, 3), np.uint8)  # black and white: far apart outputs
    img_b = np.full((224, 224, 3), 255, np.uint8)
    want_a = runner.activations(img_a)[inference.PROBS].copy()
    want_b = runner.activations(img_b)[inference.PROBS].copy()
    assert not np.allclose(want_a, want_b)

    shared = copy.copy(runner)  # the same model, its own cache attribute
    gate = _Interleave()
    gate.install(shared)
    got = {}

    def session(tag, img):
        got[tag] = shared.activations(img)[inference.PROBS].copy()

    ta = threading.Thread(target=session, args=("a", img_a))
    gate.a_thread = ta
    ta.start()
    assert gate.a_stored.wait(60), "thread A never stored its activations"
    tb = threading.Thread(target=session, args=("b", img_b))
    tb.start()
    ta.join(60)
    tb.join(60)
    def dist(x, y):
        return float(np.max(np.abs(x - y)))

    assert dist(got["b"], want_b) < dist(want_a, want_b) / 10, "session B got wrong activations"
    assert dist(got["a"], want_a) < dist(want_a, want_b) / 10, (
        f"session A got session B's activations (distance to B's {dist(got['a'], want_b):.3g}, "
        f"to its own {dist(got['a'], want_a):.3g})"
    )


def test_get_runner_builds_a_model_once_for_sessions_asking_at_once(monkeypatch):
    """4 threads ask for the same uncached runner at once; the (stand-in) build takes
    0.3 s, so all four ask while the first is still building. One build must serve all."""
    import threading
    import time as _time
    from concurrent.futures import ThreadPoolExecutor

    inference = pytest.importorskip("inception_viz.inference")
    from inception_viz.presets import preset

    built = []
    lock = threading.Lock()

    class SlowRunner:
        def __init__(self, spec, weights=None, device=None):
            with lock:
                built.append(spec)
            _time.sleep(0.3)

    monkeypatch.setattr(inference, "Runner", SlowRunner)
    monkeypatch.setattr(inference, "_RUNNERS", type(inference._RUNNERS)())
    spec = preset("googlenet").with_block(EDIT_BLOCK_FOR_TEST, **{"3x3": 131})
    with ThreadPoolExecutor(4) as pool:
        runners = list(pool.map(lambda _: inference.get_runner(spec), range(4)))
    assert len({id(r) for r in runners}) == 1
    assert len(built) == 1


EDIT_BLOCK_FOR_TEST = "inception_3a"


def _put(url: str, data: bytes, xsrf: str) -> int:
    import urllib.error
    import urllib.request

    boundary = "inceptionvizboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url, data=body, method="PUT", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "X-Xsrftoken": xsrf,
        "Cookie": f"_streamlit_xsrf={xsrf}",
    })
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _put_headers_only(url: str, length: int, xsrf: str) -> int:
    """Announce a ``length``-byte upload and read the answer before sending the body (the
    server answers a too-large Content-Length at once and closes the connection)."""
    import http.client
    import urllib.parse

    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.putrequest("PUT", u.path)
        conn.putheader("Content-Type", "multipart/form-data; boundary=inceptionvizboundary")
        conn.putheader("Content-Length", str(length))
        conn.putheader("X-Xsrftoken", xsrf)
        conn.putheader("Cookie", f"_streamlit_xsrf={xsrf}")
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_no_frame_may_drive_the_app():
    """The real server, with .streamlit/config.toml: the host config the page fetches allows
    no origin, so no page that frames the app can send it Streamlit's host messages (stop,
    rerun, set the query). Streamlit's default would allow its Community Cloud domains."""
    import json
    import urllib.request

    with loadtest.StreamlitServer() as server:
        with urllib.request.urlopen(f"{server.url}_stcore/host-config", timeout=30) as r:
            host = json.load(r)
    assert host["allowedOrigins"] == [], host


def test_server_refuses_uploads_over_max_upload_size():
    """The real server, with .streamlit/config.toml: an upload of maxUploadSize + 1 MiB is
    refused with HTTP 413 before the app sees it, while a small upload to the same session
    is accepted (so the 413 is about the size, not the request)."""
    import asyncio
    import tomllib
    import urllib.request

    import websockets
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    limit_mb = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    with loadtest.StreamlitServer() as server:
        with urllib.request.urlopen(f"{server.url}_stcore/health", timeout=30) as r:  # sets the XSRF cookie
            cookie = r.headers.get("Set-Cookie", "")
        xsrf = cookie.split("_streamlit_xsrf=", 1)[1].split(";", 1)[0] if "_streamlit_xsrf=" in cookie else ""

        async def session_and_uploads():
            ws_url = server.url.replace("http://", "ws://") + "_stcore/stream"
            async with websockets.connect(ws_url, subprotocols=["streamlit"], origin=server.url.rstrip("/"), max_size=None) as ws:
                client = loadtest._Protocol(ws)
                await client.rerun(120)  # the session exists once it has run
                # the session id: from the server's runtime, through the first message of a new run
                from streamlit.proto.BackMsg_pb2 import BackMsg

                msg = BackMsg()
                msg.rerun_script.query_string = client.query_string
                await ws.send(msg.SerializeToString())
                sid = None
                while sid is None:
                    fwd = ForwardMsg()
                    fwd.ParseFromString(await asyncio.wait_for(ws.recv(), 60))
                    if fwd.WhichOneof("type") == "new_session":
                        sid = fwd.new_session.initialize.session_id
                base = f"{server.url}_stcore/upload_file/{sid}"
                loop = asyncio.get_running_loop()
                small = await loop.run_in_executor(None, _put, f"{base}/small", b"\x89PNG" + bytes(1000), xsrf)
                big = await loop.run_in_executor(None, _put_headers_only, f"{base}/big", (limit_mb + 1) * 1024 * 1024, xsrf)
                return small, big

        small, big = asyncio.run(session_and_uploads())
    assert small in (200, 204), small
    assert big == 413, big
