"""Serve a whole class: N ``streamlit run app.py`` replicas behind HAProxy, sticky sessions.

    python scripts/hall.py                      # one replica per core, http://127.0.0.1:8600/
    python scripts/hall.py --replicas 4 --port 8600 --address 0.0.0.0

One Streamlit process runs every script under one Python lock and holds every session in
its own memory, so a lecture hall is served by several processes. Streamlit needs session
affinity for that: a session's websocket (``/_stcore/stream``) and its uploads
(``/_stcore/upload_file/...``) must reach the process that holds it. This script

- starts N replicas on free loopback ports (they never listen elsewhere);
- starts HAProxy (Debian's ``haproxy``) on ``--address:--port`` with the config filled in
  from ``deploy/haproxy.cfg.template``: new sessions go to the least busy replica, an
  inserted cookie keeps each browser on its replica, ``/_stcore/health`` is checked every
  second, websockets are tunnelled with an 8 h timeout;
- prints one line ``ready: URL`` once every replica is healthy and answers through HAProxy;
- stays in the foreground, restarts a replica that dies (the browsers it served reconnect
  to another replica, whose page rebuilds the model from the URL), and stops every process
  it started on SIGTERM or SIGINT (Ctrl-C).

Every replica gets the same environment: the weights cache folder (``INCEPTION_VIZ_CACHE``,
the default when unset), ``INCEPTION_VIZ_SHARED=1`` (the app trusts no visitor: no server
paths; ``--local`` opts out) and one cookie secret, so Streamlit's XSRF cookie signed by one
replica is accepted by another after a failover. Install the weights beforehand with
``python -m inception_viz weights download|install``.

Exit status: 0 after a clean stop, 2 for bad arguments or a missing ``haproxy`` (one line,
no traceback), 1 when a replica or HAProxy cannot be started.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "haproxy.cfg.template"
LOOPBACK = "127.0.0.1"
COOKIE = "INCEPTION_VIZ_REPLICA"
STARTUP_S = 180.0
STOP_S = 15.0
#: A replica that dies this many times within a minute is not restarted again.
MAX_RESTARTS_PER_MIN = 5
HAPROXY_HINT = ("haproxy not found: install it (Debian/Ubuntu: apt-get install haproxy; macOS: brew install "
                "haproxy) or pass --haproxy PATH")


class HallError(Exception):
    """A one-line reason the hall cannot start."""


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/_stcore/health", timeout=timeout) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


def haproxy_config(bind: str, replicas: list[tuple[str, int]], template: Path = TEMPLATE) -> str:
    """The HAProxy config for ``bind`` (``address:port``) and the replicas' loopback ports:
    ``deploy/haproxy.cfg.template`` with one ``server`` line per replica, each with its own
    cookie value (the replica's name)."""
    servers = "\n".join(f"    server {name} {LOOPBACK}:{port} cookie {name}" for name, port in replicas)
    return string.Template(template.read_text()).substitute(bind=bind, servers=servers)


def replica_env(shared: bool, cookie_secret: str, base: dict | None = None) -> dict:
    """The environment every replica shares (see the module docstring)."""
    from_env = dict(os.environ if base is None else base)
    env = {
        **from_env,
        "INCEPTION_VIZ_SHARED": "1" if shared else "0",
        "STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret,
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "TF_CPP_MIN_LOG_LEVEL": from_env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    }
    if "INCEPTION_VIZ_CACHE" not in env:  # one folder for all: weights installed once serve every replica
        env["INCEPTION_VIZ_CACHE"] = str(Path.home() / ".cache" / "inception_viz")
    return env


class Replica:
    def __init__(self, name: str, port: int, env: dict, logdir: Path, app: Path):
        self.name, self.port, self.env, self.app = name, port, env, app
        self.log_path = logdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.restarts: list[float] = []

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    def start(self) -> None:
        # streamlit run, with inception_viz.st_compat installed before the server starts: a
        # page failing over to a replica that has served nothing yet must still get answers
        cmd = [sys.executable, "-m", "inception_viz.st_compat", "run", str(self.app),
               "--server.address", LOOPBACK, "--server.port", str(self.port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def stop_process(proc: subprocess.Popen | None) -> None:
    """SIGTERM the process group ``proc`` leads, SIGKILL it after ``STOP_S`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=STOP_S)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


class Hall:
    def __init__(self, replicas: int, port: int, address: str, shared: bool, haproxy: str, app: Path):
        self.address, self.port, self.haproxy_bin = address, port, haproxy
        self.workdir = Path(tempfile.mkdtemp(prefix="inception-hall-"))
        env = replica_env(shared, secrets.token_hex(32))
        self.replicas = [Replica(f"app{i + 1}", free_port(), env, self.workdir, app) for i in range(replicas)]
        self.haproxy: subprocess.Popen | None = None
        self.stopping = False

    @property
    def url(self) -> str:
        host = self.address if self.address not in ("0.0.0.0", "::", "") else LOOPBACK
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"

    def start(self) -> None:
        for r in self.replicas:
            r.start()
            print(f"replica {r.name}: {r.url} pid {r.proc.pid}", flush=True)
        deadline = time.monotonic() + STARTUP_S
        waiting = list(self.replicas)
        while waiting:  # HAProxy starts once every replica answers: no false "DOWN" at start-up
            for r in list(waiting):
                if not r.alive():
                    raise HallError(f"replica {r.name} exited with status {r.proc.returncode}; log: {r.log_path}")
                if healthy(r.url):
                    waiting.remove(r)
            if waiting and time.monotonic() > deadline:
                names = ", ".join(r.name for r in waiting)
                raise HallError(f"not healthy after {STARTUP_S:.0f} s: {names} (logs in {self.workdir})")
            time.sleep(0.3)
        cfg = self.workdir / "haproxy.cfg"
        bind = f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"
        cfg.write_text(haproxy_config(bind, [(r.name, r.port) for r in self.replicas]))
        self.haproxy = subprocess.Popen([self.haproxy_bin, "-db", "-f", str(cfg)], stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        print(f"haproxy: {self.address}:{self.port} pid {self.haproxy.pid}", flush=True)
        while not healthy(self.url):
            if self.haproxy.poll() is not None:
                raise HallError(f"haproxy exited with status {self.haproxy.returncode} (is {self.address}:{self.port} free?)")
            if time.monotonic() > deadline:
                raise HallError(f"haproxy does not answer on {self.url}")
            time.sleep(0.3)
        print(f"ready: {self.url}", flush=True)

    def watch(self) -> None:
        """Restart a replica that dies, until ``stop()``; HAProxy's own exit ends the hall."""
        while not self.stopping:
            if self.haproxy.poll() is not None:
                raise HallError(f"haproxy exited with status {self.haproxy.returncode}")
            now = time.monotonic()
            for r in self.replicas:
                if self.stopping or r.alive():
                    continue
                r.restarts = [t for t in r.restarts if now - t < 60] + [now]
                if len(r.restarts) > MAX_RESTARTS_PER_MIN:
                    raise HallError(f"replica {r.name} died {MAX_RESTARTS_PER_MIN + 1} times in a minute; log: {r.log_path}")
                print(f"replica {r.name} exited with status {r.proc.returncode}; restarting", flush=True)
                r.start()
                print(f"replica {r.name}: restarted, pid {r.proc.pid}", flush=True)
            time.sleep(0.5)

    def stop(self) -> None:
        self.stopping = True
        stop_process(self.haproxy)
        for r in self.replicas:
            stop_process(r.proc)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicas", type=int, default=os.cpu_count() or 1, help="app processes (default: one per core)")
    ap.add_argument("--port", type=int, default=8600, help="HAProxy's port (default 8600)")
    ap.add_argument("--address", default=LOOPBACK,
                    help="HAProxy's address (default 127.0.0.1; 0.0.0.0 serves the network)")
    ap.add_argument("--local", action="store_true",
                    help="do not set INCEPTION_VIZ_SHARED=1 (only for a hall whose visitors you trust)")
    ap.add_argument("--haproxy", default=None, help="the haproxy binary (default: haproxy on PATH)")
    ap.add_argument("--app", default=str(ROOT / "app.py"), help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if not 1 <= args.replicas <= 64:
            raise HallError(f"--replicas must be 1 to 64, got {args.replicas}")
        if not 1 <= args.port <= 65535:
            raise HallError(f"--port must be 1 to 65535, got {args.port}")
        haproxy = args.haproxy or shutil.which("haproxy") or (
            "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None)
        if not haproxy or not os.access(haproxy, os.X_OK):
            raise HallError(HAPROXY_HINT)
    except HallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    hall = Hall(args.replicas, args.port, args.address, not args.local, haproxy, Path(args.app))

    def on_signal(signum, _frame):
        hall.stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        hall.start()
        hall.watch()
    except KeyboardInterrupt:
        print("stopping", flush=True)
        return 0
    except HallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        hall.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
