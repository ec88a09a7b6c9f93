"""Accuracy on a folder of labelled images of your own, against the peers.

A benchmark that this project wrote tests its own assumptions; this one runs every
method of ``bench_core.py`` on any labelled set: images in one folder, masks in another,
paired in sorted order (the same count, the same size each). Mask values are class ids;
0 is not scored unless ``--zero-is-class`` (then every value is a class, shifted by one).
Strokes are simulated inside each class as in ``bench_core.py``: a few short strokes at
``--margin`` px from any border, going to the class's separate regions in turn.
Accuracy only (mean IoU over the classes of each mask), all methods in one process.

    python benchmarks/bench_labelled.py --images DIR --masks DIR [--zero-is-class]
        [--margin 3] [--fraction 0.01] [--limit N] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import METHODS, beats_peers  # noqa: E402
from cases import mean_iou  # noqa: E402

from paintseg.demo import simulate_strokes  # noqa: E402
from paintseg.io import read_image, read_mask  # noqa: E402


def pairs(images: Path, masks: Path) -> list[tuple[Path, Path]]:
    """(image, mask) files of the two folders, in sorted order."""
    found = [sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
             for folder in (images, masks)]
    if len(found[0]) != len(found[1]):
        sys.exit(f"error: {len(found[0])} images but {len(found[1])} masks")
    return list(zip(*found, strict=True))


def regions_per_class(truth: np.ndarray) -> np.ndarray:
    """A region id per pixel: the connected regions of each class, so that a class's
    strokes go to its separate regions in turn."""
    regions = np.zeros(truth.shape, np.int64)
    for k in np.unique(truth[truth > 0]):
        labelled, _ = ndi.label(truth == k)
        regions[truth == k] = labelled[truth == k] + int(k) * (truth.size + 1)
    return regions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--masks", type=Path, required=True)
    parser.add_argument("--zero-is-class", action="store_true",
                        help="mask value 0 is a class (scored), not 'unlabelled'")
    parser.add_argument("--margin", type=int, default=3, help="px from any class border")
    parser.add_argument("--fraction", type=float, default=0.01, help="of the pixels painted")
    parser.add_argument("--limit", type=int, default=0, help="at most this many images")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    methods = list(METHODS)
    lines = ["| image | classes | " + " | ".join(methods) + " |", "|---" * (len(methods) + 2) + "|"]
    print("\n".join(lines), flush=True)
    scores = []
    for n, (image_path, mask_path) in enumerate(pairs(args.images, args.masks)):
        if args.limit and n >= args.limit:
            break
        image = np.asarray(read_image(image_path), np.float32)
        truth = read_mask(mask_path).astype(np.int64) + (1 if args.zero_is_class else 0)
        if truth.shape != image.shape:
            sys.exit(f"error: {mask_path.name} is {truth.shape}, {image_path.name} {image.shape}")
        classes = np.unique(truth[truth > 0])
        strokes = simulate_strokes(truth, grains=regions_per_class(truth), seed=1000 + n,
                                   margin=args.margin, fraction=args.fraction)
        if len(classes) < 2 or set(np.unique(strokes[strokes > 0])) != set(classes.tolist()):
            print(f"note: {image_path.name} skipped (fewer than two classes, or a class too "
                  f"small to paint at a margin of {args.margin} px)", flush=True)
            continue
        row = {m: mean_iou(METHODS[m](image, strokes), truth) for m in methods}
        scores.append(row)
        lines.append(f"| {image_path.name} | {len(classes)} | "
                     + " | ".join(f"{row[m]:.3f}" for m in methods) + " |")
        print(lines[-1], flush=True)
    if not scores:
        sys.exit("error: no image could be scored")
    finish_table(lines, scores, f"mean of {len(scores)}", "images", args.out)


def finish_table(lines: list[str], scores: list[dict[str, float]], mean_label: str,
                 unit: str, out: Path | None) -> None:
    """Add the mean row (labelled ``mean_label``) and the count of rows where the default
    is at or above the better peer (``unit``: what the rows are) to the table ``lines``
    (one row of ``scores`` per line); print them and write the table to ``out``."""
    methods = list(scores[0])
    wins = sum(beats_peers(r) for r in scores)
    lines.append(f"| {mean_label} | | "
                 + " | ".join(f"{np.mean([r[m] for r in scores]):.3f}" for m in methods) + " |")
    lines.append("")
    lines.append(f"The default at or above the better peer on {wins} of {len(scores)} {unit}.")
    print("\n".join(lines[-3:]), flush=True)
    if out:
        out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
