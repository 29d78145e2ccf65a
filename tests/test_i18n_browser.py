"""The Spanish page in a real browser: Debian's Chromium with its language set to
Spanish (navigator.language and Accept-Language = es-AR), no ``lang`` in the address.

    pytest -m browser tests/test_i18n_browser.py

Set SCREENSHOT_ES_TO=docs/screenshot_es.png to also write the README's Spanish screenshot.
"""

from __future__ import annotations

import os
import re
import shutil

from test_browser import RENDER_MS, ROOT, pytestmark, server  # noqa: F401  (the fixture and the marks)

from inception_viz.browser import launch_chromium, view_button


def test_spanish_browser_gets_the_spanish_page(server, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1250}, locale="es-AR")
            page.goto(server + "/?preset=googlenet", wait_until="domcontentloaded")
            # the total in the class's grouping; the headline and the sidebar in Spanish
            page.get_by_text("6.998.552", exact=True).first.wait_for(timeout=RENDER_MS)
            page.get_by_text("Parámetros (pesos + sesgos)", exact=True).first.wait_for(timeout=RENDER_MS)
            sidebar = page.locator('[data-testid="stSidebar"]')
            for text in ("Entrada y opciones: 224x224x3 · 1.000 clases", "Compartir o cargar una configuración",
                         "Bloque en foco"):
                sidebar.get_by_text(text, exact=True).first.wait_for(timeout=RENDER_MS)
            assert page.get_by_text("6,998,552", exact=True).count() == 0
            # the browser's language is written into the shareable address
            page.wait_for_url(re.compile(r"[?&]lang=es(&|$)"), timeout=RENDER_MS)
            # a Spanish view button opens its view; the URL key stays English
            view_button(page, "Gráficos").click()
            page.locator('[data-testid="stPlotlyChart"]').first.wait_for(state="visible", timeout=RENDER_MS)
            page.wait_for_url(re.compile(r"[?&]view=charts(&|$)"), timeout=RENDER_MS)
            view_button(page, "Bloques").click()
            page.get_by_text("6.998.552", exact=True).first.wait_for(timeout=RENDER_MS)
            page.wait_for_timeout(1000)
            shot = tmp_path / "es.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
            target = os.environ.get("SCREENSHOT_ES_TO")
            if target:
                shutil.copy(shot, ROOT / target)
        finally:
            browser.close()
