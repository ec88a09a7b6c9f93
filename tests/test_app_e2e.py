"""End-to-end tests of the web app in a real headless Chromium, driven by Playwright."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, start_app

from paintseg.demo import bundled_demo_path
from paintseg.io import read_image, read_mask, write_mask

pytestmark = pytest.mark.browser
ARTIFACTS = REPO / "test-artifacts"
DATA = bundled_demo_path().parent


@pytest.fixture(scope="module")
def server():
    proc, url = start_app(env={"PAINTSEG_MAX_UPLOAD_MB": "2"})
    yield url
    proc.terminate()
    proc.wait(10)


class App:
    """A page of the app with helpers that act as a person would."""

    def __init__(self, page, url):
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.goto(url)
        page.wait_for_selector("#viewer canvas")
        page.wait_for_function("() => window.paintseg && window.paintseg.state.image")
        page.wait_for_function("() => document.querySelectorAll('#class-select label').length >= 2")

    def to_screen(self, x, y):
        scale, ox, oy = self.page.evaluate(
            "() => { const s = window.paintseg.state; return [s.scale, s.ox, s.oy]; }")
        box = self.page.locator("#viewer canvas").bounding_box()
        return box["x"] + ox + x * scale, box["y"] + oy + y * scale

    def stroke(self, points):
        """Drag the mouse through image-pixel points with the left button down."""
        m = self.page.mouse
        m.move(*self.to_screen(*points[0]))
        m.down()
        for a, b in zip(points[:-1], points[1:], strict=True):
            for t in np.linspace(0, 1, 6)[1:]:
                m.move(*self.to_screen(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t))
        m.up()

    def paint_demo_strokes(self):
        """Add a third class and paint the bundled sample strokes of all three."""
        self.page.click("#class-add")
        self.page.wait_for_function(
            "() => document.querySelectorAll('#class-select label').length === 3")
        for k, paths in demo_stroke_paths().items():
            self.select_class(k - 1)
            for path in paths:
                self.stroke(path)
        return self.counts()

    def image_names(self) -> list[str]:
        """The images the image menu lists, read by opening it as a person would."""
        self.page.click("#image-select")
        options = self.page.locator("[data-radix-popper-content-wrapper] [role=option]")
        options.first.wait_for()
        names = options.all_inner_texts()
        self.page.keyboard.press("Escape")
        return names

    def select_class(self, n):
        self.page.locator("#class-select label").nth(n).click()

    def counts(self):
        self.page.wait_for_function("() => !window.paintseg.state.pending.length")
        time.sleep(0.3)
        texts = self.page.locator("#class-select .class-count").all_inner_texts()
        return [int(t.split()[0].replace(",", "")) for t in texts]

    def train(self):
        self.page.click("#train-button")
        self.page.wait_for_function(
            "() => document.querySelector('#train-status').innerText.startsWith('Trained')",
            timeout=60_000)

    def message(self):
        return self.page.locator("#message").inner_text()

    def download(self, button):
        with self.page.expect_download(timeout=60_000) as info:
            self.page.click(button)
        return info.value


def demo_stroke_paths():
    """Polylines through the bundled sample strokes: a person's strokes per class."""
    import cv2

    strokes = read_mask(DATA / "demo_strokes.png").astype(np.uint8)
    paths = {}
    for k in (1, 2, 3):
        n, comp = cv2.connectedComponents((strokes == k).astype(np.uint8))
        paths[k] = []
        for c in range(1, n):
            ys, xs = np.nonzero(comp == c)
            order = np.argsort(xs + 0.001 * ys)
            pts = np.stack([xs[order], ys[order]], 1)[:: max(1, len(xs) // 8)]
            paths[k].append([(float(x), float(y)) for x, y in pts])
    return paths


@pytest.fixture
def app(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = context.new_page()
    yield App(page, server)
    context.close()


def test_paint_train_export_and_predict(app, tmp_path):
    page = app.page
    counts = app.paint_demo_strokes()
    assert all(c > 200 for c in counts), counts
    app.train()
    page.wait_for_function("() => window.paintseg.state.layers.segmentation")
    page.wait_for_selector("#class-select .class-fraction")
    fractions = [float(t.split()[0]) for t in
                 page.locator("#class-select .class-fraction").all_inner_texts()]
    truth_fractions = np.bincount(read_mask(DATA / "demo_truth.png").ravel())[1:] / 512**2 * 100
    assert abs(sum(fractions) - 100) < 0.5
    np.testing.assert_allclose(fractions, truth_fractions, atol=8)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-trained.png"))

    mask_file = tmp_path / "mask.png"
    app.download("#export-mask-png").save_as(mask_file)
    truth = read_mask(DATA / "demo_truth.png")
    agreement = (read_mask(mask_file) == truth).mean()
    assert agreement > 0.85, agreement

    model_file = tmp_path / "model.paintseg"
    app.download("#export-model").save_as(model_file)
    out = tmp_path / "cli_mask.png"
    r = subprocess.run([sys.executable, "-m", "paintseg.cli", "predict", str(model_file),
                        str(bundled_demo_path()), "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(read_mask(out), read_mask(mask_file))

    app.download("#export-proba").save_as(tmp_path / "p.tif")
    import tifffile
    assert tifffile.imread(tmp_path / "p.tif").shape == (3, 512, 512)
    app.download("#export-overlay").save_as(tmp_path / "overlay.png")
    assert read_image(tmp_path / "overlay.png").shape == (512, 512)
    page.fill("#tile-size", "128")
    app.download("#export-tiles").save_as(tmp_path / "tiles.zip")
    import zipfile
    names = zipfile.ZipFile(tmp_path / "tiles.zip").namelist()
    assert sum(n.startswith("images/") for n in names) == 16
    assert sum(n.startswith("masks/") for n in names) == 16
    assert not app.errors, app.errors


def test_lattice_period_is_shown_and_can_be_overridden(app):
    page = app.page
    info = page.locator("#lattice-info")
    page.wait_for_function("() => document.querySelector('#lattice-info').innerText.includes('px')")
    assert "lattice period 5.5 px (0.27" in info.inner_text()  # MoS2 (100) planes, 0.05 nm/px
    page.fill("#lattice-period", "900")
    page.press("#lattice-period", "Enter")
    page.wait_for_function("() => document.querySelector('#message').innerText.includes('outside')")
    assert "lattice period 900 px is outside 2-256 px" in app.message()
    page.fill("#lattice-period", "8")
    page.press("#lattice-period", "Enter")
    page.wait_for_function("() => document.querySelector('#lattice-info').innerText.includes('8 px')")
    # a value the browser would once have called invalid (below 2, off a 0.1 step) is
    # refused by the server in words, and the override of 8 px stays
    page.fill("#lattice-period", "0")
    page.press("#lattice-period", "Enter")
    page.wait_for_function("() => document.querySelector('#message').innerText.includes('0 px')")
    assert "lattice period 0 px is outside 2-256 px" in app.message()
    assert "8 px" in info.inner_text()
    page.fill("#lattice-period", "8")
    page.press("#lattice-period", "Enter")
    app.paint_demo_strokes()
    app.train()
    page.wait_for_function(
        "() => document.querySelector('#lattice-info').innerText.includes('at 8.0 px here')")
    page.fill("#lattice-period", "")
    page.press("#lattice-period", "Enter")
    page.wait_for_function("() => !document.querySelector('#lattice-info').innerText.includes('your')")
    assert not app.errors, app.errors


def test_a_newcomer_follows_the_page_from_paint_to_export(app, tmp_path):
    """Only visible labels and text: the next-step line leads through the whole loop."""
    page = app.page
    step = page.locator("#next-step")
    page.wait_for_function("() => document.querySelector('#next-step').innerText.includes('paint')")
    assert "pick a class" in step.inner_text()
    page.get_by_role("button", name="+ Add class").click()
    paths = demo_stroke_paths()
    for k in (1, 2, 3):
        page.locator("#class-select label").nth(k - 1).click()
        for path in paths[k]:
            app.stroke(path)
    page.wait_for_function("() => document.querySelector('#next-step').innerText.includes('Train')")
    page.get_by_role("button", name="Train (T)").click()
    page.wait_for_function("() => document.querySelector('#next-step').innerText.includes('Uncertainty')",
                           timeout=60_000)
    page.get_by_text("Uncertainty", exact=True).click()
    page.wait_for_function("() => document.querySelector('#next-step').innerText.includes('Export')")
    legend = page.locator("#layer-legend")
    assert "bright = unsure" in legend.inner_text() and legend.locator(".legend-ramp").is_visible()
    page.get_by_text("Probability", exact=True).click()
    page.wait_for_function("() => document.querySelector('#legend-text').innerText.includes('0 (dark)')")
    with page.expect_download() as mask:
        page.get_by_role("button", name="Mask PNG").click()
    mask.value.save_as(tmp_path / "mask.png")
    assert read_mask(tmp_path / "mask.png").shape == (512, 512)
    with page.expect_download() as model:
        page.get_by_role("button", name="Model", exact=True).click()
    model.value.save_as(tmp_path / "model.paintseg")
    assert (tmp_path / "model.paintseg").stat().st_size > 1000
    assert not app.errors, app.errors


def test_eraser_undo_and_clear(app):
    app.select_class(0)
    app.stroke([(100, 100), (180, 120)])
    painted = app.counts()[0]
    assert painted > 100
    app.page.keyboard.press("e")  # eraser
    app.page.wait_for_function("() => window.paintseg.state.tool === 'eraser'")
    app.stroke([(90, 100), (190, 120)])
    assert app.counts()[0] < painted * 0.2
    app.page.keyboard.press("Control+z")
    app.page.wait_for_function(
        f"() => document.querySelector('#class-select .class-count').innerText"
        f" === '{painted:,} px'")
    app.page.click("#clear-button")
    app.page.wait_for_function(
        "() => document.querySelector('#class-select .class-count').innerText === '0 px'")
    app.page.click("#undo-button")  # clearing is undoable too
    app.page.wait_for_function(
        f"() => document.querySelector('#class-select .class-count').innerText"
        f" === '{painted:,} px'")


def test_the_ignore_brush_leaves_a_region_out_of_training_and_the_mask(app, tmp_path):
    page = app.page
    app.select_class(0)
    app.stroke([(40, 40), (200, 60)])
    app.select_class(1)
    app.stroke([(300, 400), (450, 420)])
    before = app.counts()
    page.get_by_text("Ignore (I)").click()  # by its visible label, as a person would
    page.wait_for_function("() => window.paintseg.state.tool === 'ignore'")
    app.stroke([(20, 490), (250, 490)])  # a "scale bar" strip at the bottom left
    assert app.counts() == before  # ignore is not a class: no class grew
    app.train()
    mask_file = tmp_path / "mask.png"
    app.download("#export-mask-png").save_as(mask_file)
    mask = read_mask(mask_file)
    assert (mask[487:494, 40:230] == 0).all()  # the ignored strip is not segmented
    assert (mask[:400] > 0).all()
    strokes_file = tmp_path / "strokes.png"
    app.download("#export-strokes").save_as(strokes_file)
    assert (read_mask(strokes_file)[487:494, 40:230] == 255).all()  # kept with the strokes
    assert not app.errors, app.errors


def test_strokes_stay_in_image_pixels_when_zoomed_and_panned(app, tmp_path):
    page = app.page
    box = page.locator("#viewer canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 3)
    for _ in range(5):
        page.mouse.wheel(0, -240)  # zoom in about the cursor
    page.mouse.move(box["x"] + 300, box["y"] + 300)
    page.mouse.down(button="right")  # pan
    page.mouse.move(box["x"] + 260, box["y"] + 340, steps=5)
    page.mouse.up(button="right")
    scale = page.evaluate("() => window.paintseg.state.scale")
    assert scale > 3
    app.select_class(1)
    page.keyboard.press("BracketLeft")  # a narrower brush: 8 -> 6 pixels
    page.wait_for_function("() => window.paintseg.state.width === 6")
    # the image pixel now under the middle of the view
    cx, cy = page.evaluate("""() => { const s = window.paintseg.state;
        const r = s.canvas.getBoundingClientRect();
        return [Math.round((r.width / 2 - s.ox) / s.scale),
                Math.round((r.height / 2 - s.oy) / s.scale)]; }""")
    app.stroke([(cx - 10, cy), (cx + 10, cy)])
    app.counts()
    app.download("#export-strokes").save_as(tmp_path / "strokes.png")
    strokes = read_mask(tmp_path / "strokes.png")
    ys, xs = np.nonzero(strokes == 2)
    assert abs(ys.mean() - cy) < 1.0 and abs(xs.mean() - cx) < 1.5
    assert 5 <= len(np.unique(ys)) <= 7  # the band is as wide as the brush, in image pixels


def test_quick_width_keys_add_up_and_tool_keys_ignore_case(app):
    page = app.page
    page.locator("#viewer canvas").click(button="right")  # focus the viewer, paint nothing
    for _ in range(4):
        page.keyboard.press("BracketRight")  # quicker than any round trip to the server
    page.wait_for_function("() => window.paintseg.state.width === 20")  # 8 10 13 16 20
    page.wait_for_function(  # the tooltip is drawn, then shows the width (not the last one)
        "() => { const t = document.querySelector('#brush-width .rc-slider-tooltip-inner, "
        "#brush-width .dash-slider-tooltip, #brush-width [role=tooltip]'); "
        "return t !== null && t.textContent.includes('20 px'); }")
    assert "20 px" in page.locator("#brush-width").inner_text()  # the width is shown
    page.keyboard.press("Shift+E")
    page.wait_for_function("() => window.paintseg.state.tool === 'eraser'")
    page.keyboard.press("Shift+B")
    page.wait_for_function("() => window.paintseg.state.tool === 'brush'")
    page.keyboard.press("Shift+H")
    page.wait_for_function("() => window.paintseg.state.tool === 'pan'")
    assert not app.errors, app.errors


def test_deleting_a_class_removes_its_overlay_and_fraction(app):
    page = app.page
    app.paint_demo_strokes()
    app.train()
    page.wait_for_selector("#class-select .class-fraction")
    app.select_class(2)
    page.click("#class-delete")
    page.wait_for_function("() => document.querySelectorAll('#class-select label').length === 2")
    page.wait_for_function("() => !document.querySelector('#class-select .class-fraction')")
    page.wait_for_function("() => !window.paintseg.state.overlayUrls || "
                           "!window.paintseg.state.overlayUrls.segmentation_url")
    assert not app.errors, app.errors


def test_the_view_follows_the_window_when_it_shrinks(app):
    page = app.page
    before = page.locator("#viewer canvas").bounding_box()
    page.set_viewport_size({"width": 1000, "height": 700})
    page.wait_for_function(f"() => document.querySelector('#viewer canvas')"
                           f".getBoundingClientRect().width < {before['width'] - 300}")
    box = page.locator("#viewer").bounding_box()
    assert box["x"] + box["width"] <= 1000 + 1  # the viewer shrank with the window
    page.wait_for_function("""() => { const s = window.paintseg.state;
        const r = s.canvas.getBoundingClientRect();
        return s.ox >= 0 && s.ox + 512 * s.scale <= r.width + 1; }""")  # the image fits again
    assert not app.errors, app.errors


def test_a_hovered_selected_choice_stays_readable(app):
    label = app.page.locator("#layer label", has_text="Segmentation")
    label.hover()
    colour, background = app.page.evaluate("""() => {
        const l = [...document.querySelectorAll('#layer label')].find(
            e => e.innerText.includes('Segmentation'));
        const s = getComputedStyle(l); return [s.color, s.backgroundColor]; }""")
    assert colour == "rgb(255, 255, 255)" and background == "rgb(29, 78, 216)"  # white on dark blue


def test_scale_bar_lengths_read_as_a_microscopist_writes_them(app):
    fmt = "(v) => window.paintseg.formatLength(v)"
    assert [app.page.evaluate(fmt, v) for v in (0.5, 0.2, 5, 500, 2000, 0.30000000000000004)] == [
        "0.5 nm", "0.2 nm", "5 nm", "500 nm", "2 µm", "0.3 nm"]


def test_filters_have_their_own_scales(app):
    page = app.page
    page.locator("#feature-preset label", has_text="ilastik").click()
    page.locator("summary", has_text="Filters and scales").click()
    gaussian = page.locator('[id*="family-scales"][id*="gaussian"]')
    page.wait_for_function("() => document.querySelector('[id*=\"family-scales\"][id*=\"gaussian\"]')"
                           ".value === '0.3, 0.7, 1, 1.6, 3.5, 5, 10'")
    hessian = page.locator('[id*="family-scales"][id*="hessian"]')
    hessian.fill("1, 2")
    hessian.press("Enter")
    page.wait_for_function("() => document.querySelector('#feature-summary').innerText.startsWith('41 ')")
    assert gaussian.input_value() == "0.3, 0.7, 1, 1.6, 3.5, 5, 10"  # untouched by the edit
    assert page.locator("#feature-preset input:checked").get_attribute("value") == "custom"
    hessian.fill("1, two")
    hessian.press("Enter")
    page.wait_for_function("() => document.querySelector('#message').innerText.includes('not a list')")
    assert not app.errors, app.errors


def test_borders_on_edges_turn_off_and_stay_off_after_a_reload(app, server):
    page = app.page
    box = page.locator("#snap-edges input")
    assert box.is_checked()  # on by default
    page.click("#snap-edges label")
    assert not box.is_checked()
    page.wait_for_load_state("networkidle")  # the setting has reached the session
    page.reload()
    again = App(page, server)
    again.page.wait_for_function("() => !document.querySelector('#snap-edges input').checked")
    assert not again.errors, again.errors


def test_live_mode_updates_the_overlay_after_each_stroke(app):
    app.page.click("#live-mode label")
    app.select_class(0)
    app.stroke([(150, 380), (220, 400)])
    app.select_class(1)
    app.stroke([(300, 250), (360, 200)])
    # a preview of the part on screen comes first, then the full picture replaces it
    app.page.wait_for_function("() => window.paintseg.state.previews.segmentation", timeout=30_000)
    box = app.page.evaluate("() => window.paintseg.state.previews.segmentation.box")
    assert box[0] == 0 and box[1] == 0 and box[2] >= 500 and box[3] >= 500  # all of it is on screen
    app.page.wait_for_function("() => window.paintseg.state.layers.segmentation", timeout=30_000)
    assert "Trained" in app.page.locator("#train-status").inner_text()
    # the grown forest's accuracy estimate follows the full picture (here: why there is none)
    app.page.wait_for_function("() => document.querySelector('#accuracy-estimate')"
                               ".innerText.includes('too few strokes')", timeout=30_000)
    # undo and clear retrain too: one class left -> no model, and the page says why
    app.page.click("#undo-button")
    app.page.wait_for_function("() => !window.paintseg.state.layers.segmentation", timeout=30_000)
    assert "live mode" in app.message()
    app.stroke([(300, 250), (360, 200)])
    app.page.wait_for_function("() => window.paintseg.state.layers.segmentation", timeout=30_000)
    app.page.click("#clear-button")
    app.page.wait_for_function("() => !window.paintseg.state.layers.segmentation", timeout=30_000)
    assert app.page.locator("#live-busy").inner_text() == ""  # busy text only while working


def test_bad_input_shows_a_message_and_keeps_the_work(app, tmp_path):
    page = app.page
    page.click("#train-button")
    page.wait_for_function("() => document.querySelector('#message .msg-error')")
    assert "paint some strokes" in app.message()
    app.select_class(0)
    app.stroke([(100, 300), (160, 320)])
    before = app.counts()
    page.click("#train-button")
    page.wait_for_function("() => document.querySelector('#message').innerText.includes('only')")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.tif").write_bytes(b"II*\x00" + b"\x08\x00\x00\x00" + b"\xff" * 64)
    (tmp_path / "big.png").write_bytes(b"\x89PNG" + os.urandom(3 * 2**20))
    (tmp_path / "fake.paintseg").write_bytes(b"PK not really a zip")
    cases = [("#upload-image input", "notes.txt", "unsupported file type"),
             ("#upload-image input", "broken.tif", "cannot read image"),
             ("#upload-image input", "big.png", "over the upload limit"),
             ("#import-model input", "fake.paintseg", "not a paintseg model")]
    for selector, name, expected in cases:
        page.set_input_files(selector, str(tmp_path / name))
        page.wait_for_function(
            f"() => document.querySelector('#message').innerText.includes({expected!r})",
            timeout=20_000)
    assert app.counts() == before
    assert app.image_names() == ["1. demo_stem.tif"]  # nothing opened from the bad files


def test_upload_switch_images_and_train_on_both(app, tmp_path):
    page = app.page
    image = read_image(bundled_demo_path())
    second = tmp_path / "second.png"
    write_mask(second, np.clip(np.asarray(image)[:256, :256] / 2, 0, 255).astype(np.uint8))
    page.set_input_files("#upload-image input", str(second))
    page.wait_for_function("() => document.querySelector('#image-meta').innerText.startsWith('256')")
    page.wait_for_function("() => document.querySelector('#message').innerText.includes('opened')")
    time.sleep(1.5)
    assert "opened second.png" in app.message()  # a success message stays to be read
    app.select_class(0)
    app.stroke([(20, 20), (60, 30)])
    page.click("#image-select")
    page.get_by_role("option").first.click()
    page.wait_for_function("() => document.querySelector('#image-meta').innerText.startsWith('512')")
    app.select_class(1)
    app.stroke([(300, 250), (360, 200)])
    app.train()
    assert "2 classes" in page.locator("#train-status").inner_text()


def test_the_same_file_chosen_again_is_read_again(app, tmp_path):
    """A retry of a failed upload, or a second copy of an image, gets an answer: the
    browser fires nothing for the same file chosen again in the same input."""
    page = app.page
    (tmp_path / "broken.tif").write_bytes(b"II*\x00" + b"\x08\x00\x00\x00" + b"\xff" * 64)
    second = tmp_path / "second.png"
    write_mask(second, np.full((64, 80), 100, np.uint8))
    for name, expected in [("broken.tif", "cannot read image"), ("second.png", "opened")]:
        page.set_input_files("#upload-image input", str(tmp_path / name))
        page.wait_for_function(
            f"() => document.querySelector('#message').innerText.includes({expected!r})",
            timeout=20_000)
    for _ in range(2):  # the same file twice in a row: each time it opens, and is shown
        page.click("#image-select")
        page.get_by_role("option").first.click()
        page.wait_for_function(
            "() => document.querySelector('#image-meta').innerText.startsWith('512')")
        page.set_input_files("#upload-image input", str(second))
        page.wait_for_function(
            "() => document.querySelector('#image-meta').innerText.startsWith('80')",
            timeout=20_000)
    assert app.image_names() == ["1. demo_stem.tif"] + [f"{k}. second.png" for k in (2, 3, 4)]
    import tifffile

    pages = tmp_path / "pages.tif"  # what a file gives as it is read is shown with it
    tifffile.imwrite(pages, np.zeros((64, 80), np.uint8))
    tifffile.imwrite(pages, np.ones((32, 40), np.uint8), append=True)
    page.set_input_files("#upload-image input", str(pages))
    page.wait_for_function("() => document.querySelector('#message').innerText.includes("
                           "'opened pages.tif; pages.tif: only its first image series')")
    assert not app.errors, app.errors


def test_a_stack_opens_with_a_frame_slider_and_trains_on_every_painted_frame(app, tmp_path):
    import tifffile

    page = app.page
    image = np.asarray(read_image(bundled_demo_path()))
    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, np.stack([image[:256, :256], image[256:, :256], image[:256, 256:]]),
                     photometric="minisblack")
    page.set_input_files("#upload-image input", str(movie))
    page.wait_for_function("() => document.querySelector('#message').innerText.includes('opened')")
    page.wait_for_selector("#frame-row", state="visible")
    assert "movie.tif [1/3]" in page.locator("#image-select").inner_text()
    assert page.locator("#frame-row [role=slider]").first.get_attribute("aria-valuemax") == "3"
    app.select_class(0)
    app.stroke([(20, 20), (60, 30)])
    page.locator("#frame-row [role=slider]").first.focus()
    page.keyboard.press("ArrowRight")  # to frame 2, as a person would with the slider
    page.wait_for_function(
        "() => document.querySelector('#image-select').innerText.includes('[2/3]')")
    app.select_class(1)
    app.stroke([(120, 150), (180, 160)])
    app.train()
    assert "2 classes" in page.locator("#train-status").inner_text()  # both frames' strokes
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-stack.png"))
    page.click("#image-select")
    page.get_by_role("option").first.click()  # a single image: no slider
    page.wait_for_selector("#frame-row", state="hidden")
    assert not app.errors, app.errors


def test_sessions_are_separate_and_survive_a_reload(browser, server):
    one = browser.new_context(viewport={"width": 1280, "height": 800})
    two = browser.new_context(viewport={"width": 1280, "height": 800})
    a = App(one.new_page(), server)
    b = App(two.new_page(), server)
    a.select_class(0)
    a.stroke([(200, 200), (260, 230)])
    painted = a.counts()[0]
    assert painted > 0
    assert b.counts()[0] == 0
    a.page.reload()
    a = App(a.page, server)
    a.page.wait_for_function(
        f"() => document.querySelector('#class-select .class-count').innerText === '{painted:,} px'")
    one.close()
    two.close()


@pytest.mark.slow
def test_optimise_panel_runs_a_search_and_uses_the_winner(app):
    page = app.page
    app.paint_demo_strokes()
    page.click("#optimise-panel > summary")
    page.fill("#optimise-minutes", "0.2")
    page.fill("#optimise-pixels", "200")
    page.click("#optimise-start")
    page.wait_for_function(
        "() => document.querySelector('#optimise-status').innerText.includes('pipelines')",
        timeout=60_000)
    # the page stays usable while the search runs
    app.select_class(0)
    app.stroke([(30, 30), (40, 40)])
    page.wait_for_selector("#optimise-board table", timeout=180_000)
    status = page.locator("#optimise-status").inner_text()
    assert "did not learn from" in status and "Ready:" in status and "because" in status
    assert "TPOT" not in status and "Dask" not in status and "did not learn from" in status
    assert page.locator("#optimise-board tr").count() > 2
    page.locator("#optimise-panel").screenshot(path=str(ARTIFACTS / "app-optimise-panel.png"))
    page.click("#optimise-use")
    page.wait_for_function(
        "() => document.querySelector('#message').innerText.includes('using the')")
    page.wait_for_function("() => window.paintseg.state.layers.segmentation", timeout=60_000)
    with page.expect_download() as info:
        page.click("#optimise-code")
    assert "make_pipeline" in Path(info.value.path()).read_text()
