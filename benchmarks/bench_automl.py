"""AutoML against the default model, judged on the whole image's ground truth.

For each case (the same images and simulated strokes as bench_core.py): the
default model's mean IoU against the truth, then a TPOT search of the given
budget and the mean IoU of the model it returns, whether it kept the default and
why. The search must never be worse than the default by more than 0.01.

    python benchmarks/bench_automl.py [--minutes 1] [--quick] [--kinds stem,plates]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases import all_cases, mean_iou  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="one case of each kind")
    parser.add_argument("--kinds", default="", help="comma-separated kinds")
    parser.add_argument("--max-pixels", type=int, default=2000)
    args = parser.parse_args()

    from paintseg import Segmenter
    from paintseg.automl import AutoMLSearch
    from paintseg.io import Image

    cases = all_cases(quick=args.quick)
    if args.kinds:
        cases = [c for c in cases if c.kind in args.kinds.split(",")]
    print(f"budget {args.minutes} min per search, {args.max_pixels} pixels per class\n")
    print("| case | default mIoU | search model mIoU | difference | search's own pipeline, held-out "
          "strokes | default, held-out strokes | kept | search s |")
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for case in cases:
        data = case.load()
        image = Image(data.image, data.pixel_size_nm, "nm") if data.pixel_size_nm else data.image
        default_iou = mean_iou(Segmenter().fit([image], [data.strokes]).predict(image), data.truth)
        t0 = time.time()
        result = AutoMLSearch(minutes=args.minutes, seed=0,
                              max_pixels_per_class=args.max_pixels).run([image], [data.strokes])
        seconds = time.time() - t0
        iou = mean_iou(result.segmenter.predict(image), data.truth)
        worst = min(worst, iou - default_iou)
        kept = "default" if result.kept_default else "search"
        pipeline = result.segmenter.training_summary_["automl"]["pipeline"]
        print(f"| {case.name} | {default_iou:.3f} | {iou:.3f} | {iou - default_iou:+.3f} | "
              f"{result.search_grouped_score:.3f} ({pipeline}) | {result.default_grouped_score:.3f} | "
              f"{kept} | {seconds:.0f} |", flush=True)
    print(f"\nworst difference (search model - default): {worst:+.3f} (target >= -0.01)")


if __name__ == "__main__":
    main()
