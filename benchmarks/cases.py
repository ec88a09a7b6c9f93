"""The benchmark cases: real labelled images and generators at several scales.

Every case gives an image, its truth (class ids 1..K, 0 = not scored) and
simulated strokes, deterministic per case. Real data is read from the shared data
folder beside the repository (``../shared/data``, or ``PAINTSEG_DATA``); cases whose
files are missing are skipped with a note.

- ``stem``: the MoS2 ADF-STEM generator at lattice constants of 6-46 px (first-order
  plane spacing 5.5-40 px). The probe and the grains are physical sizes, so they
  grow in pixels with the magnification, as in a real microscope.
- ``isbi``: ISBI 2012 serial-section EM, membranes (thin) against cell interiors.
- ``metaldam``: MetalDAM SEM of additively manufactured steel, 4 phases.
- ``texture``: brick / grass / gravel photo mosaics of equal mean and contrast.
- ``plates``: thin overlapping plates and thick rods on a dark support.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("PAINTSEG_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
MOS2_NM = 0.316
REFERENCE_PIXEL_NM = 0.05  # the bundled demo's sampling; the probe is 1.1 px there


@dataclass
class CaseData:
    image: np.ndarray
    truth: np.ndarray
    strokes: np.ndarray
    pixel_size_nm: float | None = None


@dataclass
class Case:
    name: str
    kind: str
    load: Callable[[], CaseData]


def mean_iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean IoU over the classes present in the truth, scored where truth > 0."""
    scored = truth > 0
    ious = []
    for k in np.unique(truth[scored]):
        p, t = (pred == k) & scored, truth == k
        ious.append((p & t).sum() / (p | t).sum())
    return float(np.mean(ious))


def _stem(a_px: float, size: int, seed: int, n_regions: int | None,
          dose: float = 40.0) -> CaseData:
    from paintseg.demo import make_stem_image, simulate_strokes

    pixel = MOS2_NM / a_px
    for attempt in range(seed, seed + 50):  # the first seed where every phase covers >= 10 %
        demo = make_stem_image(size, attempt, pixel_size_nm=pixel, n_regions=n_regions,
                               dose=dose, probe_sigma_px=1.1 * REFERENCE_PIXEL_NM / pixel)
        if min((demo.truth == k).mean() for k in (1, 2, 3)) >= 0.1:
            break
    strokes = simulate_strokes(demo.truth, grains=demo.grains, seed=1000 + seed)
    return CaseData(demo.image, demo.truth, strokes, pixel)


def _generated(maker: str, seed: int) -> CaseData:
    from paintseg import demo as d

    made = getattr(d, maker)(512, seed)
    return CaseData(made.image, made.truth,
                    d.simulate_strokes(made.truth, grains=made.grains, seed=1000 + seed))


def _grey(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("L"))


def isbi_case(n: int) -> CaseData:
    from paintseg.demo import simulate_strokes

    image = _grey(DATA / "isbi2012" / "image" / f"{n}.png").astype(np.float32)
    truth = np.where(_grey(DATA / "isbi2012" / "label" / f"{n}.png") > 127, 2, 1).astype(np.uint8)
    # membranes are too thin for the brush: traced along their centre lines
    strokes = simulate_strokes(truth, strokes_per_class=8, fraction=0.006, margin=3, seed=n,
                               trace=(1,))
    return CaseData(image, truth, strokes)


def metaldam_case(name: str) -> CaseData:
    from paintseg.demo import simulate_strokes

    image = _grey(DATA / "metaldam" / f"{name}_img.png").astype(np.float32)
    truth = _grey(DATA / "metaldam" / f"{name}_mask.png").astype(np.uint8)
    strokes = simulate_strokes(truth, strokes_per_class=6, fraction=0.008, margin=4, seed=7)
    return CaseData(image, truth, strokes)


STEM_SCALES = ((6.32, 512, None, 0), (9.0, 512, None, 1), (14.0, 1024, 5, 2), (23.0, 1024, 5, 3),
               (46.0, 1024, 4, 4))
ISBI_SLICES = (3, 11, 27)
METALDAM = ("micrograph00", "micrograph01", "micrograph05", "micrograph15", "micrograph20",
            "micrograph30")


def all_cases(quick: bool = False) -> list[Case]:
    """Every case, or one of each kind with ``quick``."""
    cases = [Case(f"STEM a={a:g} px (d={a * np.sqrt(3) / 2:.1f} px) {size}²", "stem",
                  lambda a=a, size=size, n=n, seed=seed: _stem(a, size, seed, n))
             for a, size, n, seed in STEM_SCALES]
    cases += [Case(f"texture mosaic seed {s}", "texture", lambda s=s: _generated("texture_mosaic", s))
              for s in (0, 1)]
    cases += [Case(f"plates seed {s}", "plates", lambda s=s: _generated("make_plates_image", s))
              for s in (0, 1)]
    if (DATA / "isbi2012").is_dir():
        cases += [Case(f"ISBI slice {n}", "isbi", lambda n=n: isbi_case(n)) for n in ISBI_SLICES]
    else:
        print(f"note: {DATA / 'isbi2012'} not found; ISBI cases skipped")
    if (DATA / "metaldam").is_dir():
        cases += [Case(f"MetalDAM {m[-2:]}", "metaldam", lambda m=m: metaldam_case(m)) for m in METALDAM]
    else:
        print(f"note: {DATA / 'metaldam'} not found; MetalDAM cases skipped")
    if quick:
        seen, first = set(), []
        for case in cases:
            if case.kind not in seen:
                seen.add(case.kind)
                first.append(case)
        cases = first
    return cases
