"""The generated Keras code runs on its own and builds the network the counter counts.

Each script is exec'd in a fresh namespace in ONE subprocess (TensorFlow loads once); it
must not import inception_viz. Golden numbers: googlenet 6,998,552 params; the lecture's
block demo 22,965 = 325 + 460 + 1,300 + 15,030 + 2,600 + 3,250 (the seed's summary).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
import textwrap

import pytest

from inception_viz import codegen, counter, presets

RUNNER = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    out = {}
    for name, code in json.loads(sys.stdin.read()).items():
        ns = {"__name__": "generated"}
        exec(compile(code, name, "exec"), ns)
        m = ns["model"]
        out[name] = {
            "total": m.count_params(),
            "output": [int(d) for d in m.output.shape[1:]],
            "layers": {l.name: l.count_params() for l in m.layers},
            "modules": sorted(k for k in sys.modules if k.startswith("inception_viz")),
        }
    print(json.dumps(out))
    """
)


def _specs():
    g = presets.preset("googlenet")
    edited = g.with_block("inception_3a", **{"1x1": 0, "3x3_reduce": 0}).with_block(
        "inception_4e", **{"5x5": 0, "pool_proj": 0}
    )
    return {
        "googlenet": g,
        "naive": presets.preset("naive"),
        "simplified": presets.preset("simplified").with_options(classes=10),
        "block": presets.preset("block"),
        # odd sizes: Caffe's ceil-mode pools pad differently than "same" would
        "edited_odd_input_no_lrn": dataclasses.replace(edited, lrn=False).with_options(input_shape=(231, 199, 3)),
        "aux_on": g.with_options(aux=True, classes=7),
    }


def test_code_parses_and_is_standalone():
    for name, spec in _specs().items():
        code = codegen.keras_code(spec)
        ast.parse(code)
        assert "inception_viz" not in code.split('"""', 2)[2], name  # only in the docstring
        assert "def inception(x, F3x3_1x1, F3x3, F5x5_1x1, F5x5, F1x1, Fmp_1x1, name):" in code


def test_block_demo_code_uses_the_lectures_argument_order():
    code = codegen.keras_code(presets.preset("block"))
    # the seed: inception(x, 5, 10, 20, 30, 40, 50)
    assert 'x = inception(x, 5, 10, 20, 30, 40, 50, "inception_3a")' in code
    assert "32x32x130" in code  # 40 + 10 + 30 + 50, not the slide's 160


def test_generated_code_builds_the_counted_network():
    specs = _specs()
    payload = json.dumps({name: codegen.keras_code(spec) for name, spec in specs.items()})
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER], input=payload, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert results["googlenet"]["total"] == 6_998_552
    assert results["block"]["total"] == 325 + 460 + 1_300 + 15_030 + 2_600 + 3_250 == 22_965
    for name, spec in specs.items():
        got = results[name]
        report = counter.analyze(spec)
        assert got["modules"] == [], f"{name}: generated code imported {got['modules']}"
        assert got["total"] == codegen.code_params(spec), name
        # auxiliary heads are training-only and left out of the code
        assert codegen.code_params(spec) == report.total_params - sum(r.params for r in report.rows if r.aux)
        main_out = [r for r in report.rows if not r.aux][-1].output_shape
        expected_out = [main_out[2]] if spec.layers[-1].kind in ("softmax", "dense") else list(main_out)
        assert got["output"] == expected_out, name
        # layer by layer: every conv / dense of the counter, under the same name
        leaves = [p for r in report.rows if not r.aux for p in (r.parts or (r,))]
        assert leaves
        for row in leaves:
            if row.params and row.kind in ("conv", "dense"):
                assert got["layers"][row.name] == row.params, f"{name}: {row.name}"
