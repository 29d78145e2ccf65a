"""The Python heap's long-lived part, moved out of the cyclic garbage collector's way.

A full collection (generation 2) scans every object the collector tracks, and Python starts
one by itself whenever enough new objects have survived the younger generations. Once
Streamlit and this app's modules are imported, the server holds ~130,000 long-lived objects
(module dicts, classes, functions): a full collection took up to ~100 ms (50-75 ms in a bare
process with the app imported), holding Python's lock, and landed on a random interaction (an
edit that met one took ~200 ms in Chromium instead of ~100 ms; docs/bench.md). TensorFlow and
Keras add ~300,000 more (~165 ms).

:func:`freeze` collects what is garbage now and then moves every object still alive into
the permanent generation (``gc.freeze``), which collections skip: later full collections
scan only what was made afterwards, and take milliseconds. Frozen objects are still freed
when their last reference goes (reference counting); only a reference cycle among them is
never collected. So it is called at moments when what is alive is almost all long-lived,
each once per process: at the end of the app's first run (``app.main``), right after a view's
module is first imported (``views.View.module``, pandas and Plotly's figures with it: at the
server's start under ``streamlit run``, else when the view first opens) and right after
TensorFlow is imported (``tfenv.import_tensorflow``). What a session holds at those moments
(its state, its widgets) would stay in memory if it was in a cycle: bounded, once per process
(and not seen: ten sessions open at TensorFlow's import, closed later, left as many Streamlit
sessions in memory as without the freeze; docs/bench.md).
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_done: set[str] = set()


def freeze() -> None:
    """Collect the garbage there is now, then freeze everything still alive."""
    gc.collect()
    gc.freeze()


def freeze_once(moment: str) -> bool:
    """:func:`freeze`, the first time this process reaches ``moment``; returns whether it
    froze now."""
    with _lock:
        if moment in _done:
            return False
        _done.add(moment)
    freeze()
    return True
