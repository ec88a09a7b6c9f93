"""Accuracy, speed and memory of paintseg against scikit-image and ilastik's filters.

Each method runs on the same images with the same simulated strokes (see
``cases.py``: STEM at five magnifications, ISBI EM, MetalDAM SEM, texture mosaics,
plates), in a fresh process per (case, method) so that peak memory is its own.
Time is wall time for features + training + prediction of the whole image.

    python benchmarks/bench_core.py [--quick] [--kinds stem,isbi] [--methods ...] [--out FILE]
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
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases import all_cases, mean_iou  # noqa: E402

ILASTIK_SCALES = (0.3, 0.7, 1.0, 1.6, 3.5, 5.0, 10.0)


Segment = Callable[[np.ndarray], np.ndarray]


def train_paintseg(image: np.ndarray, strokes: np.ndarray, features: str = "auto") -> Segment:
    """paintseg's Segmenter fitted on the strokes: returns its ``predict`` (the feature
    stack of the training image is cached, so segmenting it again computes none)."""
    from paintseg import Segmenter

    return Segmenter(features=features).fit([image], [strokes]).predict


def _reusing(features: Callable[[np.ndarray], np.ndarray], image: np.ndarray,
             stack: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``features``, answered from ``stack`` for ``image`` itself: a peer segmenting the
    image it was trained on computes its features once, as it did when run in one go."""
    return lambda other: stack if other is image else features(other)


def skimage_features(image: np.ndarray) -> np.ndarray:
    """The features of scikit-image's trainable segmentation gallery example."""
    from skimage import feature

    return feature.multiscale_basic_features(image, intensity=True, edges=True, texture=True,
                                             sigma_min=1, sigma_max=16, channel_axis=None)


def train_skimage(image: np.ndarray, strokes: np.ndarray) -> Segment:
    """scikit-image's trainable segmentation gallery example, as published."""
    from skimage import future
    from sklearn.ensemble import RandomForestClassifier

    stack = skimage_features(image)
    features = _reusing(skimage_features, image, stack)
    clf = RandomForestClassifier(n_estimators=50, n_jobs=-1, max_depth=10, max_samples=0.05,
                                 random_state=0)
    clf = future.fit_segmenter(strokes, stack, clf)
    return lambda other: future.predict_segmenter(features(other), clf)


def ilastik_features(image: np.ndarray) -> np.ndarray:
    """ilastik's filter bank (fastfilters2, 7 filters x 7 scales), (H * W, 49)."""
    import fastfilters2

    img = np.ascontiguousarray(image, dtype=np.float32)
    stack = np.concatenate([fastfilters2.compute_filters(img, s) for s in ILASTIK_SCALES])
    return np.moveaxis(stack, 0, -1).reshape(-1, stack.shape[0])


def train_ilastik(image: np.ndarray, strokes: np.ndarray) -> Segment:
    """ilastik's filter bank + default random forest."""
    from sklearn.ensemble import RandomForestClassifier

    stack = ilastik_features(image)
    features = _reusing(ilastik_features, image, stack)
    labelled = strokes.ravel() > 0
    clf = RandomForestClassifier(n_jobs=-1, random_state=0).fit(
        stack[labelled], strokes.ravel()[labelled])
    return lambda other: clf.predict(features(other)).reshape(np.shape(other))


#: Each method trained on one image's strokes: a function that segments any image.
TRAINERS: dict[str, Callable[[np.ndarray, np.ndarray], Segment]] = {
    "paintseg (default)": train_paintseg,
    "paintseg (ilastik preset, RF)": lambda im, st: train_paintseg(im, st, "ilastik"),
    "scikit-image trainable": train_skimage,
    "ilastik filters + RF": train_ilastik,
}


def _on_itself(train: Callable[[np.ndarray, np.ndarray], Segment]):
    """``train`` run on an image and its strokes, then applied to the same image."""
    return lambda image, strokes: train(image, strokes)(image)


#: Each method trained on an image's strokes and applied to the same image.
METHODS = {name: _on_itself(train) for name, train in TRAINERS.items()}
DEFAULT = "paintseg (default)"
#: The two methods paintseg is measured against (the ilastik preset is paintseg's own).
PEERS = ("scikit-image trainable", "ilastik filters + RF")


def beats_peers(scores: dict[str, float]) -> bool:
    """Whether the default's score is at or above the better of the two peers'."""
    return scores[DEFAULT] >= max(scores[p] for p in PEERS)


def method_input(method: str, image: np.ndarray, pixel_size_nm: float | None):
    """The image as ``method`` takes it: paintseg with its pixel size (so the lattice
    period is stored in nm), the peers as a bare array."""
    from paintseg.io import Image

    if method.startswith("paintseg") and pixel_size_nm:
        return Image(image, pixel_size_nm, "nm")
    return image


def _measure(data_file: str, method: str) -> tuple[float, float, float]:
    import fastfilters2  # noqa: F401  every method's imports happen before the clock starts
    import psutil
    import skimage.feature  # noqa: F401
    import skimage.future  # noqa: F401
    import sklearn.ensemble  # noqa: F401

    import paintseg.guidance  # noqa: F401  (the package imports lazily: load what fit uses)
    import paintseg.segmenter  # noqa: F401
    with np.load(data_file) as data:
        image, truth, strokes = data["image"], data["truth"], data["strokes"]
        image = method_input(method, image, float(data["pixel"]))
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


def measure(data, method: str) -> tuple[float, float, float]:
    """Run one method on one case in a fresh Python process (its own peak memory)."""
    with tempfile.TemporaryDirectory() as tmp:
        data_file = f"{tmp}/case.npz"
        np.savez(data_file, image=data.image, truth=data.truth, strokes=data.strokes,
                 pixel=data.pixel_size_nm or 0.0)
        out = subprocess.run([sys.executable, __file__, "--one", json.dumps([data_file, method])],
                             capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one case of each kind")
    parser.add_argument("--kinds", default="", help="comma-separated kinds (stem, isbi, ...)")
    parser.add_argument("--methods", default="", help="comma-separated method names")
    parser.add_argument("--out", default=None, help="also write the Markdown tables here")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        data_file, method = json.loads(args.one)
        print(json.dumps(_measure(data_file, method)))
        return
    cases = all_cases(quick=args.quick)
    if args.kinds:
        cases = [c for c in cases if c.kind in args.kinds.split(",")]
    methods = [m for m in METHODS if not args.methods or m in args.methods.split(",")]
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{mp.cpu_count()} cores, Python {platform.python_version()}",
        "",
        "| case | method | mean IoU | time (s) | peak extra memory (MiB) |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    scores: dict[tuple[str, str], list[float]] = {}
    times: dict[str, list[float]] = {}
    for case in cases:
        data = case.load()
        megapixels = data.image.size / 2**20
        for method in methods:
            iou, seconds, mem = measure(data, method)
            scores.setdefault((case.kind, method), []).append(iou)
            if megapixels >= 0.65:
                times.setdefault(method, []).append(seconds / megapixels)
            line = f"| {case.name} | {method} | {iou:.3f} | {seconds:.2f} | {mem:.0f} |"
            lines.append(line)
            print(line, flush=True)
    summary = ["", "Mean IoU per kind:", "", "| kind | " + " | ".join(methods) + " |",
               "|---" * (len(methods) + 1) + "|"]
    kinds = list(dict.fromkeys(c.kind for c in cases))
    for kind in [*kinds, "all"]:
        row = []
        for method in methods:
            values = [v for (k, m), vs in scores.items() if m == method and kind in (k, "all")
                      for v in vs]
            row.append(f"{np.mean(values):.3f}")
        summary.append(f"| {kind} | " + " | ".join(row) + " |")
    if times:
        summary += ["", "Mean time per megapixel, cases of 0.65 MP and more (s/MP): "
                    + ", ".join(f"{m} {np.mean(t):.2f}" for m, t in times.items())]
    print("\n".join(summary), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines + summary) + "\n")


if __name__ == "__main__":
    main()
