"""Guidance: the accuracy estimate from held-out strokes, and where to paint next."""

from __future__ import annotations

import numpy as np
import pytest

from paintseg import Segmenter
from paintseg.demo import make_plates_image, simulate_strokes
from paintseg.guidance import estimate_accuracy, suggest_regions
from paintseg.probabilities import uncertainty
from paintseg.segmenter import labelled_pixels


def mean_iou(pred, truth):
    return float(np.mean([((pred == k) & (truth == k)).sum() / ((pred == k) | (truth == k)).sum()
                          for k in np.unique(truth)]))


@pytest.fixture(scope="module")
def plates():
    made = make_plates_image(320, 1)
    return made.image, made.truth, made.grains


@pytest.fixture(scope="module")
def trained(plates):
    image, truth, grains = plates
    strokes = simulate_strokes(truth, grains=grains, strokes_per_class=4, fraction=0.01,
                               margin=2, seed=1)
    return Segmenter().fit([image], [strokes]), strokes


def test_one_stroke_per_class_gives_no_estimate_and_says_why(plates):
    image, truth, grains = plates
    strokes = simulate_strokes(truth, strokes_per_class=1, fraction=0.003, margin=3, seed=1)
    seg = Segmenter().fit([image], [strokes])
    assert seg.training_summary_["estimated_miou"] is None
    text = seg.describe_accuracy()
    assert "too few strokes" in text and "single stroke" in text


def test_a_class_of_a_single_pixel_gives_no_estimate(plates):
    image, truth, grains = plates
    strokes = simulate_strokes(truth, strokes_per_class=3, fraction=0.01, margin=3, seed=2)
    strokes[strokes == 3] = 0
    strokes[5, 5] = 3
    seg = Segmenter(class_names=["support", "plate", "rod"]).fit([image], [strokes])
    assert seg.accuracy_.mean_iou is None
    assert "rod has a single stroke" in seg.describe_accuracy()


def test_estimate_is_close_to_the_truth(plates, trained):
    image, truth, grains = plates
    seg, _ = trained
    estimate = seg.training_summary_["estimated_miou"]
    true = mean_iou(seg.predict(image), truth)
    assert estimate is not None and abs(estimate - true) < 0.15
    assert set(seg.accuracy_.class_iou) == {1, 2, 3}
    rates = np.asarray(seg.accuracy_.confusion)
    assert np.allclose(rates.sum(axis=1), 1.0)
    assert seg.describe_accuracy().startswith(f"estimated mean IoU {estimate:.2f}")


def test_estimate_can_be_switched_off_and_survives_saving(plates, trained, tmp_path):
    image, truth, grains = plates
    seg, strokes = trained
    seg.save(tmp_path / "m.paintseg")
    loaded = Segmenter.load(tmp_path / "m.paintseg")
    assert loaded.training_summary_["estimated_miou"] == pytest.approx(
        seg.training_summary_["estimated_miou"])
    assert loaded.describe_accuracy() == seg.accuracy_.describe()  # the saved sentence
    off = Segmenter(estimate=False).fit([image], [strokes])
    assert off.training_summary_["estimated_miou"] is None


def test_a_forest_fitted_in_two_steps_is_estimated_once_grown(plates, trained):
    """The estimate reads the whole forest: a first fit of some trees defers it, and
    ``grow`` gives the very estimate of a single fit."""
    image, truth, grains = plates
    seg, strokes = trained
    first = Segmenter().fit([image], [strokes], first_trees=16)
    assert first.training_summary_["estimated_miou"] is None
    assert "once every tree is grown" in first.describe_accuracy()
    first.grow([image], [strokes])
    assert first.training_summary_["estimated_miou"] == pytest.approx(
        seg.training_summary_["estimated_miou"])


def test_confusions_name_the_mixed_up_classes():
    from paintseg.guidance import AccuracyEstimate

    est = AccuracyEstimate(0.7, [1, 2, 3], confusion=[[1, 0, 0], [0, 0.7, 0.3], [0, 0, 1]])
    assert "phase 2 often taken for phase 3" in est.describe()
    assert "grain often taken for matrix" in est.describe({2: "grain", 3: "matrix"})


def test_suggestions_are_boxes_inside_the_image_best_first_at_errors(plates, trained):
    image, truth, grains = plates
    seg, strokes = trained
    found = seg.suggest(image, n=3, strokes=strokes)
    assert 1 <= len(found) <= 3
    scores = [s["score"] for s in found]
    assert scores == sorted(scores, reverse=True)
    h, w = image.shape
    for s in found:
        r0, c0, r1, c1 = s["box"]
        assert 0 <= r0 < r1 <= h and 0 <= c0 < c1 <= w
        assert r0 <= s["point"][0] < r1 and c0 <= s["point"][1] < c1
    wrong = seg.predict(image) != truth
    r0, c0, r1, c1 = found[0]["box"]
    assert wrong[r0:r1, c0:c1].mean() > 2 * wrong.mean()  # it points at mistakes


def test_suggestions_avoid_painted_regions():
    proba = np.full((128, 128, 2), [1.0, 0.0], np.float32)
    proba[10:30, 10:30] = proba[90:110, 90:110] = [0.5, 0.5]
    strokes = np.zeros((128, 128), np.uint8)
    strokes[15:25, 15:25] = 1
    first = suggest_regions(proba, strokes, n=2)[0]
    assert first["box"][0] >= 80  # the unsure region far from the stroke comes first


def test_a_certain_image_has_no_suggestions_and_bad_n_none():
    proba = np.zeros((64, 64, 3), np.float32)
    proba[..., 1] = 1
    assert suggest_regions(proba) == []
    assert suggest_regions(np.full((64, 64, 2), 0.5, np.float32), n=0) == []
    assert uncertainty(np.full((4, 4, 3), 1 / 3)).max() == pytest.approx(1.0)


def test_estimate_from_the_function_matches_fit(plates, trained):
    image, _, _ = plates
    seg, strokes = trained
    X, y, groups = labelled_pixels([image], [strokes], seg.spec_for)
    again = estimate_accuracy(seg, X, y, groups, [image])
    assert again.mean_iou == pytest.approx(seg.accuracy_.mean_iou)


def test_the_app_session_says_why_there_is_no_suggestion():
    from paintseg.app.state import Session

    session = Session()
    assert session.suggestions()["message"]  # no image, no model: a sentence, no traceback
