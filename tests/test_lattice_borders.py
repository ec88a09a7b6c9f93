"""Borders between lattice-told phases at the lattice's resolution; brightness-told
classes keep every pixel."""

import numpy as np
import pytest
from scipy import ndimage as ndi

import paintseg.lattice_borders as lb
from paintseg import Segmenter
from paintseg.demo import make_stem_image, simulate_strokes
from paintseg.io import Image


def test_groups_are_the_classes_linked_by_pairs_brightness_cannot_tell_apart():
    assert lb.lattice_groups(3, []) == [[0, 1, 2]]
    assert lb.lattice_groups(3, [(0, 1), (0, 2)]) == [[0], [1, 2]]
    assert lb.lattice_groups(3, [(0, 1), (0, 2), (1, 2)]) == [[0], [1], [2]]
    # 0 and 1 differ in brightness but each shares it with 2: one group through 2
    assert lb.lattice_groups(3, [(0, 1)]) == [[0, 1, 2]]


def _speckled():
    """Two phases (left, right) with islands of the wrong phase a few pixels wide, and
    one small bright particle of a third class on the left."""
    rng = np.random.default_rng(0)
    p = np.zeros((128, 128, 3), np.float32)
    p[:, :64, 0], p[:, 64:, 1] = 0.8, 0.8
    p[:, :64, 1], p[:, 64:, 0] = 0.2, 0.2
    for y, x in rng.integers(8, 120, (12, 2)):  # islands of the other phase
        p[y:y + 3, x:x + 3, :2] = p[y:y + 3, x:x + 3, 1::-1].copy()
    p[30:33, 20:23] = (0.05, 0.05, 0.9)  # the particle, 3 px across
    return p


def test_islands_between_lattice_phases_go_and_a_bright_particle_stays():
    proba = _speckled()
    out = lb.smooth_at_lattice_resolution(proba, period=12.0, separable=[(0, 2), (1, 2)])
    top = out.argmax(axis=2)
    assert (top[:, 40:58][top[:, 40:58] != 2] == 0).all() and (top[:, 70:88] == 1).all()
    assert (top[30:33, 20:23] == 2).all()  # the particle keeps its pixels
    np.testing.assert_allclose(out.sum(axis=2), 1.0, atol=1e-5)
    # the bright class's probability is the classifier's, untouched
    np.testing.assert_array_equal(out[:, :, 2], proba[:, :, 2])


def test_with_no_separable_pair_every_class_is_smoothed_together():
    proba = _speckled()
    out = lb.smooth_at_lattice_resolution(proba, period=12.0)
    assert (out.argmax(axis=2)[30:33, 20:23] != 2).all()  # a 3-px structure is below a period
    np.testing.assert_allclose(out.sum(axis=2), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def stem():
    demo = make_stem_image(512, seed=5)
    strokes = simulate_strokes(demo.truth, grains=demo.grains, seed=5)
    image = Image(demo.image, 0.03, "nm")
    return image, demo.truth, Segmenter(estimate=False).fit([image], [strokes])


def test_a_lattice_image_segments_into_whole_grains(stem, monkeypatch):
    """On a STEM image the phases share one brightness: with the smoothing the phase map
    has fewer stray islands and agrees at least as well with the truth."""
    image, truth, seg = stem
    assert seg.spec_.period is not None and seg.edge_pairs_ == []
    smoothed = seg.predict(image)
    monkeypatch.setattr(lb, "LATTICE_SMOOTHING", 0.0)
    raw = seg.predict(image)

    def islands(labels):
        return sum(ndi.label(labels == k)[1] for k in np.unique(labels))

    def agreement(labels):
        return (labels == truth).mean()

    assert islands(smoothed) < 0.7 * islands(raw), (islands(smoothed), islands(raw))
    assert agreement(smoothed) >= agreement(raw)


def test_tiles_read_the_smoothing_reach(stem):
    image, _, seg = stem
    spec = seg.spec_for(image)
    assert seg.halo_for(image) == spec.halo + int(np.ceil(4 * lb.LATTICE_SMOOTHING * spec.period))
