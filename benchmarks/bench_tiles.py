"""Batch prediction at scale: time and peak memory of `paintseg predict` by image size,
a folder on a local two-process Dask cluster against this process alone, and how many
labels a tiled prediction shares with the whole-image one.

    python benchmarks/bench_tiles.py [--sizes 1024 4096 6144 16384] [--folder 8]
                                     [--agreement 2048]

Images are the bundled STEM demo repeated to size (the work per pixel is what counts),
written as tiled 16-bit TIFFs (512-px tiles, zlib), so `paintseg predict` reads them
tile by tile and streams the mask into a tiled TIFF; the model is trained once on the
demo and its strokes. Each run is a fresh `paintseg predict` process; peak memory is
the resident high-water mark of it and its children.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def peak_run(args: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MiB) of a command, its children included."""
    import psutil

    start = time.perf_counter()
    proc = psutil.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        try:
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.read().decode()[-500:])
    return time.perf_counter() - start, peak / 2**20


def write_tiled(path: Path, demo, size: int) -> None:
    """The demo repeated to ``size``², as a tiled 16-bit TIFF with its pixel size,
    written tile row by tile row (the whole image is never made)."""
    import tifffile

    lo, hi = float(np.min(demo)), float(np.max(demo))
    grey = ((np.asarray(demo) - lo) / (hi - lo) * 65535).astype(np.uint16)
    h, w = grey.shape

    def tiles():
        for r in range(0, size, 512):
            for c in range(0, size, 512):
                rows = (np.arange(r, min(r + 512, size)) % h)[:, None]
                cols = (np.arange(c, min(c + 512, size)) % w)[None, :]
                yield grey[rows, cols]

    per_nm = 1.0 / demo.pixel_size
    tifffile.imwrite(path, data=tiles(), shape=(size, size), dtype=np.uint16, tile=(512, 512),
                     compression="zlib", bigtiff=True, imagej=False,
                     resolution=(per_nm * 1e7, per_nm * 1e7), resolutionunit="CENTIMETER")


def agreement(size: int, tile: int = 512) -> None:
    """Labels equal between the whole-image prediction and the tiled one, on a generated
    STEM image whose grains cross the tile borders (as `tests/test_tiles.py`)."""
    from paintseg import Segmenter, tiles
    from paintseg.demo import make_stem_image, simulate_strokes
    from paintseg.io import Image

    demo = make_stem_image(size, seed=11)
    strokes = simulate_strokes(demo.truth, grains=demo.grains, seed=11)
    image = Image(demo.image, 0.03, "nm", "stem.tif")
    seg = Segmenter(estimate=False).fit([image], [strokes])
    whole = seg.predict(image)
    tiled = tiles.predict(seg, image, tile=tile)
    print(f"tiled = whole, {size}² STEM image in {tile}-px tiles: "
          f"{100 * (tiled == whole).mean():.4f} % of labels equal "
          f"({int((tiled != whole).sum())} of {tiled.size} differ)\n", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1024, 4096, 6144])
    parser.add_argument("--folder", type=int, default=8, help="images in the folder run")
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--agreement", type=int, default=0,
                        help="side of a generated STEM image predicted whole and in 512-px tiles")
    args = parser.parse_args()
    if args.agreement:
        agreement(args.agreement)

    from paintseg import Segmenter
    from paintseg.demo import bundled_demo_path
    from paintseg.io import read_image, read_mask, write_tiff_image

    demo = read_image(bundled_demo_path())
    strokes = read_mask(bundled_demo_path().parent / "demo_strokes.png")
    paintseg = [sys.executable, "-m", "paintseg.cli", "predict"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = tmp / "model.paintseg"
        Segmenter(estimate=False).fit([demo], [strokes]).save(model)
        print(f"{os.cpu_count()} cores; `paintseg predict --tile {args.tile}`, one process\n")
        print("| image | megapixels | time (s) | MP/s | peak memory (MiB) |")
        print("|---|---|---|---|---|")
        for size in args.sizes:
            path = tmp / f"stem{size}.tif"
            write_tiled(path, demo, size)
            seconds, peak = peak_run(paintseg + [str(model), str(path), "--out", str(tmp / "m.tif"),
                                                 "--tile", str(args.tile)])
            mp = size * size / 1e6
            print(f"| {size}² | {mp:.1f} | {seconds:.1f} | {mp / seconds:.2f} | {peak:.0f} |",
                  flush=True)
            path.unlink()
        if not args.folder:
            return
        folder = tmp / "folder"
        folder.mkdir()
        for i in range(args.folder):
            write_tiff_image(folder / f"frame{i:02d}.tif", np.roll(demo, 37 * i, axis=1),
                             demo.pixel_size, demo.unit)
        print(f"\nA folder of {args.folder} images of {demo.shape[0]}², wall time:\n")
        print("| where | time (s) | peak memory, all processes (MiB) |")
        print("|---|---|---|")
        for label, extra in (("this process", []), ("local Dask cluster, 2 processes",
                                                    ["--workers", "2"])):
            seconds, peak = peak_run(paintseg + [str(model), str(folder), "--out",
                                                 str(tmp / "out"), *extra])
            print(f"| {label} | {seconds:.1f} | {peak:.0f} |", flush=True)


if __name__ == "__main__":
    main()
