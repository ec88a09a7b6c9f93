"""AutoML against the default model, judged on the whole image's ground truth.

For each case (the images and simulated strokes of ``cases.py``): the default
model's mean IoU against the case's full truth, then a TPOT search of the given
budget and the mean IoU of the model it returns, whether it kept the default, the
reason it gives, and the time. Neither the search nor the default sees the truth:
both train on the strokes only. The search must never be worse than the default by
more than 0.01.

    python benchmarks/bench_automl.py [--minutes 1] [--quick] [--kinds stem,texture]
                                      [--names "a=9,a=14"] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases import all_cases, mean_iou  # noqa: E402

TOLERANCE = 0.01


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="budget per search")
    parser.add_argument("--quick", action="store_true", help="one case of each kind")
    parser.add_argument("--kinds", default="", help="comma-separated kinds")
    parser.add_argument("--names", default="", help="comma-separated parts of case names")
    parser.add_argument("--max-pixels", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    args = parser.parse_args()

    from paintseg import Segmenter
    from paintseg.automl import AutoMLSearch
    from paintseg.io import Image

    cases = all_cases()
    first = {}
    for case in cases:
        first.setdefault(case.kind, case.name)
    kinds = [k for k in args.kinds.split(",") if k]
    names = [n for n in args.names.split(",") if n]
    if args.quick or kinds or names:
        cases = [c for c in cases if (args.quick and first[c.kind] == c.name) or c.kind in kinds
                 or any(n in c.name for n in names)]
    print(f"budget {args.minutes} min per search, {args.workers} Dask workers, "
          f"{args.max_pixels} pixels per class; mIoU = mean IoU of the whole image against its truth\n")
    print("| case | default mIoU | search mIoU | difference | kept | reason | search's own pipeline "
          "(held-out strokes: search / default) | its mIoU | evaluations | search s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    worst, rows = 0.0, []
    for case in cases:
        data = case.load()
        image = Image(data.image, data.pixel_size_nm, "nm") if data.pixel_size_nm else data.image
        default_iou = mean_iou(Segmenter().fit([image], [data.strokes]).predict(image), data.truth)
        t0 = time.time()
        result = AutoMLSearch(minutes=args.minutes, seed=0, n_workers=args.workers,
                              max_pixels_per_class=args.max_pixels).run([image], [data.strokes])
        seconds = time.time() - t0
        iou = mean_iou(result.segmenter.predict(image), data.truth)
        worst = min(worst, iou - default_iou)
        summary = result.segmenter.training_summary_["automl"]
        # what the search's own pipeline would have given, had it replaced the default
        own = Segmenter(features=result.segmenter.spec_, classifier=result.search_pipeline)
        own_iou = mean_iou(own.fit([image], [data.strokes]).predict(image), data.truth)
        kept = "default" if result.kept_default else "search"
        rows.append(iou - default_iou >= -TOLERANCE)
        print(f"| {case.name} | {default_iou:.3f} | {iou:.3f} | {iou - default_iou:+.3f} | {kept} | "
              f"{result.reason} | {summary['pipeline']} ({result.search_grouped_score:.3f} / "
              f"{result.default_grouped_score:.3f}) | {own_iou:.3f} | {result.evaluations} | "
              f"{seconds:.0f} |", flush=True)
    print(f"\nworst difference (search model - default): {worst:+.3f} (target >= -{TOLERANCE}); "
          f"{sum(rows)} of {len(rows)} cases within the target")


if __name__ == "__main__":
    main()
