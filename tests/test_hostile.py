"""Hostile files and edge-case models (issue 18): each test reproduces one of the review's
findings and fails on the code before the fix.

Memory is measured, never assumed: the bomb .keras and the estimate's property test run in
a subprocess and read the process's peak RSS (``VmHWM``; ``/proc/self/clear_refs`` resets
it between cases). Nothing here is timed.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from inception_viz import limits
from inception_viz import weights as W
from inception_viz.cli import main
from inception_viz.config import MAX_CONFIG_BYTES, dumps_config, spec_from_query
from inception_viz.counter import analyze, conv_baseline, seed_comparison
from inception_viz.presets import preset
from inception_viz.spec import SpecError

ROOT = Path(__file__).resolve().parents[1]
BLOCK = preset("block")
GOOGLENET = preset("googlenet")


def one_line(fn, *args, match: str = "", **kwargs) -> str:
    with pytest.raises(SpecError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert msg and "\n" not in msg and len(msg) < 400, repr(msg)
    assert match in msg, msg
    return msg


def cli_refuses(capsys, *argv: str, match: str = "") -> str:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert rc == 2 and out == "", (rc, out, err)
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert match in err, err
    return err


def run_py(code: str, timeout: int = 300) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line, returned as a dict."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------
# hostile .keras files

def _zip(members: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return buf.getvalue()


def bomb_keras(with_meta: bool, batch_shape=(None, 20000)) -> bytes:
    """The review's 1.5 kB file: config.json declares a 20000x20000 Dense (1.6 GB of
    float32 weights) that Keras would allocate while deserialising, before any check."""
    cfg = {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
           "config": {"name": "bomb", "trainable": True, "layers": [
               {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None, "name": "input",
                "config": {"batch_shape": list(batch_shape), "dtype": "float32", "name": "input"}, "inbound_nodes": []},
               {"module": "keras.layers", "class_name": "Dense", "registered_name": None, "name": "inception_3a_1x1",
                "config": {"name": "inception_3a_1x1", "units": 20000, "activation": "linear", "use_bias": True},
                "build_config": {"input_shape": [None, 20000]},
                "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
                    "shape": [None, 20000], "dtype": "float32", "keras_history": ["input", 0, 0]}}], "kwargs": {}}]}],
               "input_layers": [["input", 0, 0]], "output_layers": [["inception_3a_1x1", 0, 0]]}}
    members = {"metadata.json": json.dumps({"keras_version": "3.15.1"}), "config.json": json.dumps(cfg),
               "model.weights.h5": b""}
    if with_meta:
        members[W._META] = json.dumps({"config": json.loads(dumps_config(BLOCK))})
    return _zip(members)


@pytest.mark.parametrize("with_meta, match", [
    (False, "has no inception_viz.json"),
    (True, "config.json's input is [None, 20000], not [32, 32, 64]"),
])
def test_bomb_keras_is_refused_without_allocating(tmp_path, with_meta, match):
    """Today's code grows the process by > 1.6 GB on this 1.5 kB upload; now it is refused
    from config.json before Keras (or TensorFlow) is loaded: peak RSS grows < 50 MB."""
    path = tmp_path / "bomb.keras"
    path.write_bytes(bomb_keras(with_meta))
    assert path.stat().st_size < 3000
    out = run_py(f"""
        import json, resource, sys
        from inception_viz import weights as W
        from inception_viz.spec import SpecError
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            W.load_weights_file({str(path)!r})
            msg = None
        except SpecError as exc:
            msg = str(exc)
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(json.dumps({{"msg": msg, "grown_kb": grown, "tf": "tensorflow" in sys.modules}}))
    """)
    assert out["msg"] and match in out["msg"] and "\n" not in out["msg"], out
    assert out["grown_kb"] < 50_000, out
    assert not out["tf"]


def test_bomb_layer_with_the_right_input_is_refused_by_its_weight_shape():
    one_line(W.load_weights_file, bomb_keras(True, (None, 32, 32, 64)), name="b.keras",
             match="inception_3a_1x1 declares weights (20000, 20000); the block model of its inception_viz.json has (1, 1, 64, 40)")


def test_zip_bombs_and_strange_members_are_refused():
    meta = json.dumps({"config": json.loads(dumps_config(BLOCK))})
    # 10 MB of zeros compress to ~10 kB: the declared size is over the JSON member limit
    one_line(W.load_weights_file, _zip({W._META: meta, "config.json": b" " * (10 * 2**20)}), name="z.keras",
             match="config.json is 10,485,760 bytes; the limit is 4,194,304")
    one_line(W.load_weights_file, _zip({f"f{i}": b"" for i in range(100)}), name="many.keras", match="holds 100 files")
    one_line(W.load_weights_file, _zip({W._META: meta, "../evil.py": b"x"}), name="odd.keras",
             match="not a .keras file saved by this app")
    one_line(W.load_weights_file, _zip({W._META: meta, "config.json": b"{}", "metadata.json": b"{}",
                                        "model.weights.h5": b""}), name="nofunc.keras",
             match="does not describe a functional Keras model")


def test_keras_member_larger_than_declared_is_refused():
    """A member whose local data inflates past the size the directory declares."""
    meta = json.dumps({"config": json.loads(dumps_config(BLOCK))}).encode()
    data = bytearray(_zip({W._META: meta, "config.json": b"{" + b" " * 5000 + b"}"}))
    # patch config.json's declared uncompressed size (local header and central directory) to 10
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("config.json")
    real = info.file_size.to_bytes(4, "little")
    assert data.count(real) >= 2
    data = data.replace(real, (10).to_bytes(4, "little"))
    one_line(W.load_weights_file, bytes(data), name="lie.keras", match="")


@pytest.fixture(scope="module")
def block_keras(tmp_path_factory) -> bytes:
    from inception_viz.keras_model import build_keras

    path = tmp_path_factory.mktemp("k") / "block.keras"
    W.save_model_file(build_keras(BLOCK, seed=0), path, BLOCK, W.random_weights(0))
    return path.read_bytes()


def _with_meta(keras_bytes: bytes, meta: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(keras_bytes)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members[W._META] = meta
    return _zip(members)


BAD_META = [
    (b"{not json", "is not valid JSON"),
    (b"[1, 2, 3]", "must be a JSON object; got list"),
    (b'{"preprocessing": ["caffe-imagenet"]}', "preprocessing must be one of"),
    (b'{"config": {"preset": "block"}, "preprocessing": {"a": 1}}', "preprocessing must be one of"),
    (b"\xff\xfe{}", "is not UTF-8 text"),
    (b'{"config": [1]}', "config must be a JSON object"),
    (b'{"config": {"preset": "block"}, "trained": "yes"}', "trained must be true or false"),
    (b'{"config": {"preset": "block"}, "label": 5}', "label must be text"),
    (b'{"config": {"preset": "resnet"}}', "its model config is invalid"),
    (b'{"config": {"preset": "googlenet"}}', "config.json's input is [None, 32, 32, 64], not [224, 224, 3]"),
    (b'{"config": {"preset": "block", "input_shape": [32, 32, 64], "blocks": {"inception_3a": {"1x1": 7}}}}',
     "inception_3a_1x1 declares weights (1, 1, 64, 40); the block model of its inception_viz.json has (1, 1, 64, 7)"),
    (b"[" * 100_000, "nested too deeply"),
]


@pytest.mark.parametrize("meta, match", BAD_META, ids=[f"m{i}" for i in range(len(BAD_META))])
def test_malformed_keras_metadata_is_one_line(block_keras, meta, match):
    one_line(W.load_weights_file, _with_meta(block_keras, meta), name="bad.keras", match=match)


def test_good_keras_file_still_loads(block_keras):
    w = W.load_weights_file(block_keras, name="block.keras")
    assert set(w.by_layer) == set(analyze(BLOCK).weight_shapes())


def test_weightless_layer_with_other_arguments_is_refused(tmp_path):
    """A pool declared with stride 1 instead of 2 has no weights to check, but makes every
    later map 4x larger at the first forward pass: the loaded model's symbolic shapes must
    add up to the spec's forward_values (before anything runs)."""
    from inception_viz.keras_model import build_keras

    spec = preset("simplified").with_options(input_shape=(64, 64, 3), classes=10)
    path = tmp_path / "s.keras"
    W.save_model_file(build_keras(spec, seed=0), path, spec, W.random_weights(0))
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    cfg = json.loads(members["config.json"])
    mp1 = next(l for l in cfg["config"]["layers"] if l["config"]["name"] == "mp1")
    mp1["config"]["strides"] = [1, 1]
    members["config.json"] = json.dumps(cfg).encode()
    one_line(W.load_weights_file, _zip(members), name="wide.keras", match="activation values")


def test_cli_predict_with_list_metadata_exits_2(block_keras, tmp_path, capsys):
    path = tmp_path / "listmeta.keras"
    path.write_bytes(_with_meta(block_keras, b"[]"))
    cli_refuses(capsys, "predict", "cat", "--weights", str(path), match="must be a JSON object; got list")


# ---------------------------------------------------------------------------------------
# .weights.h5: attributes and shapes, checked before anything is built

def _h5(path: Path, attrs: dict, arrays: dict | None = None) -> Path:
    import h5py

    with h5py.File(path, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        for k, v in (arrays or {}).items():
            f.create_dataset(k, data=v)
    return path


@pytest.mark.parametrize("attrs, match", [
    ({"inception_viz_config": 5}, "attribute inception_viz_config must be text"),
    ({"inception_viz_config": np.void(b"\xff\xfe")}, "inception_viz_config"),
    ({"inception_viz_config": np.bytes_(b"\xff\xfe{}")}, "is not UTF-8 text"),
    ({"inception_viz_config": "[1]"}, "config must be a JSON object"),
    ({"inception_viz_config": "{nope"}, "is not a JSON config"),
    ({"inception_viz_config": dumps_config(BLOCK), "inception_viz_preprocessing": 3}, "must be text"),
    ({"inception_viz_config": dumps_config(BLOCK), "inception_viz_preprocessing": "zzz"}, "preprocessing must be one of"),
    ({"inception_viz_config": dumps_config(BLOCK), "inception_viz_trained": 7}, "trained must be true or false"),
])
def test_malformed_h5_attributes_are_one_line(tmp_path, attrs, match):
    one_line(W.load_weights_file, _h5(tmp_path / "x.weights.h5", attrs), match=match)


def test_empty_h5_is_refused_from_the_spec_without_building(tmp_path):
    """An h5 with this app's attributes for googlenet but no arrays: refused from the
    counter's weight shapes, without building (TensorFlow is not even imported), where
    today's code builds googlenet first (on every re-upload, holding the build lock)."""
    path = _h5(tmp_path / "empty.weights.h5", {"inception_viz_config": dumps_config(GOOGLENET)})
    out = run_py(f"""
        import json, sys
        from inception_viz import weights as W
        try:
            W.load_weights_file({str(path)!r}); msg = None
        except Exception as exc:
            msg = type(exc).__name__ + ": " + str(exc)
        print(json.dumps({{"msg": msg, "tf": "tensorflow" in sys.modules}}))
    """)
    assert out["msg"].startswith("SpecError: empty.weights.h5 does not fit the googlenet model: it holds no arrays"), out
    assert not out["tf"], "the model was built (or TensorFlow loaded) before the shapes were checked"
    short = _h5(tmp_path / "short.weights.h5", {"inception_viz_config": dumps_config(BLOCK)},
                {"a": np.zeros((1, 1, 64, 64), np.float32)})
    one_line(W.load_weights_file, short, match="it holds 1 arrays")


def test_weight_shapes_from_the_counter_equal_keras():
    """The shapes the h5 and .keras checks use, from the counter, equal the built model's
    (googlenet with its aux heads, the block preset)."""
    from inception_viz.keras_model import build_keras

    for spec in (GOOGLENET.with_options(aux=True), BLOCK):
        model = build_keras(spec, seed=0)
        keras_shapes = {l.name: [tuple(v.shape) for v in l.weights] for l in model.layers if l.weights}
        assert analyze(spec).weight_shapes() == keras_shapes


# ---------------------------------------------------------------------------------------
# the memory estimate counts every tensor

def test_forward_values_equal_the_keras_layer_outputs():
    """forward_values (input + every layer's output, inside blocks and aux heads, padding
    copies, flattened inputs) equals the sum over the built Keras model's layer outputs."""
    from inception_viz.keras_model import build_keras

    for spec in (GOOGLENET.with_options(aux=True, input_shape=(160, 160, 3)), BLOCK.with_block("inception_3a", **{k: 0 for k in ("1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool_proj")}),
                 preset("simplified").with_options(lrn=False)):
        model = build_keras(spec, seed=0)
        keras_values = sum(int(np.prod(l.output.shape[1:])) for l in model.layers)
        assert analyze(spec).forward_values == keras_values, spec.name


def test_inner_tensors_are_counted():
    """The review's case scaled down: the block preset with a 32,768-wide 3x3_reduce feeding
    a 1-wide 3x3. The reduce output alone is 32 x 32 x 32,768 x 4 B = 134,217,728 bytes,
    which the top-level rows (the concat: 32 x 32 x 98 values) never saw."""
    spec = BLOCK.with_block("inception_3a", **{"3x3_reduce": 32768, "3x3": 1})
    r = analyze(spec)
    assert r.row("inception_3a_3x3_reduce").activations * 4 == 134_217_728
    assert r.forward_values >= r.total_activations + 32 * 32 * 32768
    assert limits.estimate_memory(spec).activation_bytes >= 134_217_728


def _random_cases(n: int, seed: int = 18):
    rng = random.Random(seed)
    cases = [BLOCK.with_block("inception_3a", **{"3x3_reduce": 32768, "3x3": 1})]  # inner tensors dominate
    while len(cases) < n:
        base = rng.choice([BLOCK, preset("simplified"), GOOGLENET])
        side = rng.choice([32, 48, 64]) if base is BLOCK else rng.choice([96, 128, 224])
        c = base.input_shape[2]
        spec = base.with_options(input_shape=(side, side, c), aux=bool(base.aux_heads) and rng.random() < 0.5)
        block = rng.choice(spec.block_names)
        widths = {k: rng.choice([0, 1, 16, 64, 256, 1024]) for k in ("1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool_proj")}
        widths["3x3"] = max(widths["3x3"], 1)
        spec = spec.with_block(block, **widths)
        try:
            limits.check(spec, limit_mb=600)
        except SpecError:
            continue
        cases.append(spec)
    return cases


def test_estimate_covers_the_measured_growth_of_build_and_forward():
    """Property: for random specs and sizes (small enough for CI), the estimate is at least
    the peak RSS growth of building the model and one forward pass, measured in a
    subprocess (VmHWM reset before each case)."""
    from inception_viz.config import spec_to_config

    cases = _random_cases(5)
    configs = [spec_to_config(s) for s in cases]
    out = run_py(f"""
        import gc, json
        import numpy as np
        from inception_viz.config import spec_from_config
        from inception_viz.keras_model import build_keras

        def kb(field):
            for line in open("/proc/self/status"):
                if line.startswith(field):
                    return int(line.split()[1])

        warm = build_keras(spec_from_config({{"preset": "block"}}), seed=0)  # TF's one-time setup
        warm(np.zeros((1, 32, 32, 64), np.float32)); del warm; gc.collect()
        grown = []
        for cfg in json.loads({json.dumps(configs)!r}):
            spec = spec_from_config(cfg)
            gc.collect()
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset the peak to the current RSS
            base = kb("VmRSS:")
            model = build_keras(spec, seed=0)
            out = model(np.ones((1, *spec.input_shape), np.float32), training=False)
            del out
            grown.append((kb("VmHWM:") - base) * 1024)
            del model
        print(json.dumps(grown))
    """, timeout=600)
    grown = out
    assert len(grown) == len(cases)
    report = [(spec_to_config(s), limits.estimate_memory(s).total_bytes, g) for s, g in zip(cases, grown)]
    print("\n".join(map(str, report)))  # pytest -s shows the margins
    for cfg, est, g in report:
        assert est >= g, (cfg, est, g)


# ---------------------------------------------------------------------------------------
# batched runs and the live-model budget

def test_profile_batch_over_the_limit_is_refused_with_the_largest_that_fits(monkeypatch):
    from inception_viz.profile import profile_blocks

    big = GOOGLENET.with_options(input_shape=(1024, 1024, 3))
    assert limits.check(big).total_mb < limits.DEFAULT_MAX_MODEL_MB  # batch 1 fits
    fits = limits.max_batch(big)
    assert 1 <= fits < 64
    assert limits.estimate_memory(big, fits, "profile").total_bytes <= 4096 * limits.MB
    assert limits.estimate_memory(big, fits + 1, "profile").total_bytes > 4096 * limits.MB
    one_line(profile_blocks, None, big, batch=64, match=f"use a batch of at most {fits}")
    one_line(profile_blocks, None, big, batch=True, match="batch")


def test_profile_with_aux_classifiers_on():
    """aux on -> the whole model returns a list; timing it raised AttributeError."""
    from inception_viz.keras_model import build_keras
    from inception_viz.profile import WHOLE, profile_blocks

    spec = GOOGLENET.with_options(aux=True, input_shape=(96, 96, 3))
    timings = profile_blocks(build_keras(spec, seed=0), spec, repeats=1, warmup=0)
    assert [t.name for t in timings] == [*spec.block_names, WHOLE]


def test_live_models_evict_oldest_and_refuse_over_budget():
    events = []
    reg = limits.LiveModels(max_models=2, budget_mb=100, release=lambda: events.append("release"))

    def build(tag):
        def f():
            events.append(f"build {tag}")
            return tag
        return f

    mb = limits.MB
    assert reg.get("a", 30 * mb, build("a")) == "a"
    assert reg.get("b", 30 * mb, build("b")) == "b"
    assert reg.get("a", 30 * mb, build("a2")) == "a"  # a hit: a becomes the newest
    assert reg.get("c", 30 * mb, build("c")) == "c"  # beyond 2 models: b (the oldest) goes
    assert reg.keys() == ["a", "c"]
    assert reg.get("d", 80 * mb, build("d")) == "d"  # 80 + 30 > 100: both others go
    assert reg.keys() == ["d"] and reg.live_bytes == 80 * mb
    assert events == ["build a", "build b", "release", "build c", "release", "build d"]
    one_line(reg.get, "e", 101 * mb, build("e"), what="huge", match="budget for models held at once is 100 MB")
    assert reg.keys() == ["d"]  # a refusal evicts nothing


def test_instantiate_and_predictions_share_one_registry(monkeypatch):
    inference = pytest.importorskip("inception_viz.inference")
    monkeypatch.setattr(inference, "_RUNNERS", limits.LiveModels(2, release=lambda: None))
    m = inference.cached_model(BLOCK)
    assert inference.get_runner(BLOCK, W.random_weights(0)).model is m
    assert inference.live_models()[0] == 1
    monkeypatch.setenv(limits.LIVE_ENV_VAR, "1")
    one_line(inference.get_runner, BLOCK.with_block("inception_3a", **{"1x1": 3000}),
             match="budget for models held at once is 1 MB")


# ---------------------------------------------------------------------------------------
# seed comparison on edge models

@pytest.mark.parametrize("query, focus", [
    ({"preset": "block", "inception_3a": "0-0-0-0-0-0"}, "inception_3a"),
    ({"input": "31x31x3"}, "inception_5b"),
    ({"preset": "block", "input": "2x2x64"}, "inception_3a"),
])
def test_seed_comparison_is_total_on_edge_models(query, focus):
    row = analyze(spec_from_query(query)).row(focus)
    for padding in ("valid", "same"):
        rows = seed_comparison(row, row.output_shape[2], padding)
        assert len(rows) == 3 and rows[0].output_shape == row.output_shape
        for r in rows:
            assert (r.params is None) == (r.output_shape is None)
            if r.params is None:
                assert r.note.startswith("not possible") and padding == "valid"
            if not row.params:
                assert r.params_ratio is None and r.macs_ratio is None


def test_seed_comparison_numbers_on_the_lecture_block():
    """block preset, 32x32x64, 160 filters, valid: 3x3 conv 3*3*64*160 + 160 = 92,320
    params, 30*30*3*3*64*160 = 82,944,000 MACs; 5x5: 25*64*160 + 160 = 256,160 params."""
    row = analyze(BLOCK).row("inception_3a")
    base, c3, c5 = seed_comparison(row, 160, "valid")
    assert (c3.output_shape, c3.params, c3.macs) == ((30, 30, 160), 92_320, 82_944_000)
    assert c5.params == 256_160 and c5.params_ratio == 256_160 / row.params
    assert base.params_ratio == 1.0
    one_line(conv_baseline, (2, 2, 64), 10, 3, "valid", match="spatial size falls below 1")
    one_line(conv_baseline, (8, 8, 64), 0, 3, match="filters")


# ---------------------------------------------------------------------------------------
# bounded reads

def test_config_from_dev_zero_fifo_and_stdin_is_bounded(tmp_path, capsys, monkeypatch):
    cli_refuses(capsys, "table", "--config", "/dev/zero", match="larger than 262,144 bytes")
    fifo = tmp_path / "cfg.fifo"
    os.mkfifo(fifo)

    def endless():
        try:
            with open(fifo, "wb") as f:
                while True:
                    f.write(b" " * 65536)
        except (BrokenPipeError, OSError):
            pass

    t = threading.Thread(target=endless, daemon=True)
    t.start()
    cli_refuses(capsys, "table", "--config", str(fifo), match="larger than 262,144 bytes")
    t.join(10)
    with open("/dev/zero", "rb") as zero:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(zero))
        cli_refuses(capsys, "table", "--config", "-", match="config on stdin is larger than")
    assert MAX_CONFIG_BYTES == 262_144


def test_other_reads_refuse_devices(capsys):
    from inception_viz.images import read_image_file

    one_line(read_image_file, "/dev/zero", match="is not a regular file")
    one_line(W.load_weights_file, "/dev/zero", name="zero.keras", match="is not a regular file")
    cli_refuses(capsys, "predict", "/dev/zero", match="is not a regular file")


# ---------------------------------------------------------------------------------------
# URL keys that are not about the model

@pytest.mark.parametrize("extra", [{"utm_source": "moodle"}, {"fbclid": "IwAR3x"}, {"view": "graph"},
                                   {"lang": "de"}, {"colour": "red", "utm_medium": ["email", "x"]}])
def test_unknown_url_keys_are_ignored(extra):
    q = {"preset": "block", "inception_3a": "1-2-3-4-5-6"}
    assert spec_from_query({**q, **extra}) == spec_from_query(q)


def test_merge_query_keeps_the_links_other_keys():
    from inception_viz.config import merge_query, spec_to_query

    spec = BLOCK.with_block("inception_3a", **{"1x1": 7})
    q = merge_query({"utm_source": "moodle", "view": "graph", "inception_3a": "1-1-1-1-1-1", "preset": "googlenet"}, spec)
    assert q == {"utm_source": "moodle", "view": "graph", **spec_to_query(spec)}
    assert spec_from_query(q) == spec


def test_malformed_model_keys_in_a_shared_link_still_fail():
    one_line(spec_from_query, {"utm_source": "x", "inception_3a": "1-2"}, match="needs 6 widths")
    one_line(spec_from_query, {"fbclid": "x", "inception_9z": "1-1-1-1-1-1"}, match="no such block")
    one_line(spec_from_query, {"lang": "de", "lrn": "maybe"}, match="lrn must be 0 or 1")


# ---------------------------------------------------------------------------------------
# the network differs from the one the weights were trained as

def _trained(spec):
    return W.Weights("onnx", "zoo layout", "k", W.ZOO_PREPROCESSING, {}, True, trained_spec=spec)


def test_training_differences():
    w = _trained(GOOGLENET)
    assert W.training_differences(GOOGLENET, w) == ()
    assert W.training_differences(GOOGLENET.with_options(aux=True), w) == ()
    lrn_off = W.training_differences(GOOGLENET.with_options(lrn=False), w)
    assert len(lrn_off) == 1 and lrn_off[0].startswith("LRN is off, but these weights were trained with LRN on")
    size = W.training_differences(GOOGLENET.with_options(input_shape=(320, 320, 3)), w)
    assert size[0].startswith("The input is 320x320x3, but these weights were trained on 224x224x3")
    all3 = W.training_differences(GOOGLENET.with_options(lrn=False, input_shape=(320, 320, 3), classes=10), w)
    assert len(all3) == 3 and "10 classes" in all3[2]
    assert W.training_differences(GOOGLENET.with_options(lrn=False), W.random_weights()) == ()


def test_cli_predict_reports_lrn_off_with_trained_weights(tmp_path, capsys):
    """A trained file of the simplified preset, used with LRN... the simplified preset has
    no LRN layers, so the same check uses the input size; googlenet's LRN note is above."""
    from inception_viz.keras_model import build_keras

    spec = preset("simplified").with_options(input_shape=(96, 96, 3), classes=10)
    path = tmp_path / "trained.weights.h5"
    W.save_weights_file(build_keras(spec, seed=0), path, spec, _trained(spec))
    cfg = tmp_path / "other.json"
    cfg.write_text(json.dumps({"preset": "simplified", "input_shape": [128, 128, 3], "classes": 10}))
    assert main(["predict", "cat", "--weights", str(path), "--config", str(cfg), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "note: The input is 128x128x3, but these weights were trained on 96x96x3" in out
    assert main(["predict", "cat", "--weights", str(path), "--config", str(cfg), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["predictions", "notes"]
    assert len(doc["notes"]) == 1 and doc["notes"][0].startswith("The input is 128x128x3")
