"""Stop, in a real browser: what AppTest cannot do (click while a script runs).

`streamlit run app.py` on a free loopback port (inception_viz.browser.StreamlitServer, the
lecture's own config) and Debian's Chromium. A long visualisation starts, the progress bar
moves, Stop is clicked: the page must say "Stopped after k of N steps" with the last image,
and the server's process must go quiet (the optimiser really ended, it does not run on
unseen).

    pytest -m browser tests/test_browser_featurevis.py
"""

from __future__ import annotations

import re
from pathlib import Path

import psutil
import pytest

from inception_viz.browser import CHROMIUM, StreamlitServer, chromium_missing, launch_chromium

ROOT = Path(__file__).resolve().parents[1]
RENDER_MS = 180_000
STEPS = 4000  # far more than the test waits for: only Stop can end it (the app allows 4096)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or CHROMIUM),
]


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")


def test_stop_ends_a_running_visualisation_and_keeps_the_last_image():
    from playwright.sync_api import sync_playwright

    with StreamlitServer(ROOT / "app.py") as server, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(server.url + "?preset=googlenet&view=featurevis", wait_until="domcontentloaded")
            page.get_by_role("button", name="Visualise", exact=True).wait_for(timeout=RENDER_MS)
            set_number(page, "Steps", STEPS)
            page.get_by_text(f"{STEPS} steps;").wait_for(timeout=30_000)
            set_number(page, "Size (pixels per side)", 64)
            page.get_by_text("64x64 px").first.wait_for(timeout=30_000)
            page.get_by_role("button", name="Visualise", exact=True).click()
            # the bar moves (model build and tracing first), and an image has been drawn
            progress = re.compile(rf"step (\d+) of {STEPS}")
            page.get_by_text(progress).first.wait_for(timeout=RENDER_MS)
            page.locator('[data-testid="stImage"] img').first.wait_for(timeout=RENDER_MS)
            page.wait_for_function(  # at least two frames: step 2 * every or later
                f"() => /step (\\d+) of {STEPS}/.test(document.body.innerText) && "
                f"+document.body.innerText.match(/step (\\d+) of {STEPS}/)[1] >= 2 * {max(1, min(16, STEPS // 32))}",
                timeout=RENDER_MS)
            stop = page.get_by_role("button", name="Stop", exact=True)
            assert stop.is_enabled()
            stop.click()
            note = page.get_by_text(re.compile(rf"Stopped after \d+ of {STEPS} steps"))
            note.wait_for(timeout=60_000)
            k = int(re.search(r"Stopped after (\d+) of", note.inner_text()).group(1))
            assert 0 < k < STEPS
            caption = page.get_by_text(re.compile(rf"stopped after {k} of {STEPS} steps")).first
            caption.wait_for(timeout=10_000)
            assert page.locator('[data-testid="stImage"] img').count() >= 1
            assert page.get_by_role("button", name="Download PNG").is_visible()
            assert not page.get_by_role("button", name="Stop", exact=True).is_enabled()
            # the optimiser ended: the server's process goes (nearly) idle within seconds
            proc = psutil.Process(server.proc.pid)
            page.wait_for_timeout(3000)
            busy = [proc.cpu_percent(interval=2.0) for _ in range(2)]
            assert min(busy) < 40, f"the server still computes after Stop: {busy} % CPU"
            # nothing moved on the page since: still the same stopped frame
            assert page.get_by_text(re.compile(rf"Stopped after {k} of {STEPS} steps")).is_visible()
        finally:
            browser.close()
