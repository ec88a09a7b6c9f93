"""Accuracy, speed and memory of paintseg against scikit-image and ilastik's filters.

Each method runs on the same images with the same simulated strokes, in a fresh
process per (case, method) so that peak memory is its own. Time is wall time for
features + training + prediction of the whole image.

    python benchmarks/bench_core.py [--quick] [--out benchmarks/RESULTS-core.md]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

ILASTIK_SCALES = (0.3, 0.7, 1.0, 1.6, 3.5, 5.0, 10.0)


@dataclass
class Case:
    name: str
    kind: str  # "stem" or "texture"
    size: int
    seed: int

    def load(self):
        from paintseg.demo import make_stem_image, simulate_strokes, texture_mosaic

        demo = (make_stem_image(self.size, self.seed) if self.kind == "stem"
                else texture_mosaic(self.size, self.seed))
        strokes = simulate_strokes(demo.truth, grains=demo.grains, seed=1000 + self.seed)
        return demo.image, demo.truth, strokes


def mean_iou(pred, truth):
    return float(np.mean([((pred == k) & (truth == k)).sum() / ((pred == k) | (truth == k)).sum()
                          for k in np.unique(truth)]))


def run_paintseg(image, strokes, features="stem", classifier="random_forest"):
    from paintseg import Segmenter

    return Segmenter(features=features, classifier=classifier).fit([image], [strokes]).predict(image)


def run_skimage(image, strokes):
    """scikit-image's trainable segmentation gallery example, as published."""
    from functools import partial

    from skimage import feature, future
    from sklearn.ensemble import RandomForestClassifier

    features_func = partial(feature.multiscale_basic_features, intensity=True, edges=True,
                            texture=True, sigma_min=1, sigma_max=16, channel_axis=None)
    features = features_func(image)
    clf = RandomForestClassifier(n_estimators=50, n_jobs=-1, max_depth=10, max_samples=0.05)
    clf = future.fit_segmenter(strokes, features, clf)
    return future.predict_segmenter(features, clf)


def run_ilastik(image, strokes):
    """ilastik's filter bank (fastfilters2, 7 filters x 7 scales) + default random forest."""
    import fastfilters2
    from sklearn.ensemble import RandomForestClassifier

    img = np.ascontiguousarray(image, dtype=np.float32)
    stack = np.concatenate([fastfilters2.compute_filters(img, s) for s in ILASTIK_SCALES])
    X = np.moveaxis(stack, 0, -1).reshape(-1, stack.shape[0])
    labelled = strokes.ravel() > 0
    clf = RandomForestClassifier(n_jobs=-1).fit(X[labelled], strokes.ravel()[labelled])
    return clf.predict(X).reshape(image.shape)


METHODS = {
    "paintseg (stem, RF)": run_paintseg,
    "paintseg (ilastik preset, RF)": lambda im, st: run_paintseg(im, st, "ilastik"),
    "scikit-image trainable": run_skimage,
    "ilastik filters + RF": run_ilastik,
}


def _measure(data_file: str, method: str) -> tuple[float, float, float]:
    import fastfilters2  # noqa: F401  every method's imports happen before the clock starts
    import psutil
    import skimage.feature  # noqa: F401
    import skimage.future  # noqa: F401
    import sklearn.ensemble  # noqa: F401

    import paintseg  # noqa: F401

    with np.load(data_file) as data:
        image, truth, strokes = data["image"], data["truth"], data["strokes"]
    rss_before = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    pred = METHODS[method](image, strokes)
    seconds = time.perf_counter() - t0
    return mean_iou(pred, truth), seconds, max(0, _peak_rss() - rss_before) / 2**20


def _peak_rss() -> int:
    """This process's high-water resident memory (VmHWM; unlike ru_maxrss, not
    inherited from the parent that forked it)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(case: Case, method: str) -> tuple[float, float, float]:
    """Run one method on one case in a fresh Python process (its own peak memory)."""
    with tempfile.TemporaryDirectory() as tmp:
        data_file = f"{tmp}/case.npz"
        image, truth, strokes = case.load()
        np.savez(data_file, image=image, truth=truth, strokes=strokes)
        out = subprocess.run([sys.executable, __file__, "--one", json.dumps([data_file, method])],
                             capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small cases only")
    parser.add_argument("--out", default=None, help="also write the Markdown table here")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        data_file, method = json.loads(args.one)
        print(json.dumps(_measure(data_file, method)))
        return
    cases = [Case(f"STEM 512 seed {s}", "stem", 512, s) for s in (0, 1, 2)]
    cases += [Case(f"STEM 1024 seed {s}", "stem", 1024, s) for s in (3, 4)]
    cases += [Case(f"texture mosaic seed {s}", "texture", 512, s) for s in (0, 1)]
    if args.quick:
        cases = [cases[0], cases[-1]]
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{mp.cpu_count()} cores, Python {platform.python_version()}",
        "",
        "| case | method | mean IoU | time (s) | peak extra memory (MiB) |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for case in cases:
        for method in METHODS:
            iou, seconds, mem = measure(case, method)
            line = f"| {case.name} | {method} | {iou:.3f} | {seconds:.2f} | {mem:.0f} |"
            lines.append(line)
            print(line, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
