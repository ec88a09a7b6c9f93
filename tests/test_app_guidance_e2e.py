"""End-to-end: the accuracy estimate beside the training message, numbered suggestion
boxes on the canvas, and the Next suggestion button (and N key) that zooms to them."""

from __future__ import annotations

import numpy as np
import pytest

from paintseg.demo import bundled_demo_path
from paintseg.io import read_mask

pytestmark = pytest.mark.browser
DATA = bundled_demo_path().parent


@pytest.fixture(scope="module")
def page(browser, server):
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.goto(server)
    page.wait_for_selector("#viewer canvas")
    page.wait_for_function("() => window.paintseg && window.paintseg.state.image")
    page.wait_for_function("() => document.querySelectorAll('#class-select label').length >= 2")
    yield page
    page.context.close()


def stroke_paths() -> dict[int, list[list[tuple[float, float]]]]:
    """Polylines through the bundled sample strokes of classes 1 and 2."""
    import cv2

    strokes = read_mask(DATA / "demo_strokes.png").astype(np.uint8)
    paths = {}
    for k in (1, 2):
        n, comp = cv2.connectedComponents((strokes == k).astype(np.uint8))
        paths[k] = []
        for c in range(1, n):
            ys, xs = np.nonzero(comp == c)
            order = np.argsort(xs + 0.001 * ys)
            pts = np.stack([xs[order], ys[order]], 1)[:: max(1, len(xs) // 6)]
            paths[k].append([(float(x), float(y)) for x, y in pts])
    return paths


def paint(page, points) -> None:
    scale, ox, oy = page.evaluate(
        "() => { const s = window.paintseg.state; return [s.scale, s.ox, s.oy]; }")
    box = page.locator("#viewer canvas").bounding_box()
    screen = [(box["x"] + ox + x * scale, box["y"] + oy + y * scale) for x, y in points]
    page.mouse.move(*screen[0])
    page.mouse.down()
    for p in screen[1:]:
        page.mouse.move(*p, steps=3)
    page.mouse.up()


def test_train_shows_the_estimate_and_next_suggestion_zooms_to_numbered_boxes(page):
    for k, paths in stroke_paths().items():
        page.locator("#class-select label").nth(k - 1).click()
        for path in paths:
            paint(page, path)
    page.wait_for_function("() => !window.paintseg.state.pending.length")
    page.click("#train-button")
    page.wait_for_selector("#accuracy-estimate", timeout=60_000)
    estimate = page.locator("#accuracy-estimate").inner_text().lower()
    assert "estimated mean iou" in estimate or "too few strokes" in estimate, estimate
    page.wait_for_function("() => window.paintseg.state.suggestions.length > 0", timeout=20_000)
    boxes = page.evaluate("() => window.paintseg.state.suggestions.map(s => s.box)")
    assert all(0 <= b[0] < b[2] <= 512 and 0 <= b[1] < b[3] <= 512 for b in boxes)
    assert "N zooms" in page.locator("#suggestion-info").inner_text()
    fitted = page.evaluate("() => window.paintseg.state.scale")
    page.click("#next-suggestion")
    page.wait_for_function("() => window.paintseg.state.suggestIndex === 0")
    assert page.evaluate("() => window.paintseg.state.scale") > fitted  # zoomed in on box 1
    assert page.locator("#suggestion-info").inner_text().startswith("Suggestion 1 of")
    page.locator("#viewer canvas").focus()
    page.keyboard.press("n")
    if len(boxes) > 1:
        page.wait_for_function("() => window.paintseg.state.suggestIndex === 1")
