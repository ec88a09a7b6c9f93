"""Does the default hold away from the data it was designed on? Accuracy against the peers
on microstructures it never saw, at other pixel sizes, under noise, and with other ways
of painting.

Six axes, each with every method of ``bench_core.py`` on the same image and strokes:

- ``kinds``: the generators of ``generators.py`` (SEM particles, HRTEM nanoparticles,
  pores, grain boundaries, lamellar steel), two seeds each.
- ``scale``: benchmark images resampled to half and twice their pixel count per side
  (a lower and a higher magnification), strokes painted anew at that scale with a brush
  and a margin that scale with it; 1x painted the same way, for reference.
- ``noise``: Gaussian noise of 0.5 and 1 times the image's own standard deviation
  added to benchmark images, with their benchmark strokes; and cosmic rays (zingers):
  streaks of 1-3 px, one per 4000 pixels, 10 intensity ranges above the image's
  brightest, as a raw detector frame has them.
- ``strokes``: one stroke per class; strokes that reach the class borders; many thin
  strokes (a 1-px brush).
- ``clicks``: the same images labelled by clicks instead of strokes: single pixels
  drawn at random from the truth (0.5 % of the pixels), or dots of 3 x 3 px (0.08 % of
  the pixels as centres), as a proofreader or a point-annotation tool would.
- ``magnification``: the STEM generator at lattice constants between and beyond those
  of ``bench_core.py`` (a = 11 to 52 px), one image each (generator seed 10), and two
  long periods at a low dose (a = 35 px at 3 and 46 px at 1 count per pixel).

Accuracy only (in one process; ``bench_core.py`` measures time and memory).

    python benchmarks/bench_robustness.py [--axes kinds,scale,noise,strokes,clicks,magnification]
        [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import METHODS, beats_peers, method_input  # noqa: E402
from cases import DATA, CaseData, _stem, all_cases, mean_iou  # noqa: E402
from generators import GENERATORS  # noqa: E402

from paintseg.demo import simulate_strokes  # noqa: E402

#: Benchmark images resampled, noised and painted in other ways (those found are used).
BASE_CASES = ("plates seed 0", "plates seed 1", "ISBI slice 3", "MetalDAM 01", "MetalDAM 30",
              "texture mosaic seed 0")
STROKE_CASES = ("STEM a=9 px (d=7.8 px) 512²", *BASE_CASES[:4], "texture mosaic seed 0")
STROKE_STYLES = {
    "one stroke per class": dict(strokes_per_class=1, fraction=0.003),
    "strokes to the borders": dict(strokes_per_class=4, fraction=0.006, margin=1),
    "many thin strokes": dict(strokes_per_class=10, fraction=0.004, radius=1, margin=2),
}
Item = tuple[str, str, CaseData]  # (setting, case name, data)


def _paint(truth: np.ndarray, regions: np.ndarray | None, seed: int, thin: tuple[int, ...] = (),
           **style) -> np.ndarray:
    return simulate_strokes(truth, grains=regions, seed=seed, trace=thin, **style)


def _generated(name: str, seed: int) -> CaseData:
    image, truth, regions = GENERATORS[name](seed=seed)
    thin = (2,) if name == "grain boundaries" else ()
    strokes = _paint(truth, regions, 1000 + seed, thin, strokes_per_class=6, fraction=0.008, margin=4)
    return CaseData(image, truth, strokes)


def _thin_classes(name: str) -> tuple[int, ...]:
    return (1,) if name.startswith("ISBI") else ()  # membranes are class 1 there


def kinds_axis() -> Iterator[Item]:
    for name in GENERATORS:
        for seed in (0, 1):
            yield "unseen kinds", f"{name} seed {seed}", _generated(name, seed)


def _base_cases(names: tuple[str, ...]) -> dict[str, CaseData]:
    found = {c.name: c for c in all_cases()}
    cases = {n: found[n].load() for n in names if n in found}
    cases["particles seed 0"] = _generated("particles", 0)
    return cases


def scale_axis() -> Iterator[Item]:
    for name, data in _base_cases(BASE_CASES).items():
        for factor in (0.5, 1.0, 2.0):
            h, w = data.truth.shape
            size = (round(w * factor), round(h * factor))
            interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
            image = cv2.resize(data.image.astype(np.float32), size, interpolation=interpolation)
            truth = cv2.resize(data.truth, size, interpolation=cv2.INTER_NEAREST)
            strokes = _paint(truth, None, 3, _thin_classes(name), strokes_per_class=5,
                             fraction=0.008, margin=max(2, round(4 * factor)),
                             radius=max(2, round(3 * factor)))
            yield f"scale {factor:g}x", name, CaseData(image, truth, strokes)


def noise_axis() -> Iterator[Item]:
    rng, hits = np.random.default_rng(0), np.random.default_rng(1)
    for name, data in _base_cases(BASE_CASES).items():
        for level in (0.5, 1.0):
            image = data.image.astype(np.float32)
            image = image + rng.normal(0, level * image.std(), image.shape).astype(np.float32)
            yield f"noise {level:g} x std", name, CaseData(image, data.truth, data.strokes)
        yield "cosmic rays", name, CaseData(_zingers(data.image, hits), data.truth, data.strokes)


def _zingers(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``image`` with cosmic-ray hits: streaks of 1-3 px along a row, one per 4000
    pixels, 10 ranges (0.5-99.5 %) above the range's top."""
    image = image.astype(np.float32)
    lo, hi = np.percentile(image, [0.5, 99.5])
    h, w = image.shape
    for _ in range(h * w // 4000):
        y, x, length = rng.integers(0, h), rng.integers(0, w - 3), rng.integers(1, 4)
        image[y, x:x + length] = hi + 10 * (hi - lo)
    return image


def strokes_axis() -> Iterator[Item]:
    for name, data in _base_cases(STROKE_CASES).items():
        for style, params in STROKE_STYLES.items():
            strokes = _paint(data.truth, None, 5, _thin_classes(name), **params)
            yield style, name, CaseData(data.image, data.truth, strokes, data.pixel_size_nm)


#: Labelling by clicks: (share of the pixels clicked, side of each click's square in px).
CLICK_STYLES = {"scattered clicks": (0.005, 1), "dots of 3 px": (0.0008, 3)}


def _clicks(truth: np.ndarray, share: float, side: int, seed: int = 0) -> np.ndarray:
    """Pixels (or ``side``-px squares) at random places, labelled with the truth."""
    centres = (np.random.default_rng(seed).random(truth.shape) < share).astype(np.uint8)
    clicked = cv2.dilate(centres, np.ones((side, side), np.uint8)) > 0
    return np.where(clicked, truth, 0).astype(np.uint8)


def clicks_axis() -> Iterator[Item]:
    for name, data in _base_cases(STROKE_CASES).items():
        for style, (share, side) in CLICK_STYLES.items():
            yield style, name, CaseData(data.image, data.truth, _clicks(data.truth, share, side),
                                        data.pixel_size_nm)


#: Lattice constants (px) of the magnification axis: none of them is in bench_core.
MAGNIFICATIONS = (11.0, 18.0, 25.0, 30.0, 35.0, 40.0, 52.0)
#: Long periods at a low dose (counts per pixel; the others have 40): few unit cells in
#: the frame and a noisy spectrum together.
LOW_DOSE = ((35.0, 3.0), (46.0, 1.0))


def magnification_axis() -> Iterator[Item]:
    for a, dose in [(a, 40.0) for a in MAGNIFICATIONS] + list(LOW_DOSE):
        size, regions = (512, None) if a < 12 else (1024, 5 if a < 30 else 4)
        data = _stem(a, size, 10, regions, dose)
        name = f"STEM a={a:g} px (d={a * np.sqrt(3) / 2:.1f} px) {size}²"
        yield "magnification", name + (f", dose {dose:g}" if dose != 40.0 else ""), data


AXES = {"kinds": kinds_axis, "scale": scale_axis, "noise": noise_axis, "strokes": strokes_axis,
        "clicks": clicks_axis, "magnification": magnification_axis}


def _run(method: str, data: CaseData) -> float:
    image = method_input(method, data.image, data.pixel_size_nm)
    return mean_iou(METHODS[method](image, data.strokes), data.truth)


def summarise(scores: dict[tuple[str, str], dict[str, float]], methods: list[str]) -> list[str]:
    """Mean IoU per setting and method, and on how many cases the default is at or
    above the better of the two peers."""
    lines = ["| setting | cases | " + " | ".join(methods) + " | default ≥ better peer |",
             "|---" * (len(methods) + 3) + "|"]
    settings = list(dict.fromkeys(s for s, _ in scores))
    for setting in [*settings, "all"]:
        rows = [r for (s, _), r in scores.items() if setting in (s, "all")]
        means = " | ".join(f"{np.mean([r[m] for r in rows]):.3f}" for m in methods)
        wins = sum(beats_peers(r) for r in rows)
        lines.append(f"| {setting} | {len(rows)} | {means} | {wins} of {len(rows)} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--axes", default=",".join(AXES), help="comma-separated: " + ", ".join(AXES))
    parser.add_argument("--out", default=None, help="also write the Markdown tables here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if not DATA.is_dir():
        print(f"note: {DATA} not found; only the generated images are used")
    methods = list(METHODS)
    lines = ["| setting | case | " + " | ".join(methods) + " |", "|---" * (len(methods) + 2) + "|"]
    print("\n".join(lines), flush=True)
    scores: dict[tuple[str, str], dict[str, float]] = {}
    for axis in args.axes.split(","):
        for setting, name, data in AXES[axis]():
            row = {m: _run(m, data) for m in methods}
            scores[(setting, name)] = row
            lines.append(f"| {setting} | {name} | " + " | ".join(f"{row[m]:.3f}" for m in methods) + " |")
            print(lines[-1], flush=True)
    summary = ["", "Mean IoU per setting:", "", *summarise(scores, methods)]
    print("\n".join(summary), flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines + summary) + "\n")


if __name__ == "__main__":
    main()
