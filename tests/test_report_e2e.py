"""The measurement report opens in headless Chromium with no network and draws its figures."""

from __future__ import annotations

import numpy as np
import pytest

from paintseg.analysis import calibration, measure_series
from paintseg.report import write_report

pytestmark = pytest.mark.browser


def test_the_report_renders_offline(browser, tmp_path):
    mask = np.ones((60, 80), np.uint8)
    mask[10:20, 10:30] = 2
    mask[35:50, 40:55] = 2
    second = mask.copy()
    second[40:55, 5:20] = 3
    probas = [np.eye(3, dtype=np.float32)[m - 1] * 0.8 + 0.2 / 3 for m in (mask, second)]
    ms = measure_series([mask, second], probas, class_names=["matrix", "grain", "pore"],
                        calibrations=calibration(0.5, "nm"))
    path = write_report(tmp_path / "report.html", ms, images=[mask * 50.0, None],
                        settings={"model": "model.paintseg", "classifier": "extra_trees"})
    html = path.read_text(encoding="utf-8")
    assert html.count("Plotly.newPlot") == 5  # bars, series, a histogram per class
    assert html.count("plotly.js v") <= 2  # the library once (its banner names it)

    context = browser.new_context()
    requests = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 5",
                           timeout=20_000)
    assert page.locator(".js-plotly-plot").count() == 5
    assert page.locator(".js-plotly-plot .bars path").count() > 0  # bars were drawn
    assert page.locator(".pictures img").count() == 2
    assert page.evaluate("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert "0.5 nm" in page.locator("body").inner_text()
    assert requests == [] and errors == []
    context.close()
