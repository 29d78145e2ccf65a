"""Exports: every download as bytes from one function, the ONNX export against the Keras
model in onnxruntime (every preset, edited specs, imported zoo weights), its names and
metadata, deterministic files, and ``python -m inception_viz export`` byte-identical to the
functions, with one-line errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from inception_viz import exports, onnx_zoo
from inception_viz.cli import main, table_json
from inception_viz.counter import analyze
from inception_viz.images import load_sample, resize_to_input
from inception_viz.inference import Runner, top_k
from inception_viz.presets import PRESETS, preset
from inception_viz.render import dot_available
from inception_viz.spec import Dense, Softmax, SpecError
from inception_viz.weights import load_onnx, random_weights

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-5


@lru_cache(maxsize=1)
def zoo_weights():
    """A file in the zoo's layout (random weights, seed 3), imported as ``predict`` imports it."""
    data = onnx_zoo.build_onnx(onnx_zoo.random_zoo_weights(preset("googlenet"), seed=3)).SerializeToString()
    return load_onnx(data, name="zoo.onnx")


def _session(data: bytes) -> ort.InferenceSession:
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def _keras_out(model, x):
    out = model(x, training=False)
    return np.asarray(out[0] if isinstance(out, (list, tuple)) else out)


def _check_against_predict(spec, weights, batch=2, seed=0):
    """Export, check the file, and compare onnxruntime with the model ``predict`` runs."""
    data = exports.onnx_bytes(spec, weights)
    m = onnx.load_model_from_string(data)
    onnx.checker.check_model(m, full_check=True)
    runner = Runner(spec, weights)
    x = np.random.default_rng(seed).standard_normal((batch, *spec.input_shape)).astype(np.float32)
    got = _session(data).run(None, {"input": x})[0]
    want = _keras_out(runner.model, x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)
    return m


def _table_convs(spec) -> list[str]:
    """Conv layers as ``table --format json`` lists them (rows of kind conv, and the convs
    inside each block), auxiliary heads excluded: an independent path from the exporter's."""
    doc = table_json(analyze(spec))
    names = []
    for row in doc["rows"]:
        if row.get("aux"):
            continue
        if row["kind"] == "conv":
            names.append(row["name"])
        names += [p["name"] for p in row.get("layers", ()) if p["kind"] == "conv"]
    return names


def _check_structure(m, spec, weights):
    assert m.opset_import[0].version >= 13 and m.opset_import[0].domain == ""
    (inp,) = m.graph.input
    (out,) = m.graph.output
    dims = lambda vi: [d.dim_value or d.dim_param for d in vi.type.tensor_type.shape.dim]  # noqa: E731
    assert inp.name == "input" and inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert dims(inp) == ["N", *spec.input_shape]
    if isinstance(spec.active_layers[-1], (Dense, Softmax)):  # a classifier head
        assert out.name == "probabilities" and dims(out) == ["N", spec.classes]
    else:  # no classifier head (the block demo): its feature map
        assert out.name == "output" and dims(out) == ["N", *analyze(spec).output_shape]
    convs = [n.name for n in m.graph.node if n.op_type == "Conv"]
    assert sorted(convs) == sorted(_table_convs(spec)) and len(convs) == len(set(convs))
    meta = {p.key: p.value for p in m.metadata_props}
    pre = json.loads(meta["inception_viz.preprocessing"])
    assert pre == {"name": weights.preprocessing.name, "mean": list(weights.preprocessing.mean),
                   "scale": weights.preprocessing.scale, "channels": "RGB"}
    assert json.loads(meta["inception_viz.config"]) == json.loads(exports.config_json(spec))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_onnx_equals_keras_for_every_preset(name):
    spec = preset(name)
    if name == "naive":  # 97.5 M parameters: the same network at 96x96 keeps the test quick
        spec = spec.with_options(input_shape=(96, 96, 3))
    w = random_weights(0)
    m = _check_against_predict(spec, w)
    _check_structure(m, spec, w)


def test_onnx_names_come_from_the_spec():
    m = onnx.load_model_from_string(exports.onnx_bytes(preset("block")))
    names = {n.name for n in m.graph.node}
    assert {"inception_3a_1x1", "inception_3a_3x3_reduce", "inception_3a_3x3", "inception_3a_5x5_reduce",
            "inception_3a_5x5", "inception_3a_pool_proj"} <= names
    # every node and tensor name comes from the spec, none from TensorFlow's scopes
    tensors = {t for n in m.graph.node for t in (*n.input, *n.output)}
    assert not any("/" in t or ":" in t for t in names | tensors)
    assert exports.conv_layer_names(preset("googlenet"))[-1] == "inception_5b_pool_proj"


def test_imported_zoo_weights_same_top5_and_probabilities_as_predict():
    spec, weights = preset("googlenet"), zoo_weights()
    data = exports.onnx_bytes(spec, weights)
    m = onnx.load_model_from_string(data)
    _check_structure(m, spec, weights)
    # feed it as anyone would, from the metadata alone: (rgb - mean) * scale, NHWC
    pre = json.loads({p.key: p.value for p in m.metadata_props}["inception_viz.preprocessing"])
    assert pre["name"] == "caffe-imagenet" and pre["mean"] == [123.68, 116.779, 103.939]
    runner = Runner(spec, weights)
    for sample in ("cat", "rocket"):
        rgb = load_sample(sample)
        x = (resize_to_input(rgb, spec.input_shape[:2], "resize").astype(np.float32)
             - np.asarray(pre["mean"], np.float32)) * np.float32(pre["scale"])
        np.testing.assert_array_equal(x[None], runner.preprocess(rgb))
        x = x[None]
        probs = _session(data).run(None, {"input": x})[0][0]
        want = runner.probabilities(rgb)
        np.testing.assert_allclose(probs, want, rtol=TOL, atol=TOL)
        assert [p.index for p in top_k(probs, 5)] == [p.index for p in runner.predict(rgb, 5)]
    # and the exported graph equals the zoo graph itself (BGR, NCHW) on the same image
    zoo = _session(onnx_zoo.build_onnx(onnx_zoo.random_zoo_weights(spec, seed=3)).SerializeToString())
    rgb = load_sample("cat")
    np.testing.assert_allclose(zoo.run(None, {"data_0": weights.preprocessing.onnx_input(rgb)})[0][0],
                               _session(data).run(None, {"input": runner.preprocess(rgb)})[0][0], rtol=TOL, atol=TOL)


def test_zoo_weights_transferred_after_an_edit():
    spec = preset("googlenet").with_block("inception_4c", **{"3x3": 200})
    weights = zoo_weights()
    _check_against_predict(spec, weights, batch=1, seed=5)
    assert "inception_4c_3x3" in Runner(spec, weights).transfer.fresh


@st.composite
def edited_specs(draw):
    size = draw(st.sampled_from((96, 112, 128)))
    spec = preset("googlenet").with_options(input_shape=(size, size, 3), classes=draw(st.integers(2, 20)),
                                            lrn=draw(st.booleans()), aux=draw(st.booleans()))
    for name in draw(st.lists(st.sampled_from(spec.block_names), min_size=1, max_size=2, unique=True)):
        spec = spec.with_block(name, **{k: draw(st.integers(0, 40)) for k in ("1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool_proj")})
    return spec


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=edited_specs(), zoo=st.booleans())
def test_onnx_equals_keras_for_edited_specs(spec, zoo):
    try:
        analyze(spec)
    except SpecError:
        assume(False)
    weights = zoo_weights() if zoo else random_weights(0)
    m = _check_against_predict(spec, weights, batch=2, seed=1)
    _check_structure(m, spec, weights)


# -- deterministic files, the CLI ----------------------------------------------------------


def test_model_files_are_deterministic():
    spec = preset("block")
    k1, k2 = exports.keras_bytes(spec), exports.keras_bytes(spec)
    assert k1 == k2
    with zipfile.ZipFile(io.BytesIO(k1)) as z:
        assert {i.date_time for i in z.infolist()} == {exports.ZIP_DATE}
        assert json.loads(z.read("metadata.json"))["date_saved"] == exports.DATE_SAVED
        assert "inception_viz.json" in z.namelist()
    assert exports.weights_bytes(spec) == exports.weights_bytes(spec)
    assert exports.onnx_bytes(spec) == exports.onnx_bytes(spec)


def test_keras_and_weights_exports_load_back_with_the_same_weights():
    from inception_viz.weights import load_weights_file, model_with_weights

    spec = preset("block")
    model, _ = model_with_weights(spec, random_weights(0))
    for data, name in ((exports.keras_bytes(spec), "m.keras"), (exports.weights_bytes(spec), "m.weights.h5")):
        back = load_weights_file(data, name=name, spec=spec)
        for layer in model.layers:
            for a, b in zip(layer.get_weights(), back.by_layer.get(layer.name, [])):
                np.testing.assert_array_equal(a, b)
        assert set(back.by_layer) == {l.name for l in model.layers if l.weights}


def test_text_and_graph_exports_are_what_the_app_shows():
    from inception_viz import codegen, graph
    from inception_viz.cli import table_csv
    from inception_viz.config import dumps_config

    spec = preset("googlenet").with_block("inception_3a", **{"3x3": 100})
    report = analyze(spec)
    assert exports.config_json(spec) == dumps_config(spec).encode()
    assert exports.table_csv(spec) == table_csv(report).encode()
    assert exports.keras_code(spec) == codegen.keras_code(spec).encode()
    assert exports.graph_dot(spec, "overview", "LR", 3) == graph.overview_dot(report, "LR", {"inception_3a"}, 3).encode()
    assert exports.graph_dot(spec, "block:inception_4c") == graph.block_dot(report, "inception_4c").encode()
    assert exports.edited_blocks(spec) == {"inception_3a"}
    # an edited model's files carry the edit (issue 19: not always googlenet.*)
    from inception_viz.config import file_stem

    stem = file_stem(spec)
    assert stem.startswith("googlenet-edited-")
    assert exports.file_name(spec, "svg", "block:inception_4c") == f"{stem}_inception_4c.svg"
    assert exports.file_name(spec, "onnx") == f"{stem}.onnx"
    assert exports.file_name(spec, "weights") == f"{stem}.weights.h5"
    assert exports.file_name(preset("googlenet"), "onnx") == "googlenet.onnx"
    assert exports.graph_dot(spec, "block:inception_3a").count("✎".encode()) == 1  # as the app draws it
    assert set(exports.FORMATS) == {"onnx", "keras", "weights", "py", "dot", "svg", "png", "csv", "json"}


CLI_CASES = [
    ("json", [], {}),
    ("csv", ["--preset", "block"], {}),
    ("py", ["--preset", "simplified"], {}),
    ("dot", [], {}),
    ("dot", ["--view", "block:inception_4c", "--layout", "LR"], {"view": "block:inception_4c", "rankdir": "LR"}),
    ("dot", ["--wrap", "3", "--layout", "lr"], {"rankdir": "LR", "wrap": 3}),
    ("svg", ["--view", "block:inception_3a"], {"view": "block:inception_3a"}),
    ("png", [], {}),
]


@pytest.mark.parametrize("fmt,args,kw", CLI_CASES)
def test_cli_export_equals_the_function(fmt, args, kw, tmp_path, capsys):
    if fmt in ("svg", "png") and not dot_available():
        pytest.skip("Graphviz's dot is not installed")
    out = tmp_path / f"x.{fmt}"
    assert main(["export", "--format", fmt, *args, "--out", str(out)]) == 0
    spec = preset(args[args.index("--preset") + 1]) if "--preset" in args else preset("googlenet")
    assert out.read_bytes() == exports.export(fmt, spec, **kw)
    assert capsys.readouterr().out == f"{out}: {out.stat().st_size:,} bytes ({exports.FORMATS[fmt].what})\n"


def test_cli_model_exports_in_a_fresh_process_equal_the_functions(tmp_path):
    """Other processes, same bytes: no time stamps, no TensorFlow scope counters."""
    cfg = tmp_path / "edited.json"
    spec = preset("block").with_block("inception_3a", **{"5x5": 7})
    cfg.write_bytes(exports.config_json(spec))
    for fmt in ("onnx", "keras", "weights"):
        out = tmp_path / f"m.{fmt}"
        res = subprocess.run([sys.executable, "-m", "inception_viz", "export", "--format", fmt, "--config", str(cfg),
                              "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        assert res.returncode == 0, res.stderr[-2000:]
        assert out.read_bytes() == exports.export(fmt, spec, random_weights(0)), fmt


def test_cli_export_imagenet_file_weights(tmp_path):
    zoo = tmp_path / "zoo.onnx"
    zoo.write_bytes(onnx_zoo.build_onnx(onnx_zoo.random_zoo_weights(preset("googlenet"), seed=3)).SerializeToString())
    out = tmp_path / "g.onnx"
    cfg = tmp_path / "c.json"
    spec = preset("googlenet").with_options(input_shape=(112, 112, 3))
    cfg.write_bytes(exports.config_json(spec))
    assert main(["export", "--format", "onnx", "--config", str(cfg), "--weights", str(zoo), "--out", str(out)]) == 0
    assert out.read_bytes() == exports.onnx_bytes(spec, load_onnx(zoo))


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--format", "zip", "--out", "x"], "invalid choice: 'zip'"),
        (["--format", "json"], "--out"),
        (["--format", "dot", "--view", "block:nope", "--out", "{tmp}/x.dot"], "no block named 'nope'"),
        (["--format", "dot", "--view", "sideways", "--out", "{tmp}/x.dot"], "view must be overview, or block:NAME"),
        (["--format", "dot", "--wrap", "9", "--out", "{tmp}/x.dot"], "nodes per row must be from 2 to 8"),
        (["--format", "json", "--weights", "imagenet", "--out", "{tmp}/x.json"], "--weights applies to the model formats"),
        (["--format", "py", "--view", "overview", "--out", "{tmp}/x.py"], "--view, --layout and --wrap apply"),
        (["--format", "csv", "--preset", "nope", "--out", "{tmp}/x.csv"], "unknown preset 'nope'"),
        (["--format", "json", "--out", "{tmp}/missing/x.json"], "does not exist; create it first"),
        (["--format", "json", "--out", "{tmp}"], "is a folder"),
        (["--format", "onnx", "--weights", "{tmp}/none.onnx", "--out", "{tmp}/x.onnx"], "does not exist"),
        (["--format", "onnx", "--weights", "{tmp}/bad.onnx", "--out", "{tmp}/x.onnx"], "not a readable ONNX file"),
        (["--format", "keras", "--preset", "googlenet", "--config", "c.json", "--out", "{tmp}/x.keras"], "not allowed with"),
    ],
)
def test_cli_export_bad_input_one_line_exit_2(args, fragment, tmp_path, capsys):
    (tmp_path / "bad.onnx").write_bytes(b"not onnx at all")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["export", *args]))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and fragment in err, err
    assert not any(p.name.startswith("x.") for p in tmp_path.iterdir())
