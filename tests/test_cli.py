"""The CLI: output contracts (JSON keys, CSV columns, golden text) and bad-input handling."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from _golden import check_golden
from inception_viz.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "inception_viz", *args],
        cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120,
    )


def cli(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("preset", ["googlenet", "block"])
def test_table_text_golden(capsys, preset):
    rc, out, _ = cli(capsys, "table", "--preset", preset)
    assert rc == 0
    check_golden(f"table_{preset}.txt", out)


def test_paper_text_golden(capsys):
    rc, out, _ = cli(capsys, "paper")
    assert rc == 0
    check_golden("paper_googlenet.txt", out)


def test_table_json_schema_and_numbers(capsys):
    rc, out, _ = cli(capsys, "table", "--preset", "googlenet", "--format", "json")
    assert rc == 0
    doc = json.loads(out)
    for key in ("model", "input_shape", "total_params", "total_macs", "rows"):
        assert key in doc
    assert doc["model"] == "googlenet" and doc["input_shape"] == [224, 224, 3]
    assert doc["total_params"] == 6_998_552
    assert doc["total_macs"] == 1_582_671_872
    for row in doc["rows"]:
        for key in ("name", "kind", "output_shape", "params", "weights", "macs"):
            assert key in row, (row["name"], key)
        assert len(row["output_shape"]) == 3
    assert sum(r["params"] for r in doc["rows"]) == doc["total_params"]
    blocks = [r for r in doc["rows"] if r["kind"] == "inception"]
    assert [b["name"] for b in blocks] == [
        "inception_3a", "inception_3b", "inception_4a", "inception_4b", "inception_4c",
        "inception_4d", "inception_4e", "inception_5a", "inception_5b",
    ]
    for b in blocks:
        assert set(b["branches"]) == {"1x1", "3x3", "5x5", "pool_proj"}
        for v in b["branches"].values():
            assert set(v) >= {"params", "weights", "macs", "channels"}
        assert sum(v["params"] for v in b["branches"].values()) == b["params"]
        assert sum(v["channels"] for v in b["branches"].values()) == b["output_shape"][2]
    # inception_3a's 1x1 branch: 192*64 weights + 64 biases; MACs = weights * 28*28
    b3a = blocks[0]["branches"]["1x1"]
    assert (b3a["params"], b3a["weights"], b3a["macs"]) == (192 * 64 + 64, 192 * 64, 192 * 64 * 28 * 28)


def test_dropped_branch_is_zeros(tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"preset": "googlenet", "blocks": {"inception_3a": {"1x1": 0, "5x5": 0}}}))
    rc, out, _ = cli(capsys, "table", "--config", str(cfg), "--format", "json")
    assert rc == 0
    b = json.loads(out)["rows"][7]
    assert b["name"] == "inception_3a"
    assert b["branches"]["1x1"] == {"params": 0, "weights": 0, "macs": 0, "channels": 0, "receptive_field": None}
    assert b["branches"]["5x5"] == {"params": 0, "weights": 0, "macs": 0, "channels": 0, "receptive_field": None}
    assert b["output_shape"] == [28, 28, 128 + 32]


def test_table_csv(capsys):
    rc, out, _ = cli(capsys, "table", "--preset", "block", "--format", "csv")
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["name"] == "inception_3a" and rows[0]["params"] == "22965"
    assert rows[0]["output_shape"] == "32x32x130"
    branches = {r["branch"]: int(r["channels"]) for r in rows[1:]}
    assert branches == {"1x1": 40, "3x3": 10, "5x5": 30, "pool_proj": 50}


def test_paper_json_flags(capsys):
    rc, out, _ = cli(capsys, "paper", "--format", "json")
    assert rc == 0
    rows = json.loads(out)["rows"]
    flagged = {r["layers"][0] for r in rows if r["status"] == "paper error"}
    assert flagged == {"conv1", "inception_4c", "inception_5a"}
    assert all(r["status"] in ("agrees", "paper error") for r in rows)


@pytest.mark.parametrize(
    "args, stdin, fragment",
    [
        (["table", "--preset", "nope"], None, "unknown preset 'nope'"),
        (["table", "--config", "/no/such/file.json"], None, "cannot read config file"),
        (["table", "--config", "-"], "{not json", "not valid JSON"),
        (["table", "--config", "-"], '{"preset": "googlenet", "input_shape": [8, 8, 3]}', "'pool3'"),
        (["table", "--config", "-"], '{"preset": "googlenet", "blocks": {"inception_3a": {"3x3": -4}}}', "blocks.inception_3a.3x3"),
        (["table", "--config", "-"], '{"preset": "googlenet", "blocks": {"inception_9z": {}}}', "inception_9z"),
        (["table", "--format", "xml"], None, "invalid choice"),
        (["frobnicate"], None, "invalid choice"),
    ],
)
def test_bad_input_one_line_exit_2(args, stdin, fragment):
    res = run_cli(*args, stdin=stdin)
    assert res.returncode == 2, res
    assert res.stdout == ""
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert fragment in res.stderr


def test_table_does_not_import_tensorflow():
    code = "import sys; from inception_viz.cli import main; main(['table']); assert 'tensorflow' not in sys.modules"
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
