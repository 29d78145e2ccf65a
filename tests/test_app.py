"""The Streamlit app, driven headless with AppTest.

Every expected number comes from the counter (an independent path from the widgets), with
the arithmetic written out where it is a golden number.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from inception_viz import config, counter, presets, views
from inception_viz.views import blocks as blocks_view
from inception_viz.views import paper as paper_view

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import app  # noqa: E402  (importing does not run main())

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 180  # the machine is slow and shared; a first run imports plotly and pandas


def run_app(query: dict[str, str] | None = None, view: str | None = None) -> AppTest:
    """The app opened at ``?<query>`` (and ``&view=<view>``: AppTest cannot click a tab)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in {**(query or {}), **({"view": view} if view is not None else {})}.items():
        at.query_params[k] = v
    return at.run()


def open_view(at: AppTest, key: str) -> AppTest:
    """What a click on a view's tab sends: the tabs' value (its label), then a rerun."""
    at.session_state[app.VIEW_KEY] = views.view_by_key(key).label
    return at.run()


def qp(at: AppTest, key: str):
    """One URL parameter as text (AppTest may hold it as a one-item list)."""
    value = at.query_params[key]
    return value[-1] if isinstance(value, list) else value


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def total(at: AppTest) -> str:
    return metrics(at)["Parameters (weights + biases)"]


def macs(at: AppTest) -> str:
    return metrics(at)["Multiply-adds (MACs) per image"]


def widget(elements, prefix: str):
    """The one widget whose key starts with ``prefix`` (keys carry preset and generation)."""
    found = [e for e in elements if e.key and e.key.startswith(prefix)]
    assert len(found) == 1, f"{prefix}: {[e.key for e in elements]}"
    return found[0]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_default_page_is_the_papers_googlenet():
    at = run_app()
    assert not at.exception
    m = metrics(at)
    assert m["Parameters (weights + biases)"] == "6,998,552"
    assert m["Multiply-adds (MACs) per image"] == "1,582,671,872"
    assert m["Depth (layers with weights)"] == "22 layers"
    assert m["Output size"] == "1x1x1000"
    assert not errors(at)
    assert qp(at, "preset") == "googlenet"
    # the contract for scripts that drive the page: Blocks open, inception_3a in focus,
    # its six widths labelled as in the paper's Table 1
    assert qp(at, "view") == "blocks"
    assert at.sidebar.selectbox(key="focus@googlenet").value == "inception_3a"
    assert [n.label for n in at.number_input][:6] == ["1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool_proj"]
    assert widget(at.number_input, "w-inception_3a-3x3@").value == 128
    # the generated code is one tab away; the predictions section waits, off, behind its switch
    open_view(at, "code")
    assert any("def inception(x, F3x3_1x1, F3x3, F5x5_1x1, F5x5, F1x1, Fmp_1x1, name):" in c.value for c in at.code)
    open_view(at, "predictions")
    assert at.toggle(key="pred-on").value is False


def test_paper_table_notes_show_the_arithmetic_literally():
    """Alerts render Markdown: "7*7*3*8 + 24*64" used to reach the class as "7738 + 2464"
    in italics. The three flagged rows are explained, their formulas intact."""
    at = run_app(view="paper")
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    for label in ("convolution 7x7/2", "inception (4c)", "inception (5a)"):
        assert label in warnings
    # conv1 as a depthwise-separable 7x7, multiplier 8: 7*7*3*8 + 24*64 = 1,176 + 1,536 = 2,712
    assert 7 * 7 * 3 * 8 + 24 * 64 == 2_712
    assert "7×7×3×8 + 24×64 = 2,712 weights" in warnings
    assert "512×128 + 512×128 + 9×128×256" in warnings  # 4c's weights, as the paper's widths give them
    assert "*" not in warnings.replace("**", "")  # bold labels only: no stray Markdown stars
    assert paper_view.note_text("2,712 * 112*112") == "2,712 × 112×112"


def test_paper_table_is_as_tall_as_its_rows(monkeypatch):
    """A height in pixels (38 per row) guessed the row height and left two empty rows
    under the table; the table's own content height has none. AppTest does not keep an
    element's height, so the call is recorded on its way to Streamlit."""
    import streamlit

    calls = []
    real = streamlit.dataframe

    def dataframe(data, *args, **kwargs):
        calls.append((data, kwargs))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "dataframe", dataframe)
    at = run_app(view="paper")
    assert not at.exception
    (kwargs,) = [kw for data, kw in calls if "params K (paper)" in getattr(data, "data", data).columns]
    assert kwargs.get("height") == "content"


#: What only each view draws (its tab open), to tell which view ran.
VIEW_MARKS = {
    "blocks": lambda at: any(e.key and e.key.startswith("table@") for e in at.data_editor),
    "graph": lambda at: len(at.get("graphviz_chart")) == 1,
    "charts": lambda at: any(c.key == "chart-flow" for c in at.get("plotly_chart")),
    "paper": lambda at: any("params K (paper)" in d.value.columns for d in at.dataframe),
    "seed": lambda at: any(r.key == "seed-padding" for r in at.radio),
    "compare": lambda at: any(s.key == "compare-pick" for s in at.selectbox),
    "code": lambda at: any("def inception(" in c.value for c in at.code),
    "instantiate": lambda at: any(t.key == "tf-on" for t in at.toggle),
    "predictions": lambda at: any(t.key == "pred-on" for t in at.toggle),
    "receptive": lambda at: any(t.key == "rf-on" for t in at.toggle),
}


def open_views(at: AppTest) -> list[str]:
    return [k for k, mark in VIEW_MARKS.items() if mark(at)]


def test_every_view_is_registered_once_in_tab_order():
    assert [v.key for v in views.VIEWS] == list(VIEW_MARKS)
    assert views.DEFAULT_VIEW.key == "blocks"
    assert len({v.label for v in views.VIEWS}) == len(views.VIEWS)
    assert all(callable(v.module.render) for v in views.VIEWS)


@pytest.mark.parametrize("key", list(VIEW_MARKS))
def test_only_the_open_view_runs(key):
    """Each view opens from the URL, shows its tab selected and draws alone: a hidden
    view costs nothing and sends nothing."""
    at = run_app(view=key)
    assert not at.exception, at.exception
    assert open_views(at) == [key]
    assert qp(at, "view") == key
    assert [t.label for t in at.tabs] == [v.label for v in views.VIEWS]


def test_the_open_view_survives_edits_and_a_tab_click_moves_it():
    at = run_app({"preset": "googlenet"}, view="graph")
    assert open_views(at) == ["graph"]
    widget(at.number_input, "opt-classes@").set_value(10).run()  # an edit: a new spec, new widget keys
    assert not at.exception and metrics(at)["Output size"] == "1x1x10"
    assert open_views(at) == ["graph"] and qp(at, "view") == "graph" and qp(at, "classes") == "10"
    open_view(at, "charts")
    assert open_views(at) == ["charts"] and qp(at, "view") == "charts"
    widget(at.selectbox, "preset@").set_value("block").run()
    assert open_views(at) == ["charts"] and qp(at, "view") == "charts" and qp(at, "preset") == "block"
    open_view(at, "blocks")
    assert open_views(at) == ["blocks"] and qp(at, "view") == "blocks"


def test_a_views_widgets_keep_their_values_while_another_view_is_open():
    at = run_app(view="graph")
    at.radio(key="graph-view").set_value("Block detail: inception_3a").run()
    assert "inception_3a" in at.get("graphviz_chart")[0].proto.spec
    open_view(at, "blocks")
    open_view(at, "graph")
    assert at.radio(key="graph-view").value == "Block detail: inception_3a"


@pytest.mark.parametrize("bad", ["nope", "", "Graph", "graph/../x", "view" * 100])
def test_a_bad_view_falls_back_to_blocks_silently(bad):
    """The model in the same URL still loads: `view` is the app's key, not the model's."""
    at = run_app({"preset": "googlenet", "inception_3a": "64-96-256-16-32-32"}, view=bad)
    assert not at.exception and not errors(at)
    assert open_views(at) == ["blocks"] and qp(at, "view") == "blocks"
    assert total(at) == "7,154,328"


def test_first_page_does_not_import_tensorflow():
    code = textwrap.dedent(
        f"""
        import sys
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT}).run()
        assert not at.exception, at.exception
        print("TF" if "tensorflow" in sys.modules or "keras" in sys.modules else "NO-TF")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT + 60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "NO-TF"


def test_width_edit_reruns_with_the_counters_total():
    at = run_app()
    widget(at.number_input, "w-inception_3a-3x3@").set_value(256).run()
    assert not at.exception and not errors(at)
    expected = counter.analyze(presets.preset("googlenet").with_block("inception_3a", **{"3x3": 256}))
    # 3a's 3x3 conv: +128 filters * (9*96 + 1) = 110,720; 3b sees 128 more input channels
    # in its 1x1, 3x3_reduce, 5x5_reduce and pool_proj: (128 + 128 + 32 + 64) * 128 = 45,056
    assert expected.total_params == 6_998_552 + 110_720 + 45_056 == 7_154_328
    assert total(at) == "7,154,328"
    assert macs(at) == counter.fmt_int(expected.total_macs)
    assert at.metric[0].delta == "+155,776 vs preset"
    # the URL now holds the edit
    assert at.query_params["inception_3a"] in ("64-96-256-16-32-32", ["64-96-256-16-32-32"])
    # a second edit starts from the first (widgets were redrawn from the new spec)
    widget(at.number_input, "w-inception_3a-5x5@").set_value(64).run()
    expected2 = counter.analyze(expected.spec.with_block("inception_3a", **{"5x5": 64}))
    assert total(at) == counter.fmt_int(expected2.total_params)


def test_naive_switch_and_back_restores_the_preset():
    at = run_app()
    widget(at.toggle, "form-inception_3a@").set_value(True).run()
    naive3a = presets.preset("googlenet").with_block("inception_3a", **{"3x3_reduce": 0, "5x5_reduce": 0, "pool_proj": 0})
    assert total(at) == counter.fmt_int(counter.analyze(naive3a).total_params)
    assert widget(at.number_input, "w-inception_3a-3x3_reduce@").value == 0
    widget(at.toggle, "form-inception_3a@").set_value(False).run()
    assert total(at) == "6,998,552"
    assert widget(at.number_input, "w-inception_3a-3x3_reduce@").value == 96


def test_preset_switch():
    at = run_app()
    widget(at.selectbox, "preset@").set_value("block").run()
    assert not at.exception
    m = metrics(at)
    # the seed's demo: 325 + 460 + 1,300 + 15,030 + 2,600 + 3,250 = 22,965; 40+10+30+50 = 130 maps
    assert m["Parameters (weights + biases)"] == "22,965"
    assert m["Output size"] == "32x32x130"
    # the seed comparison explains the slide's "160"
    open_view(at, "seed")
    assert any("40 + 10 + 30 + 50 = 130" in w.value for w in at.warning)
    assert at.query_params["preset"] in ("block", ["block"])
    # widgets now belong to the block preset
    assert widget(at.number_input, "opt-height@").value == 32
    widget(at.selectbox, "preset@").set_value("naive").run()
    assert total(at) == counter.fmt_int(counter.analyze(presets.preset("naive")).total_params)


def test_invalid_edit_shows_an_error_and_keeps_the_last_good_model():
    at = run_app()
    at.selectbox(key="focus@googlenet").set_value("inception_4a").run()  # the block in focus
    widget(at.number_input, "w-inception_4a-1x1@").set_value(100).run()
    good = counter.analyze(presets.preset("googlenet").with_block("inception_4a", **{"1x1": 100}))
    assert total(at) == counter.fmt_int(good.total_params)
    widget(at.number_input, "opt-height@").set_value(8).run()
    assert not at.exception
    msg = errors(at)
    assert len(msg) == 1 and "too small" in msg[0] and "8x224" in msg[0]
    assert total(at) == counter.fmt_int(good.total_params)
    assert macs(at) == counter.fmt_int(good.total_macs)
    assert "input" not in at.query_params
    # the next good edit clears the error
    widget(at.number_input, "w-inception_4a-1x1@").set_value(192).run()
    assert not errors(at) and total(at) == "6,998,552"


def test_reset_to_paper():
    at = run_app({"preset": "googlenet", "inception_5b": "1-2-3-4-5-6"})
    assert total(at) != "6,998,552"
    next(b for b in at.button if b.label.startswith("Reset")).click().run()
    assert total(at) == "6,998,552"


def test_config_in_the_url_is_restored():
    spec = presets.preset("googlenet").with_block("inception_3a", **{"3x3": 256}).with_options(input_shape=(160, 160, 3), classes=10, lrn=False)
    query = config.spec_to_query(spec)
    assert query == {"preset": "googlenet", "input": "160x160x3", "classes": "10", "lrn": "0", "inception_3a": "64-96-256-16-32-32"}
    at = run_app(query)
    assert not at.exception and not errors(at)
    report = counter.analyze(spec)
    assert total(at) == counter.fmt_int(report.total_params)
    assert macs(at) == counter.fmt_int(report.total_macs)
    assert metrics(at)["Output size"] == "1x1x10"
    assert widget(at.number_input, "opt-height@").value == 160
    assert widget(at.checkbox, "opt-lrn@").value is False


@pytest.mark.parametrize(
    "query,fallback,expected_total",
    [
        ({"inception_3a": "1-2-3"}, "googlenet", "6,998,552"),
        ({"preset": "resnet"}, "googlenet", "6,998,552"),
        ({"preset": "block", "input": "32x32"}, "block", "22,965"),
        ({"preset": "googlenet", "input": "8x8x3"}, "googlenet", "6,998,552"),
    ],
)
def test_malformed_url_falls_back_with_an_error(query, fallback, expected_total):
    at = run_app(query)
    assert not at.exception
    msg = errors(at)
    assert len(msg) == 1 and f"Showing the {fallback} preset instead" in msg[0]
    assert total(at) == expected_total
    assert at.query_params["preset"] in (fallback, [fallback])


def test_graph_downloads_without_dot_say_how_to_install(monkeypatch):
    at = run_app(view="graph")
    labels = [b.label for b in at.get("download_button")]
    if shutil.which("dot"):
        assert {"Download DOT", "Download SVG", "Download PNG"} <= set(labels)
    monkeypatch.setenv("PATH", "/nonexistent")  # no dot on the PATH
    at = run_app(view="graph")
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert "Download DOT" in labels and "Download SVG" not in labels and "Download PNG" not in labels
    assert any("apt-get install graphviz" in i.value for i in at.info)


def test_compare_tab_shows_the_other_models_totals():
    at = run_app(view="compare")
    naive = counter.analyze(presets.preset("naive"))
    assert metrics(at)["Parameters: naive"] == counter.fmt_int(naive.total_params)
    delta = naive.total_params - 6_998_552
    assert at.metric[4].delta == f"{delta:+,} vs current"


def test_block_table_and_its_edited_cells():
    g = presets.preset("googlenet")
    table = blocks_view.block_table(g.with_block("inception_3b", **{"5x5": 1}), counter.analyze(g.with_block("inception_3b", **{"5x5": 1})))
    assert table.loc["inception_3b", "vs preset"] == "5x5: 96→1"
    assert table.loc["inception_3a", "vs preset"] == "="
    assert table.loc["inception_3a", "params"] == "163,696"
    # the highlight table: only edited blocks, only the changed cells styled
    assert blocks_view.edited_blocks_styler(g) is None
    styler = blocks_view.edited_blocks_styler(g.with_block("inception_3b", **{"5x5": 1}))
    assert list(styler.data.index) == ["inception_3b"]
    html = styler.to_html()
    assert html.count(blocks_view.EDITED_CELL.split(";")[0]) == 1


def edit_table(at: AppTest, edited_rows: dict) -> AppTest:
    """What the browser sends when cells of the block table are edited."""
    (editor,) = at.data_editor
    at.session_state[editor.key] = {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []}
    return at.run()


def test_block_table_edits_widths_and_forms():
    at = run_app()
    assert at.data_editor[0].value.loc["inception_3a", "3x3"] == 128
    edit_table(at, {0: {"3x3": 256}})  # row 0 = inception_3a
    assert not at.exception and not errors(at)
    assert total(at) == "7,154,328"  # the same edit as the number input above
    # the table was redrawn from the new spec (a new key, the new value, the diff column)
    assert at.data_editor[0].value.loc["inception_3a", "3x3"] == 256
    assert at.data_editor[0].value.loc["inception_3a", "vs preset"] == "3x3: 128→256"
    edit_table(at, {3: {"naive": True}})  # row 3 = inception_4b to Figure 2(a)
    spec = presets.preset("googlenet").with_block("inception_3a", **{"3x3": 256}).with_block(
        "inception_4b", **{"3x3_reduce": 0, "5x5_reduce": 0, "pool_proj": 0}
    )
    assert total(at) == counter.fmt_int(counter.analyze(spec).total_params)
    assert at.query_params["inception_4b"] in ("160-0-224-0-64-0", ["160-0-224-0-64-0"])


def test_block_table_invalid_cell_keeps_the_model():
    at = run_app()
    edit_table(at, {1: {"1x1": None}})
    assert not at.exception
    assert any("inception_3b 1x1 needs a number" in e for e in errors(at))
    assert total(at) == "6,998,552"


def test_config_upload_loads_and_bad_upload_keeps_the_model():
    at = run_app()
    spec = presets.preset("googlenet").with_block("inception_5b", **{"1x1": 256})
    good = config.dumps_config(spec).encode()
    at.sidebar.file_uploader[0].upload("lecture.json", good, "application/json").run()
    assert not at.exception and not errors(at)
    assert total(at) == counter.fmt_int(counter.analyze(spec).total_params)
    at.sidebar.file_uploader[0].upload("broken.json", b'{"preset": "googlenet", "blocks": {"inception_9z": {}}}', "application/json").run()
    msg = errors(at)
    assert len(msg) == 1 and msg[0].startswith("broken.json: blocks: no block") and "inception_5b" in msg[0]
    assert total(at) == counter.fmt_int(counter.analyze(spec).total_params)
    at.sidebar.file_uploader[0].upload("big.json", b" " * (config.MAX_CONFIG_BYTES + 1), "application/json").run()
    assert "a config is at most 262,144" in errors(at)[0]


def test_compare_with_an_uploaded_config():
    at = run_app(view="compare")
    at.selectbox(key="compare-pick").set_value("an uploaded config").run()
    other = presets.preset("googlenet").with_block("inception_4e", **{"5x5": 256})
    at.file_uploader(key="compare-upload").upload("other.json", config.dumps_config(other).encode(), "application/json").run()
    assert not at.exception
    report = counter.analyze(other)
    assert metrics(at)["Parameters: other.json"] == counter.fmt_int(report.total_params)
    table = next(d.value for d in at.dataframe if {"block", "Δ params"} <= set(getattr(d.value, "columns", [])))
    row = table.set_index("block").loc["inception_4e"]
    # 4e's 5x5 conv: +128 filters * (25*32 + 1) = 102,528; 4e's output grows by 128 channels,
    # which pool4 passes on to 5a's 1x1, 3x3_reduce, 5x5_reduce and pool_proj: see the whole row
    assert row["Δ params"] == "+102,528"
    whole = table.set_index("block").loc["whole model"]
    assert whole["Δ params"] == f"{report.total_params - 6_998_552:+,}"


def test_instantiate_builds_on_cpu_and_times_blocks():
    """Loads TensorFlow in this process, so it runs last in this file."""
    at = run_app({"preset": "block"}, view="instantiate")
    next(t for t in at.toggle if t.label == "Load TensorFlow").set_value(True).run()
    assert not at.exception
    device = at.selectbox(key="tf-device")
    assert "/CPU:0" in device.options
    next(b for b in at.button if b.label == "Build").click().run()
    assert not at.exception, at.exception
    success = " ".join(s.value for s in at.success)
    # Keras's own count equals the counter's: 22,965 for the seed's block
    assert "count_params() = 22,965 (the counter: 22,965)" in success
    at.number_input(key="prof-repeats").set_value(2).run()
    next(b for b in at.button if b.label == "Measure latency per block").click().run()
    assert not at.exception, at.exception
    frames = [d.value for d in at.dataframe]
    timing = next(f for f in frames if "median ms" in f.columns)
    assert list(timing["block"]) == ["inception_3a", "(whole model)"]
    assert list(timing["MACs per image"]) == ["23,357,440", "23,357,440"]

