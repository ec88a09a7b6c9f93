"""Responsiveness of the web app in a real headless Chromium.

Measures, on generated STEM images served by `paintseg app`:
- live mode: time from the mouse-up of a stroke to the preview of the visible part
  drawn, and to the full overlay drawn (first stroke after opening, then the median
  of the following strokes);
- the browser's memory with the image open and segmented (JS heap, and the
  resident memory of all Chromium processes).

    python benchmarks/bench_app.py [--sizes 1024 2048] [--strokes 8]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path

from serving import running_app

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


GENERATED_MAX = 2048  # the largest image generated whole


def chromium_rss_mib(browser_pid: int | None) -> float:
    import psutil

    total = 0
    for p in psutil.process_iter(["name", "cmdline"]):
        if "chrom" in (p.info["name"] or "") and not p.info["name"].startswith("chromedriver"):
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
    return total / 2**20


def measure(size: int, n_strokes: int) -> dict:
    import numpy as np
    from playwright.sync_api import sync_playwright

    from paintseg.demo import make_stem_image, simulate_strokes
    from paintseg.io import write_tiff_image

    # the generator needs 6.5 GB at 2048²: larger images are a 2048² one repeated
    reps = max(1, size // GENERATED_MAX)
    demo = make_stem_image(size // reps, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"stem{size}.tif"
        image = np.tile(demo.image.astype("float32"), (reps, reps))
        write_tiff_image(path, image, demo.pixel_size_nm, "nm")
        strokes = simulate_strokes(demo.truth, grains=demo.grains, seed=3, strokes_per_class=6)
        strokes = np.tile(strokes, (reps, reps))
        with running_app(str(path)) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(url)
            page.wait_for_function("() => window.paintseg && window.paintseg.state.image")
            page.wait_for_function("() => document.querySelectorAll('#class-select label').length >= 2")
            page.click("#live-mode label")
            box = page.locator("#viewer canvas").bounding_box()
            scale, ox, oy = page.evaluate(
                "() => { const s = window.paintseg.state; return [s.scale, s.ox, s.oy]; }")

            def screen(x, y):
                return box["x"] + ox + x * scale, box["y"] + oy + y * scale

            import cv2

            paths = []
            for k in (1, 2):
                n, comp = cv2.connectedComponents((strokes == k).astype(np.uint8))
                for c in range(1, n):
                    ys, xs = np.nonzero(comp == c)
                    order = np.argsort(xs)
                    pts = np.stack([xs[order], ys[order]], 1)[:: max(1, len(xs) // 6)]
                    paths.append((k, pts))
            paths = sorted(paths, key=lambda kp: kp[0])
            order = [paths[0], paths[-1]] + paths[1:-1]  # two classes first
            latencies, previews = [], []
            for i, (k, pts) in enumerate(order[: n_strokes + 2]):
                page.locator("#class-select label").nth(k - 1).click()
                page.mouse.move(*screen(*pts[0]))
                page.mouse.down()
                for x, y in pts[1:]:
                    page.mouse.move(*screen(x, y))
                page.mouse.up()
                if i == 0:
                    continue  # one class only: nothing to train yet
                page.wait_for_function(
                    "() => { const s = window.paintseg.state;"
                    " return s.overlayLoadedAt && s.overlayLoadedAt > s.lastStrokeTime; }",
                    timeout=120_000)
                latencies.append(page.evaluate(
                    "() => window.paintseg.state.overlayLoadedAt - window.paintseg.state.lastStrokeTime"))
                previews.append(page.evaluate(
                    "() => { const s = window.paintseg.state; return s.previewLoadedAt > "
                    "s.lastStrokeTime ? s.previewLoadedAt - s.lastStrokeTime : NaN; }"))
            time.sleep(1)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            rss = chromium_rss_mib(None)
            browser.close()
    later = [p for p in previews[1:] if p == p]  # NaN: no preview was drawn
    return {
        "size": size, "first_ms": latencies[0],
        "preview_median_ms": statistics.median(later) if later else float("nan"),
        "preview_max_ms": max(later) if later else float("nan"),
        "median_ms": statistics.median(latencies[1:]) if len(latencies) > 1 else float("nan"),
        "max_ms": max(latencies[1:]) if len(latencies) > 1 else float("nan"),
        "strokes": len(latencies), "js_heap_mib": metrics.get("JSHeapUsedSize", 0) / 2**20,
        "chromium_rss_mib": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--strokes", type=int, default=8)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; live mode, default features and classifier\n")
    print("| image | first stroke → full overlay (ms) | later strokes → preview drawn, median / max "
          "(ms) | later strokes → full overlay, median / max (ms) | strokes | JS heap (MiB) "
          "| Chromium RSS, all processes (MiB) |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        r = measure(size, args.strokes)
        print(f"| {size}×{size} | {r['first_ms']:.0f} | {r['preview_median_ms']:.0f} / "
              f"{r['preview_max_ms']:.0f} | {r['median_ms']:.0f} / {r['max_ms']:.0f} | "
              f"{r['strokes']} | {r['js_heap_mib']:.1f} | {r['chromium_rss_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
