"""Every download button of the app gives the bytes of :mod:`inception_viz.exports` (and so
of ``python -m inception_viz export``) for the same model and settings.

AppTest does not keep the files a run serves, so :func:`served` records what each download
button hands Streamlit's media file manager: the bytes of an eager download, the callable
of a deferred one (called here as a click would). The expected bytes come from ``exports``
called directly on a spec built here, and once from the CLI writing a file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from _visitor import open_view
from inception_viz import exports, presets
from inception_viz.cli import main as cli_main
from inception_viz.render import dot_available

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 300


@pytest.fixture
def served(monkeypatch):
    """``{file_name: (mime, bytes or callable)}`` of every download offered from now on."""
    files: dict[str, tuple[str | None, object]] = {}
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def record(self, data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if is_for_static_download:
            files[file_name] = (mimetype, data)
        return add(self, data, mimetype, coordinates, file_name=file_name, is_for_static_download=is_for_static_download)

    def record_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        files[file_name] = (mimetype, data_callable)
        return add_deferred(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add", record)
    monkeypatch.setattr(MediaFileManager, "add_deferred", record_deferred)
    return files


def download(served: dict, name: str) -> tuple[str | None, bytes]:
    """The MIME type and bytes the app serves as ``name`` (a deferred one: clicked)."""
    assert name in served, f"no download named {name}; offered: {sorted(served)}"
    mime, data = served[name]
    data = data() if callable(data) else data
    return mime, data.encode("utf-8") if isinstance(data, str) else bytes(data)


def run_app(view: str, **session) -> AppTest:
    return open_view(view, TIMEOUT, **session)


def check(served: dict, spec, fmt: str, expected: bytes, view: str = "overview") -> None:
    mime, data = download(served, exports.file_name(spec, fmt, view))
    assert mime == exports.FORMATS[fmt].mime
    assert data == expected, f"{fmt}: the app's {len(data)} bytes differ from exports' {len(expected)}"


def test_sidebar_code_and_graph_downloads_are_the_exports(served, tmp_path):
    # an edited model (a width and the classes), so nothing can come from a preset's cache
    spec = presets.preset("googlenet").with_block("inception_4c", **{"3x3": 200}).with_options(classes=10)
    at = run_app("code", spec=spec, gen=1, error=None)
    assert not at.exception, at.exception
    check(served, spec, "json", exports.config_json(spec))
    check(served, spec, "py", exports.keras_code(spec))
    # the code on screen is the file
    assert at.code[0].value.rstrip("\n") == exports.keras_code(spec).decode("utf-8").rstrip("\n")

    served.clear()
    at.query_params["view"] = "graph"
    at.session_state["view"] = "Graph"
    at.run()
    assert not at.exception, at.exception
    check(served, spec, "dot", exports.graph_dot(spec), "overview")
    # the block detail, left to right, as the CLI would write it: --view block:… --layout LR
    focus = spec.block_names[0]
    at.radio(key="graph-view").set_value(f"Block detail: {focus}").run()
    at.radio(key="graph-layout").set_value("left to right").run()
    assert not at.exception, at.exception
    view = f"block:{focus}"
    check(served, spec, "dot", exports.graph_dot(spec, view, "LR"), view)
    # what is on screen is the DOT downloaded
    assert at.get("graphviz_chart")[0].proto.spec == exports.graph_source(spec, view, "LR")
    if dot_available():
        check(served, spec, "svg", exports.graph_svg(spec, view, "LR"), view)
        check(served, spec, "png", exports.graph_png(spec, view, "LR"), view)
        # and the CLI writes the same file as the app
        config = tmp_path / "m.json"
        config.write_bytes(exports.config_json(spec))
        out = tmp_path / "g.svg"
        assert cli_main(["export", "--format", "svg", "--config", str(config), "--view", view, "--layout", "LR",
                         "--out", str(out)]) == 0
        assert out.read_bytes() == download(served, exports.file_name(spec, "svg", view))[1]

    # the overview's wrap slider is the CLI's --wrap
    at.radio(key="graph-view").set_value("Overview").run()
    at.slider(key="graph-wrap-LR").set_value(3).run()  # one slider per layout (its label says rows or columns)
    check(served, spec, "dot", exports.graph_dot(spec, "overview", "LR", 3))


def test_instantiate_offers_keras_and_onnx_of_the_built_model(served, tmp_path):
    """Loads TensorFlow. The .keras and ONNX bytes equal exports' for the same spec with
    random weights (seed 0), from a model exports builds itself; both load back."""
    import keras
    import onnx

    from inception_viz import keras_model
    from inception_viz import weights as W

    spec = presets.preset("block")
    at = run_app("instantiate", spec=spec, gen=1, error=None)
    at.toggle(key="tf-on").set_value(True).run()
    next(b for b in at.button if b.label == "Build").click().run()
    assert not at.exception, at.exception
    labels = [b.label for b in at.get("download_button")]
    assert "Download ONNX" in labels and "Download the model (.keras)" in labels
    assert any("pip install netron && netron block.onnx" in c.value for c in at.caption)

    check(served, spec, "keras", exports.keras_bytes(spec, W.random_weights(0)))
    check(served, spec, "onnx", exports.onnx_bytes(spec, W.random_weights(0)))

    # the .keras file loads back safely, with the counter's parameters and its origin
    data = download(served, "block.keras")[1]
    path = tmp_path / "block.keras"
    path.write_bytes(data)
    loaded = keras.models.load_model(path, custom_objects=keras_model.CUSTOM_OBJECTS, safe_mode=True)
    assert loaded.count_params() == 22_965  # the seed's block, as the counter says
    back = W.load_keras_file(data, name="block.keras")
    assert not back.trained and "random initialisation (seed 0)" in back.label
    assert sum(a.size for arrays in back.by_layer.values() for a in arrays) == 22_965
    m = onnx.load_model_from_string(download(served, "block.onnx")[1])
    onnx.checker.check_model(m, full_check=True)
    assert [i.name for i in m.graph.input] == [exports.ONNX_INPUT]
