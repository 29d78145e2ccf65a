"""The "Feature visualisation" view, driven headless with AppTest.

The expected PNGs come from an independent path: ``featurevis.visualize`` on a Runner built
here (not the app's cached one) with the same settings; the same seed gives the same bytes.
Kept fast: inception_3a (a short sub-model) at 32 px, a few steps.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from inception_viz import featurevis as fv
from inception_viz.cli_featurevis import RANDOM_FEATUREVIS_NOTE
from inception_viz.presets import preset
from inception_viz.views import featurevis as view
from inception_viz.weights import random_weights
from tests.test_app_downloads import download, served  # noqa: F401  (served: the download recorder fixture)

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 300
SIZE, STEPS = 32, 4
VISUALIZE = fv.visualize  # the reference's own call, not counted by ``fresh``


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch):
    """No ImageNet file, an empty result cache, and ``calls``: every ``visualize`` run."""
    monkeypatch.setenv("INCEPTION_VIZ_CACHE", str(tmp_path / "cache"))
    view.RESULTS.clear()
    calls = []

    def counted(*args, **kwargs):
        calls.append(args[1])
        return VISUALIZE(*args, **kwargs)

    monkeypatch.setattr(fv, "visualize", counted)
    return calls


def open_view(**session) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["view"] = "featurevis"
    for k, v in session.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def small(at: AppTest, size_key: str = "fv-size") -> AppTest:
    at.number_input(key="fv-steps").set_value(STEPS)
    at.number_input(key=size_key).set_value(SIZE)
    return at


def reference(targets, steps: int = STEPS) -> fv.Frame:
    """The method called directly, on a model built here (not the app's cached runner)."""
    from inception_viz.inference import Runner

    runner = Runner(preset("googlenet"), random_weights(0))
    return VISUALIZE(runner, targets, fv.Settings(steps=steps, size=SIZE, seed=0))


def image_counts(at: AppTest) -> list[int]:
    return [len(e.proto.imgs) for e in at.get("image")]


def test_opens_with_the_random_weights_note_and_bad_targets_are_one_line_errors(monkeypatch):
    at = open_view()
    # random weights are the default: the note says the pictures are not features
    assert view.RANDOM_NOTE == RANDOM_FEATUREVIS_NOTE[0].upper() + RANDOM_FEATUREVIS_NOTE[1:] + "."
    assert view.RANDOM_NOTE in [w.value for w in at.warning], [w.value for w in at.warning]
    assert at.selectbox(key="fv-group").value == "inception_4c"  # the Distill article's layer
    assert any("Press Visualise" in i.value for i in at.info)
    assert at.button(key="fv-stop").disabled  # nothing runs
    at.selectbox(key="fv-group").set_value(view.TYPED).run()
    at.text_input(key="fv-typed-one").set_value("inception_4c:600").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors == ["inception_4c has 512 channels: choose one from 0 to 511; got 600"]
    at.text_input(key="fv-typed-one").set_value("inception_9z:1").run()
    (error,) = [e.value for e in at.error]
    assert error.startswith("no layer named 'inception_9z' in googlenet") and "\n" not in error
    # a size the network cannot take: the counter's one line, naming the smallest
    at.text_input(key="fv-typed-one").set_value("linear:281").run()
    assert not at.error
    at.number_input(key="fv-size").set_value(16).run()
    assert [e.value for e in at.error] == ["input 16x16 is too small for googlenet: the spatial size falls below 1 at "
                                           "layer 'pool4' (max pool 3x3/2 on 1x1); the smallest square input it takes is 31x31"]
    # a run that would not fit the memory limit (issue 18's estimate: weights 2 x 4 x
    # 6,998,552 bytes = 56 MB alone) is refused before anything is built
    at.number_input(key="fv-size").set_value(SIZE)
    monkeypatch.setenv("INCEPTION_VIZ_MAX_MODEL_MB", "50")
    at.run()
    (error,) = [e.value for e in at.error]
    assert error.startswith("googlenet (6,998,552 params) needs about ") and "the limit is 50 MB" in error
    monkeypatch.delenv("INCEPTION_VIZ_MAX_MODEL_MB")
    # the objective follows the part: a branch offers "branch", the concat "layer"
    at.selectbox(key="fv-group").set_value("inception_3a").run()
    at.selectbox(key="fv-part:inception_3a").set_value("3x3").run()
    assert at.selectbox(key="fv-objective:channel/neuron/branch").options == ["channel", "neuron", "branch"]
    assert not at.error


def test_a_run_shows_the_png_of_featurevis_visualize_and_reopening_uses_the_cache(fresh, served):
    at = small(open_view())
    at.selectbox(key="fv-group").set_value("inception_3a").run()
    at.selectbox(key="fv-part:inception_3a").set_value("3x3").run()
    at.number_input(key="fv-channel:inception_3a_3x3:128").set_value(5).run()
    at.button(key="fv-go").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    target = fv.make_target(preset("googlenet"), "inception_3a_3x3", 5)
    assert len(fresh) == 1 and fresh[0] == [target]
    name = f"featurevis_inception_3a_3x3_5_channel_{SIZE}px_seed0.png"
    expected = reference(target)
    assert download(served, name) == ("image/png", expected.png(0))  # same seed, same settings: the same bytes
    assert image_counts(at) == [1]
    caption = at.get("image")[0].proto.imgs[0].caption
    assert f"inception_3a_3x3 channel 5, after {STEPS} of {STEPS} steps; {SIZE}x{SIZE} px, seed 0" in caption
    assert f"objective {expected.objective_start[0]:.4g} → {expected.objective_end[0]:.4g}" in caption
    # the next run of the page (and a new session) show the finished image without recomputing
    at.run()
    again = open_view(**{"fv-group": "inception_3a", "fv-part:inception_3a": "3x3",
                         "fv-channel:inception_3a_3x3:128": 5, "fv-steps": STEPS, "fv-size": SIZE})
    for page in (at, again):
        assert any("Shown from the cache" in c.value for c in page.caption)
        assert image_counts(page) == [1]
    assert len(fresh) == 1
    # another seed is another result: not in the cache
    again.number_input(key="fv-seed").set_value(1).run()
    assert any("Press Visualise" in i.value for i in again.info)


def test_the_grid_shows_n_channels_from_one_batch(fresh, served):
    at = open_view()
    at.radio(key="fv-mode").set_value(view.MODES[1]).run()
    small(at, "fv-grid-size")
    at.selectbox(key="fv-group").set_value("inception_3a").run()
    at.selectbox(key="fv-part:inception_3a").set_value("5x5").run()
    at.number_input(key="fv-first:inception_3a_5x5:channel:32").set_value(4).run()
    at.slider(key="fv-grid-n").set_value(3).run()
    at.button(key="fv-go").click().run()
    assert not at.exception, at.exception
    targets = fv.channel_targets(preset("googlenet"), "inception_3a_5x5", 3, first=4)
    assert len(fresh) == 1 and list(fresh[0]) == targets  # one call: one batch
    images = at.get("image")
    assert len(images[0].proto.imgs) == 3  # the grid, then the enlarged one
    assert [i.caption for i in images[0].proto.imgs] == ["channel 4", "channel 5", "channel 6"]
    expected = reference(targets)
    stem = f"featurevis_inception_3a_5x5_4_channel_{SIZE}px_seed0"
    assert download(served, f"{stem}-6_grid.png") == ("image/png", expected.grid_png())
    assert download(served, f"{stem}.png") == ("image/png", expected.png(0))
    at.selectbox(key="fv-pick:inception_3a_5x5:channel:3").set_value(2).run()
    assert download(served, f"featurevis_inception_3a_5x5_6_channel_{SIZE}px_seed0.png") == ("image/png", expected.png(2))
    assert len(fresh) == 1  # choosing one to enlarge reuses the cached batch


def test_a_stopped_run_keeps_its_last_frame():
    """What the page shows after a click ended a run (the interruption itself: the
    browser test): the last frame stored, "stopped after k of N steps"."""
    from inception_viz.inference import Runner

    spec = preset("googlenet")
    target = fv.make_target(spec, "inception_3a", 2)
    settings = fv.Settings(steps=8, size=SIZE)
    runner = Runner(spec, random_weights(0))
    partial = next(f for f in fv.visualize_steps(runner, target, settings, every=3) if not f.done)
    key = fv.result_key_for(spec, random_weights(0), [target], settings)
    assert key == fv.result_key(runner, [target], settings)  # the key needs no model
    at = open_view(**{"fv-last": (key, partial), "fv-group": "inception_3a", "fv-channel:inception_3a:256": 2,
                      "fv-steps": 8, "fv-size": SIZE})
    assert any("Stopped after 3 of 8 steps" in i.value for i in at.info)
    assert "stopped after 3 of 8 steps" in at.get("image")[0].proto.imgs[0].caption


def test_result_cache_is_bounded_by_bytes():
    import numpy as np

    class R:
        def __init__(self, n):
            self.frame = type("F", (), {"images": np.zeros(n, np.uint8)})()

    cache = fv.ResultCache(max_bytes=100)
    cache.put(("a",), R(60))
    cache.put(("b",), R(30))
    assert cache.nbytes == 90 and len(cache) == 2
    cache.get(("a",))  # a is now the most recently used
    cache.put(("c",), R(30))  # 120 > 100: the least recently used (b) goes
    assert cache.get(("b",)) is None and cache.get(("a",)) is not None and cache.nbytes == 90
    cache.put(("d",), R(101))  # larger than the whole cache: not kept
    assert cache.get(("d",)) is None and cache.nbytes == 90


def test_opening_the_view_does_not_import_tensorflow():
    """The page, the weights choice and the cache lookup need no model: TensorFlow loads
    only when a run starts (or a class name is needed)."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import sys
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT})
        at.query_params["view"] = "featurevis"
        at.run()
        assert not at.exception, at.exception
        at.radio(key="fv-mode").set_value({view.MODES[1]!r}).run()
        assert not at.exception, at.exception
        print("TF" if "tensorflow" in sys.modules or "keras" in sys.modules else "NO-TF")
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "NO-TF"


def test_the_view_speaks_spanish():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["view"] = "featurevis"
    at.query_params["lang"] = "es"
    at.run()
    assert not at.exception and not at.error
    assert at.button(key="fv-go").label == "Visualizar" and at.button(key="fv-stop").label == "Detener"
    assert any(w.value.startswith("Estos pesos son aleatorios: una red sin entrenar no tiene características")
               for w in at.warning)
    assert at.number_input(key="fv-steps").label == "Pasos"


def test_an_edit_that_narrows_the_layer_gives_a_fresh_channel_box():
    """Channel 100 of inception_3a_3x3 (128 wide); an edit to 64 filters: the box starts
    again at 0 with the new range instead of holding a channel that no longer exists."""
    at = open_view(**{"fv-group": "inception_3a", "fv-part:inception_3a": "3x3"})
    at.number_input(key="fv-channel:inception_3a_3x3:128").set_value(100).run()
    at.session_state["spec"] = preset("googlenet").with_block("inception_3a", **{"3x3": 64})
    at.run()
    assert not at.exception and not at.error
    box = at.number_input(key="fv-channel:inception_3a_3x3:64")
    assert box.value == 0 and box.max == 63
