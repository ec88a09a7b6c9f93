"""paintseg.notebook: the app served from a thread, driven in a real headless Chromium,
its strokes, mask and model read back from Python; and, when Jupyter's kernel is
installed, the same call from a real kernel."""

from __future__ import annotations

import urllib.request

import numpy as np
import pytest

import paintseg
from paintseg.app.server import _query_session
from paintseg.errors import PaintsegError

H, W = 128, 160


def two_phase_image() -> np.ndarray:
    """Dark noisy left half, bright noisy right half."""
    rng = np.random.default_rng(3)
    image = rng.normal(0.3, 0.05, (H, W)).astype(np.float32)
    image[:, W // 2:] += 0.4
    return image


@pytest.fixture(scope="module")
def handle():
    nb = paintseg.notebook(two_phase_image(), show=False)
    yield nb
    nb.stop()


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url)
    page.wait_for_selector("#viewer canvas")
    page.wait_for_function("() => window.paintseg && window.paintseg.state.image")
    page.wait_for_function("() => document.querySelectorAll('#class-select label').length >= 2")
    return page


def drag(page, points):
    """Drag the left button through image-pixel points (x, y)."""
    scale, ox, oy = page.evaluate(
        "() => { const s = window.paintseg.state; return [s.scale, s.ox, s.oy]; }")
    box = page.locator("#viewer canvas").bounding_box()
    screen = [(box["x"] + ox + x * scale, box["y"] + oy + y * scale) for x, y in points]
    page.mouse.move(*screen[0])
    page.mouse.down()
    for point in screen[1:]:
        page.mouse.move(*point, steps=6)
    page.mouse.up()


def test_query_session():
    assert _query_session("?session=abc") == "abc"
    assert _query_session("?x=1&session=abc") == "abc"
    assert _query_session("") is None and _query_session(None) is None


def test_handle_before_painting(handle):
    assert handle.url.startswith("http://127.0.0.1:") and "?session=" in handle.url
    assert urllib.request.urlopen(handle.url, timeout=10).status == 200
    assert len(handle.strokes) == 1 and handle.strokes[0].shape == (H, W)
    assert handle.strokes[0].dtype == np.uint8 and not handle.strokes[0].any()
    assert handle.mask is None and handle.masks is None and handle.segmenter is None
    assert "no model yet" in handle._repr_html_() and handle.url in repr(handle)


@pytest.mark.browser
def test_paint_and_train_in_page_read_back_in_python(handle, browser):
    page = open_page(browser, handle.url)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.locator("#class-select label").nth(0).click()
    drag(page, [(20, 20), (25, 100), (40, 60)])
    page.locator("#class-select label").nth(1).click()
    drag(page, [(120, 20), (125, 100), (140, 60)])
    page.wait_for_function("() => !window.paintseg.state.pending.length")
    page.click("#train-button")
    page.wait_for_function(
        "() => document.querySelector('#train-status').innerText.startsWith('Trained')",
        timeout=60_000)

    strokes = handle.strokes[0]
    assert set(np.unique(strokes)) == {0, 1, 2}
    assert (strokes[:, : W // 2] != 2).all() and (strokes[:, W // 2:] != 1).all()
    seg = handle.segmenter
    assert isinstance(seg, paintseg.Segmenter) and list(seg.classes_) == [1, 2]
    mask = handle.mask
    assert mask.shape == (H, W)
    assert (mask[:, 10:W // 2 - 10] == 1).mean() > 0.95 and (mask[:, W // 2 + 10:-10] == 2).mean() > 0.95
    np.testing.assert_array_equal(seg.predict(handle.images[0]), mask)
    assert "model trained" in repr(handle) and not errors

    # another tab on the same address opens the same session, strokes and all
    other = open_page(browser, handle.url)
    other.wait_for_function("() => document.querySelector('#train-status') !== null")
    counts = other.locator("#class-select .class-count").all_inner_texts()
    assert [int(t.split()[0].replace(",", "")) for t in counts[:2]] == [
        int((strokes == 1).sum()), int((strokes == 2).sum())]
    other.close()
    page.close()


def test_stop_ends_the_server():
    nb = paintseg.notebook(two_phase_image(), show=False)
    url = nb.url
    assert urllib.request.urlopen(url, timeout=10).status == 200
    nb.stop()
    assert not nb.running
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)
    assert nb.strokes[0].shape == (H, W)  # the results stay readable


def test_bad_input_is_one_clear_error(tmp_path):
    with pytest.raises(PaintsegError, match="file not found"):
        paintseg.notebook(tmp_path / "missing.tif", show=False)
    with pytest.raises(PaintsegError, match="expected an image"):
        paintseg.notebook({"not": "an image"}, show=False)


def test_from_a_real_jupyter_kernel():
    """The call in a kernel displays the page as an inline frame of its address."""
    pytest.importorskip("ipykernel")
    manager = pytest.importorskip("jupyter_client.manager")
    km, kc = manager.start_new_kernel(kernel_name="python3")
    try:
        code = ("import numpy as np, paintseg\n"
                "nb = paintseg.notebook(np.random.default_rng(0).random((64, 80)))\n"
                "print(nb.url)")
        outputs = []
        kc.execute_interactive(code, timeout=120, output_hook=outputs.append)
        html = [m["content"]["data"].get("text/html", "") for m in outputs
                if m["msg_type"] == "display_data"]
        text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        url = text.strip().splitlines()[-1]
        assert url.startswith("http://127.0.0.1:") and "?session=" in url
        assert any("<iframe" in h and f'src="{url}"' in h for h in html)
        assert urllib.request.urlopen(url, timeout=10).status == 200
        kc.execute_interactive("nb.stop()", timeout=30)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
