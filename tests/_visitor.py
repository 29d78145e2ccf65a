"""AppTest helpers for the trust modes (issue 16): fake the visitor's connection, read
every text the page sends, and the strings of this server that no untrusted visitor may
see."""

from __future__ import annotations

import getpass
import pwd
import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

from inception_viz import trust

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
LOOPBACK = ("127.0.0.1", [("host", "localhost:8501"), ("origin", "http://localhost:8501")])
STUDENT = ("192.168.1.23", [("host", "192.168.1.10:8501"), ("origin", "http://192.168.1.10:8501")])


def as_visitor(monkeypatch, connection, *, shared: bool) -> None:
    """The app's next runs see ``connection`` (peer, headers) in the given mode."""
    if shared:
        monkeypatch.setenv(trust.ENV_VAR, "1")
    else:
        monkeypatch.delenv(trust.ENV_VAR, raising=False)
    monkeypatch.setattr(trust, "_connection", lambda: connection)


def fake_home(monkeypatch, tmp_path) -> dict[str, str]:
    """A home folder and account name that appear nowhere else, so a leak is unmistakable;
    the cache is then the default one under that home."""
    home = tmp_path / "home" / "lecturerqx"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, "lecturerqx")
    monkeypatch.delenv("INCEPTION_VIZ_CACHE", raising=False)
    return {"home": str(home), "cache": str(home / ".cache" / "inception_viz"), "user": "lecturerqx"}


def server_strings() -> list[str]:
    """The real home folder and account name of the process running the tests."""
    out = [str(Path(pwd.getpwuid(os.getuid()).pw_dir))]
    name = pwd.getpwuid(os.getuid()).pw_name
    return out + [name, getpass.getuser()]


def page_text(at: AppTest, skip: tuple[str, ...] = ()) -> str:
    """Every element the page holds, as the text of its protobuf message (labels, values,
    help, placeholders, captions, chart specs); element types in ``skip`` left out (e.g.
    ``text_input``, whose value is what the visitor typed)."""
    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and getattr(node, "type", None) not in skip:
            parts.append(str(proto))
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def open_view(key: str, timeout: float = 300, **session) -> AppTest:
    """The app opened on view ``key`` (``?view=<key>``), with ``session`` state set first."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params["view"] = key
    for k, v in session.items():
        at.session_state[k] = v
    return at.run()


def imagenet_missing(at: AppTest) -> AppTest:
    """Predictions on, ImageNet weights chosen while they are not installed."""
    at.toggle(key="pred-on").set_value(True).run()
    at.radio(key="pred-source").set_value("ImageNet (ONNX Model Zoo GoogLeNet)").run()
    assert not at.exception, at.exception
    return at
