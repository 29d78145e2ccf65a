"""Render DOT source to SVG or PNG with Graphviz's ``dot`` (through the ``graphviz``
package). Without ``dot`` installed, :class:`RenderError` says how to install it."""

from __future__ import annotations

import shutil

import graphviz

from .spec import SpecError

FORMATS = ("svg", "png")
INSTALL_HINT = (
    "install Graphviz: apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS), "
    "winget install graphviz (Windows)"
)


class RenderError(SpecError):
    """DOT could not be rendered; the message says what to do."""


def dot_available() -> bool:
    return shutil.which("dot") is not None


def render(source: str, fmt: str = "svg") -> bytes:
    """``source`` rendered by ``dot`` as ``svg`` or ``png`` bytes."""
    if fmt not in FORMATS:
        raise RenderError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    if not dot_available():
        raise RenderError(f"Graphviz's dot is not installed; {INSTALL_HINT}")
    try:
        return graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise RenderError(f"Graphviz's dot is not installed; {INSTALL_HINT}") from None
    except graphviz.CalledProcessError as exc:
        msg = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"dot failed: {msg[0] if msg else exc}") from None


__all__ = ["render", "dot_available", "RenderError", "FORMATS", "INSTALL_HINT"]
