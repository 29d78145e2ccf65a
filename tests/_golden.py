"""Golden-file comparison shared by the tests (``REGEN_GOLDEN=1`` rewrites the files on purpose)."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("REGEN_GOLDEN") == "1"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGEN:
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with REGEN_GOLDEN=1 to create it"
    assert text == path.read_text(), f"{name} changed; if on purpose, rerun with REGEN_GOLDEN=1"
