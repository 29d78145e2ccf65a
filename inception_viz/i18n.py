"""The app's languages: gettext catalogues (English source strings, Spanish translation)
and Babel's number formats, per session, never process-global.

Catalogues
    ``inception_viz/locale/<lang>/LC_MESSAGES/inception_viz.po`` (one file per language)
    and the template ``inception_viz/locale/inception_viz.pot``. They are compiled in memory
    the first time a language is asked for (``babel.messages.pofile.read_po`` ->
    ``babel.messages.mofile.write_mo`` -> :class:`gettext.GNUTranslations`) and cached for
    the process, so there is no build step: the README's two commands are still all. English is the source language (msgids are the
    English text), so English needs no catalogue and is byte-for-byte what the code says.

API
    ``tr = translator("es")`` (any tag: ``"es-AR"``, ``"es_AR"``; unknown -> English) gives a
    :class:`Translator` with ``tr.gettext`` (always spelled so: Babel extracts it), ``tr.ngettext``,
    ``tr.pgettext``, ``tr.npgettext`` and the number helpers ``tr.int(6998552)`` ->
    ``"6.998.552"`` (es) / ``"6,998,552"`` (en), ``tr.decimal(x, digits)``,
    ``tr.percent(x, digits)`` (``x`` a fraction: 0.254 -> ``"25,4%"`` es, ``"25.4%"`` en),
    ``tr.signed_int(n)`` (``"+1.234"``), ``tr.k(n, k=1000)`` (K/M/G: ``"163,70 K"``),
    ``tr.separators`` (Plotly ``layout.separators``). Pure modules take ``tr=None`` and
    use :func:`resolve` (``None`` -> English), so their default output never changes.

The session's language (views)
    ``app.py`` calls :func:`use` with the session's language at the start of every script
    run (and every app callback before it touches text). :func:`use` sets a
    :class:`contextvars.ContextVar`: Streamlit runs each session's script in its own
    thread, and a context variable is per thread, so two students in two languages never
    see each other's words. Views then write::

        from inception_viz.i18n import _, N_, current

        st.caption(_("Blocks in network order"))     # translated for this session
        tr = current()                                # numbers and plurals
        st.write(_("{n} parameters").format(n=tr.int(report.total_params)))
        LABELS = {"x": N_("Width")}                  # a msgid at import; _() it at render

    Outside a script run (the CLI, tests, a fresh thread) :func:`current` is English.
    How to convert a view: ``docs/i18n.md``.
"""

from __future__ import annotations

import gettext
import io
from decimal import Decimal
import re
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

#: gettext domain; the .po/.pot files are named after it.
DOMAIN = "inception_viz"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: The languages the app offers, source language first.
LANGUAGES: tuple[str, ...] = ("en", "es")
DEFAULT_LANGUAGE = "en"
#: Each language in its own words (the sidebar's selector).
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
#: Babel locale per language: Spanish as written in the Río de la Plata.
BABEL_LOCALES = {"en": "en_US", "es": "es_AR"}
#: Plotly ``layout.separators`` per language: decimal mark, then thousands separator.
PLOTLY_SEPARATORS = {"en": ".,", "es": ",."}
#: A .po file larger than this is refused (they are repo files; a guard, not a limit).
MAX_PO_BYTES = 4 * 1024 * 1024

_TAG = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*\s*$")


def normalize(tag) -> str | None:
    """The supported language a language tag names (``"es-AR"`` -> ``"es"``, ``"EN"`` ->
    ``"en"``), or ``None`` for anything else (unsupported, malformed, not a string)."""
    if not isinstance(tag, str):
        return None
    m = _TAG.match(tag)
    lang = m.group(1).lower() if m else None
    return lang if lang in LANGUAGES else None


def from_accept_language(header) -> str | None:
    """The first supported language of an Accept-Language header, by quality (RFC 9110:
    ``"fr;q=0.9, es-AR, en;q=0.5"`` -> ``"es"``), or ``None``."""
    if not isinstance(header, str):
        return None
    choices = []
    for i, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.partition(";")
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        lang = normalize(tag)
        if lang and q > 0:
            choices.append((-q, i, lang))
    return min(choices)[2] if choices else None


def negotiate(query=None, locale=None, accept_language=None) -> str:
    """The language to show: the URL's ``lang`` if supported, else the browser's
    ``navigator.language`` (``st.context.locale``), else its Accept-Language header, else
    English. A bad value at any step is skipped silently."""
    return normalize(query) or normalize(locale) or from_accept_language(accept_language) or DEFAULT_LANGUAGE


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=None)
def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English: the identity), built once per process.
    Fuzzy entries are left out, as ``msgfmt`` does."""
    if lang == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    path = po_path(lang)
    if path.stat().st_size > MAX_PO_BYTES:
        raise ValueError(f"{path.name} is larger than {MAX_PO_BYTES} bytes")
    with path.open("rb") as f:
        cat = read_po(f, locale=BABEL_LOCALES[lang], domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _exact(x):
    """A float as the exact Decimal of its binary value: Babel then rounds it as Python's
    ``f"{x:.2f}"`` does (half-even on the true value), so English output is unchanged."""
    return Decimal(x) if isinstance(x, float) else x


class Translator:
    """Text and numbers in one language. Build with :func:`translator` (cached)."""

    def __init__(self, lang: str):
        self.lang = lang
        self.locale = Locale.parse(BABEL_LOCALES[lang])
        self._t = catalog(lang)
        self.separators = PLOTLY_SEPARATORS[lang]

    def __repr__(self) -> str:
        return f"Translator({self.lang!r})"

    # -- text -----------------------------------------------------------------------

    def gettext(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self._t.pgettext(context, message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self._t.npgettext(context, singular, plural, n)

    # -- numbers (Babel; English output equals the old f"{n:,}" style exactly) ----------

    def int(self, n) -> str:
        """Exact, grouped: 6,998,552 (en) / 6.998.552 (es)."""
        return format_decimal(int(n), locale=self.locale, group_separator=True)

    def signed_int(self, n) -> str:
        """A delta: +1,234 / -1,234 (en); +1.234 / -1.234 (es)."""
        return ("+" if n >= 0 else "") + self.int(n)

    def decimal(self, x, digits: int = 2, group: bool = True) -> str:
        """``x`` with exactly ``digits`` decimals, grouped unless ``group=False``:
        1,234.50 / 1.234,50."""
        pattern = ("#,##0" if group else "0") + ("." + "0" * digits if digits > 0 else "")
        return format_decimal(_exact(x), format=pattern, locale=self.locale, decimal_quantization=True)

    def percent(self, x, digits: int = 1) -> str:
        """A fraction as a percentage with ``digits`` decimals: 0.254 -> 25.4% / 25,4 %."""
        pattern = "0" + ("." + "0" * digits if digits > 0 else "") + "%"  # ungrouped, like f"{x:.1%}"
        return format_percent(_exact(x), format=pattern, locale=self.locale, decimal_quantization=True)

    def k(self, n, k: int = 1000) -> str:
        """Compact with a unit, like :func:`inception_viz.counter.fmt_k`: 163.70 K /
        163,70 K (K = 1000 unless ``k=1024``, the paper's unit); below K, exact."""
        for unit, scale in (("G", k**3), ("M", k**2), ("K", k)):
            if abs(n) >= scale:
                return f"{self.decimal(n / scale, 2, group=False)} {unit}"
        return str(n)


@lru_cache(maxsize=None)
def _translator(lang: str) -> Translator:
    return Translator(lang)


def translator(lang=None) -> Translator:
    """The (cached) translator of ``lang``; anything unsupported, or ``None``, is English."""
    return _translator(normalize(lang) or DEFAULT_LANGUAGE)


def resolve(tr: Translator | None) -> Translator:
    """What a pure function with an optional ``tr`` argument uses: ``None`` -> English."""
    return tr if tr is not None else translator(DEFAULT_LANGUAGE)


def plotly_separators(lang) -> str:
    """Plotly's ``layout.separators`` for ``lang``: ``",."`` (es), ``".,"`` (en)."""
    return translator(lang).separators


# -- the session's language (set by app.py per script run) ---------------------------------

_current: ContextVar[str] = ContextVar("inception_viz_lang", default=DEFAULT_LANGUAGE)


def use(lang) -> Translator:
    """Make ``lang`` the language of this thread's context (app.py: once per script run,
    and in callbacks); returns its translator."""
    tr = translator(lang)
    _current.set(tr.lang)
    return tr


def current() -> Translator:
    """The translator of the current session (English outside a script run)."""
    return translator(_current.get())


def _(message: str) -> str:
    """``gettext`` in the current session's language."""
    return current().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return current().ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return current().pgettext(context, message)


def N_(message: str) -> str:
    """Marks ``message`` for extraction without translating it (labels defined at import,
    translated with ``_()`` where they are drawn)."""
    return message


__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "DEFAULT_LANGUAGE",
    "Translator",
    "N_",
    "_",
    "catalog",
    "current",
    "from_accept_language",
    "negotiate",
    "ngettext",
    "normalize",
    "pgettext",
    "plotly_separators",
    "resolve",
    "translator",
    "use",
]
