"""Issue 18 at the view level: no view ever shows a traceback, a failing view stays inside
its own tab, and the eleven reproduced cases reproduce no more in the app.

Driven headless with AppTest: a hypothesis smoke test opens every view of ``views.VIEWS``
for random valid specs (tiny inputs, all-zero blocks, one class, aux heads on) and presses
Instantiate's Build and latency buttons on small ones; targeted tests for the issue's
items 3, 5, 6, 8, 10 and 11. Expected values come from the counter and ``limits``, the
independent paths the views draw from.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from inception_viz import config, counter, limits, views
from inception_viz.presets import preset
from inception_viz.spec import SpecError

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 300  # a shared 2-core machine; the first run imports plotly and pandas


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INCEPTION_VIZ_CACHE", str(tmp_path / "cache"))


def run_app(query: dict[str, str], view: str, **session) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in {**query, "view": view}.items():
        at.query_params[k] = v
    for k, v in session.items():
        at.session_state[k] = v
    return at.run()


def _texts(node):
    """Every string a page element carries (its protobuf as text), recursively."""
    proto = getattr(node, "proto", None)
    if proto is not None:
        yield str(proto)
    for child in getattr(node, "children", {}).values():
        yield from _texts(child)


def assert_clean(at: AppTest, what: str = "") -> None:
    """No uncaught exception, no traceback anywhere on the page, the headline drawn."""
    assert not at.exception, (what, [e.message for e in at.exception])
    assert not any("Traceback" in t for t in _texts(at._tree)), what
    assert any(t.value.startswith("Inception Explorer · ") for t in at.title), (what, "the headline is missing")
    assert [m.label for m in at.metric[:4]][0] == "Parameters (weights + biases)", what


def qp(at: AppTest, key: str):
    """One URL parameter as text (AppTest may hold it as a one-item list)."""
    value = at.query_params[key]
    return value[-1] if isinstance(value, list) else value


def error_lines(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def warnings(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning)


# -- random valid specs as URL queries --------------------------------------------------


@st.composite
def queries(draw, small: bool = False) -> dict[str, str]:
    """A URL query the counter accepts: any preset, tiny or odd inputs, all-zero or odd
    widths on one block, one class, aux heads on. ``small``: cheap enough to build and
    time on a shared CPU (the block preset, or GoogLeNet with every block one map wide)."""
    name = draw(st.sampled_from(("block",) if small else ("googlenet", "simplified", "block", "naive")))
    base = preset(name)
    q = {"preset": name}
    if name == "block":
        side = draw(st.sampled_from((1, 2, 3, 5, 31)))
        q["input"] = f"{side}x{side}x{draw(st.sampled_from((1, 8, 64)))}"
    else:
        side = draw(st.sampled_from((31, 32, 57, 96, 224)))
        q["input"] = f"{side}x{side}x{draw(st.sampled_from((1, 3)))}"
        q["classes"] = str(draw(st.sampled_from((1, 2, 1000))))
        if base.aux_heads and side >= 96:
            q["aux"] = draw(st.sampled_from(("0", "1")))
    block = draw(st.sampled_from(base.block_names))
    widths = draw(st.sampled_from(("0-0-0-0-0-0", "1-1-1-1-1-1", "0-65-0-0-0-1", "7-1-2-1-3-5")))
    q[block] = widths
    try:
        counter.analyze(config.spec_from_query(q))
    except SpecError:
        q.pop(block)  # e.g. a zero block feeding a layer that needs maps: keep the rest
    return q


#: A handful of examples (each opens nine views, or builds a model), no shrinking (every
#: step of it would be another app run; the failing query is printed as it is).
SMOKE = settings(max_examples=6, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@SMOKE
@given(q=queries())
def test_every_view_opens_for_random_valid_specs(q):
    """Item 5, 6 and the 'blank views' of the issue: every view of every random spec draws
    without an exception, and with no traceback on the page. Focus on the last block too
    (the seed comparison's 5b on a tiny input was one of the crashes)."""
    spec = config.spec_from_query(q)
    counter.analyze(spec)  # the strategy only draws valid specs
    focus = {f"focus@{spec.preset}": spec.block_names[-1]} if spec.blocks else {}
    for v in views.VIEWS:
        at = run_app(q, v.key, **focus)
        assert_clean(at, f"{v.key} {q}")
        assert qp(at, "view") == v.key  # the dispatch still writes the open view


@SMOKE
@given(q=queries(small=True))
def test_instantiate_builds_and_times_small_random_specs(q):
    """Instantiate's Build and 'Measure latency per block' on small random specs (tiny
    inputs, all-zero blocks): a table or one st.error line, never an exception."""
    pytest.importorskip("tensorflow")
    spec = config.spec_from_query(q)
    at = run_app(q, "instantiate")
    at.toggle(key="tf-on").set_value(True).run()
    next(b for b in at.button if b.label == "Build").click().run()
    assert_clean(at, f"build {q}")
    params = counter.analyze(spec).total_params
    assert f"count_params() = {params:,} (the counter: {params:,})" in " ".join(s.value for s in at.success)
    at.number_input(key="prof-repeats").set_value(1).run()
    next(b for b in at.button if b.label == "Measure latency per block").click().run()
    assert_clean(at, f"latency {q}")
    assert any("median ms" in d.value.columns for d in at.dataframe) or error_lines(at), q


# -- the guard itself --------------------------------------------------------------------


def test_a_failing_view_shows_one_line_and_the_rest_of_the_page(monkeypatch, caplog):
    """An unexpected exception in a view: one generic st.error in that view, no traceback,
    no message or path on the page, the sidebar and headline drawn, the details in the
    server's log."""
    from inception_viz.views import seed

    def boom(ctx):
        raise RuntimeError("/home/lecturer/secret.txt exploded")

    monkeypatch.setattr(seed, "render", boom)
    with caplog.at_level(logging.ERROR, logger="inception_viz.app"):
        at = run_app({"preset": "block"}, "seed")
    assert_clean(at)
    errs = error_lines(at)
    assert len(errs) == 1 and "failed unexpectedly" in errs[0] and "secret" not in errs[0], errs
    assert not any("secret" in t for t in _texts(at._tree))
    assert any(s.label == "Preset" for s in at.sidebar.selectbox)  # the sidebar is there
    assert "secret.txt exploded" in caplog.text  # the details went to the log


def test_a_view_that_fails_to_import_is_one_failed_view(monkeypatch, caplog):
    """A view's module is imported when the view first opens (views.View.module), inside its
    guard: if that import fails, the view shows the one generic line and the rest of the page
    (sidebar, headline) is drawn; the details go to the log."""
    from inception_viz import views

    module = views.View.module

    def failing(self):
        if self.key == "seed":
            raise ImportError("No module named 'pandas' (/home/lecturer/venv)")
        return module.fget(self)

    monkeypatch.setattr(views.View, "module", property(failing))
    with caplog.at_level(logging.ERROR, logger="inception_viz.app"):
        at = run_app({"preset": "block"}, "seed")
    assert_clean(at)
    errs = error_lines(at)
    assert len(errs) == 1 and "failed unexpectedly" in errs[0] and "lecturer" not in errs[0], errs
    assert any(s.label == "Preset" for s in at.sidebar.selectbox)
    assert at.metric and "No module named 'pandas'" in caplog.text


def test_a_spec_error_in_a_view_shows_its_own_line(monkeypatch):
    from inception_viz.views import charts

    def refuse(ctx):
        raise SpecError("this model is too large to chart; reduce widths")

    monkeypatch.setattr(charts, "render", refuse)
    at = run_app({"preset": "googlenet"}, "charts")
    assert_clean(at)
    assert error_lines(at) == ["this model is too large to chart; reduce widths"]


# -- the items -------------------------------------------------------------------


@pytest.mark.parametrize("query,focus", [
    ({"preset": "block", "inception_3a": "0-0-0-0-0-0"}, None),  # division by zero
    ({"preset": "googlenet", "input": "31x31x3"}, "inception_5b"),  # 5x5 valid conv on a 1x1 map
    ({"preset": "block", "input": "2x2x64"}, None),  # 3x3 and 5x5 valid convs on a 2x2 map
])
def test_item5_seed_comparison_on_edge_blocks(query, focus):
    """Item 5: the seed comparison of edge blocks the counter accepts: the impossible convs
    say 'not possible', undefined ratios '—', and nothing raises."""
    spec = config.spec_from_query(query)
    focus = focus or spec.block_names[0]
    at = run_app(query, "seed", **{f"focus@{spec.preset}": focus})
    assert_clean(at)
    table = at.dataframe[0].value
    expected = counter.seed_comparison(counter.analyze(spec).row(focus), counter.analyze(spec).row(focus).output_shape[2])
    assert list(table["model"]) == [r.model for r in expected]
    for shown, row in zip(table.to_dict("records"), expected):
        assert shown["output"] == ("not possible" if row.output_shape is None else "x".join(map(str, row.output_shape)))
        assert shown["params"] == ("—" if row.params is None else f"{row.params:,}")
        if row.note:
            assert shown["note"] == row.note
    assert any(r.output_shape is None or r.params_ratio is None for r in expected)  # an edge case indeed


def test_item6_one_class_predicts_without_a_slider():
    """Item 6: ``classes=1``: no Top-k slider (min = max = 1), the one class's prediction."""
    pytest.importorskip("tensorflow")
    at = run_app({"preset": "simplified", "input": "32x32x3", "classes": "1"}, "predictions")
    at.toggle(key="pred-on").set_value(True).run()
    assert_clean(at)
    assert not [s for s in at.slider if s.label == "Top k"]
    assert any(c.key == "chart-predictions" or "Top 1 of 1" in str(c.proto) for c in at.get("plotly_chart"))


def test_item8_aux_heads_build_and_time_per_block():
    """Item 8: aux classifiers on → Build → Measure latency per block gave
    ``AttributeError: 'list' object has no attribute 'numpy'`` with a traceback."""
    pytest.importorskip("tensorflow")
    q = {"preset": "googlenet", "input": "96x96x3", "aux": "1",
         **{b: "1-1-1-1-1-1" for b in preset("googlenet").block_names}}  # small: a shared CPU
    spec = config.spec_from_query(q)
    assert spec.aux
    at = run_app(q, "instantiate")
    at.toggle(key="tf-on").set_value(True).run()
    next(b for b in at.button if b.label == "Build").click().run()
    assert_clean(at)
    at.number_input(key="prof-repeats").set_value(1).run()
    next(b for b in at.button if b.label == "Measure latency per block").click().run()
    assert_clean(at)
    assert not error_lines(at)
    timing = next(d.value for d in at.dataframe if "median ms" in d.value.columns)
    assert list(timing["block"]) == [*spec.block_names, "(whole model)"]


def test_item3_batch_input_is_capped_by_the_memory_limit(monkeypatch):
    """Item 3: the latency batch input offers only batches the limit allows; a larger one
    typed anyway is refused by profile_blocks with one line, never run."""
    pytest.importorskip("tensorflow")
    spec = preset("block")
    # a limit that fits a batch of 3 and not 4 (the estimate, not a guess)
    limit_mb = limits.estimate_memory(spec, 3, "profile").total_mb
    assert limits.estimate_memory(spec, 4, "profile").total_bytes > limit_mb * limits.MB
    monkeypatch.setenv(limits.ENV_VAR, str(limit_mb))
    assert limits.max_batch(spec, "profile") == 3
    at = run_app({"preset": "block"}, "instantiate")
    at.toggle(key="tf-on").set_value(True).run()
    next(b for b in at.button if b.label == "Build").click().run()
    assert_clean(at)
    batch = at.number_input(key="prof-batch:3")
    assert batch.max == 3  # was 64 whatever the limit


def test_item10_foreign_url_keys_keep_the_model_and_stay_in_the_url():
    """Item 10: a shared link with utm_source / fbclid appended keeps the lecturer's
    model, raises no error, and syncing the URL keeps those keys and writes the view."""
    q = {"preset": "googlenet", "inception_3a": "64-96-100-16-32-32", "utm_source": "moodle",
         "fbclid": "IwAR0abc", "utm_campaign": "week 3"}
    spec = config.spec_from_query(q)
    at = run_app(q, "graph")
    assert_clean(at)
    assert not error_lines(at)
    assert at.metric[0].value == f"{counter.analyze(spec).total_params:,}"
    assert at.session_state["spec"] == spec
    for k in ("utm_source", "fbclid", "utm_campaign", "inception_3a"):
        assert qp(at, k) == q[k], k
    assert qp(at, "view") == "graph"


def test_item11_lrn_off_with_trained_weights_says_so(tmp_path):
    """Item 11: trained (zoo-layout) weights on a network with LRN off and another input
    size: the page says the network differs from the one the weights were trained as."""
    pytest.importorskip("tensorflow")
    from inception_viz import onnx_zoo

    model = onnx_zoo.build_onnx(onnx_zoo.random_zoo_weights(preset("googlenet"), seed=5))
    at = run_app({"preset": "googlenet", "lrn": "0", "input": "96x96x3"}, "predictions")
    at.toggle(key="pred-on").set_value(True).run()
    at.radio(key="pred-source").set_value("A weights file").run()
    at.file_uploader(key="pred-weights-file").upload("zoo-layout.onnx", model.SerializeToString(),
                                                     "application/octet-stream").run()
    assert_clean(at)
    shown = warnings(at)
    assert "LRN is off, but these weights were trained with LRN on" in shown, shown
    assert "The input is 96x96x3, but these weights were trained on 224x224x3" in shown, shown


def test_streamlit_never_shows_error_details():
    """A failure outside every guard still shows no traceback, message or path: the
    server's config says so (the details go to its console)."""
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["client"]["showErrorDetails"] == "none"


def test_app_needs_no_magic():
    """The server runs without Streamlit's "magic" (``runner.magicEnabled = false``: it
    rewrites app.py's syntax tree before each compile), so app.py must not rely on it: none
    of its statements is a bare value that magic would have shown (a name, a literal, an
    f-string...). Calls, awaits, yields and docstrings are what magic leaves alone too."""
    import ast
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["runner"]["magicEnabled"] is False
    tree = ast.parse((ROOT / "app.py").read_text())
    docstrings = {id(body[0]) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  for body in [node.body] if body and isinstance(body[0], ast.Expr)
                  and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)}
    bare = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Expr) and id(node) not in docstrings
            and not isinstance(node.value, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom))]
    assert bare == [], f"app.py lines {bare}: a bare value that only magic would show"
