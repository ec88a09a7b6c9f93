"""AutoML against the default model on the core benchmark cases.

For each case (same images and simulated strokes as bench_core.py): the default
model's mean IoU against the truth, then a TPOT search of the given budget and its
model's mean IoU, with both grouped-CV scores and the winning pipeline.

    python benchmarks/bench_automl.py [--minutes 5] [--quick]
"""

from __future__ import annotations

import argparse
import time

from bench_core import Case, mean_iou


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="two cases only")
    parser.add_argument("--max-pixels", type=int, default=2000)
    args = parser.parse_args()

    from paintseg import Segmenter
    from paintseg.automl import AutoMLSearch

    cases = [Case(f"STEM 512 seed {s}", "stem", 512, s) for s in (0, 1, 2)]
    cases += [Case(f"STEM 1024 seed {s}", "stem", 1024, s) for s in (3, 4)]
    cases += [Case(f"texture mosaic seed {s}", "texture", 512, s) for s in (0, 1)]
    if args.quick:
        cases = [cases[0], cases[-1]]
    print(f"budget {args.minutes} min per search, {args.max_pixels} pixels per class\n")
    print("| case | default mIoU | search mIoU | default grouped-CV | search grouped-CV "
          "| search pixel K-fold | evaluations | kept | winning pipeline | search s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in cases:
        image, truth, strokes = case.load()
        default_iou = mean_iou(Segmenter().fit([image], [strokes]).predict(image), truth)
        t0 = time.time()
        result = AutoMLSearch(minutes=args.minutes, seed=0,
                              max_pixels_per_class=args.max_pixels).run([image], [strokes])
        seconds = time.time() - t0
        iou = mean_iou(result.segmenter.predict(image), truth)
        pipeline = result.segmenter.training_summary_["automl"]["pipeline"]
        kept = "default" if result.kept_default else "search"
        print(f"| {case.name} | {default_iou:.3f} | {iou:.3f} | {result.default_grouped_score:.3f} | "
              f"{result.grouped_score:.3f} | {result.pixel_kfold_score:.3f} | {result.evaluations} | "
              f"{kept} | {pipeline} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
