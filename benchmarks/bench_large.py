"""Large images through the Python API: time and peak memory of every method.

A user (or a benchmark) that calls ``Segmenter().fit(image, strokes).predict(image)`` on
one large array gets no tiling from the command line; this measures what that costs.
The image is the bundled demo repeated to size, painted with its strokes in the
top-left copy; the truth is the demo's, repeated. Each (size, method) runs in a fresh
process (``bench_core.measure``), so its peak memory is its own.

    python benchmarks/bench_large.py [--sizes 2048 4096] [--methods ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import METHODS, measure  # noqa: E402
from cases import CaseData  # noqa: E402


def large_case(size: int) -> CaseData:
    """The demo repeated to ``size``² (a multiple of 512), strokes in its first copy."""
    from paintseg.demo import bundled_demo_path
    from paintseg.io import read_image, read_mask

    folder = bundled_demo_path().parent
    image = np.asarray(read_image(bundled_demo_path()), np.float32)
    truth = read_mask(folder / "demo_truth.png")
    repeats = size // image.shape[0]
    strokes = np.zeros((size, size), np.uint8)
    strokes[:image.shape[0], :image.shape[1]] = read_mask(folder / "demo_strokes.png")
    return CaseData(np.tile(image, (repeats, repeats)), np.tile(truth, (repeats, repeats)),
                    strokes, 0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--methods", default="", help="comma-separated method names")
    args = parser.parse_args()
    methods = [m for m in METHODS if not args.methods or m in args.methods.split(",")]
    print("| image | method | mean IoU | time (s) | s/MP | peak extra memory (MiB) |")
    print("|---|---|---|---|---|---|", flush=True)
    for size in args.sizes:
        data = large_case(size)
        megapixels = data.image.size / 2**20
        for method in methods:
            iou, seconds, mem = measure(data, method)
            print(f"| {size}² | {method} | {iou:.3f} | {seconds:.1f} | {seconds / megapixels:.2f} "
                  f"| {mem:.0f} |", flush=True)


if __name__ == "__main__":
    main()
