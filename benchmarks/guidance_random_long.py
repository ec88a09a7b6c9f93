"""How many strokes random placement needs to reach the levels of ``bench_guidance``.

Random placement may not reach the best level within the main benchmark's strokes;
this runs the random user longer (``--steps``) on the chosen kinds, with the same
seeds (its first strokes are those of the main run), and prints the strokes each run
needed to reach each level.

    nice -n 10 python benchmarks/guidance_random_long.py --steps 30 --levels stem=0.85,0.951
"""

from __future__ import annotations

import argparse

import bench_guidance as guidance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--levels", nargs="+", required=True,
                        help="KIND=LEVEL[,LEVEL...], e.g. isbi=0.727")
    args = parser.parse_args()
    levels = {k: [float(v) for v in vs.split(",")] for k, vs in
              (item.split("=") for item in args.levels)}
    print("| case | level | strokes random placement needed (per seed) | mean IoU at the end |")
    print("|---|---|---|---|")
    for name, kind, load in guidance.cases():
        if kind not in levels:
            continue
        data = load()
        runs = [guidance.run(data.image, data.truth, kind, "random", args.steps, seed)
                for seed in range(args.seeds)]
        end = sum(rows[-1]["true"] for rows in runs) / len(runs)
        for level in levels[kind]:
            shown = guidance.strokes_shown(runs, level)
            print(f"| {name} | {level:.3f} | {shown} (of {runs[0][-1]['strokes']}) | {end:.3f} |",
                  flush=True)


if __name__ == "__main__":
    main()
