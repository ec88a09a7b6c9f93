"""``benchmarks/bench_labelled.py`` scores every method on a folder of labelled files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import tifffile
from conftest import REPO
from PIL import Image

from paintseg.demo import make_plates_image

SCRIPT = REPO / "benchmarks" / "bench_labelled.py"


def _write_set(folder, count=2, zero_is_class=True):
    """Plates images as 16-bit TIFFs and their truth as PNG masks (0 = the support)."""
    images, masks = folder / "images", folder / "masks"
    images.mkdir()
    masks.mkdir()
    for n in range(count):
        made = make_plates_image(160, seed=n)
        image = (made.image - made.image.min()) / np.ptp(made.image) * 60000
        tifffile.imwrite(images / f"slice_{n:02d}.tif", image.astype(np.uint16))
        truth = made.truth - 1 if zero_is_class else made.truth
        Image.fromarray(truth.astype(np.uint8)).save(masks / f"labels_{n:02d}.png")
    return images, masks


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=600, cwd=REPO)


def test_scores_every_method_on_every_image(tmp_path):
    images, masks = _write_set(tmp_path)
    out = tmp_path / "table.md"
    done = _run("--images", images, "--masks", masks, "--zero-is-class", "--out", out)
    assert done.returncode == 0, done.stderr
    table = out.read_text()
    rows = [line for line in table.splitlines() if line.startswith("| slice_")]
    assert len(rows) == 2
    for row in rows:
        scores = [float(v) for v in row.strip("| ").split(" | ")[2:]]
        assert len(scores) == 4 and all(0.3 < s <= 1.0 for s in scores)
    assert "| mean of 2 |" in table and "at or above the better peer on" in table


def test_unequal_folders_fail_with_one_line(tmp_path):
    images, masks = _write_set(tmp_path)
    next(masks.iterdir()).unlink()
    done = _run("--images", images, "--masks", masks)
    assert done.returncode != 0
    assert done.stderr.strip() == "error: 2 images but 1 masks"
