"""The Statistics panel in a real headless Chromium: table, plots and downloads after training."""

from __future__ import annotations

import csv

import pytest
from test_app_e2e import ARTIFACTS, App

pytestmark = pytest.mark.browser


def test_statistics_panel_shows_the_measurements_and_downloads_them(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    app = App(context.new_page(), server)
    page = app.page
    page.click("#statistics-panel > summary")
    page.wait_for_function(
        "() => document.querySelector('#statistics-status').innerText.includes('train a model')")
    app.paint_demo_strokes()
    app.train()
    page.wait_for_function("() => document.querySelectorAll('.statistics-row').length === 3",
                           timeout=30_000)
    rows = page.locator(".statistics-row").all_inner_texts()
    fractions = [float(r.split("\t")[1]) for r in rows]
    assert sum(fractions) == pytest.approx(100, abs=0.2)
    assert "nm²" in page.locator("#statistics-table").inner_text()  # the demo has a pixel size
    page.wait_for_function(
        "() => document.querySelectorAll('#statistics-bars .main-svg, #statistics-sizes .main-svg')"
        ".length >= 2")
    assert page.locator("#statistics-series-box").is_hidden()  # one image: no series plot
    table = app.download("#statistics-csv")
    table.save_as(tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as f:
        measured = list(csv.DictReader(f))
    assert len(measured) == 3 and all(r["fraction_low"] and r["area_unit"] == "nm²" for r in measured)
    report = app.download("#statistics-report")
    report.save_as(tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Plotly.newPlot" in html and "trained in the app" in html
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#statistics-panel").screenshot(path=str(ARTIFACTS / "statistics-panel.png"))
    assert app.errors == []
    context.close()
