"""Whom the app trusts: the one place that decides whether a visitor may name server paths.

Two modes (README, "Reliability"):

* **shared** (``INCEPTION_VIZ_SHARED`` = ``1``, ``true``, ``yes`` or ``on``; set by the
  lecture-hall launcher and the deploy files): no visitor is trusted.
* **local** (default): a visitor is trusted only when the browser evidently runs on the
  server's own machine; every other visitor gets exactly the shared behaviour.

A trusted visitor may type the path of a ``googlenet-12.onnx`` on the server, download the
zoo file into the cache, and sees the cache folder and tracebacks. An untrusted one sees no
server path, no account name, no traceback, no download button, and no message that says
whether a server file exists or how large it is.

The local rule, :func:`decide` (all four must hold; anything unknown counts as "no"):

1. the TCP peer of the visitor's WebSocket is a loopback address. Streamlit 1.67 serves
   with uvicorn, whose proxy-header support rewrites the peer to the ``X-Forwarded-For``
   address when the connection comes from 127.0.0.1, so a proxy on the same machine that
   forwards the client address makes the peer the student's address. ``st.context
   .ip_address`` cannot be used: it maps loopback *and* "no connection" to ``None``; the
   raw peer (``client_context.remote_ip``) is read instead, and under AppTest (no server)
   it is not a string, so AppTest is untrusted unless a test fakes the peer;
2. no proxy evidence: none of :data:`PROXY_HEADERS` in the handshake (a local reverse proxy
   that does not forward the client address still usually adds ``Via`` or
   ``X-Forwarded-*``; ``haproxy`` with ``option forwardfor`` adds ``X-Forwarded-For``);
3. the ``Host`` header (and ``Origin``, when sent) names a loopback host (``localhost``,
   ``*.localhost``, ``127.x.y.z``, ``[::1]``): a browser on this machine opened
   ``http://localhost:8501``; a proxy that keeps the public host name, or a DNS-rebinding
   page, does not pass;
4. the server listens on loopback: ``server.address`` is unset, a wildcard (``0.0.0.0``,
   ``::``) or a loopback address. Unset, the default of ``streamlit run app.py``, means all
   interfaces *including* loopback: the lecturer who browses ``http://localhost:8501`` on
   the laptop keeps the path field, while students on the LAN arrive from their own
   addresses and fail rule 1. A server bound to one non-loopback address cannot be reached
   over loopback by a browser, so a loopback peer there can only be a relay: not trusted.

Pure functions take their inputs as arguments; :func:`current` reads them from Streamlit
and the environment for the script run that calls it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from typing import Iterable, Mapping
from urllib.parse import urlsplit

ENV_VAR = "INCEPTION_VIZ_SHARED"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})

#: Headers that only a proxy or relay adds (lower case; Starlette lower-cases names).
PROXY_HEADERS = frozenset({
    "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port",
    "x-forwarded-server", "x-real-ip", "via", "x-client-ip", "client-ip", "true-client-ip",
    "cf-connecting-ip", "fastly-client-ip", "x-cluster-client-ip", "x-original-forwarded-for",
})


def shared_mode(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``INCEPTION_VIZ_SHARED`` asks for shared mode. A value that is neither a
    yes (1/true/yes/on) nor a no (0/false/no/off, empty) also means shared: a typo must not
    open the server's files to a class."""
    environ = os.environ if environ is None else environ
    raw = str(environ.get(ENV_VAR, "")).strip().lower()
    return raw not in _FALSE


def is_loopback_ip(value) -> bool:
    """``127.0.0.0/8``, ``::1`` or an IPv4-mapped loopback (``::ffff:127.0.0.1``)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        ip = ipaddress.ip_address(value.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def is_loopback_host(host) -> bool:
    """A ``Host`` header value (``name[:port]``, ``[v6]:port``) that names this machine
    over loopback: ``localhost``, ``*.localhost`` (RFC 6761) or a loopback address."""
    if not isinstance(host, str) or not host.strip():
        return False
    try:
        name = urlsplit("//" + host.strip()).hostname
    except ValueError:
        return False
    if not name:
        return False
    name = name.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost") or is_loopback_ip(name)


def listens_on_loopback(address) -> bool:
    """Whether a server bound to ``server.address`` accepts loopback connections: unset or
    empty (all interfaces), a wildcard, ``localhost`` or a loopback address."""
    if address is None:
        return True
    if not isinstance(address, str):
        return False
    a = address.strip().strip("[]").lower()
    return a in ("", "0.0.0.0", "::", "localhost") or is_loopback_ip(a)


@dataclass(frozen=True)
class Trust:
    """The decision for one visitor: ``shared`` (the server's mode), ``trusted`` (may
    name server paths and see them) and ``reason`` (for logs and tests, never shown to an
    untrusted visitor)."""

    shared: bool
    trusted: bool
    reason: str


def decide(shared: bool, peer, headers: Iterable[tuple[str, str]] | None, server_address) -> Trust:
    """The rule of the module docstring."""
    if shared:
        return Trust(True, False, f"{ENV_VAR} is set: shared mode trusts no visitor")
    if not is_loopback_ip(peer):
        return Trust(False, False, "the client address is not loopback (or unknown)")
    pairs = [(str(k).lower(), str(v)) for k, v in (headers or ())]
    proxy = sorted({k for k, _ in pairs if k in PROXY_HEADERS})
    if proxy:
        return Trust(False, False, f"proxy headers present: {', '.join(proxy)}")
    hosts = [v for k, v in pairs if k == "host"]
    if len(hosts) != 1 or not is_loopback_host(hosts[0]):
        return Trust(False, False, "the Host header does not name a loopback host")
    for origin in (v for k, v in pairs if k == "origin"):
        parts = urlsplit(origin.strip())
        if not parts.netloc or not is_loopback_host(parts.netloc):
            return Trust(False, False, "the Origin header does not name a loopback host")
    if not listens_on_loopback(server_address):
        return Trust(False, False, "the server is bound to a non-loopback address")
    return Trust(False, True, "local mode, browser on this machine over loopback")


#: An absolute POSIX path of two or more parts (``/home/x``, ``/tmp/abc/model.keras``); a
#: TensorFlow device name (``/GPU:0``) or ``GFLOP/s`` is not one.
_ABS_PATH = re.compile(r"(?<![\w.:/~-])/(?:[\w.@+~-]+/)+[\w.@+~-]*")


def server_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Strings of this server that no untrusted visitor may see: the home directory, the
    cache folder, the temporary folder, the working directory, the package folder and the
    account name (longest first)."""
    import getpass
    import tempfile
    from pathlib import Path

    environ = os.environ if environ is None else environ
    found: set[str] = set()
    for get in (
        lambda: str(Path.home()),
        lambda: environ.get("INCEPTION_VIZ_CACHE") or "",
        lambda: str(Path(environ["INCEPTION_VIZ_CACHE"]).expanduser().resolve()) if environ.get("INCEPTION_VIZ_CACHE") else "",
        lambda: tempfile.gettempdir(),
        lambda: os.getcwd(),
        lambda: str(Path(__file__).resolve().parent.parent),
    ):
        try:
            v = get()
        except Exception:  # noqa: BLE001 - a folder that cannot be found cannot leak
            continue
        if v and v not in ("/", "."):
            found.add(v.rstrip("/"))
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001
        user = ""
    if len(user) >= 3:
        found.add(user)
    return tuple(sorted(found, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without any of ``secrets`` and without absolute paths: what an error may
    show an untrusted visitor. A second line of defence: messages shown to visitors are
    written without paths in the first place."""
    out = _ABS_PATH.sub("<server path>", str(text))
    for s in secrets:
        if s:
            left = r"(?<![\w/.-])" if "/" in s else r"(?<![\w])"
            out = re.sub(left + re.escape(s) + r"(?![\w.-])", "<server path>" if "/" in s else "<account>", out)
    return out


# ---------------------------------------------------------------------------------------
# Streamlit-facing


def _connection() -> tuple[object, list[tuple[str, str]]]:
    """The raw TCP peer and the handshake headers of the current session (``(None, [])``
    when there is no connection). Tests replace this function to fake a client."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return None, []
    try:
        client = runtime.get_instance().get_client(ctx.session_id)
        cc = getattr(client, "client_context", None) if client is not None else None
        peer = getattr(cc, "remote_ip", None) if cc is not None else None
        headers = list(getattr(cc, "headers", None) or ()) if cc is not None else []
    except Exception:  # noqa: BLE001 - no connection information means "not trusted"
        return None, []
    if not all(isinstance(h, tuple) and len(h) == 2 for h in headers):
        headers = []
    return peer, headers


def _server_address():
    import streamlit as st

    return st.get_option("server.address")


def current() -> Trust:
    """The decision for the visitor of the running script."""
    shared = shared_mode()
    if shared:
        return decide(True, None, None, None)
    peer, headers = _connection()
    return decide(False, peer, headers, _server_address())


def trusted() -> bool:
    """Whether the visitor of the running script may name and see server paths."""
    return current().trusted


__all__ = ["ENV_VAR", "PROXY_HEADERS", "Trust", "current", "decide", "is_loopback_host", "is_loopback_ip",
           "listens_on_loopback", "redact", "server_secrets", "shared_mode", "trusted"]
