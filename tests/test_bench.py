"""The bench command: it runs, and prints every key of the issue's table with the numbers
behind it. Speed itself is never asserted here (that is what the bench reports)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from inception_viz import bench

ROOT = Path(__file__).resolve().parents[1]

# The issue's table, in its order, with its goals.
ISSUE_KEYS = {
    "analytic_over_keras": 0.01,
    "forward_over_onnxruntime": 0.85,  # issue 12 (was 1.0)
    "forward_lrn_over_no_lrn": 1.10,  # issue 12
    "forward_over_predict": 0.34,
    "activations_over_forward": 1.3,
    "edit_to_views_over_build": 0.1,
    "edit_to_activations_over_naive": 1.0,
    "cold_start_over_tf_import": 1.0,
    "rss_growth_mb_50_edits": 300.0,
    "featurevis_step_over_forward": 2.5,  # issue 10
}

# The absolute numbers behind the ratios: each ratio must equal their quotient.
RATIO_PARTS = {
    "analytic_over_keras": ("analytic_count_ms", 1e-3, "keras_build_count_params_s", 1.0),
    "forward_over_onnxruntime": ("app_forward_ms", 1e-3, "onnxruntime_ms", 1e-3),
    "forward_over_predict": ("app_forward_ms", 1e-3, "predict_ms", 1e-3),
    "forward_lrn_over_no_lrn": ("app_forward_ms", 1e-3, "app_forward_no_lrn_ms", 1e-3),
    "activations_over_forward": ("activations_all_blocks_ms", 1e-3, "app_forward_ms", 1e-3),
    "edit_to_views_over_build": ("edit_to_views_ms", 1e-3, "keras_build_count_params_s", 1.0),
    "edit_to_activations_over_naive": ("edit_to_activations_s", 1.0, "naive_build_predict_s", 1.0),
    "cold_start_over_tf_import": ("cold_start_s", 1.0, "tf_import_s", 1.0),
    "featurevis_step_over_forward": ("featurevis_step_ms", 1e-3, "featurevis_forward_ms", 1e-3),
}


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@pytest.fixture(scope="module")
def doc() -> dict:
    """One quick run, in a fresh process, as the CLI prints it."""
    res = subprocess.run(
        [sys.executable, "-m", "inception_viz", "bench", "--quick", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout)


def test_issue_keys_and_goals_are_the_issues():
    assert tuple(bench.GOALS) == tuple(ISSUE_KEYS)
    assert {k: g for k, (g, _) in bench.GOALS.items()} == ISSUE_KEYS


def test_every_key_is_a_positive_number(doc):
    missing = {k: doc["notes"].get(k, "no note") for k in ISSUE_KEYS if doc.get(k) is None}
    assert not missing, f"keys printed as null: {missing}"
    for key in ISSUE_KEYS:
        assert _number(doc[key]), (key, doc[key])
        if key != "rss_growth_mb_50_edits":  # memory may shrink between two readings
            assert doc[key] > 0, (key, doc[key])
    assert doc["goals"] == ISSUE_KEYS


def test_ratios_are_the_quotients_of_the_absolute_numbers(doc):
    a = doc["absolute"]
    for key, (num, num_unit, den, den_unit) in RATIO_PARTS.items():
        assert _number(a[num]) and a[num] > 0, (key, num, a.get(num))
        assert _number(a[den]) and a[den] > 0, (key, den, a.get(den))
        # absolute values are rounded to 6 decimals in the JSON; the ratio is not
        assert doc[key] == pytest.approx(a[num] * num_unit / (a[den] * den_unit), rel=1e-3), key


def test_memory_numbers(doc):
    a = doc["absolute"]
    assert a["rss_end_mb"] - a["rss_start_mb"] == pytest.approx(doc["rss_growth_mb_50_edits"], abs=1e-3)
    assert a["rss_peak_mb"] >= max(a["rss_start_mb"], a["rss_end_mb"]) - 1e-3
    assert 1 <= a["rss_cycles"] < 50  # --quick runs fewer cycles ...
    assert "not 50" in doc["notes"]["rss_growth_mb_50_edits"]  # ... and says so


def test_mosaic_and_bytes(doc):
    a = doc["absolute"]
    # the largest block by activation values: inception_3b, 28*28*480 = 376,320
    assert a["mosaic_block"] == "inception_3b"
    assert _number(a["mosaic_ms"]) and a["mosaic_ms"] > 0
    assert isinstance(a["activations_view_bytes"], int) and a["activations_view_bytes"] > 0
    assert a["activations_view_bytes_goal"] == 2_000_000


def test_machine(doc):
    m = doc["machine"]
    assert m["cpu"] and isinstance(m["cpu"], str)
    assert isinstance(m["cores"], int) and m["cores"] >= 1
    for dist in ("tensorflow", "keras", "onnxruntime"):
        assert isinstance(m[dist], str) and m[dist][0].isdigit(), (dist, m[dist])
    assert m["quick"] is True and m["preset"] == "googlenet" and m["batch"] == 1


def test_text_table_from_the_same_document(doc):
    text = bench.bench_text(doc)
    lines = text.splitlines()
    assert lines[1].split("|")[0].strip() == "key"
    for key in ISSUE_KEYS:
        row = next(line for line in lines if line.startswith(key + " "))
        cells = [c.strip() for c in row.split("|")]
        assert cells[2] == f"<= {ISSUE_KEYS[key]:g}"
        want = "n/a" if doc[key] is None else ("yes" if doc[key] <= ISSUE_KEYS[key] else "NO")
        assert cells[3] == want, row
    assert "absolute:" in lines and "machine:" in lines
    sent = doc["absolute"]["activations_view_bytes"]
    line = next(line for line in lines if line.startswith("activations view:"))
    assert f"{sent:,} bytes" in line
    assert line.count("goal <= 2,000,000: " + ("yes" if sent <= 2_000_000 else "NO")) == 1


def test_text_marks_a_missing_measurement_null():
    doc = {k: 0.5 for k in ISSUE_KEYS}
    doc["forward_over_onnxruntime"] = None
    doc.update(goals=dict(ISSUE_KEYS), absolute={}, notes={"forward_over_onnxruntime": "onnxruntime is not installed"},
               machine={"date": "2026-01-01 00:00 UTC", "quick": False, "preset": "googlenet", "input": "224x224x3", "batch": 1})
    lines = bench.bench_text(doc).splitlines()
    row = next(line for line in lines if line.startswith("forward_over_onnxruntime"))
    assert [c.strip() for c in row.split("|")][1:] == ["null", "<= 0.85", "n/a"]
    row = next(line for line in lines if line.startswith("forward_over_predict"))
    assert [c.strip() for c in row.split("|")][1:] == ["0.5", "<= 0.34", "NO"]
    assert "  forward_over_onnxruntime: onnxruntime is not installed" in lines


def test_cli_lists_bench_without_importing_tensorflow():
    code = (
        "import sys; from inception_viz.cli import build_parser; "
        "a = build_parser().parse_args(['bench', '--quick', '--format', 'json']); "
        "assert a.quick and a.format == 'json'; "
        "bad = [m for m in ('tensorflow', 'keras', 'onnxruntime') if m in sys.modules]; "
        "assert not bad, bad"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_get_runner_releases_an_evicted_model_before_building_the_next(monkeypatch):
    """What rss_growth_mb_50_edits depends on: at most MAX_RUNNERS models alive at any time,
    and an evicted one is freed at once even though it sits in a reference cycle (a model
    holds its compiled functions, which hold the model)."""
    import gc
    import weakref

    from inception_viz import inference
    from inception_viz.presets import preset

    refs, alive_at_build = [], []

    class CyclicRunner:  # stands in for Runner: same constructor, a reference cycle like a model's
        def __init__(self, spec, weights=None, device=None):
            alive_at_build.append(sum(r() is not None for r in refs))
            self.me = self
            refs.append(weakref.ref(self))

    monkeypatch.setattr(inference, "Runner", CyclicRunner)
    monkeypatch.setattr(inference, "_RUNNERS", inference.limits.LiveModels(inference.MAX_RUNNERS, release=gc.collect))
    base = preset("block")
    gc.disable()  # only an explicit collection may free the evicted runners
    try:
        for i in range(5):
            inference.get_runner(base.with_block("inception_3a", **{"1x1": 41 + i}))
    finally:
        gc.enable()
    assert len(inference._RUNNERS) == inference.MAX_RUNNERS
    # building runner k (k > MAX_RUNNERS) finds only the MAX_RUNNERS - 1 it keeps alive
    assert max(alive_at_build) <= inference.MAX_RUNNERS - 1, alive_at_build


def test_figures_get_plotly_white_as_the_default_template_not_per_figure(monkeypatch):
    """What edit_to_views_over_build depends on: the template comes from plotly's default
    (applied without validation) and the figures look the same (white background)."""
    import plotly.io as pio

    from inception_viz import figures
    from inception_viz.counter import analyze
    from inception_viz.presets import preset

    report = analyze(preset("googlenet"))
    for make in (figures.block_metric_figure, figures.channel_flow_figure, figures.branch_share_figure,
                 figures.activation_memory_figure):
        fig = make(report)
        assert fig.layout.template.layout.plot_bgcolor == "white", make.__name__
    assert pio.templates.default == "plotly_white"
    calls = []
    real = figures.go.Figure.update_layout

    def spy(self, *args, **kwargs):
        calls.append("template" in kwargs or any(isinstance(a, dict) and "template" in a for a in args))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(figures.go.Figure, "update_layout", spy)
    figures.channel_flow_figure(report)
    assert not any(calls), "a template passed per figure is validated and deep-copied every time"


def test_activation_pass_hands_out_the_tensors_buffers_without_copying():
    """What activations_over_forward depends on: all block outputs come out of one pass
    without a second copy of every feature map."""
    import numpy as np

    from inception_viz import inference
    from inception_viz.presets import preset

    runner = inference.Runner(preset("block"))
    x = np.random.default_rng(0).normal(size=(1, 32, 32, 64)).astype("float32")
    values = inference.activations_fn(runner.model)(x)
    maps = {k: v for k, v in values.items() if k != inference.PROBS}
    assert maps and all(isinstance(v, np.ndarray) for v in maps.values())
    copied = sorted(k for k, v in maps.items() if v.flags.owndata)
    assert not copied, f"copied out of their tensors: {copied}"


def test_importing_inference_moves_the_long_lived_heap_out_of_the_collectors_way():
    code = "import gc; from inception_viz import inference; print(gc.get_freeze_count())"
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    # TensorFlow and Keras alone leave well over 100,000 tracked objects
    assert int(res.stdout.split()[-1]) > 100_000


def test_freeze_once_freezes_the_heap_once_per_moment():
    """inception_viz.heap: the first call for a moment collects and freezes (everything alive
    leaves the collector's scans), a second call for it does nothing, another moment freezes
    again (what was made since)."""
    code = ("import gc; from inception_viz import heap; a = heap.freeze_once('x'); n = gc.get_freeze_count(); "
            "b = heap.freeze_once('x'); junk = [[i] for i in range(5000)]; c = heap.freeze_once('y'); "
            "print(a, b, c, n > 1000, gc.get_freeze_count() >= n + 5000)")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["True", "False", "True", "True", "True"], res.stdout


#: A fresh interpreter's first page of the app (AppTest, no TensorFlow), then a full collection:
#: the start of the heap tests below, which go on to print what they compare.
FIRST_PAGE_THEN_COLLECT = ("import gc, sys; from streamlit.testing.v1 import AppTest; "
                           "at = AppTest.from_file('app.py', default_timeout=120); at.run(); "
                           "assert not at.exception, at.exception; gc.collect(); ")


def test_the_apps_first_run_moves_the_long_lived_heap_out_of_the_collectors_way():
    """After the app's first run, Streamlit's and the first page's modules (~88,000 objects;
    the other views' are frozen when they first open, below) are frozen and no more than a
    small rest is left for a full collection to scan: a collection that Python starts by
    itself mid-edit no longer scans the modules again (it took up to ~100 ms; docs/bench.md).
    No TensorFlow on this page."""
    code = FIRST_PAGE_THEN_COLLECT + "print(gc.get_freeze_count(), len(gc.get_objects()), 'tensorflow' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    frozen, scanned, tf = res.stdout.split()[-3:]
    assert tf == "False"
    assert int(frozen) > 50_000, res.stdout
    assert int(scanned) < int(frozen) // 4, res.stdout  # what a full collection still scans


def test_a_views_first_import_is_frozen_too():
    """A view's module is imported when the view first opens (views.View.module), after the
    app's first run froze the heap: each first import freezes again, so what the views bring
    (pandas, Plotly's figures: ~54,000 objects for all eleven) does not return to a full
    collection's scans. Importing every view (none imports TensorFlow until it builds a
    model) leaves the heap as small to scan as the first page does."""
    code = (FIRST_PAGE_THEN_COLLECT + "first = len(gc.get_objects()); "
            "from inception_viz.views import VIEWS; "
            "[v.module for v in VIEWS]; "
            "gc.collect(); print(first, len(gc.get_objects()), 'pandas' in sys.modules, 'tensorflow' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    first, scanned, pandas, tf = res.stdout.split()[-4:]
    assert (pandas, tf) == ("True", "False"), res.stdout  # the views' imports did happen, not TensorFlow's
    assert int(scanned) < int(first) + 2_000, res.stdout  # pandas alone is ~40,000 objects


def test_seeded_build_gives_set_random_seeds_weights_without_clearing_tensorflows_caches(monkeypatch):
    """edit_to_activations_over_naive depends on it: keras.utils.set_random_seed calls
    tf.random.set_seed, which clears TensorFlow's kernel caches on every seeded build."""
    import keras
    import numpy as np
    import tensorflow as tf

    from inception_viz.keras_model import build_keras
    from inception_viz.presets import preset

    spec = preset("googlenet")  # convs, LRN, dropout, dense: every kind that draws a seed
    keras.utils.set_random_seed(5)
    expected = [w.copy() for w in build_keras(spec).get_weights()]
    calls = []
    monkeypatch.setattr(tf.random, "set_seed", lambda seed: calls.append(seed))
    got = build_keras(spec, seed=5).get_weights()
    assert not calls
    assert len(got) == len(expected) and all(np.array_equal(a, b) for a, b in zip(got, expected))
    other = build_keras(spec, seed=6).get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(other, expected))


def test_the_four_figures_are_built_with_their_layout_not_relaid_out(monkeypatch):
    """What edit_to_views_over_build depends on: each figure is created with its whole
    layout (go.Figure(layout=...)) instead of relaid out afterwards."""
    from inception_viz import figures
    from inception_viz.counter import analyze
    from inception_viz.presets import preset

    report = analyze(preset("googlenet"))
    calls = []
    for name in ("update_layout", "update_xaxes", "update_yaxes", "plotly_relayout"):
        real = getattr(figures.go.Figure, name)
        monkeypatch.setattr(figures.go.Figure, name,
                            lambda self, *a, _n=name, _real=real, **k: (calls.append(_n), _real(self, *a, **k))[1])
    for make in (figures.block_metric_figure, figures.channel_flow_figure, figures.branch_share_figure,
                 figures.activation_memory_figure):
        fig = make(report)
        assert fig.layout.height and fig.layout.title.text, make.__name__
    assert not calls, calls


# ---------------------------------------------------------------------------------------
# bench --browser: the explorer against the floor app in headless Chromium

BROWSER_KEYS = {
    "browser_edit_over_floor": 2.0,
    "browser_page_ready_over_floor": 1.3,
    "browser_tab_switch_over_floor": 4.0,
}
# each browser ratio and the raw medians (ms) it is the quotient of
BROWSER_PARTS = {
    "browser_edit_over_floor": ("app_edit_ms", "floor_edit_ms"),
    "browser_page_ready_over_floor": ("app_page_ready_ms", "floor_page_ready_ms"),
    "browser_tab_switch_over_floor": ("app_tab_switch_ms", "floor_edit_ms"),
}


def test_browser_keys_and_goals_are_the_issues():
    from inception_viz import bench_browser

    assert {k: g for k, (g, _) in bench_browser.GOALS.items()} == BROWSER_KEYS


def test_the_bench_finds_the_apps_view_switcher_and_view_box():
    """bench --browser and the browser tests find the switcher and the open view's box by
    the CSS classes Streamlit gives keyed elements (st-key-<key>): app.py's keys."""
    import app

    from inception_viz import browser

    assert browser.VIEW_SWITCHER == f".st-key-{app.VIEW_KEY}"
    assert browser.VIEW_BOX == f".st-key-{app.VIEW_CONTAINER}"


def test_view_content_table_names_every_view_of_the_app():
    """The view-switch timing clicks every view of app.py's default page: a view added or
    renamed without its main-content selector would drop out of the median unnoticed."""
    from streamlit.testing.v1 import AppTest

    from inception_viz.bench_browser import VIEW_CONTENT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert at.button_group(key="view").options == list(VIEW_CONTENT)


def test_browser_bench_without_chromium_is_null_with_the_reason(monkeypatch):
    from inception_viz import bench_browser

    monkeypatch.setattr(bench_browser, "chromium_missing", lambda: "/usr/bin/chromium is missing (apt-get install chromium)")
    doc = bench_browser.run_browser_bench(quick=True)
    assert all(doc[k] is None for k in BROWSER_KEYS)
    assert doc["notes"] == {k: "/usr/bin/chromium is missing (apt-get install chromium)" for k in BROWSER_KEYS}
    text = bench.bench_text(doc)
    assert text.startswith("Inception Explorer browser benchmark, ")
    row = next(line for line in text.splitlines() if line.startswith("browser_edit_over_floor"))
    assert [c.strip() for c in row.split("|")][1:] == ["null", "<= 2", "n/a"]


def test_browser_text_table():
    doc = {"browser_edit_over_floor": 2.5, "browser_page_ready_over_floor": 1.2, "browser_tab_switch_over_floor": None,
           "goals": dict(BROWSER_KEYS), "notes": {"browser_tab_switch_over_floor": "RuntimeError: no Graph tab"},
           "absolute": {"app_edit_ms": 250.0, "tab_switch_ms": {"Blocks": 120, "Paper Table 1": 1300}},
           "machine": {"date": "2026-01-01 00:00 UTC", "quick": True, "cpu": "a CPU", "apps": "app.py vs the floor"}}
    lines = bench.bench_text(doc).splitlines()
    assert lines[0] == ("Inception Explorer browser benchmark, 2026-01-01 00:00 UTC (--quick): app.py vs the floor; "
                        "ratios, lower is better")
    rows = {line.split("|")[0].strip(): [c.strip() for c in line.split("|")[1:]] for line in lines[3:6]}
    assert rows == {"browser_edit_over_floor": ["2.5", "<= 2", "NO"],
                    "browser_page_ready_over_floor": ["1.2", "<= 1.3", "yes"],
                    "browser_tab_switch_over_floor": ["null", "<= 4", "n/a"]}
    assert "  tab_switch_ms: Blocks 120, Paper Table 1 1,300" in lines
    assert "  cpu: a CPU" in lines


def test_the_floor_app_is_served_as_the_explorer_is(monkeypatch):
    """Both apps of bench --browser run on the same server: Streamlit with the project's
    config.toml and inception_viz.st_compat's adjustments (TCP_NODELAY, which app.py installs
    on its first run). The floor app gets them before its server starts."""
    from inception_viz import bench_browser, browser

    started = []
    monkeypatch.setattr(browser.subprocess, "Popen", lambda cmd, **kw: started.append((cmd, kw["cwd"])))
    browser.StreamlitServer(bench_browser.APP).start()
    browser.StreamlitServer(bench_browser.FLOOR_APP, st_compat=True).start()
    (app_cmd, app_cwd), (floor_cmd, floor_cwd) = started
    assert app_cmd[1:4] == ["-m", "streamlit", "run"] and app_cmd[4] == str(bench_browser.APP)
    assert floor_cmd[1:4] == ["-m", "inception_viz.st_compat", "run"] and floor_cmd[4] == str(bench_browser.FLOOR_APP)
    assert app_cwd == floor_cwd == browser.ROOT  # the same .streamlit/config.toml
    source = Path(bench_browser.__file__).read_text()
    assert "StreamlitServer(FLOOR_APP, st_compat=True)" in source
    # and both are served through their st.App: what `streamlit run` itself finds in them
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = [discover_asgi_app(Path(p)) for p in (bench_browser.APP, bench_browser.FLOOR_APP)]
    assert [(r.is_asgi_app, r.app_name) for r in found] == [(True, "app"), (True, "app")]


def test_cli_parses_bench_browser_without_importing_playwright():
    code = (
        "import sys; from inception_viz.cli import build_parser; "
        "a = build_parser().parse_args(['bench', '--browser', '--quick']); "
        "assert a.browser and a.quick; "
        "bad = [m for m in ('playwright', 'tensorflow') if m in sys.modules]; "
        "assert not bad, bad"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="/usr/bin/chromium is missing (apt-get install chromium)")
def test_browser_bench_runs_and_reports_every_key():
    """One reduced run (2 page loads, 2 edits, 1 round of tabs) as the CLI prints it; the
    numbers themselves are the bench's to report, not asserted."""
    from inception_viz.bench_browser import VIEW_CONTENT

    res = subprocess.run(
        [sys.executable, "-m", "inception_viz", "bench", "--browser", "--quick", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(res.stdout)
    missing = {k: doc["notes"].get(k, "no note") for k in BROWSER_KEYS if doc.get(k) is None}
    assert not missing, f"keys printed as null: {missing}"
    assert doc["goals"] == BROWSER_KEYS
    a = doc["absolute"]
    for key, (num, den) in BROWSER_PARTS.items():
        assert _number(doc[key]) and doc[key] > 0, (key, doc[key])
        assert _number(a[num]) and a[num] > 0 and _number(a[den]) and a[den] > 0, (key, a)
        assert doc[key] == pytest.approx(a[num] / a[den], rel=1e-2), key  # the ms are rounded in the JSON
    assert len(a["app_edit_each_ms"]) == len(a["floor_edit_each_ms"]) == 2
    assert len(set(a["edit_widths"])) == 2  # a different width for each edit
    assert set(a["tab_switch_ms"]) == set(VIEW_CONTENT)
    # the browser's main-thread CPU for a fresh page of each (a diagnostic, no goal)
    assert _number(a["app_page_cpu_ms"]) and a["app_page_cpu_ms"] > 0
    assert _number(a["floor_page_cpu_ms"]) and a["floor_page_cpu_ms"] > 0
    m = doc["machine"]
    assert m["cpu"] and m["quick"] is True and m["chromium"] and m["streamlit"]
