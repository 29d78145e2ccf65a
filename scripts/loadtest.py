"""Load, endurance and thread-safety runs for Inception Explorer (issue 6), on loopback only.

    .venv/bin/python scripts/loadtest.py           # short form (CI): 4 + 1 sessions, 20 edits
    .venv/bin/python scripts/loadtest.py --full    # 30 + 5 sessions, 200 edits (several minutes)
    .venv/bin/python scripts/loadtest.py --sessions 10 --browsers 0 --edits 50 --json out.json

Three parts, each bounded in count and time (the script always stops by itself):

1. **Sessions**: starts a real ``streamlit run app.py`` on a free port of 127.0.0.1 (never
   another address) and opens N sessions at once. Most speak Streamlit's own websocket
   protocol (``/_stcore/stream``, the protobufs the frontend sends), one connection per
   student: the server does everything it does for a real tab, while this machine does not
   also have to render N pages (in a lecture hall each student's browser runs on their own
   laptop; 30 Chromium renderers on a 2-core machine measure Chromium, not the app). A few
   more sessions are real headless Chromium pages (Debian's ``/usr/bin/chromium`` through
   playwright-python, one browser with one context per session; nothing is downloaded).
   Each session loads the default page and checks the paper's total (6,998,552
   parameters), edits the 3x3 width of the block in focus to a value of its own and checks
   the total the counter gives for *that* value (a session shown another session's state
   fails), and that the URL carries the edit. Browser sessions then, when the app offers
   predictions, upload a sample image and wait for the top-5. Reported: latency per step
   (p50/p95) per kind of client, and the server's peak RSS (psutil, the server's whole
   process tree, sampled every 0.2 s).
2. **Endurance**: one session's worth of width edits with a build after each, in-process
   through the app's builder ``views.common.build_model`` (the process-wide registry of live
   models it shares with Predictions, ``inference.cached_model``, at most
   ``MODEL_CACHE_ENTRIES``). Reports RSS over the run and how many built models are alive
   (weak references): at most the registry's limit.
3. **Thread-safety**: threads call ``build_model`` for the same spec at once (one model
   must come back, built once) and run forward passes of that shared model on different
   inputs; every output must equal the single-threaded output for the same input. The
   same for the predictions runner (``inference.get_runner``): one runner for threads
   asking at once, and each thread's probabilities and block activations for its own
   image equal the single-threaded ones.

Exit status 0 when every check passes, 1 otherwise; ``--json`` writes the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # bare-mode cache warnings

import psutil  # noqa: E402

from inception_viz import browser  # noqa: E402
from inception_viz.browser import view_button  # noqa: E402
from inception_viz.counter import analyze, fmt_int  # noqa: E402
from inception_viz.presets import preset  # noqa: E402

HOST = "127.0.0.1"  # loopback only, by design: the load test never listens elsewhere
CHROMIUM = browser.CHROMIUM
# the project's Chromium flags, plus /tmp for shared memory: many pages at once outgrow /dev/shm
CHROMIUM_ARGS = [*browser.CHROMIUM_ARGS, "--disable-dev-shm-usage"]
REPLICA_COOKIE = "INCEPTION_VIZ_REPLICA"  # scripts/hall.py's HAProxy cookie
EDIT_BLOCK, EDIT_WIDTH = "inception_3a", "3x3"  # the default block in focus and its 3x3 width
SHORT = dict(sessions=4, browsers=1, edits=20, threads=4, inputs=3, step_timeout_s=180, total_timeout_s=900)
FULL = dict(sessions=30, browsers=5, edits=200, threads=8, inputs=5, step_timeout_s=900, total_timeout_s=1800)


def edited_total(value: int) -> int:
    """The total the counter gives after setting inception_3a's 3x3 width to ``value``."""
    return analyze(preset("googlenet").with_block(EDIT_BLOCK, **{EDIT_WIDTH: value})).total_params


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    v = sorted(values)

    def pct(p: float) -> float:  # nearest rank: the ceil(p% * n)-th smallest value
        return v[min(len(v), max(1, math.ceil(p / 100 * len(v)))) - 1]

    return {"n": len(v), "p50_s": round(statistics.median(v), 3), "p95_s": round(pct(95), 3), "max_s": round(v[-1], 3)}


# ---------------------------------------------------------------------------------------
# the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class RssSampler(threading.Thread):
    """Peak resident memory of a process and its children, sampled every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._halt = threading.Event()

    def rss(self) -> int:
        total = 0
        try:
            procs = [self.proc, *self.proc.children(recursive=True)]
        except psutil.Error:
            return 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, self.rss())
            self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> int:
        self._halt.set()
        self.join(timeout=5)
        return self.peak


class StreamlitServer:
    """``streamlit run app.py`` on ``127.0.0.1:<free port>``; stopped (by its own process
    group id) on exit, whatever happens."""

    def __init__(self, app: Path = ROOT / "app.py", startup_timeout: float = 90.0, env: dict | None = None):
        self.app = app
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/"
        self.startup_timeout = startup_timeout
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.sampler: RssSampler | None = None
        self.log_path = None

    def __enter__(self) -> "StreamlitServer":
        import tempfile

        self.log = tempfile.NamedTemporaryFile("w+", prefix="streamlit-", suffix=".log", delete=False)
        self.log_path = self.log.name
        cmd = [
            sys.executable, "-m", "streamlit", "run", str(self.app),
            "--server.address", HOST,
            "--server.port", str(self.port),
            "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True)
        self.sampler = RssSampler(self.proc.pid)
        self.sampler.start()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with status {self.proc.returncode}; log: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError(f"streamlit did not answer on {self.url} within {self.startup_timeout:.0f} s")

    def log_tail(self, n: int = 2000) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def __exit__(self, *exc) -> None:
        self.peak_rss = self.sampler.stop() if self.sampler else 0
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group this object started
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        self.log.close()


class HallServer:
    """``scripts/hall.py --replicas N`` (N replicas behind HAProxy) on a free loopback
    port, with the same interface as ``StreamlitServer``; RSS is the whole tree's."""

    def __init__(self, replicas: int, startup_timeout: float = 240.0):
        self.replicas = replicas
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/"
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.sampler: RssSampler | None = None

    def __enter__(self) -> "HallServer":
        import tempfile

        self.log = tempfile.NamedTemporaryFile("w+", prefix="hall-", suffix=".log", delete=False)
        self.log_path = self.log.name
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "hall.py"), "--replicas", str(self.replicas),
                                      "--port", str(self.port), "--address", HOST],
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.sampler = RssSampler(self.proc.pid)
        self.sampler.start()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hall.py exited with status {self.proc.returncode}; log: {self.log_tail()}")
            if "ready: " in Path(self.log_path).read_text(errors="replace"):
                return self
            time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError(f"hall.py was not ready within {self.startup_timeout:.0f} s: {self.log_tail()}")

    log_tail = StreamlitServer.log_tail

    def __exit__(self, *exc) -> None:
        self.peak_rss = self.sampler.stop() if self.sampler else 0
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # hall.py stops its replicas and HAProxy
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()


# ---------------------------------------------------------------------------------------
# 1. concurrent browser sessions


@dataclass
class SessionResult:
    index: int
    client: str = "browser"
    ok: bool = False
    error: str = ""
    steps: dict = field(default_factory=dict)  # step name -> seconds
    replica: str = ""  # behind scripts/hall.py: the replica HAProxy's cookie names


PREDICT_TAB = "Predictions & feature maps"  # its label in the view switcher
PREDICT_TOGGLE = "Run the network on an image"
PREDICT_UPLOADER = "…or your own image"


def _app_source() -> str:
    """The text of ``app.py`` and of its view modules."""
    paths = [ROOT / "app.py", *sorted((ROOT / "inception_viz" / "views").glob("*.py"))]
    return "\n".join(p.read_text() for p in paths if p.exists())


def _has_predictions(app_source: str) -> bool:
    """Whether the app offers predictions on an uploaded image (its switch and uploader)."""
    return PREDICT_TOGGLE in app_source and PREDICT_UPLOADER in app_source


async def _session(browser, url: str, i: int, value: int, step_timeout_ms: int, image: Path | None) -> SessionResult:
    from playwright.async_api import expect

    res = SessionResult(i)
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await ctx.new_page()
    step = "load"
    try:
        metric = page.locator('[data-testid="stMetricValue"]').first
        t = time.monotonic()
        await page.goto(url, timeout=step_timeout_ms)
        await expect(metric).to_have_text("6,998,552", timeout=step_timeout_ms)
        res.steps["load"] = time.monotonic() - t
        res.replica = {c["name"]: c["value"] for c in await ctx.cookies()}.get(REPLICA_COOKIE, "")

        step = "edit"
        box = page.get_by_label(EDIT_WIDTH, exact=True)
        t = time.monotonic()
        await box.fill(str(value), timeout=step_timeout_ms)
        await box.press("Enter", timeout=step_timeout_ms)
        # this session's own total: another session's edit would show another number
        await expect(metric).to_have_text(fmt_int(edited_total(value)), timeout=step_timeout_ms)
        res.steps["edit"] = time.monotonic() - t

        if image is not None:
            step = "predict"
            t = time.monotonic()
            app_root = page.locator('[data-testid="stApp"]')
            await view_button(page, PREDICT_TAB).click(timeout=step_timeout_ms)
            await page.get_by_text(PREDICT_TOGGLE, exact=True).click(timeout=step_timeout_ms)
            box = page.locator('[data-testid="stFileUploader"]').filter(has_text=PREDICT_UPLOADER)
            await expect(box).to_be_visible(timeout=step_timeout_ms)  # the switch's run drew the section
            # let that run (the sample photo's prediction) finish first, as a person would see
            # it finish: an upload racing a run that is still redrawing the section can be lost
            await expect(app_root).to_have_attribute("data-test-script-state", "notRunning", timeout=step_timeout_ms)
            await box.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(image), timeout=step_timeout_ms)
            try:
                await expect(page.get_by_text(f"{image.name}, as the network sees it").first).to_be_visible(timeout=step_timeout_ms)
                await expect(page.locator('[data-testid="stPlotlyChart"]').last).to_be_visible(timeout=step_timeout_ms)
            except Exception:
                if os.environ.get("LOADTEST_SHOTS"):
                    await page.screenshot(path=f"{os.environ['LOADTEST_SHOTS']}/session{i}.png", full_page=True)
                raise
            res.steps["predict"] = time.monotonic() - t

        step = "check"
        if await page.locator('[data-testid="stException"]').count():
            raise RuntimeError("the page shows an exception: " + (await page.locator('[data-testid="stException"]').first.inner_text())[:200])
        if f"{EDIT_BLOCK}=" not in page.url:
            raise RuntimeError(f"the URL does not carry the edit: {page.url}")
        res.ok = True
    except Exception as exc:  # recorded, not raised: one failing session must not hide the others
        res.error = f"{step}: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    finally:
        await ctx.close()
    return res


class _Protocol:
    """A minimal client of Streamlit's own websocket protocol (``/_stcore/stream``, binary
    protobufs: ``BackMsg`` up, ``ForwardMsg`` down), as the browser's frontend speaks it.
    Each connection is one session on the server, like one student's browser tab, without
    a browser on this machine: the server does all the work it does for a real tab."""

    def __init__(self, ws):
        self.ws = ws
        self.query_string = ""
        self.session_id = ""
        self.states: dict = {}  # widget id -> WidgetState: sent on every rerun, as the frontend does
        self.cookie = ""  # behind a balancer: "INCEPTION_VIZ_REPLICA=appN", from the handshake's answer
        self.nav_id = ""  # the view switcher (a segmented control: its value is the open view's label)
        self.fragment_of: dict[str, str] = {}  # widget id -> the fragment that drew it ("" for none)
        self.arrivals: list[tuple[str, float]] = []  # the last run's messages: (kind, time.monotonic())

    async def rerun(self, timeout_s: float, widgets=()) -> list:
        """Ask for a script run (with changed widget states) and collect the elements it
        draws until ``script_finished``. An exception element is an error. As the frontend
        does, a change to widgets drawn by one fragment (the app's main area) asks for a run
        of that fragment only."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        for w in widgets:
            self.states[w.id] = w
        msg = BackMsg()
        msg.rerun_script.query_string = self.query_string
        msg.rerun_script.page_script_hash = ""
        msg.rerun_script.widget_states.widgets.extend(self.states.values())
        fragments = {self.fragment_of.get(w.id, "") for w in widgets}
        if len(fragments) == 1 and "" not in fragments:
            msg.rerun_script.fragment_id = fragments.pop()
        await self.ws.send(msg.SerializeToString())
        elements = []
        self.arrivals = []
        deadline = time.monotonic() + timeout_s
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
            arrived = time.monotonic()
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            self.arrivals.append((kind, arrived))
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                widget = getattr(el, el.WhichOneof("type") or "", None)
                if getattr(widget, "id", ""):
                    self.fragment_of[widget.id] = fwd.delta.fragment_id
                    if el.WhichOneof("type") == "button_group" and widget.id.endswith(f"-{browser.VIEW_KEY}"):
                        self.nav_id = widget.id
                if el.WhichOneof("type") == "exception":
                    raise RuntimeError(f"the page shows an exception: {el.exception.type}: {el.exception.message[:200]}")
                elements.append(el)
            elif kind == "page_info_changed":
                self.query_string = fwd.page_info_changed.query_string
            elif kind == "new_session":
                self.session_id = fwd.new_session.initialize.session_id
            elif kind == "script_finished":
                return elements


def _find(elements, kind: str, label: str):
    """The first element of ``kind`` (``number_input``, ``checkbox``, ``file_uploader``…)
    whose label starts with ``label``."""
    return next((getattr(e, kind) for e in elements if e.WhichOneof("type") == kind
                 and getattr(e, kind).label.startswith(label)), None)


def _upload(url: str, session_id: str, file_id: str, path: Path, xsrf: str, cookie: str = "") -> None:
    """PUT a file to the session's upload endpoint, as the frontend does for an uploader
    (with the balancer's replica cookie, if any: the upload must reach the session's replica)."""
    boundary = "inceptionvizloadtest"
    data = path.read_bytes()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(f"{url}_stcore/upload_file/{session_id}/{file_id}", data=body, method="PUT", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": xsrf, "Cookie": "; ".join(filter(None, [f"_streamlit_xsrf={xsrf}", cookie]))})
    with urllib.request.urlopen(req, timeout=60) as r:
        if r.status not in (200, 204):
            raise RuntimeError(f"upload answered HTTP {r.status}")


def _xsrf_token(url: str, cookie: str = "") -> str:
    """The XSRF cookie the health endpoint sets (uploads must echo it in a header)."""
    req = urllib.request.Request(f"{url}_stcore/health", headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        cookie = r.headers.get("Set-Cookie", "")
    return cookie.split("_streamlit_xsrf=", 1)[1].split(";", 1)[0] if "_streamlit_xsrf=" in cookie else ""


async def _ws_predict(client: "_Protocol", url: str, elements: list, image: Path, timeout_s: float) -> None:
    """Turn the predictions section on, upload ``image`` to its uploader and check that the
    page shows the top-k chart for that image (by its caption), with no error."""
    from streamlit.proto.Common_pb2 import FileUploaderState, UploadedFileInfo
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    if client.nav_id:  # only the open view is drawn: open the predictions view, as a click does
        state = WidgetState(id=client.nav_id)
        state.string_array_value.data[:] = [PREDICT_TAB]
        elements = await client.rerun(timeout_s, [state])
    toggle = _find(elements, "checkbox", PREDICT_TOGGLE)
    if toggle is None:
        raise RuntimeError(f"no {PREDICT_TOGGLE!r} switch on the page")
    elements = await client.rerun(timeout_s, [WidgetState(id=toggle.id, bool_value=True)])
    uploader = _find(elements, "file_uploader", PREDICT_UPLOADER)
    if uploader is None:
        raise RuntimeError(f"no image uploader labelled {PREDICT_UPLOADER!r}")
    loop = asyncio.get_running_loop()
    xsrf = await loop.run_in_executor(None, _xsrf_token, url, client.cookie)
    file_id = f"loadtest-{client.session_id[:8]}"
    await loop.run_in_executor(None, _upload, url, client.session_id, file_id, image, xsrf, client.cookie)
    info = UploadedFileInfo(file_id=file_id, name=image.name, size=image.stat().st_size)
    state = WidgetState(id=uploader.id, file_uploader_state_value=FileUploaderState(uploaded_file_info=[info]))
    elements = await client.rerun(timeout_s, [state])
    errors = [e.alert.body for e in elements if e.WhichOneof("type") == "alert" and e.alert.format == e.alert.ERROR]
    if errors:
        raise RuntimeError(f"the predictions section shows an error: {errors[0][:200]}")
    captions = [c for e in elements if e.WhichOneof("type") == "imgs" for img in e.imgs.imgs for c in [img.caption]]
    if not any(c.startswith(f"{image.name}, as the network sees it") for c in captions):
        raise RuntimeError(f"no prediction for the uploaded {image.name}: image captions {captions[:3]}")
    if not any(e.WhichOneof("type") == "plotly_chart" for e in elements):
        raise RuntimeError("no top-k chart after the upload")


def _replica_cookie(ws) -> str:
    """The sticky-session cookie HAProxy inserted in the websocket handshake's answer
    (``NAME=value``), or "" when no balancer is in front."""
    for header in ws.response.headers.get_all("Set-Cookie"):
        pair = header.split(";", 1)[0].strip()
        if pair.startswith(f"{REPLICA_COOKIE}="):
            return pair
    return ""


def _metric(elements, label_prefix: str) -> str | None:
    return next((e.metric.body for e in elements if e.WhichOneof("type") == "metric" and e.metric.label.startswith(label_prefix)), None)


async def _ws_session(url: str, i: int, value: int, step_timeout_s: float, image: Path | None = None) -> SessionResult:
    import websockets
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    res = SessionResult(i)
    res.client = "protocol"
    ws_url = url.replace("http://", "ws://") + "_stcore/stream"
    step = "load"
    try:
        t = time.monotonic()
        async with websockets.connect(ws_url, subprotocols=["streamlit"], origin=url.rstrip("/"), max_size=None,
                                      open_timeout=step_timeout_s) as ws:
            client = _Protocol(ws)
            client.cookie = _replica_cookie(ws)
            res.replica = client.cookie.partition("=")[2]
            elements = await client.rerun(step_timeout_s)
            total = _metric(elements, "Parameters (weights")
            if total != "6,998,552":
                raise RuntimeError(f"the default page shows {total!r} parameters, not 6,998,552")
            res.steps["load"] = time.monotonic() - t

            step = "edit"
            box = next((e.number_input for e in elements if e.WhichOneof("type") == "number_input"
                        and e.number_input.label == EDIT_WIDTH), None)
            if box is None:
                raise RuntimeError(f"no number input labelled {EDIT_WIDTH!r} on the default page")
            t = time.monotonic()
            elements = await client.rerun(step_timeout_s, [WidgetState(id=box.id, int_value=value)])
            total, want = _metric(elements, "Parameters (weights"), fmt_int(edited_total(value))
            if total != want:
                raise RuntimeError(f"after setting {EDIT_WIDTH} to {value} the page shows {total!r}, the counter {want}")
            if f"{EDIT_BLOCK}=" not in client.query_string:
                raise RuntimeError(f"the URL does not carry the edit: {client.query_string!r}")
            res.steps["edit"] = time.monotonic() - t

            if image is not None:
                step = "predict"
                t = time.monotonic()
                await _ws_predict(client, url, elements, image, step_timeout_s)
                res.steps["predict"] = time.monotonic() - t
        res.ok = True
    except Exception as exc:
        res.error = f"{step}: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    return res


async def _run_sessions(url: str, n: int, n_browser: int, step_timeout_s: float, total_timeout_s: float,
                        image: Path | None) -> list[SessionResult]:
    """``n`` protocol sessions and ``n_browser`` Chromium sessions, all at once. Every
    session edits to its own width: 129, 130, ... (the paper has 128)."""
    tasks = [_ws_session(url, i, 129 + i, step_timeout_s, image) for i in range(n)]
    if not n_browser:
        return await asyncio.wait_for(asyncio.gather(*tasks), timeout=total_timeout_s)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            tasks += [_session(browser, url, n + j, 129 + n + j, int(step_timeout_s * 1000), image) for j in range(n_browser)]
            return await asyncio.wait_for(asyncio.gather(*tasks), timeout=total_timeout_s)
        finally:
            await browser.close()


def run_sessions(n: int, n_browser: int = 0, step_timeout_s: float = 180.0, total_timeout_s: float = 900.0,
                 predict: bool | None = None, hall: int = 0) -> dict:
    """Part 1: ``n`` protocol sessions plus ``n_browser`` headless-Chromium sessions at
    once. Returns per-session results, per-step percentiles (per client kind) and the
    server's idle and peak RSS. ``hall`` > 0: through ``scripts/hall.py`` with that many
    replicas behind HAProxy instead of one ``streamlit run``."""
    if predict is None:
        predict = _has_predictions(_app_source())
    image = None
    if predict:
        from inception_viz.images import sample_path

        image = sample_path("cat")
    t0 = time.monotonic()
    with (HallServer(hall) if hall else StreamlitServer()) as server:
        idle_rss = server.sampler.rss()
        results = asyncio.run(_run_sessions(server.url, n, n_browser, step_timeout_s, total_timeout_s, image))
        log = server.log_tail()
    latency = {}
    for client in ("protocol", "browser"):
        mine = [r for r in results if r.client == client]
        steps = sorted({k for r in mine for k in r.steps})
        if mine:
            latency[client] = {s: percentiles([r.steps[s] for r in mine if s in r.steps]) for s in steps}
    return {
        "sessions": n + n_browser,
        "protocol_sessions": n,
        "browser_sessions": n_browser,
        "ok": sum(r.ok for r in results),
        "errors": [f"{r.client} #{r.index}: {r.error}" for r in results if not r.ok],
        "latency": latency,
        "predict_step": bool(predict),
        "replicas": hall or 1,
        "sessions_per_replica": {k: sum(r.replica == k for r in results) for k in sorted({r.replica for r in results})} if hall else {},
        "server_idle_rss_mb": round(idle_rss / 1e6, 1),
        "server_peak_rss_mb": round(server.peak_rss / 1e6, 1),
        "wall_s": round(time.monotonic() - t0, 1),
        "server_log_tail": "" if all(r.ok for r in results) else log,
        "results": [asdict(r) for r in results],
    }


# ---------------------------------------------------------------------------------------
# 2 and 3: in-process, through the app's cached builder


def load_app():
    """The app's module holding its cached builder (``build_model``, ``clear_models``,
    ``MODEL_CACHE_ENTRIES``): ``inception_viz.views.common``, shared by the views."""
    module = importlib.import_module("inception_viz.views.common")
    import streamlit.logger

    streamlit.logger.set_log_level("error")  # "no runtime / missing ScriptRunContext" in bare mode
    return module


def _build(app, spec):
    return app.build_model(spec, "/CPU:0")


def endurance(edits: int, time_limit_s: float = 1800.0) -> dict:
    """Part 2: ``edits`` width edits of one block, a build after each (every edit a new
    spec, so every build misses the cache: the worst case for memory)."""
    app = load_app()
    app.clear_models()
    limit = app.MODEL_CACHE_ENTRIES
    proc = psutil.Process()
    base = preset("googlenet")
    refs: list[weakref.ref] = []
    rss: list[int] = []
    max_alive = 0
    errors: list[str] = []
    t0 = time.monotonic()
    for i in range(edits):
        if time.monotonic() - t0 > time_limit_s:
            errors.append(f"stopped after {i} edits: over the {time_limit_s:.0f} s limit")
            break
        value = 64 + (i % 400)  # 64..463: every edit a new width, so a new cache key
        spec = base.with_block(EDIT_BLOCK, **{EDIT_WIDTH: value})
        try:
            model = _build(app, spec)
            if model.count_params() != analyze(spec).total_params:
                errors.append(f"edit {i}: count_params {model.count_params()} != counter {analyze(spec).total_params}")
            refs.append(weakref.ref(model))
            del model
        except Exception as exc:
            errors.append(f"edit {i}: {type(exc).__name__}: {exc}")
        gc.collect()
        alive = sum(r() is not None for r in refs)
        max_alive = max(max_alive, alive)
        rss.append(proc.memory_info().rss)
    warm = min(len(rss) - 1, max(limit + 2, len(rss) // 10)) if rss else 0
    result = {
        "edits": len(rss),
        "errors": errors,
        "cache_limit": limit,
        "max_models_alive": max_alive,
        "rss_first_mb": round(rss[0] / 1e6, 1) if rss else None,
        "rss_after_warmup_mb": round(rss[warm] / 1e6, 1) if rss else None,
        "rss_peak_mb": round(max(rss) / 1e6, 1) if rss else None,
        "rss_last_mb": round(rss[-1] / 1e6, 1) if rss else None,
        "rss_growth_after_warmup_mb": round((rss[-1] - rss[warm]) / 1e6, 1) if rss else None,
        "rss_growth_per_edit_after_warmup_kb": round((rss[-1] - rss[warm]) / 1e3 / max(1, len(rss) - 1 - warm), 1) if rss else None,
        "wall_s": round(time.monotonic() - t0, 1),
    }
    app.clear_models()
    gc.collect()
    return result


def thread_safety(threads: int, inputs_per_thread: int, seed: int = 0) -> dict:
    """Part 3: a model shared through the cache gives every thread the result a
    single-threaded run gives for the same input."""
    import numpy as np

    app = load_app()
    app.clear_models()
    spec = preset("googlenet").with_block(EDIT_BLOCK, **{EDIT_WIDTH: 127})  # not the paper's 128: a fresh key
    # (a) concurrent cache misses for the same spec: one build, one object for everyone
    with ThreadPoolExecutor(threads) as pool:
        models = list(pool.map(lambda _: _build(app, spec), range(threads)))
    distinct_models = len({id(m) for m in models})
    model = models[0]
    del models

    rng = np.random.default_rng(seed)
    h, w, c = spec.input_shape
    xs = [rng.normal(0, 50, (1, h, w, c)).astype("float32") for _ in range(threads * inputs_per_thread)]

    def forward(x):
        return np.asarray(_build(app, spec)(x, training=False))  # through the cache, as a session would

    reference = [np.asarray(model(x, training=False)) for x in xs]  # single-threaded
    with ThreadPoolExecutor(threads) as pool:
        concurrent = list(pool.map(forward, xs))
    diffs = [float(np.max(np.abs(a - b))) for a, b in zip(reference, concurrent)]
    top1 = [int(np.argmax(a)) for a in reference]
    # inputs differ, so outputs must differ too (a shared-state bug could hand every thread the same output)
    distinct_outputs = len({a.tobytes() for a in reference})
    app.clear_models()
    gc.collect()
    result = {
        "threads": threads,
        "forward_passes": len(xs),
        "distinct_models_from_concurrent_builds": distinct_models,
        "max_abs_diff_vs_single_thread": max(diffs),
        "same_top1": top1 == [int(np.argmax(b)) for b in concurrent],
        "distinct_outputs": distinct_outputs,
    }
    result.update(_runner_threads(threads, inputs_per_thread, seed))
    return result


def _runner_threads(threads: int, inputs_per_thread: int, seed: int) -> dict:
    """The predictions runner (``inference.get_runner``) shared by threads: each thread's
    top-5 and activations for its own image equal the single-threaded ones."""
    try:
        from inception_viz import inference
    except ImportError:  # the predictions module is not there
        return {}
    import numpy as np

    rng = np.random.default_rng(seed + 1)
    spec = preset("googlenet").with_block(EDIT_BLOCK, **{EDIT_WIDTH: 126})
    images = [rng.integers(0, 256, (200 + 8 * i, 240, 3), dtype=np.uint8) for i in range(threads * inputs_per_thread)]
    with ThreadPoolExecutor(threads) as pool:  # concurrent first requests: one build
        runners = list(pool.map(lambda _: inference.get_runner(spec), range(threads)))
    runner = runners[0]

    def work(img):
        probs = inference.get_runner(spec).probabilities(img)
        acts = inference.get_runner(spec).activations(img)
        return probs, acts[EDIT_BLOCK]

    with ThreadPoolExecutor(threads) as pool:
        concurrent = list(pool.map(work, images))
    sequential = [work(img) for img in images]
    diff = max(max(float(np.max(np.abs(a[0] - b[0]))), float(np.max(np.abs(a[1] - b[1])))) for a, b in zip(sequential, concurrent))
    return {
        "runner_distinct_from_concurrent_requests": len({id(r) for r in runners}),
        "runner_images": len(images),
        "runner_max_abs_diff_vs_single_thread": diff,
    }


# ---------------------------------------------------------------------------------------


def check(report: dict) -> list[str]:
    """Every failed check, as a line."""
    problems = []
    s = report.get("sessions")
    if s is not None:
        if s["ok"] != s["sessions"]:
            problems.append(f"sessions: {s['sessions'] - s['ok']} of {s['sessions']} failed: {s['errors'][:3]}")
        used = [k for k in s.get("sessions_per_replica", {}) if k]
        if s.get("replicas", 1) > 1 and s["sessions"] > 1 and len(used) < 2:
            problems.append(f"sessions: all on one replica behind the balancer: {s['sessions_per_replica']}")
    e = report.get("endurance")
    if e is not None:
        if e["errors"]:
            problems.append(f"endurance: {e['errors'][:3]}")
        if e["max_models_alive"] > e["cache_limit"]:
            problems.append(f"endurance: {e['max_models_alive']} models alive, cache limit {e['cache_limit']}")
    t = report.get("threads")
    if t is not None:
        if t["distinct_models_from_concurrent_builds"] != 1:
            problems.append(f"threads: {t['distinct_models_from_concurrent_builds']} models built for one spec")
        if t["max_abs_diff_vs_single_thread"] > 1e-5 or not t["same_top1"]:
            problems.append(f"threads: outputs differ from the single-threaded run by {t['max_abs_diff_vs_single_thread']}")
        if t["distinct_outputs"] != t["forward_passes"]:
            problems.append("threads: different inputs gave identical outputs")
        if "runner_images" in t:
            if t["runner_distinct_from_concurrent_requests"] != 1:
                problems.append(f"threads: {t['runner_distinct_from_concurrent_requests']} runners built for one spec")
            if t["runner_max_abs_diff_vs_single_thread"] > 1e-5:
                problems.append(f"threads: runner outputs differ from the single-threaded run by {t['runner_max_abs_diff_vs_single_thread']}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help=f"the full run: {FULL['sessions']} sessions, {FULL['edits']} edits")
    ap.add_argument("--sessions", type=int, help="concurrent protocol sessions (0 with --browsers 0 skips part 1)")
    ap.add_argument("--browsers", type=int, help="concurrent headless-Chromium sessions on top of them")
    ap.add_argument("--edits", type=int, help="endurance edits with a build after each (0 skips part 2)")
    ap.add_argument("--threads", type=int, help="threads sharing one cached model (0 skips part 3)")
    ap.add_argument("--hall", type=int, default=0, metavar="N",
                    help="part 1 through scripts/hall.py: N replicas behind HAProxy (needs haproxy)")
    ap.add_argument("--json", metavar="PATH", help="write the figures here")
    args = ap.parse_args(argv)
    plan = dict(FULL if args.full else SHORT)
    for k in ("sessions", "browsers", "edits", "threads"):
        if getattr(args, k) is not None:
            plan[k] = max(0, getattr(args, k))

    plan["hall"] = max(0, args.hall)
    report: dict = {"plan": plan, "machine": {"cpus": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 1e9, 1)}}
    if plan["sessions"] or plan["browsers"]:
        print(f"[1/3] {plan['sessions']} protocol + {plan['browsers']} Chromium sessions at once on "
              + (f"{args.hall} replicas behind HAProxy…" if args.hall else "a local streamlit server…"), flush=True)
        report["sessions"] = run_sessions(plan["sessions"], plan["browsers"], plan["step_timeout_s"], plan["total_timeout_s"],
                                          hall=max(0, args.hall))
        print(json.dumps({k: v for k, v in report["sessions"].items() if k not in ("results", "server_log_tail")}, indent=2), flush=True)
    if plan["edits"]:
        print(f"[2/3] endurance: {plan['edits']} width edits, a build after each…", flush=True)
        report["endurance"] = endurance(plan["edits"])
        print(json.dumps(report["endurance"], indent=2), flush=True)
    if plan["threads"]:
        print(f"[3/3] thread-safety: {plan['threads']} threads sharing one cached model…", flush=True)
        report["threads"] = thread_safety(plan["threads"], plan["inputs"])
        print(json.dumps(report["threads"], indent=2), flush=True)
    problems = check(report)
    report["problems"] = problems
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print("PASS" if not problems else "FAIL:\n  " + "\n  ".join(problems), flush=True)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
