"""The original case by eye: the MoO3 ADF-STEM image painted as in the original
demonstration (background, thin plates, thick crystal), segmented by the default
and by the ``ilastik`` preset; writes the strokes and both overlays as PNGs.

    python benchmarks/moo3_overlay.py [--data ../shared/data] [--out benchmarks/moo3]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from paintseg import Segmenter
from paintseg.annotations import Stroke, draw_stroke
from paintseg.colours import hex_to_rgb
from paintseg.io import to_uint8

HERE = Path(__file__).resolve().parent
COLOURS = {1: "#7d1f1f", 2: "#29a5d6", 3: "#76e04a"}  # as in the original demonstration


def overlay(image: np.ndarray, labels: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    grey = np.repeat(to_uint8(image)[..., None], 3, axis=2).astype(np.float32)
    colour = np.zeros_like(grey)
    for k, c in COLOURS.items():
        colour[labels == k] = hex_to_rgb(c)
    painted = labels > 0
    grey[painted] = (1 - alpha) * grey[painted] + alpha * colour[painted]
    return grey.astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=HERE / "moo3")
    args = parser.parse_args()
    spec = json.loads((HERE / "moo3" / "strokes.json").read_text())
    image = np.asarray(PILImage.open(args.data / "seed" / "MoO3-crystals-ADF-STEM.jpg").convert("L"),
                       np.float32)
    strokes = np.zeros(image.shape, np.uint8)
    for s in spec["strokes"]:
        draw_stroke(strokes, Stroke(np.asarray(s["points"], float), s["width"], s["label"]))
    args.out.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(overlay(image, strokes, alpha=1.0)).save(args.out / "strokes.png")
    for name, features in (("default", "auto"), ("ilastik", "ilastik")):
        seg = Segmenter(features=features).fit([image], [strokes])
        labels = seg.predict(image)
        PILImage.fromarray(overlay(image, labels)).save(args.out / f"overlay-{name}.png")
        fractions = np.bincount(labels.ravel(), minlength=4)[1:] / labels.size
        lattice = f"{seg.lattice_.describe()}; " if seg.spec_.name == "auto" else ""
        print(f"{name}: {lattice}fractions "
              + ", ".join(f"{spec['classes'][str(k)]} {f:.1%}" for k, f in enumerate(fractions, 1)))


if __name__ == "__main__":
    main()
