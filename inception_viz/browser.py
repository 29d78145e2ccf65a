"""A Streamlit server on loopback and Debian's headless Chromium, for what drives the app in
a real browser (``bench --browser``; the browser test uses the same launch settings).

Nothing here is imported by the app or by the other CLI commands; playwright-python is
imported by the caller, and only Debian's ``/usr/bin/chromium`` is launched (never a
downloaded browser).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only, by design
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_missing() -> str | None:
    """Why a real browser cannot run here (one line), or None when it can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ModuleNotFoundError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None


def launch_chromium(playwright):
    """Debian's Chromium, headless, through a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


#: The app's view switcher's widget key (app.VIEW_KEY): Streamlit gives a keyed element the
#: CSS class ``st-key-<key>``, and a keyed widget an id ending in ``-<key>``.
VIEW_KEY = "view"
#: The view switcher on the page.
VIEW_SWITCHER = f".st-key-{VIEW_KEY}"
#: The open view's box, with the view's URL key appended (app.VIEW_CONTAINER, keyed).
VIEW_BOX = ".st-key-view-"


def view_button(page, label: str):
    """The view switcher's button for the view labelled ``label`` (a playwright locator,
    sync or async API alike). The switcher is a radio group to assistive technology: each
    button has the role ``radio`` and ``aria-checked="true"`` while its view is open."""
    return page.locator(VIEW_SWITCHER).get_by_role("radio", name=label, exact=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class StreamlitServer:
    """``streamlit run <script>`` on ``127.0.0.1:<free port>``, from the repository root so
    that ``.streamlit/config.toml`` applies exactly as when a lecturer runs it (only the
    address and port are set here); with ``st_compat=True``, ``python -m
    inception_viz.st_compat run <script>`` (Streamlit's command line after the app's server
    adjustments). ``start()`` returns at once; ``wait_ready()`` waits
    for the health endpoint. ``stop()`` ends the process group it started, whatever
    happened; the object is also a context manager."""

    def __init__(self, script: Path | str, startup_timeout: float = 120.0, st_compat: bool = False):
        self.script = Path(script)
        self.st_compat = st_compat  # through python -m inception_viz.st_compat (its server adjustments first)
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/"
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> "StreamlitServer":
        self._log = tempfile.NamedTemporaryFile("w+", prefix="streamlit-", suffix=".log")
        runner = "inception_viz.st_compat" if self.st_compat else "streamlit"
        cmd = [sys.executable, "-m", runner, "run", str(self.script),
               "--server.address", HOST, "--server.port", str(self.port)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        return self

    def wait_ready(self) -> "StreamlitServer":
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit run {self.script.name} exited with status {self.proc.returncode}: "
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"streamlit run {self.script.name} did not answer on {self.url} "
                           f"within {self.startup_timeout:.0f} s")

    def log_tail(self, n: int = 1500) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-n:].strip()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group this object started
                self.proc.wait(timeout=15)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "StreamlitServer":
        self.start()
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
