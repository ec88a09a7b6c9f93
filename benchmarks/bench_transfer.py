"""One image painted, the others segmented: a model applied to images it was not trained on.

A user paints one micrograph of a series and applies the model to the rest (the CLI's
``paintseg predict``, the batch run). Each method here is trained on the simulated
strokes of one image of a labelled set and segments the next images of the same set
(in the set's order, wrapping round);
the score is their mean IoU, all methods side by side in one process. Sets: ISBI EM
and MetalDAM SEM from ``../shared/data`` (strokes as in ``cases.py``), and any folders
of images and masks given with ``--set NAME IMAGES MASKS`` (strokes as in
``bench_labelled.py``).

    python benchmarks/bench_transfer.py [--set NAME IMAGES MASKS [--zero-is-class NAME]]
        [--no-shared] [--trains 3] [--tests 5] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import TRAINERS  # noqa: E402
from bench_labelled import finish_table, pairs, regions_per_class  # noqa: E402
from cases import DATA, METALDAM, isbi_case, mean_iou, metaldam_case  # noqa: E402

from paintseg.demo import simulate_strokes  # noqa: E402
from paintseg.io import read_image, read_mask  # noqa: E402

ISBI_TRANSFER_SLICES = (0, 5, 10, 15, 20, 25)


def builtin_sets() -> dict[str, list]:
    """Loaders of (image, truth, strokes) for the sets in ``../shared/data``."""
    sets = {}
    if (DATA / "isbi2012").is_dir():
        sets["ISBI EM"] = [lambda n=n: isbi_case(n) for n in ISBI_TRANSFER_SLICES]
    if (DATA / "metaldam").is_dir():
        sets["MetalDAM SEM"] = [lambda m=m: metaldam_case(m) for m in METALDAM]
    return sets


def folder_set(images: Path, masks: Path, zero_is_class: bool) -> list:
    """Loaders of (image, truth, strokes) for a folder pair, as ``bench_labelled.py``."""
    def load(image_path, mask_path, n):
        image = np.asarray(read_image(image_path), np.float32)
        truth = read_mask(mask_path).astype(np.int64) + (1 if zero_is_class else 0)
        if truth.shape != image.shape:
            sys.exit(f"error: {mask_path.name} is {truth.shape}, {image_path.name} {image.shape}")
        strokes = simulate_strokes(truth, grains=regions_per_class(truth), seed=1000 + n,
                                   margin=3, fraction=0.01)
        return image, truth, strokes
    return [lambda i=i, m=m, n=n: load(i, m, n) for n, (i, m) in enumerate(pairs(images, masks))]


def _triple(case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (case.image, case.truth, case.strokes) if hasattr(case, "image") else case


def _paintable(truth: np.ndarray, strokes: np.ndarray) -> bool:
    """Whether the strokes paint every class of the truth, and there are two or more."""
    classes = set(np.unique(truth[truth > 0]).tolist())
    return len(classes) >= 2 and set(np.unique(strokes[strokes > 0]).tolist()) == classes


def score_set(name: str, loaders: list, trains: int, tests: int) -> list[dict[str, float]]:
    """Per trained image, each method's mean IoU on the ``tests`` images after it (the
    set's order, wrapping round to its start); images are loaded as they are needed."""
    n = len(loaders)
    if n < 2:
        print(f"note: {name} skipped (one image: nothing to apply a model to)", flush=True)
        return []
    loaded: dict[int, tuple] = {}

    def data(i: int) -> tuple:
        if i not in loaded:
            loaded[i] = _triple(loaders[i]())
        return loaded[i]

    rows = []
    for t in range(min(trains, n)):
        image, truth, strokes = data(t)
        if not _paintable(truth, strokes):
            print(f"note: {name} image {t} not trained on (fewer than two classes, or a "
                  "class too small to paint)", flush=True)
            continue
        others = [data((t + k) % n) for k in range(1, min(tests, n - 1) + 1)]
        row = {}
        for method, train in TRAINERS.items():
            segment = train(image, strokes)
            row[method] = float(np.mean([mean_iou(segment(im), tr) for im, tr, _ in others]))
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs=3, action="append", default=[],
                        metavar=("NAME", "IMAGES", "MASKS"), help="a labelled folder pair")
    parser.add_argument("--zero-is-class", action="append", default=[], metavar="NAME",
                        help="in the set named NAME (given with --set), mask value 0 is a "
                             "class; may be repeated")
    parser.add_argument("--no-shared", action="store_true",
                        help="only the sets given with --set, not ISBI and MetalDAM")
    parser.add_argument("--trains", type=int, default=3, help="images trained on, in turn")
    parser.add_argument("--tests", type=int, default=5, help="images each model segments")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    unknown = set(args.zero_is_class) - {name for name, _, _ in args.set}
    if unknown:
        sys.exit(f"error: --zero-is-class names no set given with --set: {sorted(unknown)[0]}")
    sets = {} if args.no_shared else builtin_sets()
    for name, images, masks in args.set:
        sets[name] = folder_set(Path(images), Path(masks), name in args.zero_is_class)
    methods = list(TRAINERS)
    lines = ["| set | models | " + " | ".join(methods) + " |", "|---" * (len(methods) + 2) + "|"]
    print("\n".join(lines), flush=True)
    means = []
    for name, loaders in sets.items():
        rows = score_set(name, loaders, args.trains, args.tests)
        if not rows:
            continue
        mean = {m: float(np.mean([r[m] for r in rows])) for m in methods}
        means.append(mean)
        lines.append(f"| {name} | {len(rows)} | " + " | ".join(f"{mean[m]:.3f}" for m in methods) + " |")
        print(lines[-1], flush=True)
    if not means:
        sys.exit("error: no set could be scored")
    finish_table(lines, means, f"mean of {len(means)} sets", "sets", args.out)

if __name__ == "__main__":
    main()
