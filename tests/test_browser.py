"""One real browser: `streamlit run app.py` headless on a free loopback port, opened in
Debian's Chromium through playwright-python (never a downloaded browser).

    pytest -m browser tests/test_browser.py

Set SCREENSHOT_TO=docs/screenshot.png to also write the README's screenshot.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from inception_viz import config, exports
from inception_viz.browser import CHROMIUM, free_port, launch_chromium, view_button

ROOT = Path(__file__).resolve().parents[1]
STARTUP_S = 120
RENDER_MS = 120_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]


#: Marks every input in the sidebar; SIDEBAR_MARKED says "all" while every one still has it.
SIDEBAR_MARK = "() => document.querySelectorAll('[data-testid=\"stSidebar\"] input').forEach((e) => { e.dataset.mark = '1'; })"
SIDEBAR_MARKED = ("() => { const all = [...document.querySelectorAll('[data-testid=\"stSidebar\"] input')]; "
                  "return all.length > 0 && all.every((e) => e.dataset.mark === '1') ? 'all' : 'some redrawn'; }")


def wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"streamlit did not answer within {STARTUP_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def server(tmp_path):
    yield from run_server(tmp_path)


def run_server(tmp_path, base_env=None, **env_overrides):
    """``streamlit run app.py`` on a free loopback port with ``base_env`` (default: this
    process's environment) plus ``env_overrides``; yields its URL, stops it afterwards."""
    port = free_port()
    log = tmp_path / "streamlit.log"
    env = {**(os.environ if base_env is None else base_env), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **env_overrides}
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1"],
            cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=env,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def test_app_renders_graph_chart_and_total(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1250})
            page.goto(server + "/?preset=googlenet", wait_until="domcontentloaded")
            # the headline total, exact with separators
            page.get_by_text("6,998,552", exact=True).first.wait_for(timeout=RENDER_MS)
            # only the open view is drawn: Blocks, not yet the graph
            page.get_by_label("3x3", exact=True).wait_for(timeout=RENDER_MS)
            assert page.locator('[data-testid="stGraphVizChart"]').count() == 0
            # the Graph view: an <svg> drawn inside the graphviz chart element; the URL names the view
            view_button(page, "Graph").click()
            svg = page.locator('[data-testid="stGraphVizChart"] svg').first
            svg.wait_for(state="visible", timeout=RENDER_MS)
            assert "inception_3a" in svg.inner_html()
            page.wait_for_url(re.compile(r"[?&]view=graph(&|$)"), timeout=RENDER_MS)
            page.screenshot(path=str(tmp_path / "graph.png"), full_page=False)
            # the SVG download is rendered by Graphviz's dot on the server when clicked
            if shutil.which("dot"):
                with page.expect_download(timeout=RENDER_MS) as info:
                    page.get_by_role("button", name="Download SVG").click()
                svg_file = tmp_path / "overview.svg"
                info.value.save_as(svg_file)
                text = svg_file.read_text()
                assert text.startswith("<?xml") and "inception_5b" in text
            # the Charts view: a Plotly chart with its bars drawn
            view_button(page, "Charts").click()
            bars = page.locator('[data-testid="stPlotlyChart"] .main-svg .bars').first
            bars.wait_for(state="attached", timeout=RENDER_MS)
            assert page.locator('[data-testid="stPlotlyChart"]').first.is_visible()
            assert page.get_by_text("6,998,552", exact=True).first.is_visible()

            # a shared address restores an edited model: 3a's 3x3 = 256 gives
            # 6,998,552 + 110,720 + 45,056 = 7,154,328 (see test_app.py for the arithmetic)
            page.goto(server + "/?preset=googlenet&inception_3a=64-96-256-16-32-32", wait_until="domcontentloaded")
            page.get_by_text("7,154,328", exact=True).first.wait_for(timeout=RENDER_MS)
            view_button(page, "Graph").click()
            page.get_by_text("Block detail: inception_3a").click()
            detail = page.locator('[data-testid="stGraphVizChart"] svg', has_text="3x3 conv, 256 filters").first
            detail.wait_for(state="visible", timeout=RENDER_MS)
            page.wait_for_timeout(1000)
            shot = tmp_path / "app.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
            target = os.environ.get("SCREENSHOT_TO")
            if target:
                shutil.copy(shot, ROOT / target)

            # back on Blocks, the focus block's 3x3 box (marked ✎: edited) applies on Enter:
            # 3a's 3x3 = 200: 72 more filters of 9*96 weights + 1 bias, and 72 more input
            # channels for 3b's 1x1, 3x3_reduce, 5x5_reduce and pool_proj (128 + 128 + 32 + 64)
            view_button(page, "Blocks").click()
            box = page.get_by_label(re.compile(r"^3x3( ✎)?$"))
            box.wait_for(timeout=RENDER_MS)
            page.wait_for_timeout(1000)  # the view's run has finished
            # an edit reruns only the main area (app.main_area, a fragment): the sidebar's inputs
            # stay the same DOM nodes (a whole-page run would redraw them under new keys)
            page.evaluate(SIDEBAR_MARK)
            box.fill("200")
            box.press("Enter")
            assert 6_998_552 + 72 * (9 * 96 + 1) + 72 * (128 + 128 + 32 + 64) == 7_086_176
            page.get_by_text("7,086,176", exact=True).first.wait_for(timeout=RENDER_MS)
            page.wait_for_url(re.compile(r"inception_3a=64-96-200-16-32-32.*view=blocks|view=blocks.*inception_3a=64-96-200"),
                              timeout=RENDER_MS)
            page.wait_for_timeout(1000)
            assert page.evaluate(SIDEBAR_MARKED) == "all", "the sidebar was redrawn by a width edit"
            # the box was updated in place, not replaced: the caret is still in it
            assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "3x3 ✎"
            # the headline's config download is this edit's (not the one the page opened with)
            with page.expect_download(timeout=RENDER_MS) as info:
                page.get_by_role("button", name="Download config JSON").click()
            saved = json.loads(Path(info.value.path()).read_text())
            assert saved["blocks"]["inception_3a"]["3x3"] == 200, saved["blocks"]["inception_3a"]
            assert info.value.suggested_filename == exports.file_name(
                config.spec_from_query({"preset": "googlenet", "inception_3a": "64-96-200-16-32-32"}), "json")
            # "All blocks" is folded and draws nothing until it is opened; open, its table is
            # text: 3a's edited 3x3 in bold with the mark
            assert page.locator('[data-testid="stHtml"] table').count() == 0
            page.get_by_text("All blocks", exact=True).click()
            row = page.locator('[data-testid="stHtml"] table tr', has_text="inception_3a").first
            row.wait_for(timeout=RENDER_MS)
            assert row.locator("strong").inner_text() == "200" and "✎ 3x3: 128→200" in row.inner_text()
            # folded sections stay as they were left when their label changes (Streamlit
            # draws a new expander for a new label): the sidebar's "Input and options" after a
            # new input size (its label shows the size), and every section after a language switch
            page.get_by_text("Input and options", exact=False).click()
            height = page.get_by_label("Height", exact=True)
            height.fill("200")
            height.press("Enter")
            page.get_by_text("Input and options: 200x224x3", exact=False).wait_for(timeout=RENDER_MS)
            page.wait_for_timeout(1000)
            assert height.is_visible() and page.locator('[data-testid="stHtml"] table').count() == 1
            page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
            page.get_by_role("option", name="Español").click()
            page.get_by_text("Todos los bloques", exact=True).wait_for(timeout=RENDER_MS)
            page.wait_for_timeout(1000)
            assert page.get_by_label("Alto", exact=True).is_visible()
            assert page.locator('[data-testid="stHtml"] table').count() == 1
            # "Editar en la tabla" swaps the text table for the editable grid
            page.get_by_text("Editar en la tabla").click()
            page.locator('[data-testid="stDataFrame"] [data-testid="data-grid-canvas"]').first.wait_for(
                state="visible", timeout=RENDER_MS)
            assert page.locator('[data-testid="stHtml"] table').count() == 0
            # a shared address opens its view
            page.goto(server + "/?preset=googlenet&view=charts", wait_until="domcontentloaded")
            page.locator('[data-testid="stPlotlyChart"]').first.wait_for(state="visible", timeout=RENDER_MS)
            assert view_button(page, "Charts").get_attribute("aria-checked") == "true"
        finally:
            browser.close()


def test_lecture_walk_what_only_a_browser_shows(server, tmp_path):
    """Issue 19's walk-through: the left-to-right overview's text is as large as top to
    bottom, Compare's table fits the page (no sideways scroll: the MACs columns show), and
    the config download is named after the edit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1250}, accept_downloads=True)
            page.goto(server + "/?preset=googlenet&view=graph", wait_until="domcontentloaded")
            svg = page.locator('[data-testid="stGraphVizChart"] svg').first
            svg.wait_for(state="visible", timeout=RENDER_MS)
            page.wait_for_timeout(1000)

            def text_height() -> float:
                label = page.locator('[data-testid="stGraphVizChart"] svg text', has_text="inception_3b").first
                return label.bounding_box()["height"]

            top_to_bottom = text_height()
            page.get_by_text("left to right").click()
            page.get_by_text("Overview: nodes per column").wait_for(timeout=RENDER_MS)
            page.wait_for_timeout(2000)
            # shrunk to the page's width, the left-to-right text measured 20 px against 33 px
            assert text_height() >= 0.9 * top_to_bottom

            # Compare: the grid needs no sideways scroll, its last column (Δ MACs) is in view
            view_button(page, "Compare").click()
            grid = page.locator('[data-testid="stDataFrame"]').first
            grid.wait_for(state="visible", timeout=RENDER_MS)
            page.wait_for_timeout(1500)
            overflow = page.evaluate(
                """() => { const s = document.querySelector('[data-testid="stDataFrame"] .dvn-scroller');
                           return s ? s.scrollWidth - s.clientWidth : -1; }""")
            assert 0 <= overflow <= 1, f"the comparison table scrolls sideways by {overflow} px"

            # an edited model's config download is named after the edit
            page.goto(server + "/?preset=googlenet&inception_3a=64-96-256-16-32-32", wait_until="domcontentloaded")
            page.get_by_text("7,154,328", exact=True).first.wait_for(timeout=RENDER_MS)
            with page.expect_download(timeout=RENDER_MS) as info:
                page.get_by_role("button", name="Download config JSON").click()
            assert re.fullmatch(r"googlenet-edited-[0-9a-f]{8}\.json", info.value.suggested_filename)
        finally:
            browser.close()


# ---------------------------------------------------------------------------------------
# issue 16: shared mode trusts no visitor; local mode trusts only the browser on this machine


@pytest.fixture
def fake_home(tmp_path):
    home = tmp_path / "home" / "lecturerqx"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "INCEPTION_VIZ_CACHE"}
    env.update(HOME=str(home), USER="lecturerqx", LOGNAME="lecturerqx")
    return home, env


UNTRUSTED = "are not installed on this server"  # only the untrusted branch says this


def imagenet_weights_page(page, url: str, trusted: bool) -> str:
    """Predictions on, ImageNet weights chosen (not installed): the page's text once the
    branch for this visitor is drawn (the field for the trusted one, the lecturer's
    instructions for anyone else: the same script run draws no field then)."""
    page.goto(url + "/?view=predictions", wait_until="domcontentloaded")
    page.get_by_text("Run the network on an image").click()
    page.get_by_text("ImageNet (ONNX Model Zoo GoogLeNet)").click()
    if trusted:
        page.get_by_label(re.compile("path of a copy")).wait_for(timeout=RENDER_MS)
    else:
        page.get_by_text(UNTRUSTED).first.wait_for(timeout=RENDER_MS)
    page.wait_for_timeout(500)
    return page.locator("body").inner_text()


def path_fields(page) -> int:
    return page.get_by_label(re.compile("path of a copy")).count()


def test_shared_mode_shows_no_path_field_and_no_home(tmp_path, fake_home):
    from playwright.sync_api import sync_playwright

    home, env = fake_home
    gen = run_server(tmp_path, env, INCEPTION_VIZ_SHARED="1")
    url = next(gen)
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                text = imagenet_weights_page(page, url, trusted=False)  # from loopback: still not trusted
                assert "python -m inception_viz weights download" in text
                assert path_fields(page) == 0
                assert page.get_by_role("button", name="Download from the ONNX Model Zoo").count() == 0
                html = page.content()
                for leak in (str(home), "lecturerqx", str(Path.home())):
                    assert leak not in text and leak not in html, leak
            finally:
                browser.close()
    finally:
        next(gen, None)


def test_local_mode_trusts_the_browser_on_this_machine_only(tmp_path, fake_home):
    """The real client address and headers, as Streamlit's server sees them: the browser on
    loopback gets the path field; the same browser with a proxy's X-Forwarded-For (uvicorn
    makes that the client address) does not."""
    from playwright.sync_api import sync_playwright

    home, env = fake_home
    gen = run_server(tmp_path, {k: v for k, v in env.items() if k != "INCEPTION_VIZ_SHARED"})
    url = next(gen)
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                text = imagenet_weights_page(page, url, trusted=True)
                assert path_fields(page) == 1 and str(home) in text, text  # the lecturer sees the cache folder
                proxied = browser.new_context(extra_http_headers={"X-Forwarded-For": "192.168.1.23"}).new_page()
                text = imagenet_weights_page(proxied, url, trusted=False)
                assert path_fields(proxied) == 0 and str(home) not in text and "lecturerqx" not in text
            finally:
                browser.close()
    finally:
        next(gen, None)
