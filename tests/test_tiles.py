"""Tiled prediction and batch runs: tiled equals whole, stacks, bad files, Dask."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
import tifffile
from conftest import free_port

from paintseg import Segmenter, tiles
from paintseg.demo import make_stem_image, simulate_strokes
from paintseg.io import Image, read_mask, write_tiff_image


@pytest.fixture(scope="module")
def stem():
    """A lattice image with grains of three phases, and a model trained on it."""
    demo = make_stem_image(512, seed=3)
    strokes = simulate_strokes(demo.truth, grains=demo.grains, seed=3)
    image = Image(demo.image, 0.03, "nm", "stem.tif")
    return image, Segmenter(estimate=False).fit([image], [strokes])


def test_tiles_cover_the_image_once_on_the_alignment_grid():
    plan = tiles.plan_tiles((1000, 700), 300, 50)
    cover = np.zeros((1000, 700), int)
    for t in plan:
        r0, c0, r1, c1 = t.core
        cover[r0:r1, c0:c1] += 1
        assert r0 % tiles.ALIGN == 0 and c0 % tiles.ALIGN == 0
        assert t.read[0] % tiles.ALIGN == 0 and t.read[1] % tiles.ALIGN == 0
        assert t.read[0] <= r0 - 64 or t.read[0] == 0  # a halo of 64 (50 rounded up)
    assert (cover == 1).all()


def test_tiled_equals_whole_image_with_classes_across_tile_borders():
    demo = make_stem_image(2048, seed=11)
    strokes = simulate_strokes(demo.truth, grains=demo.grains, seed=11)
    image = Image(demo.image, 0.03, "nm", "big.tif")
    seg = Segmenter(estimate=False).fit([image], [strokes])
    whole = seg.predict(image)
    tiled = tiles.predict(seg, image, tile=512)
    # the grains cross the tile borders: every class meets a border somewhere
    borders = np.zeros(whole.shape, bool)
    borders[::512] = borders[:, ::512] = True
    assert set(np.unique(demo.truth[borders])) == set(np.unique(demo.truth))
    # 99.998 % here: the rest are pixels whose features differ in their last float bits
    # and whose top classes are nearly tied
    assert (tiled == whole).mean() >= 0.9999
    seen = []
    assert tiles.predict(seg, image, tile=512, sink=lambda t, labels: seen.append(t)) is None
    assert len(seen) == 16


def test_a_large_image_is_trained_and_predicted_tile_by_tile_as_whole(stem, monkeypatch):
    """Above ``LARGE_PIXELS`` a Segmenter computes features tile by tile (bounded memory):
    the painted pixels' features, the model and the prediction are those of the whole
    image, up to float rounding."""
    from paintseg.features import clear_cache, compute_features, tiling

    image, _ = stem
    demo = make_stem_image(512, seed=3)
    strokes = simulate_strokes(demo.truth, grains=demo.grains, seed=3)
    seg = Segmenter(random_state=0).fit([image], [strokes])
    whole = seg.predict_proba(image)
    spec = seg.spec_for(image)
    rows, cols = np.nonzero(strokes)
    expected = compute_features(image, spec)[rows, cols]
    monkeypatch.setattr(tiling, "LARGE_PIXELS", 128 * 128)
    monkeypatch.setattr(tiling, "DEFAULT_TILE", 192)  # 3 x 3 tiles, borders through the grains
    blocks = []
    real_compute = tiling.compute_features
    monkeypatch.setattr(tiling, "compute_features",
                        lambda block, *a, **k: blocks.append(block.shape) or real_compute(block, *a, **k))
    np.testing.assert_allclose(tiling.features_at(image, spec, rows, cols), expected,
                               rtol=1e-3, atol=1e-4)
    assert len(blocks) >= 4  # the strokes lie in several tiles, each computed on its own
    clear_cache()  # a large image whose whole stack is cached reads it instead (the app)
    tiled = Segmenter(random_state=0).fit([image], [strokes])
    assert tiled.accuracy_.mean_iou is not None  # estimated from a sample of tiles
    assert abs(tiled.accuracy_.mean_iou - seg.accuracy_.mean_iou) < 0.05
    proba = tiled.predict_proba(image)
    assert proba.shape == whole.shape
    assert (proba.argmax(2) == whole.argmax(2)).mean() >= 0.999
    assert np.abs(proba - whole).max() < 0.1
    # live mode's preview reads the box's features alone
    preview = tiles.preview_proba(seg, image, (100, 50, 400, 300), 4)
    computed = len(blocks)
    compute_features(image, spec)  # the app keeps the stack of the image being painted
    np.testing.assert_allclose(preview, tiles.preview_proba(seg, image, (100, 50, 400, 300), 4),
                               atol=1e-6)
    again = tiled.predict_proba(image)
    assert len(blocks) == computed  # no tile computed once the whole stack is there
    assert (again.argmax(2) == proba.argmax(2)).mean() >= 0.999


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "paintseg.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def folder(stem, tmp_path_factory):
    """A model file, a folder of good images, a stack and a broken file."""
    image, seg = stem
    root = tmp_path_factory.mktemp("batch")
    seg.save(root / "model.paintseg")
    inputs = root / "in"
    inputs.mkdir()
    write_tiff_image(inputs / "a.tif", image[:256, :256], 0.03)
    write_tiff_image(inputs / "b.tif", image[256:, 256:], 0.03)
    (inputs / "broken.tif").write_bytes(b"II*\x00 not a tiff at all")
    frames = np.stack([image[:256, :256], image[256:, :256], image[:256, 256:]])
    tifffile.imwrite(inputs / "series.tif", frames, photometric="minisblack")  # a movie
    return root


def test_a_folder_with_a_bad_file_and_a_stack(folder, stem):
    _, seg = stem
    out = folder / "out"
    r = _run("predict", folder / "model.paintseg", folder / "in", "--out", out)
    assert r.returncode == 1  # one file failed ...
    assert "broken.tif" in r.stderr and "Traceback" not in r.stderr
    assert "3 of 4 files done (5 frames), 1 failed" in r.stdout  # ... and the others are done
    assert sorted(p.name for p in out.iterdir()) == ["a_mask.png", "b_mask.png", "series_mask.tif"]
    masks = tifffile.imread(out / "series_mask.tif")  # frame by frame, stacked
    assert masks.shape == (3, 256, 256)
    frames = tifffile.imread(folder / "in" / "series.tif")
    for k in range(3):
        np.testing.assert_array_equal(masks[k], seg.predict(Image(frames[k])))
    np.testing.assert_array_equal(read_mask(out / "a_mask.png"), masks[0])


def test_a_glob_and_forced_tiles_give_the_same_masks(folder):
    out = folder / "tiled"
    r = _run("predict", folder / "model.paintseg", folder / "in" / "[ab].tif", "--out", out,
             "--tile", 128)
    assert r.returncode == 0, r.stderr
    for name in ("a_mask.png", "b_mask.png"):
        agree = (read_mask(out / name) == read_mask(folder / "out" / name)).mean()
        assert agree >= 0.999, (name, agree)


def test_an_unwritable_output_is_one_line_and_leaves_nothing(folder):
    blocker = folder / "file.txt"
    blocker.write_text("a file where a folder should be")
    r = _run("predict", folder / "model.paintseg", folder / "in" / "a.tif",
             "--out", blocker / "masks" / "a.png")
    assert r.returncode == 1 and "cannot write" in r.stderr and "Traceback" not in r.stderr
    assert not list(folder.glob("**/*.part"))


@pytest.mark.slow
def test_a_dask_cluster_on_loopback_gives_the_local_result(folder):
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                  "--host", "127.0.0.1", "--port", str(port),
                                  "--dashboard-address", ":0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                "--nthreads", "1", "--nworkers", "2", "--no-dashboard"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)
        out = folder / "cluster"
        r = _run("predict", folder / "model.paintseg", folder / "in" / "a.tif",
                 folder / "in" / "series.tif", "--out", out, "--scheduler", address)
        assert r.returncode == 0, r.stderr
        with Client(address, timeout="30s") as client:
            prefixes = client.run_on_scheduler(
                lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
        assert any("predict_file" in p for p in prefixes), prefixes  # it ran there
        for name in ("a_mask.png", "series_mask.tif"):
            np.testing.assert_array_equal(tifffile.imread(out / name) if name.endswith("tif")
                                          else read_mask(out / name),
                                          tifffile.imread(folder / "out" / name)
                                          if name.endswith("tif") else read_mask(folder / "out" / name))
    finally:
        for p in (workers, scheduler):
            p.terminate()
            p.wait(30)


def test_a_scheduler_that_does_not_answer_is_reported_within_seconds(folder):
    start = time.monotonic()
    r = _run("predict", folder / "model.paintseg", folder / "in" / "a.tif", "--out",
             folder / "none", "--scheduler", f"tcp://127.0.0.1:{free_port()}", timeout=120)
    assert r.returncode == 1 and "cannot reach the Dask scheduler" in r.stderr
    assert "Traceback" not in r.stderr and time.monotonic() - start < 30


def test_tiles_start_on_the_coarsest_band_grid():
    from paintseg.features.filters import MAX_STEP

    assert tiles.ALIGN % MAX_STEP == 0  # else tiles would sample bands elsewhere than the whole


def test_a_preview_samples_the_box_and_agrees_with_the_full_prediction(stem):
    image, seg = stem
    full = seg.predict(image)
    proba = tiles.preview_proba(seg, image, (100, 50, 400, 450), 4)
    assert proba.shape == (75, 100, 3)
    labels = seg.classes_[proba.argmax(axis=2)]
    assert (labels == full[100:400:4, 50:450:4]).mean() > 0.9  # a third of the trees
    with pytest.raises(Exception, match="outside the image"):
        tiles.preview_proba(seg, image, (600, 0, 700, 10), 1)
