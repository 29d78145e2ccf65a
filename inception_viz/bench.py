"""``python -m inception_viz bench [--quick] [--format text|json]``: is the explorer instant?

Every number is a ratio of two timings taken in the same run on the same machine (lower is
better), so the goals hold on a slow laptop as well as on a fast one. The model is the
``googlenet`` preset at 224x224, batch 1. Timings are medians of repeated runs after a warm-up;
cold starts run in fresh subprocesses. See ``docs/bench.md`` for what each key measures.

A key whose measurement cannot be made (a module of the app missing, onnxruntime not
installed, ...) is ``null``, with the reason under ``notes``; a number is never made up.

TensorFlow, Keras and onnxruntime are imported inside the command only, so registering the
subcommand costs nothing to ``table`` and ``paper``.

``bench --browser`` measures the page in a real browser instead (``bench_browser.py``); it
shares this module's machine description and text report.
"""

from __future__ import annotations

import datetime as _dt
import gc
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The issue's keys, in its order: (goal, what is measured). Lower is better; a key is ok
#: when its value is <= the goal.
GOALS: dict[str, tuple[float, str]] = {
    "analytic_over_keras": (0.01, "analytic count of the whole network / Keras build + count_params"),
    "forward_over_onnxruntime": (0.85, "the app's single-image forward / onnxruntime, same network and weights"),
    "forward_lrn_over_no_lrn": (1.10, "the app's single-image forward / the same network with LRN off"),
    "forward_over_predict": (0.34, "the app's single-image forward / model.predict"),
    "activations_over_forward": (1.3, "all block outputs in one pass / plain forward"),
    "edit_to_views_over_build": (0.1, "width edit -> table + DOT + figures ready / Keras build"),
    "edit_to_activations_over_naive": (1.0, "width edit -> rebuilt model -> first activations / (build + predict)"),
    "cold_start_over_tf_import": (1.0, "app.py default page, AppTest, fresh process / import tensorflow, fresh process"),
    "rss_growth_mb_50_edits": (300.0, "resident memory growth over 50 edit -> build -> forward cycles, MB"),
    "featurevis_step_over_forward": (2.5, "one feature-visualisation ascent step (224 px, inception_4c) / full forward"),
}
KEYS = tuple(GOALS)

#: Goal for the bytes the activations view sends for one block (PNG mosaics).
ACTIVATIONS_BYTES_GOAL = 2_000_000

PRESET = "googlenet"
EDIT_BLOCK = "inception_4c"


class Unavailable(Exception):
    """A measurement cannot be made on this checkout; the message says why."""


# ---------------------------------------------------------------------------------------
# settings


class Plan:
    """How many repeats each measurement gets (``--quick`` keeps the run under ~45 s)."""

    def __init__(self, quick: bool):
        self.quick = quick
        self.builds = 3 if quick else 7  # rounds of: 1 build, `analytic` counts, `views` edits
        self.analytic = 10
        self.views = 3 if quick else 5
        self.forward_rounds = 3 if quick else 10  # of 3 calls each
        self.edit_to_activations = 1 if quick else 5
        self.cold = 1 if quick else 3
        self.rss_cycles = 3 if quick else 50
        self.mosaics = 5 if quick else 20
        self.warmup = 1 if quick else 2


def _median_time(fn, repeat: int, warmup: int = 1) -> float:
    """Median wall seconds of ``fn()`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


_edit_counter = 0


def _fresh_edit(spec):
    """A spec with one width of ``EDIT_BLOCK`` changed to a value not used before in this
    process, so no cache (counter, graph, figures, models) can answer it."""
    global _edit_counter
    _edit_counter += 1
    block = spec.block(EDIT_BLOCK)
    return spec.with_block(EDIT_BLOCK, **{"3x3": block.widths["3x3"] + 8 * _edit_counter})


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name in (name, name.rsplit(".", 1)[-1]):
            raise Unavailable(f"{name} is not in this checkout") from None
        raise


def _attr(module, *names):
    for n in names:
        fn = getattr(module, n, None)
        if fn is not None:
            return fn
    raise Unavailable(f"{module.__name__} has none of {', '.join(names)}")


# ---------------------------------------------------------------------------------------
# adapters to the app's modules (inference, onnx_zoo, graph, figures)


class AppPaths:
    """The app's own code paths, found in the modules other parts of the project provide."""

    def __init__(self):
        self._inference = None

    @property
    def inference(self):
        if self._inference is None:
            self._inference = _module("inception_viz.inference")
        return self._inference

    # -- forward and activations ------------------------------------------------------
    def forward(self, model):
        """A callable ``f(image_batch) -> probabilities`` the app uses for one image."""
        make = _attr(self.inference, "compiled_forward", "make_forward", "forward_fn", "Forward")
        return make(model)

    def activations(self, model):
        """A callable ``f(image_batch) -> {name: array}`` giving every block output in one pass."""
        make = _attr(self.inference, "activations_fn", "make_activations", "activation_model", "Activations")
        return make(model)

    def build(self, spec):
        """The app's (cached, bounded) build of ``spec``; falls back to :func:`build_keras`."""
        if self._has_inference():
            for n in ("cached_model", "get_model", "model_for"):
                fn = getattr(self.inference, n, None)
                if fn is not None:
                    return fn(spec)
        from .keras_model import build_keras

        return build_keras(spec)

    def _has_inference(self) -> bool:
        try:
            self.inference
        except Unavailable:
            return False
        return True

    # -- views ---------------------------------------------------------------------
    def views(self, spec, parts: dict | None = None):
        """Everything the architecture page computes for ``spec``: the table (analysis and
        the paper comparison), the overview and block DOT sources, the Plotly figures.
        ``parts``: when given, seconds spent per part are appended under "table", "dot",
        "figures"."""
        from .counter import analyze
        from .paper import compare

        graph = _module("inception_viz.graph")
        figures = _module("inception_viz.figures")
        t0 = time.perf_counter()
        report = analyze(spec)
        out = [report, compare(report)]
        t1 = time.perf_counter()
        out += [_attr(graph, "overview_dot")(report), _attr(graph, "block_dot")(report, EDIT_BLOCK)]
        t2 = time.perf_counter()
        out += [
            _attr(figures, "block_metric_figure")(report, "params"),
            _attr(figures, "channel_flow_figure")(report),
            _attr(figures, "branch_share_figure")(report, "params"),
            _attr(figures, "activation_memory_figure")(report),
        ]
        t3 = time.perf_counter()
        if parts is not None:
            for name, dt in (("table", t1 - t0), ("dot", t2 - t1), ("figures", t3 - t2)):
                parts.setdefault(name, []).append(dt)
        return out


# ---------------------------------------------------------------------------------------
# measurements: each returns its ratio and puts the numbers behind it in ctx.absolute


def _image(np):
    rng = np.random.default_rng(0)
    return rng.uniform(-120, 130, size=(1, 224, 224, 3)).astype("float32")


def measure_counts_and_views(ctx) -> dict[str, float]:
    """analytic_over_keras and edit_to_views_over_build: per round, one Keras build +
    count_params, then analytic counts and width edits -> views, so that both ratios share
    their denominator and a change in load hits all three alike."""
    from . import counter
    from .keras_model import build_keras

    spec = ctx.spec

    def build():
        build_keras(spec).count_params()

    builds, analytic, views = [], [], []
    parts: dict[str, list[float]] = {}
    build()  # warm-up
    counter._analyze(spec)
    out = {}
    try:
        ctx.app.views(_fresh_edit(spec))  # warm-up: imports plotly, graphviz
    except Exception as exc:  # noqa: BLE001 - reported as null with the reason
        _note_failure(ctx, ("edit_to_views_over_build",), exc)
        views = None
    for _ in range(ctx.plan.builds):
        _settle()
        t0 = time.perf_counter()
        build()
        builds.append(time.perf_counter() - t0)
        _settle()
        for _ in range(ctx.plan.analytic):
            t0 = time.perf_counter()
            counter._analyze(spec)  # the uncached count
            analytic.append(time.perf_counter() - t0)
        for _ in range(ctx.plan.views if views is not None else 0):
            t0 = time.perf_counter()
            ctx.app.views(_fresh_edit(spec), parts)
            views.append(time.perf_counter() - t0)
    ctx.build_s = statistics.median(builds)
    ctx.absolute["keras_build_count_params_s"] = ctx.build_s
    ctx.absolute["analytic_count_ms"] = statistics.median(analytic) * 1e3
    out["analytic_over_keras"] = statistics.median(analytic) / ctx.build_s
    if views:
        ctx.absolute["edit_to_views_ms"] = statistics.median(views) * 1e3
        for name, times in parts.items():
            ctx.absolute[f"edit_to_views_{name}_ms"] = statistics.median(times) * 1e3
        out["edit_to_views_over_build"] = statistics.median(views) / ctx.build_s
    return out


#: Pause before each timed turn: onnxruntime's and TensorFlow's worker threads spin for a
#: while after a run and would slow whatever runs next on the two cores.
SETTLE_S = 0.05


def _settle() -> None:
    time.sleep(SETTLE_S)


def _interleaved(fns: dict, rounds: int, warmup: int, block: int = 3) -> dict[str, float]:
    """Median wall seconds of each callable, run in turns of ``block`` calls (a a a, b b b,
    c c c, a a a, ...) so that a change in the machine's load hits all of them alike; the
    first call of a turn may pay for the previous callable's spinning threads, the median
    of each callable's calls does not."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            _settle()
            for _ in range(block):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def _onnxruntime_fn(ctx):
    """A callable running onnxruntime on the zoo-layout export of ``ctx.model``."""
    try:
        import onnxruntime as ort
    except ModuleNotFoundError:
        raise Unavailable("onnxruntime is not installed (pip install -r requirements-dev.txt)") from None
    export = _attr(_module("inception_viz.onnx_zoo"), "keras_to_zoo_onnx")
    sess = ort.InferenceSession(export(ctx.model, ctx.spec).SerializeToString(), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0].name
    # the zoo layout reads BGR, NCHW; our Keras model RGB, NHWC (same values otherwise)
    x_nchw = ctx.np.ascontiguousarray(ctx.x[..., ::-1].transpose(0, 3, 1, 2))
    # the same network and weights: the two outputs agree
    keras_probs = ctx.np.asarray(ctx.model(ctx.x, training=False))
    ctx.absolute["onnxruntime_max_abs_diff"] = float(ctx.np.abs(sess.run(None, {inp: x_nchw})[0] - keras_probs).max())
    return lambda: sess.run(None, {inp: x_nchw})


def _note_failure(ctx, keys, exc: Exception) -> None:
    msg = str(exc) if isinstance(exc, Unavailable) else f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
    for k in keys:
        ctx.notes.setdefault(k, msg)


def measure_forwards(ctx) -> dict[str, float]:
    """forward_over_predict, forward_over_onnxruntime, forward_lrn_over_no_lrn,
    activations_over_forward: the app's forward, model.predict, onnxruntime, the app's
    forward of the same network with LRN off and the activation pass, timed in turn."""
    x, model = ctx.x, ctx.model
    fns = {"predict": lambda: model.predict(x, verbose=0)}
    try:
        forward = ctx.app.forward(model)
        fns["forward"] = lambda: forward(x)
    except Exception as exc:  # noqa: BLE001 - reported as null with the reason
        _note_failure(ctx, ("forward_over_predict", "forward_over_onnxruntime", "forward_lrn_over_no_lrn",
                            "activations_over_forward"), exc)
    try:
        no_lrn = ctx.app.forward(ctx.app.build(ctx.spec.with_options(lrn=False)))
        fns["forward_no_lrn"] = lambda: no_lrn(x)
    except Exception as exc:  # noqa: BLE001
        _note_failure(ctx, ("forward_lrn_over_no_lrn",), exc)
    try:
        fns["onnxruntime"] = _onnxruntime_fn(ctx)
    except Exception as exc:  # noqa: BLE001
        _note_failure(ctx, ("forward_over_onnxruntime",), exc)
    try:
        acts = ctx.app.activations(model)
        fns["activations"] = lambda: acts(x)
        ctx.activations_fn = acts
    except Exception as exc:  # noqa: BLE001
        _note_failure(ctx, ("activations_over_forward",), exc)
    t = _interleaved(fns, ctx.plan.forward_rounds, ctx.plan.warmup)
    ctx.absolute["predict_ms"] = t["predict"] * 1e3
    out = {}
    if "forward" in t:
        from .counter import analyze

        ctx.forward_s = t["forward"]
        ctx.absolute["app_forward_ms"] = t["forward"] * 1e3
        # one multiply-add = 2 FLOPs; compare with what the CPU's cores can do at peak
        ctx.absolute["app_forward_gflops"] = 2 * analyze(ctx.spec).total_macs / t["forward"] / 1e9
        out["forward_over_predict"] = t["forward"] / t["predict"]
        if "onnxruntime" in t:
            ctx.absolute["onnxruntime_ms"] = t["onnxruntime"] * 1e3
            out["forward_over_onnxruntime"] = t["forward"] / t["onnxruntime"]
        if "forward_no_lrn" in t:
            ctx.absolute["app_forward_no_lrn_ms"] = t["forward_no_lrn"] * 1e3
            out["forward_lrn_over_no_lrn"] = t["forward"] / t["forward_no_lrn"]
        if "activations" in t:
            ctx.absolute["activations_all_blocks_ms"] = t["activations"] * 1e3
            out["activations_over_forward"] = t["activations"] / t["forward"]
    return out


def measure_edit_to_activations(ctx):
    import keras

    from .keras_model import build_keras

    x = ctx.x

    def app_path():
        model = ctx.app.build(_fresh_edit(ctx.spec))
        ctx.app.activations(model)(x)

    def naive():
        model = build_keras(_fresh_edit(ctx.spec))
        model.predict(x, verbose=0)

    app_times, naive_times = [], []
    naive()  # warm-up: the first build and predict of a new shape in this process pay extra
    app_path()
    for i in range(ctx.plan.edit_to_activations):
        pair = ((naive, naive_times), (app_path, app_times))
        for fn, times in pair if i % 2 == 0 else pair[::-1]:
            gc.collect()
            _settle()
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    keras.backend.clear_session()
    app_s, naive_s = statistics.median(app_times), statistics.median(naive_times)
    ctx.absolute["edit_to_activations_s"] = app_s
    ctx.absolute["naive_build_predict_s"] = naive_s
    return app_s / naive_s


_COLD_TF = "import tensorflow"
_COLD_APP = """
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=300).run()
if at.exception:
    sys.exit("app.py raised: " + str(at.exception[0].value)[:300])
print("TF_IMPORTED=" + str("tensorflow" in sys.modules))
"""


def _cold_once(code: str) -> tuple[float, str]:
    """Wall seconds of ``python -c code`` in a fresh process (interpreter start included)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise Unavailable(f"subprocess failed: {last[:200]}")
    return elapsed, res.stdout


def measure_cold_start(ctx):
    """Fresh ``import tensorflow`` and fresh AppTest default page, alternated so that a
    change in the machine's load hits both alike; medians."""
    app = ROOT / "app.py"
    tf_times, app_times, out = [], [], ""
    for _ in range(ctx.plan.cold):
        tf_times.append(_cold_once(_COLD_TF)[0])
        ctx.absolute["tf_import_s"] = statistics.median(tf_times)
        if not app.exists():
            raise Unavailable("app.py is not in this checkout")
        elapsed, out = _cold_once(_COLD_APP.format(app=str(app)))
        app_times.append(elapsed)
    ctx.absolute["cold_start_s"] = statistics.median(app_times)
    ctx.absolute["cold_start_imports_tensorflow"] = "TF_IMPORTED=True" in out
    return ctx.absolute["cold_start_s"] / ctx.absolute["tf_import_s"]


def measure_rss(ctx):
    import keras

    x = ctx.x

    def cycle():
        model = ctx.app.build(_fresh_edit(ctx.spec))
        try:
            ctx.app.forward(model)(x)
        except Unavailable:
            model(x, training=False)

    cycle()  # warm-up: one-time allocations (graph tracing machinery, caches)
    gc.collect()
    start = _rss_mb()
    peak = start
    every = 1 if ctx.plan.rss_cycles <= 10 else 5
    trace = []
    for i in range(ctx.plan.rss_cycles):
        cycle()
        now = _rss_mb()
        peak = max(peak, now)
        if (i + 1) % every == 0:
            trace.append(round(now - start, 1))
    gc.collect()
    end = _rss_mb()
    ctx.absolute["rss_start_mb"] = start
    ctx.absolute["rss_end_mb"] = end
    ctx.absolute["rss_peak_mb"] = peak
    ctx.absolute["rss_cycles"] = ctx.plan.rss_cycles
    ctx.absolute[f"rss_growth_mb_every_{every}_cycles"] = trace
    keras.backend.clear_session()
    return end - start


def measure_mosaic(ctx):
    """Mosaic time for the largest block (most activation values) and the PNG bytes the
    activations view sends for it: one mosaic per branch plus the concat."""
    from .counter import analyze

    report = analyze(ctx.spec)
    largest = max(report.blocks, key=lambda r: r.activations)
    ctx.absolute["mosaic_block"] = largest.name
    if ctx.activations_fn is None:
        raise Unavailable("the app's activations were not measured")
    values = ctx.activations_fn(ctx.x)
    make = _attr(ctx.app.inference, "block_mosaics")
    encode = _attr(ctx.app.inference, "png_bytes")
    mosaic_s = _median_time(lambda: make(values, report, largest.name), ctx.plan.mosaics, warmup=1)
    mosaics = make(values, report, largest.name)
    ctx.absolute["mosaic_ms"] = mosaic_s * 1e3
    ctx.absolute["mosaic_images"] = len(mosaics)
    ctx.absolute["activations_view_bytes"] = sum(len(encode(m)) for m in mosaics.values())
    ctx.absolute["activations_view_bytes_goal"] = ACTIVATIONS_BYTES_GOAL


#: The feature-visualisation target of the benchmark (issue 10).
FEATUREVIS_TARGET = "inception_4c:97"


def measure_featurevis(ctx):
    """featurevis_step_over_forward: one ascent step (Fourier image -> transform ->
    forward to inception_4c -> backward to the image -> Adam) at 224 px / the app's full
    forward at 224 px, timed in turns. Full run: also one whole 256-step visualisation
    with the traced step (``featurevis_256_steps_s``)."""
    fv = _module("inception_viz.featurevis")
    runner = ctx.app.inference.get_runner(ctx.spec)  # the cached runner of ctx.model
    target = fv.parse_target(ctx.spec, FEATUREVIS_TARGET)
    settings = fv.Settings(size=224)
    t0 = time.perf_counter()
    step = fv.ascent_step(runner, target, settings)
    step()  # traces
    ctx.absolute["featurevis_trace_s"] = time.perf_counter() - t0
    forward = ctx.app.forward(runner.model)
    t = _interleaved({"forward": lambda: forward(ctx.x), "step": step}, ctx.plan.forward_rounds, ctx.plan.warmup)
    ctx.absolute["featurevis_step_ms"] = t["step"] * 1e3
    ctx.absolute["featurevis_forward_ms"] = t["forward"] * 1e3
    if not ctx.plan.quick:
        _settle()
        frame = fv.visualize(runner, target, fv.Settings(steps=256, size=224), every=256)
        ctx.absolute["featurevis_256_steps_s"] = frame.seconds
    return t["step"] / t["forward"]


# ---------------------------------------------------------------------------------------


def machine_info() -> dict:
    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
    for dist in ("tensorflow", "keras", "onnxruntime", "numpy", "streamlit"):
        try:
            from importlib.metadata import version

            info[dist] = version(dist if dist != "tensorflow" else _tf_dist())
        except Exception:  # noqa: BLE001 - a missing package is reported as null
            info[dist] = None
    try:
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    except OSError:
        info["load_average_1min"] = None
    return info


def _tf_dist() -> str:
    from importlib.metadata import PackageNotFoundError, version

    for name in ("tensorflow-cpu", "tensorflow"):
        try:
            version(name)
            return name
        except PackageNotFoundError:
            continue
    return "tensorflow"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class _Context:
    def __init__(self, plan: Plan, progress):
        self.plan = plan
        self.progress = progress
        self.app = AppPaths()
        self.absolute: dict = {}
        self.notes: dict[str, str] = {}
        self.forward_s = None
        self.build_s = None
        self.activations_fn = None


def run_bench(quick: bool = False, progress=None) -> dict:
    """Run every measurement; return the JSON document (see ``docs/bench.md``)."""
    plan = Plan(quick)
    say = progress or (lambda msg: None)
    ctx = _Context(plan, say)
    results: dict[str, float | None] = {k: None for k in KEYS}
    started = time.perf_counter()
    machine = machine_info()

    def step(key: str | None, label: str, fn):
        say(f"bench: {label} ...")
        t0 = time.perf_counter()
        try:
            value = fn(ctx)
        except Unavailable as exc:
            value = None
            ctx.notes[key or label] = str(exc)
        except Exception as exc:  # noqa: BLE001 - one broken piece must not hide the rest
            value = None
            ctx.notes[key or label] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        if key is not None:
            results[key] = value
        elif isinstance(value, dict):
            results.update(value)
        say(f"bench: {label} done in {time.perf_counter() - t0:.1f} s")

    # Cold starts first, while this process holds no TensorFlow and little memory.
    step("cold_start_over_tf_import", "cold start (fresh processes)", measure_cold_start)

    t0 = time.perf_counter()
    import numpy as np

    from .tfenv import import_tensorflow

    tf = import_tensorflow()  # without TensorFlow's start-up lines (inception_viz.tfenv)

    from .keras_model import build_keras  # noqa: F401 - imported here to time the import
    from .presets import preset

    ctx.absolute["tf_import_in_process_s"] = time.perf_counter() - t0
    tf.get_logger().setLevel("ERROR")  # every edit retraces on purpose; no warnings for it
    ctx.np = np
    ctx.spec = preset(PRESET)
    ctx.x = _image(np)
    ctx.model = ctx.app.build(ctx.spec)  # the app's build: random weights, seed 0

    step(None, "analytic count and edit -> views vs Keras build", measure_counts_and_views)
    step(None, "forward vs model.predict, onnxruntime, activations", measure_forwards)
    step(None, "mosaics", measure_mosaic)
    step("featurevis_step_over_forward", "feature visualisation step vs forward", measure_featurevis)
    step("edit_to_activations_over_naive", "edit -> activations", measure_edit_to_activations)
    step("rss_growth_mb_50_edits", f"memory over {plan.rss_cycles} edit cycles", measure_rss)

    if plan.quick:
        ctx.notes["rss_growth_mb_50_edits"] = ctx.notes.get(
            "rss_growth_mb_50_edits", f"--quick: growth over {plan.rss_cycles} cycles, not 50"
        )
    doc: dict = {k: (None if v is None else float(v)) for k, v in results.items()}
    doc["goals"] = {k: g for k, (g, _) in GOALS.items()}
    doc["absolute"] = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in ctx.absolute.items()}
    doc["absolute"]["bench_s"] = round(time.perf_counter() - started, 1)
    doc["machine"] = {**machine, "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                      "quick": plan.quick, "preset": PRESET, "input": "224x224x3", "batch": 1}
    doc["notes"] = ctx.notes
    return doc


# ---------------------------------------------------------------------------------------
# output


def _fmt_value(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, list):
        return ", ".join(_fmt_value(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt_value(x)}" for k, x in v.items())
    return str(v)


def _bytes_line(a: dict) -> list[str]:
    sent, goal = a.get("activations_view_bytes"), a.get("activations_view_bytes_goal", ACTIVATIONS_BYTES_GOAL)
    if sent is None:
        return []
    return [
        f"activations view: {sent:,} bytes of PNG mosaics for {a.get('mosaic_block')} "
        f"(goal <= {goal:,}: {'yes' if sent <= goal else 'NO'}), mosaics built in {a.get('mosaic_ms', 0):.0f} ms",
        "",
    ]


def _title(m: dict) -> str:
    quick = " (--quick)" if m.get("quick") else ""
    if "apps" in m:  # bench --browser
        return f"Inception Explorer browser benchmark, {m['date']}{quick}: {m['apps']}; ratios, lower is better"
    return (f"Inception Explorer benchmark, {m['date']}{quick}: "
            f"{m['preset']} {m['input']}, batch {m['batch']}; ratios, lower is better")


def bench_text(doc: dict) -> str:
    """The text report of a ``run_bench`` or ``run_browser_bench`` document: its keys in
    the order of ``doc["goals"]``."""
    rows = []
    for key in doc["goals"]:
        v = doc[key]
        goal = doc["goals"][key]
        ok = "n/a" if v is None else ("yes" if v <= goal else "NO")
        rows.append((key, _fmt_value(v), f"<= {goal:g}", ok))
    head = ("key", "value", "goal", "ok?")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]

    def fmt(r):
        return " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip()

    m = doc["machine"]
    out = [
        _title(m),
        fmt(head),
        "-+-".join("-" * w for w in widths),
        *(fmt(r) for r in rows),
        "",
        *_bytes_line(doc["absolute"]),
        "absolute:",
        *(f"  {k}: {_fmt_value(v)}" for k, v in doc["absolute"].items()),
        "",
        "machine:",
        *(f"  {k}: {_fmt_value(v)}" for k, v in m.items()),
    ]
    if doc["notes"]:
        out += ["", "notes:", *(f"  {k}: {v}" for k, v in doc["notes"].items())]
    return "\n".join(out) + "\n"


def cmd_bench(args) -> int:
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    if args.browser:
        from .bench_browser import run_browser_bench

        doc = run_browser_bench(quick=args.quick, progress=say)
    else:
        doc = run_bench(quick=args.quick, progress=say)
    if args.format == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(bench_text(doc))
    return 0


def register(subparsers) -> None:
    """Add ``bench`` to the CLI (called by :func:`inception_viz.cli.build_parser`)."""
    p = subparsers.add_parser(
        "bench",
        help="measure how fast the explorer responds (ratios against Keras, predict, onnxruntime)",
        description="Benchmark the googlenet preset at 224x224, batch 1, on this machine; "
        "prints each ratio with its goal (lower is better).",
    )
    p.add_argument("--quick", action="store_true", help="fewer repeats (under ~45 s)")
    p.add_argument("--browser", action="store_true",
                   help="instead: time the page in headless Chromium against a one-box Streamlit floor app "
                        "(needs /usr/bin/chromium and playwright)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_bench)
