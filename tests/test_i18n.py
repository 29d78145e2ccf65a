"""Two languages: the catalogue, the number formats, the per-session language, the
string scan of the app and its views, and the Spanish page in AppTest.

The browser test of the Spanish page is ``tests/test_i18n_browser.py``.
"""

from __future__ import annotations

import ast
import json
import re
import string
import sys
import threading
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as hs
from streamlit.testing.v1 import AppTest

from inception_viz import config, counter, figures, graph, i18n, paper, presets, views
from inception_viz.counter import fmt_int, fmt_k
from inception_viz.views import blocks as blocks_view

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import app  # noqa: E402  (importing does not run main())
from test_app import open_folded_sections  # noqa: E402
from test_app_downloads import served  # noqa: E402,F401  (the fixture recording each download)

APP = str(ROOT / "app.py")
TIMEOUT = 180
VIEWS_DIR = ROOT / "inception_viz" / "views"

#: View modules whose strings are not yet wrapped (issue 15's second pass converts them
#: one by one and removes them here; see docs/i18n.md). A module listed here that has no
#: finding left fails too, so the list only shrinks.
NOT_YET_CONVERTED = frozenset({
})

GOOGLENET = counter.analyze(presets.googlenet())


# ---------------------------------------------------------------------------------------
# numbers


def test_spanish_and_english_numbers():
    es, en = i18n.translator("es"), i18n.translator("en")
    assert es.int(6_998_552) == "6.998.552" and en.int(6_998_552) == "6,998,552"
    # inception_3a: 163,696 parameters = 163.696 K (K = 1000) -> 163,70 K
    assert es.k(163_696) == "163,70 K" and en.k(163_696) == "163.70 K"
    # the paper's unit: 1,042,432 / 1024 = 1018.0 K
    assert es.k(1_042_432, 1024) == "1018,00 K"
    assert es.percent(0.254, 1) == "25,4%" and en.percent(0.254, 1) == "25.4%"
    assert es.decimal(1234.5, 2) == "1.234,50" and en.decimal(1234.5, 2) == "1,234.50"
    assert es.signed_int(-110_720) == "-110.720" and es.signed_int(45_056) == "+45.056"
    assert i18n.plotly_separators("es") == ",." and i18n.plotly_separators("en") == ".,"


@given(hs.integers(-(10**13), 10**13))
def test_english_numbers_are_the_old_ones(n):
    """English output stays byte-identical: the translator equals counter's formatters."""
    en = i18n.translator("en")
    assert en.int(n) == fmt_int(n) and en.k(n) == fmt_k(n) and en.k(n, 1024) == fmt_k(n, 1024)
    assert en.signed_int(n) == f"{n:+,}"


@given(hs.floats(-1e7, 1e7, allow_nan=False))
def test_english_decimals_round_like_python(x):
    en = i18n.translator("en")
    assert en.decimal(x, 2) == f"{x:,.2f}" and en.decimal(x, 1) == f"{x:,.1f}"
    assert en.percent(x, 1) == f"{x:.1%}" and en.decimal(x, 3, group=False) == f"{x:.3f}"


# ---------------------------------------------------------------------------------------
# choosing the language


@pytest.mark.parametrize("tag, lang", [
    ("es", "es"), ("es-AR", "es"), ("es_419", "es"), ("EN-us", "en"), ("en", "en"),
    ("fr", None), ("", None), ("e", None), ("es-", None), ("../es", None), (None, None), (["es"], None),
])
def test_normalize(tag, lang):
    assert i18n.normalize(tag) == lang


def test_negotiation_order():
    assert i18n.negotiate("es", "en-US", "en") == "es"  # the URL first
    assert i18n.negotiate("xx", "es-AR", "en") == "es"  # a bad URL value is skipped silently
    assert i18n.negotiate(None, None, "fr-FR, es;q=0.8, en;q=0.9") == "en"  # by quality
    assert i18n.negotiate(None, None, "fr-FR, es-AR;q=0.8, *;q=0.1") == "es"
    assert i18n.negotiate(None, None, "es;q=0, en;q=0.1") == "en"  # q=0: not acceptable
    assert i18n.negotiate(None, "de", "de, fr") == "en"  # English fallback
    assert i18n.translator("klingon").lang == "en"


def test_language_is_per_thread_context():
    """Streamlit runs each session's script in its own thread: one session's language
    never leaks into another's (the contextvar is per thread)."""
    seen = {}

    def session(lang, barrier):
        i18n.use(lang)
        barrier.wait()  # both threads have set their language before either reads it
        seen[lang] = (i18n._("Blocks"), i18n.current().int(6_998_552))

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=session, args=(lang, barrier)) for lang in ("es", "en")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"es": ("Bloques", "6.998.552"), "en": ("Blocks", "6,998,552")}
    assert i18n.current().lang == "en"  # this thread never chose


def test_lang_is_an_app_parameter_not_a_model_one():
    assert "lang" in config.APP_QUERY_KEYS
    assert config.spec_from_query({"preset": "googlenet", "lang": "es", "view": "graph"}) == presets.googlenet()


# ---------------------------------------------------------------------------------------
# the pure modules in Spanish (English output is covered by the golden files)


def test_graph_labels_in_spanish():
    es = i18n.translator("es")
    dot = graph.overview_dot(GOOGLENET, tr=es)
    # inception_3a: 163,696 params -> "163,70 K parámetros"; the title's exact total
    assert "163,70 K parámetros" in dot and "6.998.552 parámetros" in dot
    assert "params" not in dot and "inception_3a" in dot  # layer names stay
    block = graph.block_dot(GOOGLENET, "inception_3a", tr=es)
    assert "rama conv 3x3" in block and "128 filtros" in block and "163.696 parámetros" in block
    assert graph.overview_dot(GOOGLENET) == graph.overview_dot(GOOGLENET, tr=i18n.translator("en"))


def test_figures_in_spanish():
    es = i18n.translator("es")
    fig = figures.block_metric_figure(GOOGLENET, "params", tr=es)
    assert fig.layout.separators == ",." and fig.layout.title.text == "Parámetros por bloque, por rama"
    assert {t.name for t in fig.data} == {"conv 1x1", "conv 3x3", "conv 5x5", "max pool 3x3 + proy."}
    assert "de los %{customdata[1]} del bloque" in fig.data[0].hovertemplate
    # inception_3a's 1x1 branch: 192*64 weights + 64 biases = 12,352; of 163,696 = 7.5 %
    assert 192 * 64 + 64 == 12_352 and f"{12_352 / 163_696:.1%}" == "7.5%"
    assert list(fig.data[0].customdata[0]) == ["12.352", "163.696", "7,5%"]
    assert figures.block_metric_figure(GOOGLENET).layout.separators is None  # English: Plotly's default
    field = figures.receptive_field_figure(GOOGLENET, tr=es)
    assert field.layout.title.text == "Campo receptivo por capa (alto): 7 px → 907 px"
    dot = graph.overview_dot(GOOGLENET, tr=es)
    assert re.search(r"campo \d+ px", dot) and "field" not in dot


def test_paper_notes_in_spanish():
    es = i18n.translator("es")
    notes = {c.name: c for c in paper.compare(GOOGLENET)}
    assert notes["conv1"].note_text() == notes["conv1"].note  # English: the note itself
    assert "2.712 pesos" in notes["conv1"].note_text(es)
    # at another input size the size note is a whole Spanish sentence too; English unchanged
    small = {c.name: c for c in paper.compare(counter.analyze(config.spec_from_query({"input": "160x160x3"})))}
    assert small["inception_3a"].note_text() == small["inception_3a"].note
    assert small["inception_3a"].note_text(es).startswith("La salida")
    assert small["inception_3a"].note_text(es).endswith("sigue a la entrada de 160×160 (alto × ancho; la del paper es de 224×224)") \
        or "siguen a la entrada de 160×160" in small["inception_3a"].note_text(es)
    assert small["conv1"].note_text(es).endswith("; la salida sigue a la entrada de 160×160 (alto × ancho; la del paper es de 224×224)")



def test_seed_rows_in_spanish():
    """The seed comparison's labels and notes in the page's language; English by default."""
    es = i18n.translator("es")
    # a 2x2 map: a valid 3x3 conv is not possible there
    row = counter.analyze(config.spec_from_query({"preset": "block", "input": "2x2x64"})).row("inception_3a")
    english, spanish = counter.seed_comparison(row, 130), counter.seed_comparison(row, 130, tr=es)
    assert [r.model for r in english] == ["Inception inception_3a", "plain 3x3 conv, 130 filters", "plain 5x5 conv, 130 filters"]
    assert [r.model for r in spanish] == ["Inception inception_3a", "conv 3x3 simple, 130 filtros", "conv 5x5 simple, 130 filtros"]
    assert english[1].note.startswith("not possible: a 3x3 valid conv needs a map of at least 3x3; this one is 2x2")
    assert spanish[1].note == "imposible: una conv 3x3 valid necesita un mapa de al menos 3x3; este es de 2x2"
    assert [(r.params, r.macs) for r in english] == [(r.params, r.macs) for r in spanish]  # only the words change


# ---------------------------------------------------------------------------------------
# the catalogue


def _po(lang: str):
    with i18n.po_path(lang).open("rb") as f:
        return read_po(f)


def _extracted() -> set:
    """Every msgid the code uses, by Babel's extractor over what babel.cfg names."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    return {(ctx, msg if isinstance(msg, str) else msg[0]) for _, _, msg, _, ctx in extract_from_dir(str(ROOT), method_map, options_map)}


def _ids(catalog) -> set:
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("lang", [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT_LANGUAGE])
def test_catalogue_is_complete(lang):
    cat = _po(lang)
    extracted = _extracted()
    ids = _ids(cat)
    fix = "run .venv/bin/python scripts/update_i18n.py and translate (docs/i18n.md)"
    assert not extracted - ids, f"{lang}.po lacks {sorted(extracted - ids)[:5]}: {fix}"
    assert not ids - extracted, f"{lang}.po has strings the code no longer uses {sorted(ids - extracted)[:5]}: {fix}"
    assert _ids(read_po((ROOT / "inception_viz/locale/inception_viz.pot").open("rb"))) == extracted, fix
    for m in cat:
        if not m.id:
            continue
        assert not m.fuzzy, f"fuzzy entry in {lang}.po: {m.id!r}"
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(strings), f"untranslated entry in {lang}.po: {m.id!r}"
        if isinstance(m.id, tuple):
            assert len(strings) == cat.num_plurals, m.id
        # a translation may reorder the {placeholders} but not rename, drop or add one
        want = set().union(*map(_fields, m.id if isinstance(m.id, tuple) else (m.id,)))
        for s in strings:
            assert _fields(s) == want, f"{lang}.po: {m.id!r} -> {s!r} changes the placeholders"
    # and the compiled catalogue answers (Babel compiles it at import: no build step)
    assert i18n.translator(lang).gettext("Blocks") != "Blocks"


# ---------------------------------------------------------------------------------------
# every string a person reads goes through the catalogue (AST scan)

#: Streamlit elements whose every positional argument is text a person reads.
DISPLAY = {
    "title", "header", "subheader", "caption", "markdown", "write", "text", "error", "warning", "info",
    "success", "toast", "spinner", "expander", "popover", "status", "metric", "tabs", "badge",
}
#: Widgets whose first positional argument is their label.
WIDGETS = {
    "button", "download_button", "link_button", "checkbox", "toggle", "radio", "selectbox", "multiselect",
    "select_slider", "slider", "number_input", "text_input", "text_area", "date_input", "time_input",
    "file_uploader", "camera_input", "color_picker", "segmented_control", "pills", "form_submit_button",
    "page_link", "chat_input",
}
#: Keyword arguments that are text a person reads, on any call.
TEXT_KEYWORDS = {"label", "help", "caption", "placeholder", "body", "text", "delta", "show_spinner", "title"}
#: Calls whose result is translated text.
WRAPPERS = {"_", "gettext", "ngettext", "pgettext", "npgettext"}
#: A line that carries this comment may pass a literal on purpose (a product name, a
#: layer name, a file format).
KEEP = "# i18n: keep"
_LETTER = re.compile(r"[^\W\d_]")


def _unwrapped(node: ast.AST) -> bool:
    """Whether ``node`` is text with words in it that did not go through the catalogue."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(_LETTER.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_unwrapped(v) for v in node.values if isinstance(v, ast.Constant)) or any(
            _unwrapped(v.value) for v in node.values if isinstance(v, ast.FormattedValue)
        )
    if isinstance(node, ast.BinOp):
        return _unwrapped(node.left) or _unwrapped(node.right)
    if isinstance(node, ast.IfExp):
        return _unwrapped(node.body) or _unwrapped(node.orelse)
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(_unwrapped(e) for e in node.elts)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name in WRAPPERS:
            return False
        if isinstance(func, ast.Attribute) and name in ("format", "join"):  # "...".format(x=...)
            return _unwrapped(func.value) or any(_unwrapped(a) for a in (*node.args, *(k.value for k in node.keywords)))
    return False


def scan(source: str, filename: str) -> list[str]:
    """``file:line: call: text`` for each literal a person reads that is not wrapped."""
    lines = source.splitlines()
    found = []

    def report(call: str, arg: ast.AST) -> None:
        if not _unwrapped(arg):
            return
        if any(KEEP in lines[i - 1] for i in range(arg.lineno, (arg.end_lineno or arg.lineno) + 1)):
            return
        found.append(f"{filename}:{arg.lineno}: {call}: {ast.get_source_segment(source, arg)[:70]}")

    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) and not isinstance(func.value, ast.Constant) else None
        if name in DISPLAY:
            for arg in node.args:
                report(name, arg)
        elif name in WIDGETS and node.args:
            report(name, node.args[0])
        for kw in node.keywords:
            if kw.arg in TEXT_KEYWORDS:
                report(f"{name or ast.unparse(func)[:20]}({kw.arg}=)", kw.value)
    return sorted(found, key=lambda f: int(f.split(":")[1]))


def _scan_file(path: Path) -> list[str]:
    return scan(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))


def test_scan_finds_unwrapped_strings():
    """The scan itself can fail: each kind of unwrapped text is found, wrapped text is not."""
    src = '''
import streamlit as st
from inception_viz.i18n import _, current
tr = current()
st.caption("Blocks in order")
sb.number_input("Height", 1, 10)
c1.metric(_("Total"), f"{n} layers", tr.gettext("{d} vs preset").format(d=d))
st.info(f"{_('Hello')}: {name}")
st.warning("Widths: " + shown)
st.button(_("Go"), help="Click to go")
st.error(_("ok") if good else "bad news")
st.tabs([_("One"), "Two"])
st.selectbox(_("Pick"), ["a", "b"], format_func=str)
st.title(f"Inception Explorer · {name}")  # i18n: keep
st.write("—", 1234, f"{n:,}")
x = "a plain assignment".title()
st.error("{n} wrong".format(n=1))
'''
    found = scan(src, "x.py")
    assert [f.split(":")[1] for f in found] == ["5", "6", "7", "9", "10", "11", "12", "17"], found
    assert found[0] == 'x.py:5: caption: "Blocks in order"'


def test_app_and_converted_views_wrap_every_string():
    files = [ROOT / "app.py"] + [p for p in sorted(VIEWS_DIR.glob("*.py")) if p.name not in NOT_YET_CONVERTED]
    found = [f for p in files for f in _scan_file(p)]
    assert not found, "wrap these in _() / tr.gettext (or mark '# i18n: keep'):\n" + "\n".join(found)


def test_not_yet_converted_list_only_shrinks():
    names = {p.name for p in VIEWS_DIR.glob("*.py")}
    assert NOT_YET_CONVERTED <= names, f"no such view module: {sorted(NOT_YET_CONVERTED - names)}"
    done = sorted(n for n in NOT_YET_CONVERTED if not _scan_file(VIEWS_DIR / n))
    assert not done, f"{done} have no unwrapped strings left: take them off NOT_YET_CONVERTED"


# ---------------------------------------------------------------------------------------
# the app in Spanish


def run_app(query: dict[str, str] | None = None, locale: str | None = None, **session) -> AppTest:
    """The app, with the sidebar's two folded sections and the Blocks view's *All blocks*
    open (as after a click on each), and ``session`` in its session state."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if locale:
        at.context["locale"] = locale
    for k, v in (query or {}).items():
        at.query_params[k] = v
    open_folded_sections(at)
    for k, v in session.items():
        at.session_state[k] = v
    return at.run()


def qp(at: AppTest, key: str):
    value = at.query_params.get(key)
    return value[-1] if isinstance(value, list) else value


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_spanish_page_from_the_url():
    at = run_app({"lang": "es"})
    assert not at.exception
    m = metrics(at)
    assert m["Parámetros (pesos + sesgos)"] == "6.998.552"
    # the counter's multiply-adds, grouped with dots
    assert m["Multiplicaciones-sumas (MACs) por imagen"] == f"{GOOGLENET.total_macs:,}".replace(",", ".")
    assert m["Profundidad (capas con pesos)"] == "22 capas"
    assert [e.proto.label for e in at.sidebar.expander] == ["Entrada y opciones: 224x224x3 · 1.000 clases",
                                                           "Compartir o cargar una configuración"]
    assert at.sidebar.selectbox(key="lang").value == "es"
    assert {n.label for n in at.sidebar.number_input} >= {"Alto", "Ancho", "Canales", "Clases"}
    assert at.button_group(key=app.VIEW_KEY).options == [i18n.translator("es").gettext(v.label) for v in views.VIEWS]
    assert at.button_group(key=app.VIEW_KEY).value == "Bloques"
    assert at.caption[0].value.startswith("GoogLeNet exactamente como en Szegedy")
    assert qp(at, "lang") == "es" and qp(at, "view") == "blocks"


@pytest.mark.parametrize("key", [v.key for v in views.VIEWS])
def test_every_view_opens_in_spanish(key):
    """A shared Spanish link to each view: it opens, in Spanish, with Spanish numbers. (Each
    view's own texts get their assertions here as the views are converted.)"""
    at = run_app({"lang": "es", "view": key})
    assert not at.exception and not at.error
    assert metrics(at)["Parámetros (pesos + sesgos)"] == "6.998.552"
    assert at.session_state[app.VIEW_KEY] == i18n.translator("es").gettext(views.view_by_key(key).label)
    assert qp(at, "view") == key and qp(at, "lang") == "es"


def test_language_survives_an_edit_and_a_view_switch():
    at = run_app({"lang": "es", "preset": "googlenet"})
    key = next(n.key for n in at.sidebar.number_input if n.label == "Clases")
    at.sidebar.number_input(key=key).set_value(10).run()
    # 1000 -> 10 classes: 990 fewer outputs of 1024 weights + 1 bias = 1,014,750 fewer
    assert 6_998_552 - 990 * 1025 == 5_983_802
    assert metrics(at)["Parámetros (pesos + sesgos)"] == "5.983.802"
    assert at.metric[0].delta == "-1.014.750 respecto del preset"
    assert qp(at, "lang") == "es" and qp(at, "classes") == "10"
    at.button_group(key=app.VIEW_KEY).set_value("Grafo").run()  # a click on the Graph view
    assert not at.exception and qp(at, "view") == "graph" and qp(at, "lang") == "es"


def test_switching_language_keeps_the_open_view():
    at = run_app({"view": "charts"})
    assert metrics(at)["Parameters (weights + biases)"] == "6,998,552" and qp(at, "lang") == "en"
    at.sidebar.selectbox(key="lang").set_value("es").run()
    assert not at.exception
    assert metrics(at)["Parámetros (pesos + sesgos)"] == "6.998.552"
    assert qp(at, "view") == "charts" and qp(at, "lang") == "es"
    assert at.session_state[app.VIEW_KEY] == "Gráficos"


def test_browser_language_and_fallbacks():
    # navigator.language es-AR, no lang in the URL: Spanish, and the URL says so
    at = run_app(locale="es-AR")
    assert "6.998.552" in metrics(at).values() and qp(at, "lang") == "es"
    # the URL wins over the browser; a bad value falls back silently
    at = run_app({"lang": "en"}, locale="es-AR")
    assert metrics(at)["Parameters (weights + biases)"] == "6,998,552"
    at = run_app({"lang": "xx"}, locale="fr-FR")
    assert not at.exception and not at.error
    assert metrics(at)["Parameters (weights + biases)"] == "6,998,552" and qp(at, "lang") == "en"


def test_a_bad_address_is_explained_in_spanish():
    at = run_app({"lang": "es", "preset": "googlenet", "inception_3a": "1-2-3"})
    assert at.error and at.error[0].value.startswith("La dirección no describe un modelo válido:")
    assert metrics(at)["Parámetros (pesos + sesgos)"] == "6.998.552"


# ---------------------------------------------------------------------------------------
# each converted view's own texts in Spanish (a shared link: ?lang=es&view=<key>)


def spanish_view(key: str, session: dict | None = None, **query: str) -> AppTest:
    at = run_app({"lang": "es", "view": key, **query}, **(session or {}))
    assert not at.exception and not at.error
    return at


def test_charts_in_spanish():
    at = spanish_view("charts")
    metric = at.radio(key="chart-metric")
    assert metric.label == "Métrica por bloque" and metric.value == "params"  # the value stays English
    assert metric.options == ["parámetros", "multiplicaciones-sumas (MACs)"]
    # the figures follow: Spanish title and Plotly separators
    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    assert layout["title"]["text"] == "Parámetros por bloque, por rama" and layout["separators"] == ",."


def test_seed_comparison_in_spanish():
    at = spanish_view("seed", preset="block")
    # the seed's block: 40 + 10 + 30 + 50 = 130 maps, against the slide's 160
    assert at.subheader[0].value.endswith("contra convoluciones simples con 130 mapas de salida")
    assert at.warning[0].value.startswith("La diapositiva dice que este bloque da 160 mapas de activación")
    df = at.dataframe[0].value
    assert list(df.columns)[:4] == ["modelo", "entrada", "salida", "parámetros"]
    # its parameters: 325 + 460 + 1,300 + 15,030 + 2,600 + 3,250 = 22,965 -> "22.965"
    assert 325 + 460 + 1_300 + 15_030 + 2_600 + 3_250 == 22_965 and df["parámetros"][0] == "22.965"
    assert df["modelo"][1].startswith("conv 3x3 simple, 130 filtros")


def test_graph_in_spanish(served):
    at = spanish_view("graph")
    view = at.radio(key="graph-view")
    assert view.label == "Vista" and view.value == "Overview"  # the widget's value stays English
    assert view.options[0] == "Vista general" and view.options[1] == "Detalle del bloque: inception_3a"
    assert at.radio(key="graph-layout").options == ["de arriba hacia abajo", "de izquierda a derecha"]
    # the Graphviz labels: inception_3a's 163,696 params = 163.70 K -> "163,70 K parámetros"
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "163,70 K parámetros" in dot and "6.998.552 parámetros" in dot
    assert "max pool 3x3 + proy." in next(m.value for m in at.markdown if "background:" in m.value)  # the legend
    # the download is the DOT on screen, named with the Spanish word (layer names stay)
    assert any(b.proto.label == "Descargar DOT" for b in at.get("download_button"))
    assert served["googlenet_vista_general.dot"][1].decode("utf-8") == dot


def test_paper_table_in_spanish():
    at = spanish_view("paper")
    assert any(c.value.startswith("Szegedy et al. 2015, Tabla 1, junto al modelo actual") for c in at.main.caption)
    df = at.dataframe[0].value
    assert list(df.columns)[:4] == ["capa", "salida (paper)", "salida (acá)", "parámetros K (paper)"]
    # conv1 here: 7*7*3*64 = 9,408 weights / 1024 = 9.1875 K -> "9,2" with a decimal comma
    assert 7 * 7 * 3 * 64 == 9_408 and df["parámetros K (acá)"][0] == "9,2"
    assert set(df["estado"]) <= {"coincide", "error del paper", "editado", "difiere", "falta"}
    assert "error del paper" in set(df["estado"])
    assert any("los números del paper están mal" in w.value and "2.712 pesos" in w.value for w in at.warning)


def test_code_in_spanish():
    at = spanish_view("code")
    assert any(c.value.startswith("Keras 3 simple, al estilo de la función inception(...)") for c in at.main.caption)
    # the headline's config download first, then the view's
    assert [b.proto.label for b in at.get("download_button")] == ["Descargar la configuración (JSON)", "Descargar como .py"]
    # the generated code keeps its English identifiers
    assert "def inception(" in at.code[0].value


def column_labels(table) -> dict[str, str]:
    """A dataframe's or data editor's headers as drawn (column_config labels), by column key."""
    return {k: v.get("label", k) for k, v in json.loads(table.proto.columns or "{}").items()}


def test_blocks_in_spanish():
    at = spanish_view("blocks")
    # inception_3a in focus: 28x28x192 in, 28x28x256 out, 163,696 params -> "163.696 parámetros"
    assert at.subheader[0].value == "inception_3a: 28x28x192 → 28x28x256, 163.696 parámetros"
    assert at.toggle[0].label.startswith("Forma ingenua, Figura 2(a)")
    assert at.number_input(key=next(n.key for n in at.main.number_input if n.label == "3x3")).help.startswith("preset: 128;")
    assert [e.label for e in at.expander if e.key == blocks_view.ALL_BLOCKS_KEY] == ["Todos los bloques"]
    assert at.toggle(key=blocks_view.TABLE_EDIT_KEY).label == "Editar en la tabla"
    # the text table: Spanish headers, the paper's width names, Spanish thousands
    from test_app import html_cells

    (table,) = [h.proto.body for h in at.get("html") if "iv-blocks" in h.proto.body]
    header, first = html_cells(table)[:2]
    assert header == ["bloque", "respecto del preset", "1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool_proj",
                      "ingenua (2a)", "entrada", "salida", "parámetros"]
    assert first[0] == "inception_3a" and first[-1] == "163.696"
    at = spanish_view("blocks", session={blocks_view.TABLE_EDIT_KEY: True})
    editor = at.data_editor[0]
    labels = column_labels(editor)
    assert labels["naive"] == "ingenua (2a)" and labels["params"] == "parámetros" and labels["vs preset"] == "respecto del preset"
    assert labels["3x3_reduce"] == "3x3_reduce"  # the paper's width names stay
    assert editor.value.loc["inception_3a", "params"] == "163.696"


def test_blocks_table_error_in_spanish():
    at = spanish_view("blocks", session={blocks_view.TABLE_EDIT_KEY: True})
    (editor,) = at.data_editor  # what the browser sends for an emptied cell (tests/test_app.py)
    at.session_state[editor.key] = {"edited_rows": {1: {"1x1": None}}, "added_rows": [], "deleted_rows": []}
    at.run()
    # the validator's detail stays English (docs/i18n.md); the app's sentence is Spanish
    assert [e.value for e in at.error] == ["inception_3b 1x1 needs a number (0 drops or skips it). El modelo de arriba es el último válido."]
    assert metrics(at)["Parámetros (pesos + sesgos)"] == "6.998.552"


def test_compare_in_spanish(served):
    at = spanish_view("compare")
    pick = at.selectbox(key="compare-pick@googlenet")
    assert pick.label == "Comparar el modelo actual con" and pick.value == "preset naive"  # values stay English
    assert "una configuración subida" in pick.options and "preset googlenet" in pick.options
    naive = counter.analyze(presets.preset("naive"))
    m = metrics(at)
    assert m["Parámetros: naive"] == f"{naive.total_params:,}".replace(",", ".")
    delta = naive.total_params - GOOGLENET.total_params
    assert next(x for x in at.metric if x.label == "Parámetros: naive").delta == f"{delta:+,} respecto del actual".replace(",", ".")
    table = next(d for d in at.dataframe if "Δ params" in d.value.columns)
    labels = column_labels(table)
    assert labels["Δ params"] == "Δ parámetros" and labels["block"] == "bloque" and labels["params K (current)"] == "parámetros K (actual)"
    assert table.value["block"].iloc[-1] == "modelo completo"
    # the whole model: 6,998,552 params = 6,998.552 K -> "6.998,6" with Spanish marks; the delta exact
    assert table.value["params K (current)"].iloc[-1] == "6.998,6"
    assert table.value["Δ params"].iloc[-1] == f"{delta:+,}".replace(",", ".")
    # the CSV is a file format: English keys and numbers, a Spanish file name
    assert any(b.proto.label == "Descargar la comparación (CSV, números exactos)" for b in at.get("download_button"))
    csv = served["comparacion-googlenet-vs-naive.csv"][1]
    csv = csv.decode("utf-8") if isinstance(csv, bytes) else csv
    assert csv.startswith("block,widths (current)") and '"6,998,552"' in csv
    assert at.radio(key="compare-metric").options == ["parámetros", "MACs"]

def test_weights_texts_in_spanish_and_english_unchanged():
    """The notes and labels the Predictions view shows: Spanish through tr, English (the
    CLI's) byte for byte as before."""
    import dataclasses

    from inception_viz import weights as W

    es = i18n.translator("es")
    rnd = W.random_weights(3)
    assert W.weights_label(rnd) == rnd.label == "random initialisation (seed 3)"
    assert W.weights_label(rnd, es) == "inicialización aleatoria (semilla 3)"
    digest = "ab" * 32
    onnx = dataclasses.replace(rnd, source="onnx", key=f"sha256:{digest}", label=W._onnx_label("my.onnx", digest))
    assert onnx.label == "my.onnx (ONNX, zoo layout, SHA-256 abababababab…)" == W.weights_label(onnx)
    assert W.weights_label(onnx, es) == "my.onnx (ONNX, disposición del zoo, SHA-256 abababababab…)"
    trained = dataclasses.replace(rnd, source="imagenet", trained=True, trained_spec=GOOGLENET.spec)
    edited = GOOGLENET.spec.with_options(lrn=False, classes=10)
    en_notes = W.training_differences(edited, trained)
    assert en_notes[1] == ("The model has 10 classes, but these weights were trained for 1,000: the classifier is "
                           "freshly initialised, so its outputs are meaningless.")
    es_notes = W.training_differences(edited, trained, es)
    assert es_notes[0].startswith("La LRN está apagada") and "entrenaron para 1.000:" in es_notes[1]
    assert W.prediction_notes(edited, rnd, None, es) == (es.gettext(W.RANDOM_NOTE),)
    assert W.prediction_notes(edited, rnd, None) == (W.RANDOM_NOTE,)


def test_config_upload_size_error_in_the_sessions_language():
    from types import SimpleNamespace

    from inception_viz.spec import SpecError
    from inception_viz.views import common

    big = SimpleNamespace(size=common.MAX_UPLOAD_BYTES + 1, getvalue=lambda: b"")
    for lang, want in (("en", "{} bytes; a config is at most {}"), ("es", "{} bytes; una configuración tiene como máximo {}")):
        tr = i18n.translator(lang)
        i18n.use(lang)
        try:
            with pytest.raises(SpecError) as exc:
                common.uploaded_config(big)
        finally:
            i18n.use("en")
        assert str(exc.value) == want.format(tr.int(big.size), tr.int(common.MAX_UPLOAD_BYTES))


@pytest.mark.parametrize("text, objective, spanish", [
    ("inception_4c:97", None, "inception_4c canal 97"),
    ("inception_4c:97", "neuron", "inception_4c neurona 97"),
    ("inception_4c:3x3", None, "inception_4c rama 3x3 (inception_4c_3x3)"),
    ("inception_4c", "layer", "inception_4c (la capa entera, media de los cuadrados)"),
    ("linear:281", None, "clase 281 (logit de linear)"),
])
def test_featurevis_target_text(text, objective, spanish):
    """A target's words on the page in Spanish; in English exactly the label the CLI prints."""
    from inception_viz import featurevis as fv

    t = fv.parse_target(GOOGLENET.spec, text, objective)
    assert fv.target_text(t) == t.label and fv.target_text(t, i18n.translator("es")) == spanish

# ---------------------------------------------------------------------------------------
# each converted view, in Spanish (texts the scan cannot see: columns, options, captions)


def test_receptive_view_in_spanish():
    at = run_app({"lang": "es", "view": "receptive"})
    assert not at.exception and not at.error
    assert [s.value for s in at.subheader][:2] == ["Campo teórico de inception_3a", "Campo efectivo (Luo et al. 2016)"]
    assert at.toggle(key="rf-on").label == "Calcular el campo efectivo"
    df = at.dataframe[0].value
    assert list(df.columns) == ["rama", "capa", "qué", "salida", "campo (px)", "salto (px)", "inicio (px)"]
    # the layer names stay English; 3a's concat sees 59 px (README "Receptive fields")
    assert dict(zip(df["capa"], df["campo (px)"]))["inception_3a"] == "59"
    assert df["rama"][0] == "(entrada)" and "rama" not in set(df["rama"])


def test_instantiate_view_in_spanish_before_tensorflow():
    at = run_app({"lang": "es", "view": "instantiate"})
    assert not at.exception and not at.error
    assert any(c.value.startswith("Arma el modelo con Keras 3 (backend TensorFlow).") for c in at.main.caption)
    assert at.toggle(key="tf-on").label == "Cargar TensorFlow" and not at.toggle(key="tf-on").value


def test_predictions_view_in_spanish_before_tensorflow():
    at = run_app({"lang": "es", "view": "predictions"})
    assert not at.exception and not at.error
    assert at.toggle(key="pred-on").label == "Correr la red sobre una imagen"
    sample = at.selectbox(key="pred-sample")
    assert sample.label == "Foto de muestra" and sample.value == "cat"  # the value stays English
    assert sample.options[:2] == ["gato", "café"]
    captions = [i.caption for e in at.get("image") for i in e.proto.imgs]
    assert captions == ["gato (298x448 píxeles, alto × ancho)"]  # assets/cat.jpg: 298 rows of 448 pixels



def test_featurevis_view_in_spanish_survives_a_rerun():
    """Its options are translated by format_func; a rerun sends every widget's state back,
    which AppTest formats outside the script run (the language must be bound, not looked up)."""
    at = run_app({"lang": "es", "view": "featurevis"})
    assert not at.exception and not at.error
    mode = at.radio(key="fv-mode")
    assert mode.options == ["Una imagen", "Una grilla de canales"]
    assert at.radio(key="fv-source").options[0] == "Aleatorios (sin entrenar)"
    at.number_input(key="fv-steps").set_value(64).run()
    assert not at.exception and not at.error
    assert at.radio(key="fv-mode").value == "One image"  # the value stays English

# -- TensorFlow: last in this file (it stays loaded in the process) ---------------------------


def test_predictions_and_instantiate_in_spanish_with_tensorflow():
    from inception_viz.weights import RANDOM_NOTE

    es = i18n.translator("es")
    at = run_app({"lang": "es", "view": "predictions"})
    at.toggle(key="pred-on").set_value(True).run()
    assert not at.exception and not at.error
    # the random-weights note (a msgid of weights.py; the CLI prints it in English)
    assert es.gettext(RANDOM_NOTE) != RANDOM_NOTE and es.gettext(RANDOM_NOTE) in [w.value for w in at.warning]
    assert any(c.value.startswith("Pesos: inicialización aleatoria (semilla 0). Preprocesamiento: Pesos aleatorios:")
               for c in at.caption)
    assert at.radio(key="pred-source").options == ["Aleatorios (sin entrenar)", "ImageNet (GoogLeNet del ONNX Model Zoo)",
                                                   "Un archivo de pesos"]
    (fig,) = [c for c in at.get("plotly_chart") if c.key == "chart-predictions"]
    layout = __import__("json").loads(fig.proto.spec)["layout"]
    assert layout["separators"] == ",." and layout["title"]["text"] == "Las 5 primeras de 1.000 clases"
    assert layout["xaxis"]["title"]["text"] == "probabilidad (%)"
    assert [s.value for s in at.subheader][:1] == ["Mapas de activación"]

    at = run_app({"lang": "es", "view": "instantiate"})
    at.toggle(key="tf-on").set_value(True).run()
    assert at.selectbox(key="tf-device").label == "Dispositivo"
    assert any(i.value.startswith("Apretá Armar para crear googlenet (6.998.552 parámetros) en ") for i in at.info)
    at.button[0].click().run()  # Armar
    assert not at.exception and not at.error
    # Keras's count_params() equals the counter's 6,998,552, grouped the Spanish way
    assert any(s.value.endswith("= 6.998.552 (el contador: 6.998.552).") for s in at.success)
    # views.common.model_downloads: labels and caption in Spanish, file names unchanged
    assert {"Descargar el modelo (.keras)", "Descargar ONNX"} <= {b.proto.label for b in at.main.get("download_button")}
    assert any(c.value.startswith("Pesos: inicialización aleatoria (semilla 0). Para mirar el archivo ONNX sin conexión")
               and c.value.endswith("`pip install netron && netron googlenet.onnx`.") for c in at.caption)
    at.number_input(key=next(n.key for n in at.number_input if n.label == "Corridas cronometradas (mediana)")).set_value(1)
    next(b for b in at.button if b.label == "Medir la latencia por bloque").click().run()
    assert not at.exception and not at.error
    df = at.dataframe[0].value
    assert list(df.columns) == ["bloque", "multiplicaciones-sumas (MACs) por imagen", "lote", "ms (mediana)",
                                "GFLOP/s (2 x MACs / tiempo)"]
    # inception_3a's MACs per image (the counter's 128,049,152) grouped with dots; ms with a decimal comma
    assert GOOGLENET.row("inception_3a").macs == 128_049_152
    assert dict(zip(df["bloque"], df["multiplicaciones-sumas (MACs) por imagen"]))["inception_3a"] == "128.049.152"
    assert all("," in v and "." not in v for v in df["ms (mediana)"] if float(v.replace(",", ".")) < 1000)
