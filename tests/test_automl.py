"""AutoML: real TPOT searches on real Dask workers (local and over loopback TCP)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import free_port, mean_iou

from paintseg import PaintsegError, Segmenter
from paintseg.automl import (
    AutoMLSearch,
    choose,
    feature_groups,
    iou_then_confidence,
    prepare_search_data,
    relabelled,
)
from paintseg.io import read_mask, write_mask, write_tiff_image

pytestmark = pytest.mark.slow


def test_grouped_folds_never_split_a_stroke(demo256):
    demo, strokes = demo256
    spec = Segmenter().fit_spec([demo.image]).spec_
    data = prepare_search_data([demo.image], [strokes], spec,
                               max_pixels_per_class=400, folds=3, seed=0)
    assert data.splitter.get_n_splits() == 3
    for g in np.unique(data.groups):
        assert len(np.unique(data.test_fold[data.groups == g])) == 1
    for train, test in data.splitter.split(data.X, data.y):
        assert not set(data.groups[train]) & set(data.groups[test])
    # the cap is shared out between the strokes of a class
    assert all((data.y == k).sum() <= 400 for k in range(3))
    assert len(np.unique(data.groups)) >= 6


def test_feature_groups_drop_one_family_at_a_time(demo256):
    spec = Segmenter().fit_spec([demo256[0].image]).spec_
    groups = feature_groups(spec)
    n = spec.n_features
    assert groups["all"] == list(range(n))
    symmetry = [i for i, name in enumerate(spec.channel_names()) if name.startswith("symmetry")]
    assert symmetry and set(groups["without symmetry"]) == set(range(n)) - set(symmetry)
    assert not any(name.startswith("only") for name in groups)


class _Fixed:
    """A fitted 'classifier' that returns given probabilities (scorer test only)."""

    def __init__(self, proba):
        self.classes_ = np.arange(proba.shape[1])
        self.proba = proba

    def predict_proba(self, X):
        return self.proba


def test_scorer_ranks_confident_right_above_barely_right():
    y = np.array([0, 0, 1, 1, 2, 2])
    X = np.zeros((6, 1))
    confident = np.eye(3)[y] * 0.97 + 0.01
    barely = np.eye(3)[y] * 0.2 + 0.8 / 3
    assert iou_then_confidence(_Fixed(confident), X, y) > iou_then_confidence(_Fixed(barely), X, y)
    wrong = np.eye(3)[(y + 1) % 3] * 0.97 + 0.01
    assert iou_then_confidence(_Fixed(barely), X, y) > iou_then_confidence(_Fixed(wrong), X, y)


def test_relabelled_counts_pixels_the_default_is_sure_of(demo256):
    demo, strokes = demo256
    default = Segmenter().fit([demo.image], [strokes])
    assert relabelled(default, default, [demo.image]) == (0.0, 0.0)
    swapped = np.where(strokes == 1, 2, np.where(strokes == 2, 1, strokes))  # 2H <-> 1T
    contrary = Segmenter().fit([demo.image], [swapped])
    sure, overall = relabelled(default, contrary, [demo.image])
    assert sure > 0.2 and overall > 0.2


def test_the_default_is_kept_unless_the_search_wins_clearly():
    saturated = np.ones(5)
    keep, reason = choose(saturated, saturated)
    assert not keep and "cannot tell them apart" in reason
    keep, reason = choose(np.array([0.9, 0.95, 0.9, 0.92, 0.93]), np.array([0.88] * 5))
    assert not keep and "not clearly better" in reason  # +0.04: inside what misled before
    keep, reason = choose(np.array([0.95, 0.6, 0.95, 0.95, 0.95]), np.array([0.8] * 5))
    assert not keep  # a large mean gain with one fold lost
    keep, reason = choose(np.array([0.9, 0.92, 0.95, 0.9, 0.91]), np.array([0.8] * 5))
    assert keep and "in every fold" in reason
    # ties at 1.0 in one fold are not wins (the plates and STEM cases that lost 0.05-0.2)
    keep, reason = choose(np.array([1.0, 0.95, 0.97, 0.96, 0.98]), np.array([1.0, 0.8, 0.8, 0.8, 0.8]))
    assert not keep and "won 4 of 5" in reason
    # every fold won, a large mean gain, but a spread that leaves it unsure
    keep, reason = choose(np.array([0.81, 1.0, 0.83]), np.array([0.8, 0.8, 0.8]))
    assert not keep and "beyond the fold-to-fold spread" in reason
    # too few folds to tell, however large the gain
    keep, reason = choose(np.array([0.95, 0.96]), np.array([0.6, 0.6]))
    assert not keep and "too few" in reason


def _easy_two_phase(size: int = 128, seed: int = 0):
    """Two flat phases, three strokes of each painted far from the border: every
    pipeline classifies every held-out stroke right."""
    rng = np.random.default_rng(seed)
    image = np.where(np.arange(size)[None, :] < size // 2, 0.25, 0.75) + rng.normal(0, 0.03, (size, size))
    strokes = np.zeros((size, size), np.uint8)
    for row in (16, 56, 96):
        strokes[row:row + 4, 8:40] = 1
        strokes[row:row + 4, size - 40:size - 8] = 2
    return image.astype(np.float32), strokes


def test_a_saturated_search_keeps_the_default_and_says_why():
    image, strokes = _easy_two_phase()
    result = AutoMLSearch(minutes=0.1, max_pixels_per_class=200, seed=0).run([image], [strokes])
    assert result.search_grouped_score == result.default_grouped_score == 1.0
    assert result.kept_default and "cannot tell them apart" in result.reason
    assert result.segmenter.classifier == Segmenter().classifier
    summary = result.segmenter.training_summary_["automl"]
    assert summary["kept_default"] and summary["reason"] == result.reason


@pytest.mark.parametrize("minutes", [0, -1, float("nan")])
def test_bad_budget(minutes):
    with pytest.raises(PaintsegError, match="positive number of minutes"):
        AutoMLSearch(minutes=minutes)


def test_bad_strokes(demo256):
    demo, strokes = demo256
    search = AutoMLSearch(minutes=0.1)
    with pytest.raises(PaintsegError, match="no strokes"):
        search.run([demo.image], [np.zeros_like(strokes)])
    with pytest.raises(PaintsegError, match="only class"):
        search.run([demo.image], [np.where(strokes > 0, 1, 0)])
    single = np.zeros_like(strokes)
    single[10:20, 10:20], single[40:50, 40:50] = 1, 2
    with pytest.raises(PaintsegError, match="single stroke"):
        search.run([demo.image], [single])


def test_search_returns_a_model_and_code_that_reproduces_it(demo256, tmp_path):
    demo, strokes = demo256
    search = AutoMLSearch(minutes=0.25, max_pixels_per_class=300, seed=3)
    result = search.run([demo.image], [strokes], class_names=["2H", "1T", "amorphous"])
    assert result.evaluations > 5 and result.leaderboard
    scores = [row["score"] for row in result.leaderboard]
    assert scores == sorted(scores, reverse=True)
    assert result.reason and result.kept_default == (result.segmenter.classifier == "extra_trees")
    assert result.grouped_score >= result.default_grouped_score  # never loses to the default
    assert result.pixel_kfold_score >= result.grouped_score - 1e-9  # pixel K-fold is optimistic
    pred = result.segmenter.predict(demo.image)
    assert mean_iou(pred, demo.truth) > 0.7
    result.segmenter.save(tmp_path / "m.paintseg")
    loaded = Segmenter.load(tmp_path / "m.paintseg")
    assert loaded.training_summary_["automl"]["evaluations"] == result.evaluations
    np.testing.assert_array_equal(loaded.predict(demo.image), pred)

    code = tmp_path / "pipeline.py"
    code.write_text(result.export_code())
    write_tiff_image(tmp_path / "image.tif", demo.image)
    write_mask(tmp_path / "strokes.png", strokes)
    r = subprocess.run([sys.executable, str(code), str(tmp_path / "image.tif"), "--labels",
                        str(tmp_path / "strokes.png"), "--out", str(tmp_path / "out.png")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(read_mask(tmp_path / "out.png"), pred)


def test_cancel_keeps_the_best_so_far(demo256):
    demo, strokes = demo256
    search = AutoMLSearch(minutes=10, max_pixels_per_class=200, seed=0)
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("r", search.run([demo.image], [strokes])))
    thread.start()
    deadline = time.time() + 120
    while search.progress()["evaluations"] < 3 and time.time() < deadline:
        time.sleep(0.5)
    assert search.progress()["best_score"] is not None
    search.cancel()
    thread.join(120)
    assert not thread.is_alive()
    result = box["r"]
    assert result.cancelled and result.evaluations >= 3
    assert result.segmenter.predict(demo.image).shape == demo.image.shape


@pytest.fixture
def files(demo256, tmp_path):
    demo, strokes = demo256
    write_tiff_image(tmp_path / "image.tif", demo.image)
    write_mask(tmp_path / "strokes.png", strokes)
    return tmp_path


def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "paintseg.cli", "automl", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_cli_search_on_an_external_scheduler(files):
    from distributed import Client

    port = free_port()
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                  "--host", "127.0.0.1", "--port", str(port),
                                  "--dashboard-address", ":0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"tcp://127.0.0.1:{port}"
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                               "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
        proc = _cli(files / "image.tif", "--labels", files / "strokes.png", "--minutes", 0.2,
                    "--out", files / "m.paintseg", "--max-pixels", 200, "--scheduler", address)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "pipelines evaluated" in out  # results on stdout, progress on stderr
        with Client(address, timeout="30s") as client:
            prefixes = client.run_on_scheduler(
                lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
        # TPOT's evaluations ran as tasks on this scheduler's worker
        assert any("eval_objective" in p for p in prefixes), prefixes
        assert Segmenter.load(files / "m.paintseg").classes_.tolist() == [1, 2, 3]
    finally:
        for p in (worker, scheduler):
            p.terminate()
            p.wait(30)


def test_cli_unreachable_scheduler_and_bad_budget(files):
    port = free_port()
    for extra, message in ((["--scheduler", f"tcp://127.0.0.1:{port}"], "cannot reach"),
                           (["--minutes", "0"], "positive number of minutes")):
        proc = _cli(files / "image.tif", "--labels", files / "strokes.png",
                    "--out", files / "x.paintseg", *extra)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1
        assert message in err and "Traceback" not in err
        assert not (files / "x.paintseg").exists()


def test_cli_ctrl_c_keeps_the_best_so_far(files):
    proc = _cli(files / "image.tif", "--labels", files / "strokes.png", "--minutes", 5,
                "--out", files / "m.paintseg", "--max-pixels", 200)
    time.sleep(35)  # workers up and a first generation evaluated
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert "(cancelled)" in out
    assert Segmenter.load(files / "m.paintseg").predict is not None
    assert os.path.getsize(files / "m.paintseg") > 1000


def test_a_scheduler_that_is_no_address_or_no_workers_is_one_line():
    from paintseg.cluster import check_workers, connect_scheduler

    with pytest.raises(PaintsegError, match="'bogus' is not a Dask scheduler address"):
        connect_scheduler("bogus")
    with pytest.raises(PaintsegError, match="at least 1"):
        check_workers(0)
