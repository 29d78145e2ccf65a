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
            "output": [int(d) for d in m.outputs[0].shape[1:]],
            "outputs": len(m.outputs),
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
    # googlenet with aux heads, 7 classes: each head is 5x5/3 avg pool (0) + 1x1 conv 128
    # (512*128 + 128 = 65,664 after 4a; 528*128 + 128 = 67,712 after 4d) + FC 4*4*128 -> 1024
    # (2,048*1,024 + 1,024 = 2,098,176) + linear 1024 -> 7 (7,168 + 7 = 7,175); the main
    # network: 6,998,552 - (1,024,000 + 1,000) + 7,175 = 5,980,727 (its classifier has 7 classes)
    assert results["aux_on"]["total"] == 5_980_727 + (65_664 + 2_098_176 + 7_175) + (67_712 + 2_098_176 + 7_175)
    for name, spec in specs.items():
        got = results[name]
        report = counter.analyze(spec)
        assert got["modules"] == [], f"{name}: generated code imported {got['modules']}"
        # the counter's total, auxiliary heads (Figure 3) included when they are on
        assert got["total"] == codegen.code_params(spec) == report.total_params, name
        assert got["outputs"] == 1 + len(spec.active_aux_heads), name
        main_out = [r for r in report.rows if not r.aux][-1].output_shape
        expected_out = [main_out[2]] if spec.layers[-1].kind in ("softmax", "dense") else list(main_out)
        assert got["output"] == expected_out, name
        # layer by layer: every conv / dense of the counter, under the same name
        leaves = [p for r in report.rows for p in (r.parts or (r,))]
        assert leaves
        for row in leaves:
            if row.params and row.kind in ("conv", "dense"):
                assert got["layers"][row.name] == row.params, f"{name}: {row.name}"
