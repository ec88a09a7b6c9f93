"""``benchmarks/bench_transfer.py`` trains each method on one image and scores the next."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO
from test_bench_labelled import _write_set

SCRIPT = REPO / "benchmarks" / "bench_transfer.py"


def test_scores_every_method_on_images_it_was_not_trained_on(tmp_path):
    images, masks = _write_set(tmp_path, count=3)
    out = tmp_path / "table.md"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--no-shared", "--set", "plates", str(images), str(masks),
         "--zero-is-class", "plates", "--trains", "2", "--tests", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr
    table = out.read_text()
    row = next(line for line in table.splitlines() if line.startswith("| plates |"))
    cells = row.strip("| ").split(" | ")
    assert cells[1] == "2"  # two models, each trained on one image
    scores = [float(v) for v in cells[2:]]
    assert len(scores) == 4 and all(0.3 < s <= 1.0 for s in scores)
    assert "at or above the better peer on" in table


def test_no_set_fails_with_one_line(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--no-shared"], capture_output=True,
                          text=True, timeout=600, cwd=REPO)
    assert done.returncode != 0
    assert done.stderr.strip() == "error: no set could be scored"
