import io
import json
import zipfile

import cv2
import numpy as np
import pytest
import skops.io as sio
from conftest import mean_iou, shared
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from paintseg import PaintsegError, Segmenter
from paintseg.classifiers import CLASSIFIERS, Painting, make_classifier, painting_of, sized_for


def test_default_segmenter_learns_the_demo_phases(demo256):
    demo, strokes = demo256
    seg = Segmenter().fit([demo.image], [strokes])
    pred = seg.predict(demo.image)
    assert pred.shape == demo.image.shape
    assert set(np.unique(pred)) <= {1, 2, 3}
    assert mean_iou(pred, demo.truth) > 0.8
    proba = seg.predict_proba(demo.image)
    assert proba.shape == (*demo.image.shape, 3)
    np.testing.assert_allclose(proba.sum(axis=2), 1.0, atol=1e-5)
    assert seg.training_summary_["labelled_pixels"][1] > 0
    assert seg.get_params()["features"] == "auto"
    assert seg.lattice_.found and 5.0 < seg.lattice_.period < 6.0  # d100 of MoS2 at 0.05 nm/px


def test_hot_pixels_and_cosmic_rays_neither_break_nor_mislead_the_default(demo256):
    """A raw frame's zingers (single pixels and short streaks far brighter than anything
    else) are clipped before filtering: a pixel of 1e30 overflowed the variance filters to
    infinity, and streaks 15 ranges above the rest filled the power spectrum and the
    local statistics around them (0.93 -> 0.78 mean IoU on the STEM generator)."""
    demo, strokes = demo256
    image = np.array(demo.image, np.float32)
    lo, hi = np.percentile(image, [0.5, 99.5])
    raw = image.copy()
    rng = np.random.default_rng(0)
    for y, x, length in zip(rng.integers(0, 256, 20), rng.integers(0, 250, 20),
                            rng.integers(1, 4, 20), strict=True):
        raw[y, x:x + length] = hi + 15 * (hi - lo)
    raw[3, 3] = 1e30
    clean = Segmenter(random_state=0, estimate=False).fit(image, strokes)
    seg = Segmenter(random_state=0, estimate=False).fit(raw, strokes)
    assert seg.lattice_.period == pytest.approx(clean.lattice_.period, rel=0.01)
    pred = seg.predict(raw)
    assert mean_iou(pred, demo.truth) > mean_iou(clean.predict(image), demo.truth) - 0.02


def _film_with_particles(seed: int, film: float, particles: float, frame: int = 0):
    """Dark round particles on a speckled film (10 % of the area), optionally with a
    black frame ``frame`` rows high along the top (truth 0 there: not scored)."""
    rng = np.random.default_rng(seed)
    truth = np.ones((256, 256), np.uint8)
    yy, xx = np.mgrid[:256, :256]
    while (truth == 2).mean() < 0.1:
        cy, cx, r = rng.uniform(10, 246), rng.uniform(10, 246), rng.uniform(6, 12)
        truth[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = 2
    speckle = cv2.GaussianBlur(rng.normal(0, 30, truth.shape), (0, 0), 1.0)
    image = (np.where(truth == 2, particles, film) + speckle).astype(np.float32)
    image[:frame] = 0.0
    truth[:frame] = 0
    return image, truth


def test_a_model_applies_to_the_next_image_of_a_series():
    """Trained on one image, applied to another with a brighter exposure and a black
    frame: the features see both on the same footing (intensity range centred inside the
    image's bulk; 0.75 centred on the 0.5-99.5 % range)."""
    from paintseg.demo import simulate_strokes

    scores = []
    for seed in (0, 3):
        train, train_truth = _film_with_particles(10 + seed, 120, 55)
        other, truth = _film_with_particles(20 + seed, 150, 80, frame=20)
        strokes = simulate_strokes(train_truth, fraction=0.01, margin=3, seed=seed)
        pred = Segmenter(random_state=0).fit(train, strokes).predict(other)
        scores.append(mean_iou(np.where(truth > 0, pred, 0)[20:], truth[20:]))
    assert np.mean(scores) >= 0.85, scores


@pytest.mark.parametrize("size", [16, 64])
def test_a_few_painted_pixels_on_a_small_image_segment_it(size):
    """Each tree of the default forest grows on enough pixels to split: a fifth of 32
    painted pixels left every tree a single leaf, and the whole image one class."""
    image = np.random.default_rng(0).normal(size=(size, size)).astype(np.float32)
    image[:, size // 2:] += 3
    truth = np.ones((size, size), np.uint8)
    truth[:, size // 2:] = 2
    strokes = np.zeros_like(truth)
    for rows in (slice(2, 4), slice(size - 4, size - 2)):
        strokes[rows, 2:6], strokes[rows, size - 6:size - 2] = 1, 2
    seg = Segmenter().fit(image, strokes)
    assert seg.training_summary_["labelled_pixels"] == {1: 16, 2: 16}
    assert mean_iou(seg.predict(image), truth) > 0.9



def test_a_painting_tells_strokes_from_clicks():
    """A brush stroke is one long patch of near-copies (many pixels per 4-px cell);
    scattered single pixels are patches of one cell each."""
    stroke = np.zeros((64, 64), np.uint8)
    stroke[8:16, 4:60] = 1  # an 8-px brush along the image: 2 x 14 cells
    brush = painting_of([stroke])
    assert brush == Painting(8 * 56, 28, 1) and brush.redundancy == 16 and not brush.clicks
    assert brush.independent(brush.pixels) == pytest.approx(28)
    assert 20 < brush.independent(40) < 28
    clicks = np.zeros((64, 64), np.uint8)
    clicks[::8, ::8] = 2
    clicks[4::8, 4::8] = 255  # "ignore" is not a class
    scattered = painting_of(clicks)
    assert scattered == Painting(64, 64, 64) and scattered.clicks
    assert scattered.independent(30) == pytest.approx(30)
    dots = cv2.dilate(clicks.astype(np.uint8) * (clicks == 2), np.ones((3, 3), np.uint8))
    assert painting_of(dots).clicks  # 3-px dots: 1-4 cells each


def test_the_default_forest_is_sized_for_strokes_or_for_clicks():
    """Strokes: smooth trees on 5 % of the pixels. Scattered clicks: fine trees on as
    many pixels as there are clicks (the classic bootstrap)."""
    strokes = sized_for(make_classifier("extra_trees"), 10000, Painting(10000, 1000, 20))
    assert strokes.max_samples == 500 and strokes.min_samples_leaf == 5
    clicks = sized_for(make_classifier("extra_trees"), 1300, Painting(1300, 1290, 1300))
    assert clicks.max_samples == 1290 and clicks.min_samples_leaf == 1
    unknown = sized_for(make_classifier("extra_trees"), 1300)
    assert unknown.max_samples == 100 and unknown.min_samples_leaf == 5


def test_scattered_clicks_of_the_truth_segment_em_membranes():
    """Pixels clicked at random over an ISBI slice (0.5 %, as a proofreader would) cover
    the membranes' borders: fine trees follow them (0.737 mean IoU), where the forest
    sized for brush strokes smoothed them away (0.641)."""
    from PIL import Image as PILImage

    image = np.asarray(PILImage.open(shared("isbi2012", "image", "27.png")).convert("L"), np.float32)
    label = np.asarray(PILImage.open(shared("isbi2012", "label", "27.png")).convert("L"))
    truth = np.where(label > 127, 2, 1).astype(np.uint8)
    clicks = np.where(np.random.default_rng(0).random(truth.shape) < 0.005, truth, 0)
    seg = Segmenter(estimate=False).fit(image, clicks.astype(np.uint8))
    assert seg.estimator_.min_samples_leaf == 1
    assert mean_iou(seg.predict(image), truth) > 0.70

def test_class_ids_are_kept_as_painted(demo256):
    demo, strokes = demo256
    relabelled = np.where(strokes > 0, strokes * 10, 0)  # classes 10, 20, 30
    seg = Segmenter(classifier="extra_trees").fit([demo.image], [relabelled])
    assert list(seg.classes_) == [10, 20, 30]
    assert set(np.unique(seg.predict(demo.image))) <= {10, 20, 30}


def test_training_on_several_images(demo256):
    demo, strokes = demo256
    half = strokes.copy()
    half[:, 128:] = 0
    other = strokes.copy()
    other[:, :128] = 0
    seg = Segmenter().fit([demo.image, demo.image * 2.0], [half, other])
    assert seg.training_summary_["images"] == 2
    assert mean_iou(seg.predict(demo.image), demo.truth) > 0.7


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_every_classifier_preset_saves_and_loads(demo256, tmp_path, name):
    demo, strokes = demo256
    seg = Segmenter(classifier=name, class_names=["2H", "1T", "amorphous"]).fit(demo.image, strokes)
    pred = seg.predict(demo.image)
    assert mean_iou(pred, demo.truth) > 0.5, name  # well above chance (about 0.2)
    seg.save(tmp_path / "m.paintseg")
    loaded = Segmenter.load(tmp_path / "m.paintseg")
    np.testing.assert_array_equal(loaded.predict(demo.image), pred)
    assert loaded.class_names_ == ["2H", "1T", "amorphous"]
    assert loaded.spec_ == seg.spec_


def test_model_file_carries_its_description(demo256, tmp_path):
    demo, strokes = demo256
    Segmenter(features="weka").fit(demo.image, strokes).save(tmp_path / "m.paintseg")
    with zipfile.ZipFile(tmp_path / "m.paintseg") as zf:
        meta = json.loads(zf.read("model.json"))
    assert meta["format"] == "paintseg-model"
    assert meta["features"]["name"] == "weka"
    assert meta["classes"] == [1, 2, 3]
    assert "scikit-learn" in meta["versions"] and "paintseg" in meta["versions"]
    assert meta["training_summary"]["n_features"] == meta["n_features"]


@pytest.mark.parametrize("strokes_case, message", [
    ("empty", "no strokes"), ("one_class", "only class 2"), ("shape", "stroke mask 1 is"),
])
def test_bad_training_input(demo256, strokes_case, message):
    demo, strokes = demo256
    bad = {"empty": np.zeros_like(strokes), "one_class": np.where(strokes > 0, 2, 0),
           "shape": strokes[:100]}[strokes_case]
    with pytest.raises(PaintsegError, match=message):
        Segmenter().fit([demo.image], [bad])


def _rewrite(path, out, *, meta_update=None, blob=None):
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("model.json"))
        old_blob = zf.read("classifier.skops")
    meta.update(meta_update or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("model.json", json.dumps(meta))
        zf.writestr("classifier.skops", blob if blob is not None else old_blob)
    out.write_bytes(buf.getvalue())


def test_bad_model_files(demo256, tmp_path):
    demo, strokes = demo256
    good = tmp_path / "good.paintseg"
    Segmenter().fit(demo.image, strokes).save(good)
    (tmp_path / "text.paintseg").write_text("not a model")
    with pytest.raises(PaintsegError, match="not a paintseg model"):
        Segmenter.load(tmp_path / "text.paintseg")
    _rewrite(good, tmp_path / "newer.paintseg", meta_update={"format_version": 99})
    with pytest.raises(PaintsegError, match="newer paintseg"):
        Segmenter.load(tmp_path / "newer.paintseg")
    _rewrite(good, tmp_path / "older.paintseg", meta_update={"format_version": 0})
    with pytest.raises(PaintsegError, match="older paintseg"):
        Segmenter.load(tmp_path / "older.paintseg")
    with pytest.raises(PaintsegError, match="not found"):
        Segmenter.load(tmp_path / "missing.paintseg")


def test_a_model_that_would_run_code_is_refused(demo256, tmp_path):
    demo, strokes = demo256
    good = tmp_path / "good.paintseg"
    Segmenter().fit(demo.image, strokes).save(good)
    evil = make_pipeline(FunctionTransformer(func=eval))
    _rewrite(good, tmp_path / "evil.paintseg", blob=sio.dumps(evil))
    with pytest.raises(PaintsegError, match="does not load: builtins.eval"):
        Segmenter.load(tmp_path / "evil.paintseg")


def test_arrays_of_any_kind_are_images(demo256):
    """An RGB(A) array is one colour image (its luminance), not a stack of three; bool
    and 16-bit arrays train; missing (NaN) pixels are filled, not fatal."""
    demo, strokes = demo256
    grey = demo.image.astype(np.float32)
    reference = Segmenter(estimate=False).fit(grey, strokes).predict(grey)
    for colour in (np.dstack([grey] * 3), np.dstack([grey] * 3 + [np.ones_like(grey)])):
        seg = Segmenter(estimate=False).fit(colour, strokes)
        assert np.array_equal(seg.predict(colour), reference)
    seg = Segmenter(estimate=False).fit([np.dstack([grey] * 3)], [strokes])
    assert seg.predict(grey).shape == grey.shape
    holes = grey.copy()
    holes[::17, ::13] = np.nan
    assert mean_iou(Segmenter(estimate=False).fit(holes, strokes).predict(holes), demo.truth) > 0.8
    binary = grey > np.median(grey)
    assert Segmenter(estimate=False).fit(binary, strokes).predict(binary).shape == grey.shape
    stack = np.stack([grey, grey])
    seg = Segmenter(estimate=False).fit(stack, np.stack([strokes, strokes]))
    assert seg.training_summary_["images"] == 2


def test_a_forest_grown_in_two_steps_equals_one_fit(demo256, tmp_path):
    """Live mode fits the first trees for a quick look and grows the rest after: the
    grown forest predicts exactly what a single fit predicts, and a half-grown one is
    not saved."""
    demo, strokes = demo256
    whole = Segmenter(estimate=False).fit(demo.image, strokes)
    quick = Segmenter(estimate=False).fit(demo.image, strokes, first_trees=16)
    assert len(quick.estimator_.estimators_) == 16 and quick.trees_pending_ == 32
    with pytest.raises(PaintsegError, match="not fully grown"):
        quick.save(tmp_path / "half.paintseg")
    quick.grow(demo.image, strokes)
    assert len(quick.estimator_.estimators_) == 48 and quick.trees_pending_ == 0
    np.testing.assert_array_equal(quick.predict_proba(demo.image), whole.predict_proba(demo.image))
    quick.save(tmp_path / "grown.paintseg")
    assert not Segmenter.load(tmp_path / "grown.paintseg").estimator_.warm_start


def test_painted_pixels_their_features_and_stroke_groups():
    """Every painted pixel, row-major, with its own features and the connected stroke it
    belongs to: strokes apart stay apart, touching ones are one, "ignore" is no class."""
    from paintseg.annotations import IGNORE
    from paintseg.features import compute_features
    from paintseg.segmenter import labelled_pixels

    image = np.random.default_rng(0).random((60, 40)).astype(np.float32)
    mask = np.zeros(image.shape, np.uint8)
    mask[5, 2:30] = 1
    mask[6, 10:12] = 1  # touches the stroke above: the same stroke
    mask[20, 2:30] = 1  # rows apart: another stroke
    mask[21, :5] = 2
    mask[45, 3:9] = 2
    mask[50, 20:25] = IGNORE
    X, y, groups = labelled_pixels([image], [mask], "ilastik")
    painted = (mask > 0) & (mask != IGNORE)
    np.testing.assert_array_equal(X, compute_features(image, "ilastik")[painted])
    np.testing.assert_array_equal(y, mask[painted])
    assert len(np.unique(groups[y == 1])) == 2 and len(np.unique(groups[y == 2])) == 2
    assert len(np.unique(groups)) == 4
    one = groups[y == 1]
    assert len(np.unique(one[:30])) == 1  # rows 5 and 6


def test_parameters_and_class_ids_no_model_can_hold_are_refused_before_work(tmp_path):
    """Smoothing beyond any image, a cap of no pixels, class ids a 16-bit mask cannot
    hold and more classes than a model tells apart: one-line errors from fit."""
    image = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    strokes = np.zeros((64, 64), np.int64)
    strokes[5:10, 5:20], strokes[50:55, 5:20] = 1, 2
    for params, message in [({"smoothing": 1e9}, "smoothing"), ({"smoothing": float("nan")}, "smoothing"),
                            ({"max_pixels_per_class": 0}, "max_pixels_per_class"),
                            ({"class_names": ["pore", "pore"]}, "two classes are named 'pore'")]:
        with pytest.raises(PaintsegError, match=message):
            Segmenter(**params).fit(image, strokes)
    with pytest.raises(PaintsegError, match="class id 70002 is too large"):
        Segmenter().fit(image, strokes + np.where(strokes > 0, 70000, 0))
    many = np.arange(64 * 64).reshape(64, 64) % 100 + 1
    with pytest.raises(PaintsegError, match="100 classes painted"):
        Segmenter().fit(image, many)


def test_stroke_masks_may_be_paths_and_a_wrong_shape_is_named(tmp_path):
    from paintseg.io import write_mask

    image = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    image[:, 32:] += 4
    strokes = np.zeros((64, 64), np.uint8)
    strokes[5:60, 5:10], strokes[5:60, 50:55] = 1, 2
    write_mask(tmp_path / "strokes.png", strokes)
    seg = Segmenter(estimate=False).fit([image], [tmp_path / "strokes.png"])
    assert set(np.unique(seg.predict(image))) == {1, 2}
    with pytest.raises(PaintsegError, match=r"stroke mask 1 is an array of shape \(2, 64, 64\) "
                                            "but its image is 64x64"):
        Segmenter().fit([image], [np.stack([strokes, strokes])])
    # sizes read width x height, as check_size and the CLI write them
    with pytest.raises(PaintsegError, match="stroke mask 1 is 32x64 but its image is 64x64"):
        Segmenter().fit([image], [strokes[:, :32]])
    with pytest.raises(PaintsegError, match="the stroke mask is 64x10 but its image is 64x64"):
        seg.suggest(image, strokes=strokes[:10])
