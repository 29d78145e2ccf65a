"""``python -m inception_viz bench --browser [--quick] [--format text|json]``: what a person sees.

Starts, on free loopback ports, ``streamlit run app.py`` and the floor app
(``inception_viz/bench_floor_app.py``: one number box and one metric), both from the
repository root so ``.streamlit/config.toml`` applies as when a lecturer runs the app, and
drives both in Debian's headless Chromium through playwright-python. Each key is the
explorer's time for a gesture divided by the floor app's time for the nearest gesture, taken
in the same run (lower is better):

- ``browser_edit_over_floor``: type a new width into the focus block's ``3x3`` box, press
  Enter, until the header shows the new total parameters (the exact figure the counter gives
  for the edited spec); a different width each time. Floor: type a value, Enter, until the
  metric shows it.
- ``browser_page_ready_over_floor``: a fresh context (no cookies, no cache), ``goto``, until
  the total is visible; floor: until its metric is visible.
- ``browser_tab_switch_over_floor``: click a view's button in the view switcher (the app's
  tabs until they became a segmented control; the key keeps its name) until that view's main
  content (:data:`VIEW_CONTENT`) is visible in the open view's box, median of each view's
  median, over the floor's edit round trip.

``absolute`` also has ``app_page_cpu_ms`` and ``floor_page_cpu_ms``: what a fresh page of
each costs the browser's main thread in CPU time (median of a few untimed fresh pages, CDP
``ThreadTime``), a steadier view of the page's weight than its wall time; no goal.

Times are wall clock around the gesture, ending when a check run on every animation frame
in the page first sees the answer. Each app is warmed up once (a load, an edit, every view)
before timing, and edited once more, untimed, right before the timed edits (the pages sit
idle while the fresh pages load); after each timed gesture the page is left to finish its
script run and settle. Every loop is bounded and every wait has a timeout; the servers and
the browser are stopped at the end, also on error. A key that cannot be measured is ``null``
with the reason under ``notes`` (for example when Chromium is missing).
"""

from __future__ import annotations

import datetime as _dt
import re
import statistics
import time
from importlib.metadata import PackageNotFoundError, version

from .browser import CHROMIUM, ROOT, VIEW_BOX, VIEW_SWITCHER, StreamlitServer, chromium_missing, launch_chromium, view_button

#: key: (goal, what is measured). Lower is better; ok when value <= goal.
GOALS: dict[str, tuple[float, str]] = {
    "browser_edit_over_floor": (2.0, "3x3 width typed + Enter -> new total visible / floor app's edit -> metric"),
    "browser_page_ready_over_floor": (1.3, "fresh page goto -> total visible / floor app's goto -> metric visible"),
    "browser_tab_switch_over_floor": (4.0, "view click -> its main content visible (median over views) / floor app's edit"),
}
KEYS = tuple(GOALS)

APP = ROOT / "app.py"
FLOOR_APP = ROOT / "inception_viz" / "bench_floor_app.py"
#: The floor app's labels and starting value (see bench_floor_app.py).
FLOOR_INPUT, FLOOR_METRIC, FLOOR_START = "Value", "Value shown", 1000

#: The default page: the googlenet preset, this block in focus, this width edited.
PRESET, EDIT_BLOCK, EDIT_WIDTH = "googlenet", "inception_3a", "3x3"
TOTAL_LABEL = "Parameters (weights + biases)"
#: The width box; an edited one is labelled "3x3 ✎".
EDIT_LABEL = re.compile(rf"^{re.escape(EDIT_WIDTH)}( ✎)?$")

#: Each view's label -> a CSS selector for its main content, the thing a person clicks the
#: view's button to see. The content counts once the button is the active one and an element
#: matching the selector is visible, and not stale, inside that view's box (the container
#: with the CSS class ``st-key-view-<url key>``, app.VIEW_CONTAINER): another view's content
#: never counts. Update this table when a view is added, renamed or changes what it shows first.
VIEW_CONTENT: dict[str, str] = {
    "Blocks": '[data-testid="stNumberInput"] input',  # the focus block's width boxes (All blocks is folded)
    "Graph": '[data-testid="stGraphVizChart"] svg',  # the graph, laid out by the browser
    "Charts": '[data-testid="stPlotlyChart"] .main-svg',  # a drawn Plotly chart
    "Paper Table 1": '[data-testid="stDataFrame"] [data-testid="data-grid-canvas"]',
    "Seed comparison": '[data-testid="stDataFrame"] [data-testid="data-grid-canvas"]',
    "Compare": '[data-testid="stPlotlyChart"] .main-svg',  # the comparison chart, last on the view
    "Code": '[data-testid="stCode"] code',  # the generated Keras code
    "Instantiate": '[data-testid="stCheckbox"]',  # the "Load TensorFlow" switch (TF loads on demand)
    "Predictions & feature maps": '[data-testid="stImage"] img',  # the sample image, before TF loads
    "Receptive fields": '[data-testid="stDataFrame"] [data-testid="data-grid-canvas"]',  # the field table
    "Feature visualisation": '[data-testid="stButton"] button[kind="primary"]',  # "Visualise" (TF loads on demand)
}

VIEWPORT = {"width": 1400, "height": 1000}
STEP_TIMEOUT_MS = 120_000  # any single wait; the first page of a cold server is the longest
SETTLE_S = 0.3  # after a gesture's script run ends, before the next gesture
#: Untimed edits of each app: one in the warm-up, one right before the timed edits.
WARM_EDITS = 2

# Checks run in the page on every animation frame. visible: a box on the page and not hidden.
_VISIBLE = "const visible = (e) => { const r = e.getBoundingClientRect(); " \
           "return r.width > 0 && r.height > 0 && e.checkVisibility({visibilityProperty: true}); };"
_METRIC_SHOWS = _VISIBLE + """
for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
  const label = m.querySelector('[data-testid="stMetricLabel"]');
  const value = m.querySelector('[data-testid="stMetricValue"]');
  if (label && value && label.textContent.trim().startsWith(arg[0])
      && value.textContent.trim() === arg[1] && visible(value)) return true;
}
return false;"""
_VIEW_SHOWN = _VISIBLE + """
const nav = document.querySelector(arg[3]);
const button = nav && [...nav.querySelectorAll('button')].find((b) => b.textContent.trim() === arg[0]);
if (!button || button.getAttribute('aria-checked') !== 'true') return false;
const box = document.querySelector(arg[2]);
if (!box) return false;
return [...box.querySelectorAll(arg[1])].some((e) => visible(e) && !e.closest('[data-stale="true"]'));"""
_IDLE = """
const app = document.querySelector('[data-testid="stApp"]');
return !!app && app.dataset.testScriptState === 'notRunning' && !document.querySelector('[data-stale="true"]');"""


def _fn(body: str) -> str:
    return f"(arg) => {{ {body} }}"


class Plan:
    """How many timed gestures (``--quick``: enough to show every key, in about a minute)."""

    def __init__(self, quick: bool):
        self.quick = quick
        self.page_loads = 2 if quick else 5
        self.cpu_loads = 1 if quick else 3  # untimed fresh pages whose browser CPU is read
        self.edits = 2 if quick else 6
        self.tab_rounds = 1 if quick else 2


class _Run:
    def __init__(self, plan: Plan, say):
        from .counter import analyze, fmt_int
        from .presets import preset

        self.plan, self.say = plan, say
        self.absolute: dict = {}
        self.notes: dict[str, str] = {}
        spec = preset(PRESET)
        self.default_total = fmt_int(analyze(spec).total_params)
        start = spec.block(EDIT_BLOCK).widths[EDIT_WIDTH]
        n = WARM_EDITS + plan.edits  # warm-ups + timed, each a width not shown before in this run
        self.widths = [start + 8 * (i + 1) for i in range(n)]
        self.totals = [fmt_int(analyze(spec.with_block(EDIT_BLOCK, **{EDIT_WIDTH: w})).total_params)
                       for w in self.widths]
        self.floor_values = [FLOOR_START + 7 * (i + 1) for i in range(n)]

    # -- waiting -------------------------------------------------------------------
    @staticmethod
    def wait(page, body: str, arg=None, what: str = "") -> None:
        try:
            page.wait_for_function(_fn(body), arg=arg, polling="raf", timeout=STEP_TIMEOUT_MS)
        except Exception as exc:  # noqa: BLE001 - re-raised with what was awaited
            if type(exc).__name__ != "TimeoutError":
                raise
            raise RuntimeError(f"{what or 'the page'} did not show within {STEP_TIMEOUT_MS // 1000} s") from None

    def settle(self, page) -> None:
        """Let the script run that the gesture started finish, then the browser draw."""
        self.wait(page, _IDLE, what="the end of the script run")
        time.sleep(SETTLE_S)

    # -- gestures: each returns wall seconds ---------------------------------------
    def load(self, browser, url: str, metric: str, want: str):
        """A fresh context's page: goto until ``metric`` shows ``want``. Returns (s, page)."""
        ctx = browser.new_context(viewport=VIEWPORT)
        page = ctx.new_page()
        t0 = time.perf_counter()
        self.open_until_shown(page, url, metric, want)
        return time.perf_counter() - t0, page

    def open_until_shown(self, page, url: str, metric: str, want: str) -> None:
        """``goto`` until ``metric`` shows ``want`` (a fresh page of :meth:`load` and
        :meth:`page_cpu_ms`)."""
        page.goto(url, wait_until="commit", timeout=STEP_TIMEOUT_MS)
        self.wait(page, _METRIC_SHOWS, [metric, want], f"{url}: {metric} = {want}")

    def page_cpu_ms(self, browser, url: str, metric: str, want: str) -> float:
        """A fresh page, as :meth:`load`, untimed: the CPU time its renderer's main thread
        spent from ``goto`` until ``metric`` shows ``want`` (Chrome DevTools Protocol,
        ``Performance.getMetrics``' ``ThreadTime``, in ms). Much steadier than wall time on a
        busy machine: it counts the page's own work (scripts, layout, style), not the waits."""
        ctx = browser.new_context(viewport=VIEWPORT)
        try:
            page = ctx.new_page()
            cdp = ctx.new_cdp_session(page)
            cdp.send("Performance.enable")

            def thread_s() -> float:
                return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "ThreadTime")

            before = thread_s()
            self.open_until_shown(page, url, metric, want)
            spent = thread_s() - before
            self.settle(page)
            return spent * 1e3
        finally:
            ctx.close()

    def type_enter(self, page, box, value: int, metric: str, want: str) -> float:
        t0 = time.perf_counter()
        box.fill(str(value), timeout=STEP_TIMEOUT_MS)
        box.press("Enter", timeout=STEP_TIMEOUT_MS)
        self.wait(page, _METRIC_SHOWS, [metric, want], f"{metric} = {want} after typing {value}")
        return time.perf_counter() - t0

    def app_edit(self, page, i: int) -> float:
        box = page.get_by_label(EDIT_LABEL).first
        return self.type_enter(page, box, self.widths[i], TOTAL_LABEL, self.totals[i])

    def floor_edit(self, page, i: int) -> float:
        box = page.get_by_label(FLOOR_INPUT, exact=True)
        return self.type_enter(page, box, self.floor_values[i], FLOOR_METRIC, f"{self.floor_values[i]:,}")

    def tab(self, page, label: str) -> float:
        """A click on a view's button in the view switcher (the key names keep the word
        "tab": they are the bench's output format) until that view's content shows."""
        from .views import view_by_label

        button = view_button(page, label)
        button.wait_for(timeout=STEP_TIMEOUT_MS)
        t0 = time.perf_counter()
        button.click(timeout=STEP_TIMEOUT_MS)
        self.wait(page, _VIEW_SHOWN, [label, VIEW_CONTENT[label], VIEW_BOX + view_by_label(label).key, VIEW_SWITCHER], f"the {label} view's main content")
        return time.perf_counter() - t0


def _reason(exc: Exception) -> str:
    """A failure as one line for ``notes``: its type and the first line of its message."""
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"


def _close(page) -> None:
    try:
        page.context.close()
    except Exception:  # noqa: BLE001 - closing after a failure must not hide it
        pass


def _measure(run: _Run, browser, app_url: str, floor_url: str, out: dict) -> None:
    """Fill ``out`` key by key, so that a failure later keeps the keys measured before it."""
    plan, say = run.plan, run.say
    floor_want = f"{FLOOR_START:,}"
    # warm-up: each app's first page, an edit, every view (the browser caches the app's
    # scripts per context only, so page loads below stay cold in the browser, warm on the server)
    say("bench --browser: warm-up ...")
    _, app_page = run.load(browser, app_url, TOTAL_LABEL, run.default_total)
    _, floor_page = run.load(browser, floor_url, FLOOR_METRIC, floor_want)
    for page in (app_page, floor_page):
        run.settle(page)
    run.app_edit(app_page, 0)
    run.settle(app_page)
    run.floor_edit(floor_page, 0)
    run.settle(floor_page)
    order = [*list(VIEW_CONTENT)[1:], list(VIEW_CONTENT)[0]]  # from the default view round to it
    for label in order:
        run.tab(app_page, label)
        run.settle(app_page)

    # page ready, alternating so that a change in the machine's load hits both alike
    say(f"bench --browser: {plan.page_loads} fresh page loads each ...")
    app_ready, floor_ready = [], []
    for _ in range(plan.page_loads):
        for times, url, metric, want in ((app_ready, app_url, TOTAL_LABEL, run.default_total),
                                         (floor_ready, floor_url, FLOOR_METRIC, floor_want)):
            s, page = run.load(browser, url, metric, want)
            times.append(s)
            run.settle(page)
            _close(page)
    a = run.absolute
    a["app_page_ready_ms"] = statistics.median(app_ready) * 1e3
    a["floor_page_ready_ms"] = statistics.median(floor_ready) * 1e3
    a["app_page_ready_each_ms"] = [round(s * 1e3) for s in app_ready]
    a["floor_page_ready_each_ms"] = [round(s * 1e3) for s in floor_ready]
    out["browser_page_ready_over_floor"] = statistics.median(app_ready) / statistics.median(floor_ready)
    # what a fresh page costs the browser's main thread (not a key: a steadier view of the
    # page's weight than its wall time; docs/bench.md, "Ninth session"); if it cannot be read,
    # a note says why and the keys after it are still measured
    try:
        app_cpu, floor_cpu = [], []
        for _ in range(plan.cpu_loads):
            app_cpu.append(run.page_cpu_ms(browser, app_url, TOTAL_LABEL, run.default_total))
            floor_cpu.append(run.page_cpu_ms(browser, floor_url, FLOOR_METRIC, floor_want))
        a["app_page_cpu_ms"] = statistics.median(app_cpu)
        a["floor_page_cpu_ms"] = statistics.median(floor_cpu)
    except Exception as exc:  # noqa: BLE001 - a diagnostic, not a key
        run.notes["page_cpu_ms"] = _reason(exc)

    say(f"bench --browser: {plan.edits} edits each ...")
    # one untimed edit each first: the two pages sat idle while the fresh pages loaded, and
    # the first edit after that took 2-2.5 times the next ones, for both apps alike
    run.app_edit(app_page, WARM_EDITS - 1)
    run.settle(app_page)
    run.floor_edit(floor_page, WARM_EDITS - 1)
    run.settle(floor_page)
    app_edits, floor_edits = [], []
    for i in range(WARM_EDITS, WARM_EDITS + plan.edits):
        app_edits.append(run.app_edit(app_page, i))
        run.settle(app_page)
        floor_edits.append(run.floor_edit(floor_page, i))
        run.settle(floor_page)
    floor_edit_s = statistics.median(floor_edits)
    a["app_edit_ms"] = statistics.median(app_edits) * 1e3
    a["floor_edit_ms"] = floor_edit_s * 1e3
    a["app_edit_each_ms"] = [round(s * 1e3) for s in app_edits]
    a["floor_edit_each_ms"] = [round(s * 1e3) for s in floor_edits]
    a["edit_widths"] = run.widths[WARM_EDITS:]
    out["browser_edit_over_floor"] = statistics.median(app_edits) / floor_edit_s

    say(f"bench --browser: {plan.tab_rounds} round(s) of {len(order)} view switches ...")
    per_view: dict[str, list[float]] = {label: [] for label in VIEW_CONTENT}
    for _ in range(plan.tab_rounds):
        for label in order:
            per_view[label].append(run.tab(app_page, label))
            run.settle(app_page)
    medians = {label: statistics.median(t) for label, t in per_view.items()}
    tab_s = statistics.median(medians.values())
    a["app_tab_switch_ms"] = tab_s * 1e3
    a["tab_switch_ms"] = {label: round(s * 1e3) for label, s in medians.items()}
    out["browser_tab_switch_over_floor"] = tab_s / floor_edit_s
    for page in (app_page, floor_page):
        _close(page)


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def run_browser_bench(quick: bool = False, progress=None) -> dict:
    """Run the three browser measurements; return the JSON document (keys, goals, absolute,
    machine, notes), in the layout of :func:`inception_viz.bench.run_bench`'s."""
    from .bench import machine_info

    plan = Plan(quick)
    say = progress or (lambda msg: None)
    run = _Run(plan, say)
    results: dict[str, float | None] = {k: None for k in KEYS}
    started = time.perf_counter()
    machine = {**machine_info(), "playwright": _version("playwright"), "chromium": None}
    for dist in ("tensorflow", "keras", "onnxruntime"):
        machine.pop(dist, None)  # not used by the pages measured
    missing = chromium_missing()
    if missing:
        run.notes.update({k: missing for k in KEYS})
    else:
        # the same server for both: app.py installs st_compat's adjustments when its server
        # starts (its st.App's lifespan), the floor app before its server starts
        servers = [StreamlitServer(APP), StreamlitServer(FLOOR_APP, st_compat=True)]
        try:
            say("bench --browser: starting streamlit run app.py and the floor app ...")
            for s in servers:
                s.start()  # both start at once; then wait for both
            for s in servers:
                s.wait_ready()
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = launch_chromium(p)
                try:
                    machine["chromium"] = browser.version
                    _measure(run, browser, servers[0].url, servers[1].url, results)
                finally:
                    browser.close()
        except Exception as exc:  # noqa: BLE001 - reported as null with the reason
            msg = _reason(exc)
            for k in KEYS:
                if results[k] is None:
                    run.notes[k] = msg
        finally:
            for s in servers:
                s.stop()

    doc: dict = {k: (None if v is None else float(v)) for k, v in results.items()}
    doc["goals"] = {k: g for k, (g, _) in GOALS.items()}
    doc["absolute"] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in run.absolute.items()}
    doc["absolute"]["bench_s"] = round(time.perf_counter() - started, 1)
    doc["machine"] = {
        **machine,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": plan.quick,
        "browser": f"{CHROMIUM} headless, {VIEWPORT['width']}x{VIEWPORT['height']}",
        "apps": "streamlit run app.py vs inception_viz/bench_floor_app.py (python -m inception_viz.st_compat run), "
                ".streamlit/config.toml",
        "page_loads": plan.page_loads,
        "page_cpu_loads": plan.cpu_loads,
        "edits": plan.edits,
        "tab_rounds": plan.tab_rounds,
    }
    doc["notes"] = run.notes
    return doc
