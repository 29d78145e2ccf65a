"""TensorFlow's process settings in one place, applied before TensorFlow is imported.

:func:`configure` runs when ``inception_viz`` is imported (``inception_viz/__init__.py``),
so every module, the CLI, the app and the tests get the same settings before any of them
imports TensorFlow. It only sets environment variables (``setdefault``: a value the user
exported wins) and never imports TensorFlow itself, so pages and commands that do not need
TensorFlow stay fast.

* ``KERAS_BACKEND=tensorflow``.
* ``TF_CPP_MIN_LOG_LEVEL=2``: TensorFlow's C++ INFO and WARNING lines stay off the terminal.
* Threads and oneDNN: TensorFlow's defaults (intra-op and inter-op pools sized to the cores,
  oneDNN on); docs/bench.md has what else was measured and why these stay.

TensorFlow 2.21 writes two INFO lines at import (``oneDNN custom operations are on``,
through absl before absl's log is initialised, which ignores ``TF_CPP_MIN_LOG_LEVEL``), one
copy per native library. :func:`import_tensorflow` imports TensorFlow and Keras with the
process's stderr (file descriptor 2) captured, then writes back every captured line except
C++ INFO/WARNING lines and absl's notice about them; errors still show.

Set ``INCEPTION_VIZ_TF_LOGS=1`` (or pass ``--verbose`` to the CLI) to see everything
TensorFlow prints.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

from . import heap

#: Environment switch: ``1`` shows TensorFlow's start-up and C++ log lines.
VERBOSE_ENV = "INCEPTION_VIZ_TF_LOGS"

#: What :func:`configure` sets when the variable is not already set.
DEFAULTS = {"KERAS_BACKEND": "tensorflow"}
QUIET_DEFAULTS = {"TF_CPP_MIN_LOG_LEVEL": "2"}

#: C++ log lines at INFO or WARNING level (absl's format: severity letter, MMDD, time,
#: thread, file:line]), absl's notice that it writes them to stderr, and the continuation
#: line of the CPU-feature notice.
_NOISE = re.compile(
    r"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .* in other operations, rebuild TensorFlow)"
)

_set_by_us: set[str] = set()


def verbose() -> bool:
    """Whether TensorFlow's own log lines should reach the terminal."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def configure() -> None:
    """Set the defaults above in ``os.environ`` (never overriding a value already set)."""
    wanted = dict(DEFAULTS)
    if not verbose():
        wanted.update(QUIET_DEFAULTS)
    for key, value in wanted.items():
        if key not in os.environ:
            os.environ[key] = value
            _set_by_us.add(key)


def set_verbose() -> None:
    """Show TensorFlow's log lines from now on (the CLI's ``--verbose``); takes effect for
    lines written after TensorFlow is imported only if it is not imported yet."""
    os.environ[VERBOSE_ENV] = "1"
    for key in QUIET_DEFAULTS:
        if key in _set_by_us:
            os.environ.pop(key, None)
            _set_by_us.discard(key)


def is_noise(line: str) -> bool:
    """A line TensorFlow prints at INFO/WARNING level (dropped unless verbose)."""
    return bool(_NOISE.match(line))


@contextlib.contextmanager
def quiet_stderr():
    """Capture file descriptor 2 (native libraries and Python alike) in the block; afterwards
    write back every captured line that is not :func:`is_noise`. Output of other threads in
    the meantime is delayed, never lost; on an exception everything is written back."""
    if verbose():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2 (embedded interpreters)
        yield
        return
    failed = False
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
            kept = text if failed else "".join(l for l in text.splitlines(keepends=True) if not is_noise(l))
            if kept:
                with contextlib.suppress(Exception):
                    sys.stderr.write(kept)
                    sys.stderr.flush()


def import_tensorflow():
    """``import tensorflow`` and ``keras`` without TensorFlow's start-up lines (see the
    module docstring), then, once per process, freeze the heap (:mod:`inception_viz.heap`);
    returns the ``tensorflow`` module. Cheap once imported."""
    configure()
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        tensorflow = sys.modules["tensorflow"]
    else:
        with quiet_stderr():
            import keras  # noqa: F401
            import tensorflow
    # their ~300,000 long-lived objects, out of the garbage collector's way (inception_viz.heap)
    heap.freeze_once("tensorflow")
    return tensorflow
