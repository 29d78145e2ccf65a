"""The Streamlit app, driven headless with AppTest.

Every expected number comes from the counter (an independent path from the widgets), with
the arithmetic written out where it is a golden number.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from inception_viz import config, counter, presets, views
from inception_viz.spec import WIDTH_KEYS
from inception_viz.views import blocks as blocks_view
from inception_viz.views import headline, sidebar
from inception_viz.views import paper as paper_view

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import app  # noqa: E402  (importing does not run main())
from test_hostile import run_py  # noqa: E402  (a fresh interpreter that prints one JSON line)

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 180  # the machine is slow and shared; a first run imports plotly and pandas


def open_folded_sections(at: AppTest, sidebar_open: bool = True, all_blocks: bool = True) -> None:
    """What a click on each folded section sends before the run: the sidebar's two
    (``sidebar_open``) and the Blocks view's *All blocks* (``all_blocks``) open."""
    if sidebar_open:
        at.session_state[sidebar.OPTIONS_KEY] = at.session_state[sidebar.SHARE_KEY] = True
    if all_blocks:
        at.session_state[blocks_view.ALL_BLOCKS_KEY] = True


def run_app(query: dict[str, str] | None = None, view: str | None = None, sidebar_open: bool = True,
            table_editor: bool = False, all_blocks: bool = True) -> AppTest:
    """The app opened at ``?<query>`` (and ``&view=<view>``: AppTest cannot click a tab),
    with the sidebar's two folded sections open (what a click on them does), unless
    ``sidebar_open`` is false; the Blocks view's folded *All blocks* open, unless
    ``all_blocks`` is false; ``table_editor``: its "Edit in the table" on."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in {**(query or {}), **({"view": view} if view is not None else {})}.items():
        at.query_params[k] = v
    open_folded_sections(at, sidebar_open, all_blocks)
    if table_editor:
        at.session_state[blocks_view.TABLE_EDIT_KEY] = True
    return at.run()


def open_view(at: AppTest, key: str) -> AppTest:
    """A click on a view's button in the view switcher (its value: the view's label)."""
    return nav(at).set_value(views.view_by_key(key).label).run()


def nav(at: AppTest):
    """The view switcher (a segmented control)."""
    return at.button_group(key=app.VIEW_KEY)


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


def test_paper_table_at_another_input_size_keeps_the_errata_explained():
    """At 200×300 the three errata used to lose their explanation ("differs ... in params,
    ops, shape"); now they keep it and the rest is put down to the input size, once."""
    spec = presets.preset("googlenet").with_options(input_shape=(200, 300, 3))
    at = run_app(config.spec_to_query(spec), view="paper")
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    for label in ("convolution 7x7/2", "inception (4c)", "inception (5a)"):
        assert f"**{label}**" in warnings and "the paper's numbers are off" in warnings
    assert "differs from the paper" not in " ".join(i.value for i in at.info)
    assert any("Input 200×300" in i.value and "height × width" in i.value for i in at.info)
    statuses = set(at.dataframe[0].value["status"])
    assert statuses == {"paper error", "input size", "agrees"}


def test_paper_table_deltas_are_never_minus_zero_and_visible():
    at = run_app(view="paper")
    df = at.dataframe[0].value.set_index("layer")
    assert df.loc["inception (4e)", "Δ ops"] == "−<0.1%"  # 169,996,288 vs 170M; was "−0.0%"
    assert (df.loc["linear", "ops M (here)"], df.loc["linear", "ops M (paper)"]) == ("1.02", "1.00")  # was 1.0 vs 1.0
    assert not any(v.startswith(("-0.0", "−0.0")) for v in df["Δ ops"].tolist() + df["Δ params"].tolist())


def test_graph_legend_explains_the_edit_mark_only_when_drawn():
    """The block detail's legend explained ✎ although no ✎ was drawn."""
    spec = presets.preset("googlenet").with_block("inception_4c", **{"3x3": 200})
    at = run_app(config.spec_to_query(spec), view="graph")
    legend = lambda: " ".join(m.value for m in at.markdown)  # noqa: E731
    dot = lambda: at.get("graphviz_chart")[-1].proto.spec  # noqa: E731
    assert "✎" in dot() and "✎ = edited" in legend()  # the overview marks 4c
    at.radio(key="graph-view").set_value("Block detail: inception_3a").run()  # 3a is not edited
    assert "✎" not in dot() and "✎ = edited" not in legend()
    spec = spec.with_block("inception_3a", **{"5x5": 40})
    at = run_app(config.spec_to_query(spec), view="graph")
    at.radio(key="graph-view").set_value("Block detail: inception_3a").run()
    assert "5x5 conv, 40 filters ✎" in dot() and "✎ = edited" in legend()
    # left to right the slider counts columns
    at.radio(key="graph-layout").set_value("left to right").run()
    assert any(s.label == "Overview: nodes per column" for s in at.slider)


def test_every_view_agrees_on_the_numbers():
    """The walk-through's "done when": the same total, MACs and block numbers in the
    header, Blocks, Graph, Compare, Code and Paper Table 1 for an edited model."""
    spec = presets.preset("googlenet").with_block("inception_4c", **{"3x3": 200}).with_options(input_shape=(200, 300, 3))
    report = counter.analyze(spec)
    total_text, macs_text = f"{report.total_params:,}", f"{report.total_macs:,}"
    at = run_app(config.spec_to_query(spec), view="blocks", table_editor=True)
    assert (total(at), macs(at)) == (total_text, macs_text)
    row = report.row("inception_4c")
    editor = next(d for d in at.dataframe if d.proto.editing_mode).value
    assert editor.loc["inception_4c", "params"] == f"{row.params:,}"
    open_view(at, "graph")
    overview = at.get("graphviz_chart")[-1].proto.spec
    assert f"{total_text} params, {macs_text} MACs" in overview
    open_view(at, "compare")
    table = next(d.value for d in at.dataframe if "Δ params" in getattr(d.value, "columns", [])).set_index("block")
    assert table.loc["whole model", "params K (current)"] == f"{report.total_params / 1000:,.1f}"
    assert table.loc["whole model", "MACs M (current)"] == f"{report.total_macs / 1e6:,.1f}"
    assert table.loc["inception_4c", "params K (current)"] == f"{row.params / 1000:,.1f}"
    open_view(at, "code")
    assert f"{total_text} parameters" in code_caption(at)
    open_view(at, "paper")
    df = at.dataframe[0].value.set_index("layer")
    assert df.loc["inception (4c)", "params K (here)"].startswith(f"{row.weights / 1024:,.1f}")
    assert df.loc["inception (4c)", "status"] == "edited"


def code_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if "Plain Keras 3" in c.value)


def test_code_caption_agrees_with_the_header(monkeypatch):
    """With the auxiliary classifiers on, the header counts them (10,071,886) and the code
    did not: the caption used to claim
    "same parameters". It now derives its claim from the two counts."""
    from inception_viz import codegen

    plain = run_app(view="code")
    assert "the same network as the app: 6,998,552 parameters" in code_caption(plain)
    spec = presets.preset("googlenet").with_options(aux=True)
    report = counter.analyze(spec)
    aux = sum(r.params for r in report.rows if r.aux)
    at = run_app(config.spec_to_query(spec), view="code")
    assert not at.exception
    text = code_caption(at)
    if codegen.code_params(spec) != report.total_params:  # before the code writes the aux heads
        assert "same network" not in text
        assert f"{codegen.code_params(spec):,} parameters, not the header's {report.total_params:,} ({-aux:+,})" in text
        assert "auxiliary classifiers" in text
    # once the code holds every parameter of the header, the caption says "same"
    monkeypatch.setattr(codegen, "code_params", lambda s: counter.analyze(s).total_params)
    at = run_app(config.spec_to_query(spec), view="code")
    assert f"the same network as the app: {report.total_params:,} parameters" in code_caption(at)


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
    "blocks": lambda at: any(n.key.startswith("w-") for n in at.number_input),  # the focus block's widths
    "graph": lambda at: len(at.get("graphviz_chart")) == 1,
    "charts": lambda at: any(c.key == "chart-flow" for c in at.get("plotly_chart")),
    "paper": lambda at: any("params K (paper)" in d.value.columns for d in at.dataframe),
    "seed": lambda at: any(r.key == "seed-padding" for r in at.radio),
    "compare": lambda at: any(s.key.startswith("compare-pick@") for s in at.selectbox),
    "code": lambda at: any("def inception(" in c.value for c in at.code),
    "instantiate": lambda at: any(t.key == "tf-on" for t in at.toggle),
    "predictions": lambda at: any(t.key == "pred-on" for t in at.toggle),
    "receptive": lambda at: any(t.key == "rf-on" for t in at.toggle),
    "featurevis": lambda at: any(r.key == "fv-mode" for r in at.radio),
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
    """Each view opens from the URL, shows its button selected and draws alone: a hidden
    view costs nothing and sends nothing."""
    at = run_app(view=key)
    assert not at.exception, at.exception
    assert open_views(at) == [key]
    assert qp(at, "view") == key
    assert nav(at).options == [v.label for v in views.VIEWS]
    assert nav(at).value == views.view_by_key(key).label and not at.tabs


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


def test_first_page_imports_neither_tensorflow_nor_the_hidden_views():
    """A fresh process's first page imports what it draws: the Blocks view, not the other
    ten (``View.module`` imports a view when it first opens), not pandas (only the folded All
    blocks table needs it: with every view imported eagerly, the first page after
    ``streamlit run`` spent ~0.5 s importing pandas and Plotly's figures), not TensorFlow."""
    code = textwrap.dedent(
        f"""
        import json, sys
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT}).run()
        assert not at.exception, at.exception
        print(json.dumps({{"tf": "tensorflow" in sys.modules or "keras" in sys.modules, "pandas": "pandas" in sys.modules,
                          "views": sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("inception_viz.views."))}}))
        """
    )
    got = run_py(code, timeout=TIMEOUT + 60)
    assert got == {"tf": False, "pandas": False, "views": ["blocks", "common", "context", "headline", "sidebar"]}, got


def test_streamlit_run_serves_through_the_apps_st_app_which_prepares_the_first_page():
    """`streamlit run app.py` finds ``app`` (an ``st.App``) in app.py and serves through it
    (Streamlit's own discovery says so), and that app's lifespan, run once when the server
    starts, does before any page what the first run and the views' first opens did before:
    ``TCP_NODELAY`` on the server's sockets (st_compat), every view's imports (pandas with
    them), Streamlit's emoji table for the page icon. Imported, app.py draws nothing."""
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(Path(APP))
    assert (found.is_asgi_app, found.app_name) == (True, "app")
    code = textwrap.dedent(
        """
        import asyncio, json, sys
        import app
        from inception_viz import st_compat
        from inception_viz.views import VIEWS
        def state():
            return {"views": sum(f"inception_viz.views.{v.name}" in sys.modules for v in VIEWS),
                    "pandas": "pandas" in sys.modules, "emojis": "streamlit.emojis" in sys.modules,
                    "nodelay": st_compat._NODELAY_DONE}
        before = state()
        async def start():
            async with app._before_the_first_page(app.app):
                pass
        asyncio.run(start())
        after = state()
        print(json.dumps([type(app.app).__name__, before, after]))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT + 60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    name, before, after = json.loads(proc.stdout.strip().splitlines()[-1])
    assert name == "App"
    assert before == {"views": 0, "pandas": False, "emojis": False, "nodelay": False}, before
    assert after == {"views": 11, "pandas": True, "emojis": True, "nodelay": True}, after
    assert "No runtime found" not in proc.stderr  # the views' cache decorators, checked before the runtime


def test_sessions_opening_a_view_at_once_all_get_it_whole():
    """A class opens a view at the same moment on a fresh server: every session's thread gets
    the view's whole module. While one thread imports it (Compare: ~0.4 s with pandas), the
    module is already in sys.modules half-initialised; a shortcut through sys.modules handed
    7 of 8 threads a module without ``render``."""
    code = textwrap.dedent(
        """
        import threading
        from inception_viz.views import VIEWS
        view = next(v for v in VIEWS if v.key == "compare")
        barrier, got = threading.Barrier(8), []
        def open_view():
            barrier.wait()
            got.append(callable(getattr(view.module, "render", None)))
        threads = [threading.Thread(target=open_view) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(sum(got))
        """
    )
    assert run_py(code, timeout=TIMEOUT + 60) == 8


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


def test_rare_sidebar_sections_are_folded_and_say_their_values():
    """A fresh page draws the input/options and the config upload folded (lazy expanders:
    nothing inside is drawn); the folded label says the current input size and classes."""
    at = run_app({"preset": "googlenet", "input": "200x224x3"}, sidebar_open=False)
    assert not [w for w in at.sidebar.number_input if w.key.startswith("opt-")]
    assert not at.sidebar.get("file_uploader")
    labels = [e.proto.label for e in at.sidebar.expander]
    assert labels == ["Input and options: 200x224x3 · 1,000 classes", "Share or load a config"]
    at.session_state[sidebar.OPTIONS_KEY] = True  # what a click on the first one sends
    at.run()
    assert widget(at.number_input, "opt-height@").value == 200
    assert not at.sidebar.get("file_uploader")


def test_width_boxes_keep_their_keys_and_always_show_the_spec():
    """The focus block's boxes have stable keys (no remount in the browser on an edit) and
    show the accepted spec: after an edit in a box and after an edit made in the table."""
    at = run_app(table_editor=True)
    box = widget(at.number_input, "w-inception_3a-3x3@")
    key = box.key
    box.set_value(200).run()
    assert widget(at.number_input, "w-inception_3a-3x3@").key == key
    assert widget(at.number_input, "w-inception_3a-3x3@").value == 200
    assert total(at) == "7,086,176"  # see test_browser.py for the arithmetic
    edit_table(at, {0: {"3x3": 256}})  # row 0 = inception_3a
    assert total(at) == "7,154,328"
    assert widget(at.number_input, "w-inception_3a-3x3@").value == 256
    assert widget(at.number_input, "w-inception_3a-3x3@").key == key
    assert widget(at.number_input, "w-inception_3a-3x3@").label == "3x3 ✎"


def test_an_edit_in_a_box_resends_only_the_values_that_changed():
    """``common.synced``: a run started by the focus block's own widgets sends a box's value
    (``set_value``) only when it differs from what the browser shows; any other run sends
    every value (a view opened again draws the boxes anew, and a box drawn without its value
    would start at 0)."""
    at = run_app()

    def sent(at):  # label -> (value sent with the widget?, value)
        return {b.label: (b.proto.set_value, b.value) for b in at.number_input if b.key.startswith("w-inception_3a-")}

    assert all(flag for flag, _ in sent(at).values())  # the first page: every value
    widget(at.number_input, "w-inception_3a-3x3@").set_value(200).run()
    assert sent(at) == {"1x1": (False, 64), "3x3_reduce": (False, 96), "3x3 ✎": (False, 200), "5x5_reduce": (False, 16),
                        "5x5": (False, 32), "pool_proj": (False, 32)}
    assert total(at) == "7,086,176"
    open_view(at, "graph")
    open_view(at, "blocks")  # drawn anew: every value again, the edited one too
    assert sent(at) == {"1x1": (True, 64), "3x3_reduce": (True, 96), "3x3 ✎": (True, 200), "5x5_reduce": (True, 16),
                        "5x5": (True, 32), "pool_proj": (True, 32)}
    # the form switch (Figure 2(a)) zeroes the three reductions: only those are sent
    widget(at.toggle, "form-inception_3a@").set_value(True).run()
    assert sent(at) == {"1x1": (False, 64), "3x3_reduce ✎": (True, 0), "3x3 ✎": (False, 200), "5x5_reduce ✎": (True, 0),
                        "5x5": (False, 32), "pool_proj ✎": (True, 0)}
    # an edit made elsewhere (the sidebar's reset: a whole-page run) sends every value
    at.sidebar.button[0].click().run()
    assert sent(at) == {"1x1": (True, 64), "3x3_reduce": (True, 96), "3x3": (True, 128), "5x5_reduce": (True, 16),
                        "5x5": (True, 32), "pool_proj": (True, 32)}


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
    # that edit reran the headline and the view only (fragments); AppTest's tree holds the
    # last run's elements, so a plain run draws the sidebar again (a browser keeps it)
    at.run()
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
    assert table.loc["inception_3b", "vs preset"] == "✎ 5x5: 96→1"
    assert list(table.columns)[0] == "vs preset"  # first: never cut off at the right edge
    assert table.loc["inception_3a", "vs preset"] == "="
    assert table.loc["inception_3a", "params"] == "163,696"


def test_the_editor_itself_marks_the_edits():
    """The README promises the edits are visible; the editor used to show nothing (the
    orange cells were in a second table, its "vs preset" column cut off)."""
    import json

    spec = presets.preset("googlenet").with_block("inception_3b", **{"5x5": 1}).with_block("inception_4c", **{"5x5": 70})
    at = run_app(config.spec_to_query(spec), view="blocks", table_editor=True)
    assert not at.exception
    editor = next(d for d in at.dataframe if d.proto.editing_mode)
    columns = json.loads(editor.proto.columns)
    assert columns["5x5"]["label"] == "5x5 ✎"
    assert columns["5x5"]["help"] == "✎ edited against the googlenet preset in: inception_3b (96→1), inception_4c (64→70)"
    assert columns["3x3"]["label"] == "3x3" and "help" not in columns["3x3"]
    assert columns["vs preset"]["pinned"] is True
    df = editor.value
    assert list(df.columns)[0] == "vs preset"
    assert df.loc["inception_3b", "vs preset"] == "✎ 5x5: 96→1" and df.loc["inception_3a", "vs preset"] == "="
    # the editor is the only table: the styled copy of the edited cells below it is gone
    # (it repeated the marks and cost the browser a second grid on every edit)
    assert sum(1 for d in at.dataframe) == 1
    plain = run_app(view="blocks", table_editor=True)
    labels = json.loads(next(d for d in plain.dataframe if d.proto.editing_mode).proto.columns)
    assert not any("✎" in c.get("label", "") for c in labels.values())


def html_cells(markup: str) -> list[list[str]]:
    """An HTML table's rows as a person reads them: each cell's text (entities decoded), an
    emphasised part wrapped in ``**`` (so a bold edited width reads ``**200** ✎``)."""
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.rows, self.cell, self.in_style = [], None, False

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = ""
            elif tag == "strong" and self.cell is not None:
                self.cell += "**"
            self.in_style = tag == "style"

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.rows[-1].append(self.cell.strip())
                self.cell = None
            elif tag == "strong" and self.cell is not None:
                self.cell += "**"
            elif tag == "style":
                self.in_style = False

        def handle_data(self, data):
            if self.cell is not None and not self.in_style:
                self.cell += data

    parser = Cells()
    parser.feed(markup)
    return parser.rows


def table_cells(at: AppTest) -> dict[str, dict[str, str]]:
    """The Blocks view's text table: block -> header -> the cell as a person reads it."""
    (table,) = [h.proto.body for h in at.get("html") if "iv-blocks" in h.proto.body]
    header, *body = html_cells(table)
    return {r[0]: dict(zip(header[1:], r[1:])) for r in body}


def test_all_blocks_is_folded_until_opened_and_draws_nothing_folded():
    """A fresh page's Blocks view: the focus block's six boxes, and *All blocks* folded: no
    table, no switch (an edit redraws less, bench --browser). Opened (what a click sends), it
    draws the table, which follows an edit; it stays open after the edit and a preset switch."""
    at = run_app(all_blocks=False)
    assert not at.exception
    assert [e.label for e in at.expander if e.key == blocks_view.ALL_BLOCKS_KEY] == ["All blocks"]
    assert not [h for h in at.get("html") if "iv-blocks" in h.proto.body]
    assert not any(t.key == blocks_view.TABLE_EDIT_KEY for t in at.toggle) and not at.data_editor
    assert [n.label for n in at.number_input if n.key.startswith("w-")] == list(WIDTH_KEYS)
    at.session_state[blocks_view.ALL_BLOCKS_KEY] = True
    at.run()
    assert table_cells(at)["inception_3a"]["3x3"] == "128"
    at.number_input(key="w-inception_3a-3x3@googlenet").set_value(200).run()
    assert not at.exception and total(at) == "7,086,176"  # the arithmetic: test_browser.py
    assert table_cells(at)["inception_3a"]["3x3"] == "**200** ✎"
    at.selectbox(key=f"preset@googlenet#{at.session_state.gen}").set_value("simplified").run()
    assert not at.exception and "inception_3a" in table_cells(at)


def test_folded_sections_keep_their_state_when_their_label_changes(monkeypatch):
    """Streamlit draws a new expander when the label changes (a language switch, a new input
    size in the sidebar's label), and a new one starts folded: ``folded_section`` assigns an
    open section's state again before it is drawn, and leaves a folded one alone."""
    from inception_viz.views import common

    class State(dict):  # session state, recording what is assigned
        def __setitem__(self, key, value):
            assigned.append((key, value))
            super().__setitem__(key, value)

    state, drawn, assigned = State(), [], []

    class Where:
        def expander(self, label, key, on_change):
            drawn.append((label, key, on_change, state.get(key)))
            return "section"

    monkeypatch.setattr(common.st, "session_state", state)
    assert common.folded_section(Where(), "All blocks", "k") == "section"
    assert "k" not in state and not assigned  # never opened: the widget keeps its default
    dict.__setitem__(state, "k", True)  # opened by a click (the widget's own state)
    common.folded_section(Where(), "Todos los bloques", "k")
    assert assigned == [("k", True)] and drawn[-1] == ("Todos los bloques", "k", "rerun", True)
    dict.__setitem__(state, "k", False)  # folded again by a click: stays folded
    common.folded_section(Where(), "All blocks", "k")
    assert assigned == [("k", True)] and drawn[-1][-1] is False


def test_blocks_table_is_text_until_editing_is_switched_on():
    """The default Blocks view draws every block as a text table, not the editable grid
    (the grid is the heaviest element a fresh browser loads; bench --browser): its numbers
    are the counter's, an edited width is bold with the mark; the switch brings the grid."""
    spec = presets.preset("googlenet").with_block("inception_4c", **{"3x3": 200}).with_block("inception_3b", **{"5x5": 1})
    report = counter.analyze(spec)
    at = run_app(config.spec_to_query(spec), view="blocks")
    assert not at.exception and not at.data_editor
    cells = table_cells(at)
    assert list(cells) == list(spec.block_names)  # every block, in order
    row = report.row("inception_4c")
    assert cells["inception_4c"]["params"] == f"{row.params:,}"
    # 4c's params by hand: 1x1 128*512+128 = 65,664; 3x3 reduce 128*512+128 = 65,664 and
    # 3x3 9*128*200+200 = 230,600; 5x5 reduce 24*512+24 = 12,312 and 5x5 25*24*64+64 = 38,464;
    # pool proj 64*512+64 = 32,832: 445,536
    assert row.params == 65_664 + 65_664 + 230_600 + 12_312 + 38_464 + 32_832 == 445_536
    assert cells["inception_4c"]["3x3"] == "**200** ✎" and cells["inception_4c"]["1x1"] == "128"
    assert cells["inception_4c"]["vs preset"] == "✎ 3x3: 256→200"
    assert cells["inception_3b"]["5x5"] == "**1** ✎" and cells["inception_3a"]["vs preset"] == "="
    assert cells["inception_3a"]["input"] == "28x28x192" and cells["inception_3a"]["output"] == "28x28x256"
    assert cells["inception_3a"]["naive (2a)"] == ""
    naive = run_app({"preset": "naive"}, view="blocks")
    assert set(c["naive (2a)"] for c in table_cells(naive).values()) == {"✓"}
    # the switch: the grid replaces the text table, with the same numbers
    at.toggle(key=blocks_view.TABLE_EDIT_KEY).set_value(True).run()
    assert not at.exception and not [h for h in at.get("html") if "iv-blocks" in h.proto.body]
    (editor,) = at.data_editor
    assert editor.value.loc["inception_4c", "params"] == f"{row.params:,}" and editor.value.loc["inception_4c", "3x3"] == 200


def test_blocks_text_table_escapes_every_cell(monkeypatch):
    """No text reaches the page as markup: a cell or block name holding HTML shows as text."""
    import pandas as pd

    hostile = "<img src=x onerror=alert(1)>"
    spec = presets.preset("block")
    real = blocks_view.block_table(spec, counter.analyze(spec))
    fake = real.rename(index={"inception_3a": hostile}).assign(output=hostile)
    monkeypatch.setattr(blocks_view, "block_table", lambda *a: pd.DataFrame(fake))
    markup = blocks_view.html_table(spec, counter.analyze(spec))
    assert "<img" not in markup and markup.count("&lt;img src=x onerror=alert(1)&gt;") == 2
    (row,) = html_cells(markup)[1:]
    assert row[0] == hostile and row[-2] == hostile


def edit_table(at: AppTest, edited_rows: dict) -> AppTest:
    """What the browser sends when cells of the block table are edited."""
    (editor,) = at.data_editor
    at.session_state[editor.key] = {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []}
    return at.run()


def test_block_table_edits_widths_and_forms():
    at = run_app(table_editor=True)
    assert at.data_editor[0].value.loc["inception_3a", "3x3"] == 128
    edit_table(at, {0: {"3x3": 256}})  # row 0 = inception_3a
    assert not at.exception and not errors(at)
    assert total(at) == "7,154,328"  # the same edit as the number input above
    # the table was redrawn from the new spec (a new key, the new value, the diff column)
    assert at.data_editor[0].value.loc["inception_3a", "3x3"] == 256
    assert at.data_editor[0].value.loc["inception_3a", "vs preset"] == "✎ 3x3: 128→256"
    edit_table(at, {3: {"naive": True}})  # row 3 = inception_4b to Figure 2(a)
    spec = presets.preset("googlenet").with_block("inception_3a", **{"3x3": 256}).with_block(
        "inception_4b", **{"3x3_reduce": 0, "5x5_reduce": 0, "pool_proj": 0}
    )
    assert total(at) == counter.fmt_int(counter.analyze(spec).total_params)
    assert at.query_params["inception_4b"] in ("160-0-224-0-64-0", ["160-0-224-0-64-0"])


def test_block_table_invalid_cell_keeps_the_model():
    at = run_app(table_editor=True)
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
    # a confirmation naming the file (there was none)
    assert [s.value for s in at.success] == [f"Loaded lecture.json: the googlenet preset with 1 edited block, {total(at)} parameters."]
    at.run()
    assert not at.success  # once
    at.sidebar.file_uploader[0].upload("broken.json", b'{"preset": "googlenet", "blocks": {"inception_9z": {}}}', "application/json").run()
    msg = errors(at)
    assert len(msg) == 1 and msg[0].startswith("broken.json: blocks: no block") and "inception_5b" in msg[0]
    assert total(at) == counter.fmt_int(counter.analyze(spec).total_params)
    at.sidebar.file_uploader[0].upload("big.json", b" " * (config.MAX_CONFIG_BYTES + 1), "application/json").run()
    assert "a config is at most 262,144" in errors(at)[0]


def app_compare_exact(other):
    from inception_viz.views import compare as compare_view

    return compare_view.blocks_compare(counter.analyze(presets.preset("googlenet")), counter.analyze(other))


@pytest.mark.parametrize("name", ["block", "simplified"])
def test_lrn_box_is_unticked_and_disabled_without_lrn_layers(name):
    """`block` and `simplified` ("No LRN") used to show the LRN box ticked (greyed)."""
    at = run_app({"preset": name})
    box = widget(at.checkbox, "opt-lrn@")
    assert box.value is False and box.disabled
    assert "no LRN layers" in box.help
    aux = widget(at.checkbox, "opt-aux@")
    assert aux.value is False and aux.disabled
    # another option changes nothing else: the spec keeps its own lrn value (the URL too)
    before = at.session_state.spec
    widget(at.number_input, "opt-height@").set_value(before.input_shape[0] + 8).run()
    after = at.session_state.spec
    assert after.lrn == before.lrn and after.aux == before.aux and after.input_shape[0] == before.input_shape[0] + 8
    # googlenet has LRN: ticked and enabled
    widget(at.selectbox, "preset@").set_value("googlenet").run()
    box = widget(at.checkbox, "opt-lrn@")
    assert box.value is True and not box.disabled


def metric_proto(at: AppTest, label: str):
    return next(m.proto for m in at.metric if m.label == label)


def test_output_size_delta_points_the_way_the_output_went():
    """10 classes instead of 1000 used to read "↑ preset: 1x1x1000"."""
    from streamlit.proto.Metric_pb2 import Metric as MetricProto

    at = run_app({"preset": "googlenet", "classes": "10"})
    m = metric_proto(at, "Output size")
    assert m.body == "1x1x10" and m.delta == "preset: 1x1x1000"
    assert m.direction == MetricProto.MetricDirection.DOWN
    at = run_app({"preset": "googlenet", "classes": "2000"})
    assert metric_proto(at, "Output size").direction == MetricProto.MetricDirection.UP
    # same number of values, another shape: no arrow
    assert headline.output_delta((2, 1, 10), (1, 2, 10)) == ("preset: 1x2x10", "off")
    assert headline.output_delta((1, 1, 10), (1, 1, 10)) == (None, "off")


def test_compare_never_keeps_a_stale_choice_and_fits_the_page():
    """After a switch to `naive`, Compare used to keep "preset naive": every row +0. The
    pick is kept per preset and starts from a model that is not the current one; picking
    the current model itself says so instead of a table of zeros."""
    at = run_app(view="compare")
    assert at.selectbox(key="compare-pick@googlenet").value == "preset naive"
    widget(at.selectbox, "preset@").set_value("naive").run()
    assert not at.exception
    assert at.selectbox(key="compare-pick@naive").value == "preset googlenet"
    naive, paper = counter.analyze(presets.preset("naive")), counter.analyze(presets.preset("googlenet"))
    assert metrics(at)["Parameters: googlenet"] == f"{paper.total_params:,}"
    table = next(d.value for d in at.dataframe if "Δ params" in getattr(d.value, "columns", []))
    assert table.set_index("block").loc["whole model", "Δ params"] == f"{paper.total_params - naive.total_params:+,}"
    # narrow enough for a projected page: ten columns, K and M labelled in the headers
    assert list(table.columns) == ["block", "widths (other)", "output (current)", "output (other)",
                                   "params K (current)", "params K (other)", "Δ params",
                                   "MACs M (current)", "MACs M (other)", "Δ MACs"]
    at.selectbox(key="compare-pick@naive").set_value("preset naive").run()
    assert any(i.value.startswith("Same as current") for i in at.info)
    assert not any("Δ params" in getattr(d.value, "columns", []) for d in at.dataframe)


def test_compare_with_an_uploaded_config():
    at = run_app(view="compare")
    at.selectbox(key="compare-pick@googlenet").set_value("an uploaded config").run()
    other = presets.preset("googlenet").with_block("inception_4e", **{"5x5": 256})
    at.file_uploader(key="compare-upload").upload("other.json", config.dumps_config(other).encode(), "application/json").run()
    assert not at.exception
    report = counter.analyze(other)
    assert metrics(at)["Parameters: other.json"] == counter.fmt_int(report.total_params)
    table = next(d.value for d in at.dataframe if {"block", "Δ params"} <= set(getattr(d.value, "columns", [])))
    assert table.set_index("block").loc["inception_4e", "widths (other)"] == "256-160-320-32-256-128"
    assert table.set_index("block").loc["inception_3a", "widths (other)"] == "same"
    # K = 1000: 4e's 868,352 params; exact numbers in the CSV download
    assert table.set_index("block").loc["inception_4e", "params K (current)"] == "868.4"
    csv = next(b for b in at.get("download_button") if b.proto.label.startswith("Download the comparison"))
    assert csv is not None
    row = app_compare_exact(other).set_index("block").loc["inception_4e"]
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

