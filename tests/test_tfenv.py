"""TensorFlow's start-up lines stay off the terminal unless asked for (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from inception_viz import tfenv

ROOT = Path(__file__).resolve().parents[1]

# What TensorFlow 2.21 prints at import on an x86 CPU (oneDNN on), copied from a terminal.
TF_STARTUP = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1795935494.818905   22492 port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results due to floating-point round-off errors from different "
    "computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.\n",
    "I0000 00:00:1795935495.339897   22492 cpu_feature_guard.cc:227] This TensorFlow binary is optimized "
    "to use available CPU instructions in performance-critical operations.\n",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.\n",
]


def test_noise_lines_are_tensorflows_info_and_warnings_only():
    assert all(tfenv.is_noise(line) for line in TF_STARTUP)
    for kept in (
        "E0000 00:00:1795935494.818905   22492 cuda_dnn.cc:8] could not create cudnn handle\n",
        "Traceback (most recent call last):\n",
        "UserWarning: something the user should see\n",
        "error: image.jpg is not an image\n",
    ):
        assert not tfenv.is_noise(kept), kept


def test_quiet_stderr_drops_noise_and_writes_back_the_rest(capfd):
    with tfenv.quiet_stderr():
        for line in TF_STARTUP:
            os.write(2, line.encode())
        os.write(2, b"E0000 00:00:1.2   1 x.cc:1] a real error\n")
        print("python stderr line", file=sys.stderr)
    err = capfd.readouterr().err
    # (under pytest, Python's sys.stderr is pytest's own object, so the order may differ)
    assert sorted(err.splitlines()) == ["E0000 00:00:1.2   1 x.cc:1] a real error", "python stderr line"]


def test_verbose_switch_keeps_everything(capfd, monkeypatch):
    monkeypatch.setenv(tfenv.VERBOSE_ENV, "1")
    with tfenv.quiet_stderr():
        os.write(2, TF_STARTUP[1].encode())
    assert capfd.readouterr().err == TF_STARTUP[1]


def test_importing_the_model_code_prints_nothing():
    """A fresh process: importing keras_model (TensorFlow, Keras) writes nothing to stderr;
    with INCEPTION_VIZ_TF_LOGS=1 TensorFlow's own lines are back (when it prints any)."""
    code = "import inception_viz.keras_model"
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", tfenv.VERBOSE_ENV)}
    env["PYTHONPATH"] = str(ROOT)
    quiet = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert quiet.stderr == ""
    loud = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, tfenv.VERBOSE_ENV: "1"},
                          capture_output=True, text=True, timeout=300)
    assert loud.returncode == 0, loud.stderr[-2000:]
    assert all(tfenv.is_noise(line) or not line.strip() for line in loud.stderr.splitlines(keepends=True))
