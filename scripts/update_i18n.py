"""Refresh the translation template and catalogues from the code (see docs/i18n.md).

    .venv/bin/python scripts/update_i18n.py            # every language
    .venv/bin/python scripts/update_i18n.py --init fr  # start a new language

It runs Babel's own command line: ``pybabel extract`` (the ``_``/``N_``/``gettext``/
``ngettext``/``pgettext`` calls in the files ``babel.cfg`` names) into
``inception_viz/locale/inception_viz.pot``, then ``pybabel update`` (or ``init``) of each
``inception_viz/locale/<lang>/LC_MESSAGES/inception_viz.po``. New strings arrive empty,
strings whose English changed arrive ``#, fuzzy``: translate them and drop the flag
(``tests/test_i18n.py`` fails until every entry is translated and none is fuzzy).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "inception_viz" / "locale"
POT = LOCALE / "inception_viz.pot"


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def main(argv: list[str]) -> None:
    os.chdir(ROOT)  # locations in the catalogues relative to the repository
    pybabel(
        "extract", "-F", "babel.cfg", "-o", str(POT.relative_to(ROOT)), "--add-location=file", "--sort-by-file",
        "--project=Inception Explorer", "--copyright-holder=Inception Explorer", "--no-wrap",
        "--msgid-bugs-address=-", ".",
    )
    _tidy(POT)
    if argv[:1] == ["--init"]:
        pybabel("init", "-i", str(POT), "-d", str(LOCALE), "-D", "inception_viz", "-l", argv[1], "--no-wrap")
        return
    pybabel("update", "-i", str(POT), "-d", str(LOCALE), "-D", "inception_viz", "--no-wrap", "--ignore-obsolete")
    for po in LOCALE.glob("*/LC_MESSAGES/inception_viz.po"):
        _tidy(po)


def _tidy(path: Path) -> None:
    """Babel's placeholder header lines (an e-mail template, a mailing-list address) out."""
    text = path.read_text(encoding="utf-8")
    text = text.replace("FIRST AUTHOR <EMAIL@ADDRESS>", "Inception Explorer").replace("FULL NAME <EMAIL@ADDRESS>", "Inception Explorer")
    text = "\n".join(line for line in text.split("\n") if not line.startswith('"Language-Team:'))
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
