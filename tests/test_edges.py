"""Class borders on the image's edges: where they move, where they must not."""

import cv2
import numpy as np
import pytest

from paintseg import Segmenter
from paintseg.demo import make_plates_image, simulate_strokes, texture_mosaic
from paintseg.edges import (
    BAND,
    edge_sigma,
    separable_at_some_scale,
    separable_pairs,
    snap_to_edges,
    structure_bound,
)
from paintseg.model_io import segmenter_to_bytes


def _mean_iou(pred, truth):
    return np.mean([np.sum((pred == k) & (truth == k)) / np.sum((pred == k) | (truth == k))
                    for k in np.unique(truth)])


@pytest.fixture(scope="module")
def plates():
    made = make_plates_image(384, 1)
    return made.image, made.truth, simulate_strokes(made.truth, grains=made.grains, seed=1001)


def test_plate_borders_follow_the_image_edges(plates):
    """Thin plates of three brightnesses: the halo the forest draws between the strokes
    shrinks to the plates' edges, and the mean IoU rises."""
    image, truth, strokes = plates
    snapped = Segmenter(estimate=False).fit([image], [strokes])
    plain = Segmenter(estimate=False, snap_to_edges=False).fit([image], [strokes])
    assert snapped.edge_pairs_ == [(0, 1), (0, 2), (1, 2)] and plain.edge_pairs_ == []
    before, after = _mean_iou(plain.predict(image), truth), _mean_iou(snapped.predict(image), truth)
    assert after >= before + 0.02, (before, after)


def test_only_the_unsure_band_changes_and_probabilities_are_only_swapped(plates):
    image, _, strokes = plates
    seg = Segmenter(estimate=False, snap_to_edges=False).fit([image], [strokes])
    proba = seg.predict_proba(image)
    snapped = snap_to_edges(proba, image, (float(image.min()), float(image.max())),
                            [(0, 1), (0, 2), (1, 2)])
    changed = np.any(snapped != proba, axis=2)
    assert changed.any()
    k = proba.shape[2]
    unsure = (1 - proba.max(axis=2)) * k / (k - 1) >= BAND
    assert not np.any(changed & ~unsure)
    np.testing.assert_array_equal(np.sort(snapped, axis=2), np.sort(proba, axis=2))
    assert np.all(snapped.argmax(axis=2)[changed] != proba.argmax(axis=2)[changed])


def test_classes_of_one_brightness_keep_the_classifiers_borders():
    """Brick, grass and gravel matched to one mean and spread: texture, not brightness,
    tells them apart, so no pair snaps and the prediction is the plain one."""
    made = texture_mosaic(256, 0)
    strokes = simulate_strokes(made.truth, grains=made.grains, seed=5)
    seg = Segmenter(estimate=False).fit([made.image], [strokes])
    assert seg.edge_pairs_ == []
    plain = Segmenter(estimate=False, snap_to_edges=False).fit([made.image], [strokes])
    np.testing.assert_array_equal(seg.predict_proba(made.image), plain.predict_proba(made.image))


def test_separable_pairs_compares_brightness_spread_with_the_difference():
    rng = np.random.default_rng(0)
    dark, bright, dark_too = rng.normal(0.2, 0.05, 500), rng.normal(0.8, 0.05, 500), \
        rng.normal(0.21, 0.05, 500)
    values = [np.concatenate([dark, bright, dark_too])]
    labels = [np.repeat([1, 2, 3], 500)]
    assert separable_pairs(values, labels, [1, 2, 3]) == [(0, 1), (1, 2)]
    # a class with no painted pixels in these images pairs with nothing
    assert separable_pairs(values, labels, [1, 2, 3, 4]) == [(0, 1), (1, 2)]


def test_the_pairs_travel_in_the_model_file(plates):
    image, _, strokes = plates
    seg = Segmenter(estimate=False).fit([image], [strokes])
    loaded = Segmenter.from_bytes(segmenter_to_bytes(seg))
    assert loaded.edge_pairs_ == seg.edge_pairs_ and loaded.snap_to_edges
    np.testing.assert_array_equal(loaded.predict(image), seg.predict(image))


def test_tiles_snap_as_the_whole_image_does():
    """The unsure band is local: tiles read with their halo and the whole image's
    intensity range give the whole image's labels, at the edges' finest scale and at a
    coarser one."""
    from paintseg import tiles

    made = make_plates_image(640, 2)
    strokes = simulate_strokes(made.truth, grains=made.grains, seed=7)
    seg = Segmenter(estimate=False).fit([made.image], [strokes])
    assert seg.edge_pairs_
    whole = seg.predict(made.image)
    assert np.any(whole != Segmenter(estimate=False, snap_to_edges=False).fit(
        [made.image], [strokes]).predict(made.image))
    assert (tiles.predict(seg, made.image, tile=256) == whole).mean() >= 0.999
    # edges read at a coarser scale, bounded by each tile's own structures: the same
    image, _, strokes = noisy_particles(noise=0.6, seed=1, size=640)
    seg = Segmenter(estimate=False).fit([image], [strokes])
    assert seg.edge_sigma_ >= 1.5
    assert (tiles.predict(seg, image, tile=256) == seg.predict(image)).mean() >= 0.999


def test_an_unsure_structure_without_sure_pixels_of_its_class_is_not_erased():
    """A faint line the classifier calls class 1 at 0.55, inside a sure class-0 field:
    the flood from class 0 alone says nothing about it, so it stays; a class-1 halo
    beside a sure class-1 region moves to the edge."""
    image = np.zeros((64, 64), np.float32)
    image[:, 40:] = 1.0  # a bright region from column 40
    proba = np.zeros((64, 64, 2), np.float32)
    proba[..., 0] = 0.95
    proba[:, 10:13] = (0.45, 0.55)  # the faint line, unsure, nothing sure of class 1 near it
    proba[:, 44:] = (0.05, 0.95)  # sure class 1 ...
    proba[:, 34:44] = (0.45, 0.55)  # ... with an unsure halo reaching 6 px into the dark
    snapped = snap_to_edges(proba, image, (0.0, 1.0), [(0, 1)])
    labels = snapped.argmax(axis=2)
    assert np.all(labels[:, 10:13] == 1)  # kept
    assert np.all(labels[:, 34:39] == 0) and np.all(labels[:, 41:44] == 1)  # on the edge


def noisy_particles(noise: float, seed: int, size: int = 384, radius: int = 12):
    """Dark discs on a bright field under strong noise; a dot in every other disc and
    short strokes on the field well away from them."""
    rng = np.random.default_rng(seed)
    truth = np.ones((size, size), np.uint8)
    centres = []
    while len(centres) < 40:
        c = rng.integers(radius + 2, size - radius - 2, 2)
        if all(np.hypot(*(c - d)) > 2 * radius + 4 for d in centres):
            centres.append(c)
    for y, x in centres:
        cv2.circle(truth, (int(x), int(y)), radius, 2, -1)
    clean = cv2.GaussianBlur(np.where(truth == 2, 0.3, 0.7).astype(np.float32), (0, 0), 1.0)
    image = clean + rng.normal(0, noise, truth.shape).astype(np.float32)
    strokes = np.zeros_like(truth)
    for y, x in centres[::2]:
        strokes[y - 2:y + 3, x - 2:x + 3] = 2
    far = cv2.distanceTransform((truth == 1).astype(np.uint8), cv2.DIST_L2, 5) > 10
    for r in np.nonzero(far.any(axis=1))[0][::40]:
        strokes[r:r + 3, np.nonzero(far[r])[0][:60]] = 1
    strokes[(strokes == 1) & ~far] = 0
    return image, truth, strokes


def test_a_noisy_image_has_its_edges_read_at_a_coarser_scale():
    """At 1 px the gradient of a noisy image is mostly noise, and the flood from the
    particles' cores follows it into the field: read where the step stands out (here
    1.5-2 px), the borders sit on the particles' edges. A cleaner image keeps 1 px."""
    image, truth, strokes = noisy_particles(noise=0.3, seed=0)
    assert Segmenter(estimate=False).fit([image], [strokes]).edge_sigma_ == 1.0
    image, truth, strokes = noisy_particles(noise=0.6, seed=1)
    seg = Segmenter(estimate=False).fit([image], [strokes])
    assert seg.edge_pairs_ == [(0, 1)] and seg.edge_sigma_ >= 1.5
    adaptive = _mean_iou(seg.predict(image), truth)
    seg.edge_sigma_ = 1.0
    assert adaptive >= _mean_iou(seg.predict(image), truth) + 0.008
    loaded = Segmenter.from_bytes(segmenter_to_bytes(Segmenter(estimate=False).fit([image], [strokes])))
    assert loaded.edge_sigma_ >= 1.5


def test_edge_sigma_is_the_finest_scale_where_the_step_stands_out():
    rng = np.random.default_rng(0)
    labels = [np.repeat([1, 2], 400)]
    clean = [[np.concatenate([rng.normal(0.2, 0.05, 400), rng.normal(0.8, 0.05, 400)])] * 4]
    assert edge_sigma(clean, labels, [1, 2], [(0, 1)]) == 1.0
    spreads = (0.2, 0.15, 0.09, 0.05)  # the noise falls as the scale grows
    noisy = [[np.concatenate([rng.normal(0.3, s, 400), rng.normal(0.7, s, 400)]) for s in spreads]]
    assert edge_sigma(noisy, labels, [1, 2], [(0, 1)]) == 2.0
    assert edge_sigma(noisy, labels, [1, 2], []) == 1.0


def test_thin_structures_bound_the_edges_scale():
    """A grain boundary 3 px wide or a particle 9 px across keeps the finest scale, a
    particle 11 px across allows 2 px; wide regions allow the coarsest."""
    top = np.zeros((128, 128), np.int32)
    sure = np.ones_like(top, bool)
    top[:, 60:63] = 1  # a line 3 px wide
    assert structure_bound(top, sure, {0, 1}) == 1.0
    top[:] = 0
    cv2.circle(top, (64, 64), 4, 1, -1)
    assert structure_bound(top, sure, {0, 1}) == 1.0
    cv2.circle(top, (64, 64), 5, 1, -1)
    assert structure_bound(top, sure, {0, 1}) == 2.0
    top[:] = 0
    top[:, 64:] = 1  # two halves
    assert structure_bound(top, sure, {0, 1}) == 3.0


def test_a_textured_class_differs_in_brightness_once_averaged():
    """At 1 px two grainy classes overlap (d' < 1); at 3 px their means stand apart.
    Two classes of one mean stay apart from each other at every scale."""
    rng = np.random.default_rng(0)
    labels = [np.repeat([1, 2, 3], 400)]
    spreads = (0.3, 0.2, 0.12, 0.06)
    values = [[np.concatenate([rng.normal(0.4, s, 400), rng.normal(0.6, s, 400),
                               rng.normal(0.6, s, 400)]) for s in spreads]]
    assert separable_pairs([values[0][0]], labels, [1, 2, 3]) == []
    assert separable_at_some_scale(values, labels, [1, 2, 3]) == [(0, 1), (0, 2)]
