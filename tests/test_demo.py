"""The generators and the simulated strokes that the tests and benchmarks rely on."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

from paintseg.demo import _render_plates, make_plates_image, simulate_strokes


@pytest.fixture(scope="module")
def plates():
    return _render_plates(512, 0, None)


def _inner(mask: np.ndarray) -> np.ndarray:
    """Away from the blurred edges."""
    return ndi.binary_erosion(mask, iterations=3)


def test_plates_deterministic_per_seed():
    a, b, c = make_plates_image(128, 3), make_plates_image(128, 3), make_plates_image(128, 4)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.truth, b.truth)
    np.testing.assert_array_equal(a.grains, b.grains)
    assert not np.array_equal(a.truth, c.truth)
    assert a.image.dtype == np.float32 and a.truth.dtype == np.uint8
    assert make_plates_image(128, 3, pixel_size_nm=2.5).pixel_size_nm == 2.5


def test_plates_classes_and_grains(plates):
    demo, _ = plates
    assert demo.image.shape == demo.truth.shape == demo.grains.shape == (512, 512)
    assert set(np.unique(demo.truth)) == {1, 2, 3}
    assert demo.class_names == ("background", "thin plates", "thick crystal")
    # the support is one object; every plate and rod its own
    assert set(np.unique(demo.grains[demo.truth == 1])) == {0}
    assert len(np.unique(demo.grains[demo.truth == 2])) >= 5
    assert not set(np.unique(demo.grains[demo.truth == 3])) & set(np.unique(demo.grains[demo.truth == 2]))


def test_plates_thin_overlapping_and_rods_brighter(plates):
    demo, layers = plates
    smooth = ndi.uniform_filter(demo.image, 5)
    truth = demo.truth
    support = smooth[_inner(truth == 1)].mean()
    single = smooth[_inner((truth == 2) & (layers == 1))].mean()
    stacked = _inner((truth == 2) & (layers >= 2))
    rods = smooth[_inner(truth == 3)].mean()
    assert stacked.sum() > 500  # plates overlap
    assert support < 0.3 * single  # dark support
    assert smooth[stacked].mean() > 1.3 * single  # overlaps are thicker, hence brighter
    assert rods > 1.5 * single
    # some plates lie edge-on: slivers a few pixels wide
    labels, n = ndi.label(truth == 2)
    half_widths = ndi.maximum(ndi.distance_transform_edt(truth == 2), labels, range(1, n + 1))
    assert min(half_widths) <= 4


def _membranes(size: int = 192, seed: int = 0) -> np.ndarray:
    """Cells (2) with 3-px membranes (1) between them and a band that is not scored (0)."""
    rng = np.random.default_rng(seed)
    seeds = rng.uniform(0, size, (25, 2))
    yy, xx = np.mgrid[0:size, 0:size]
    cells = np.argmin([(yy - y) ** 2 + (xx - x) ** 2 for y, x in seeds], axis=0)
    edge = np.diff(cells, axis=0, prepend=cells[:1]) != 0
    edge |= np.diff(cells, axis=1, prepend=cells[:, :1]) != 0
    truth = np.where(ndi.binary_dilation(edge), 1, 2).astype(np.uint8)
    truth[:, 80:100] = 0
    return truth


@pytest.mark.parametrize("trace", [(1,), ()])  # named, or found too thin for the brush
def test_thin_class_traced_inside_along_centre_lines(trace):
    truth = _membranes()
    strokes = simulate_strokes(truth, strokes_per_class=8, fraction=0.005, margin=3, seed=1, trace=trace)
    assert set(np.unique(strokes)) == {0, 1, 2}
    painted = strokes > 0
    assert np.all(strokes[painted] == truth[painted])  # inside its class, never on truth 0
    membrane = strokes == 1
    off_centre = ndi.distance_transform_edt(~skeletonize(truth == 1))[membrane]
    assert off_centre.max() <= 1.5  # a 3-px line along the centre line
    assert 0.002 < painted.mean() < 0.03
    again = simulate_strokes(truth, strokes_per_class=8, fraction=0.005, margin=3, seed=1, trace=trace)
    np.testing.assert_array_equal(strokes, again)


def test_thick_class_strokes_keep_their_brush():
    truth = np.ones((256, 256), np.uint8)
    truth[:, 128:] = 2
    truth[100:110] = 0
    strokes = simulate_strokes(truth, seed=3)
    np.testing.assert_array_equal(strokes, simulate_strokes(truth, seed=3, radius=2))
    painted = strokes > 0
    assert np.all(strokes[painted] == truth[painted])
    for k in (1, 2):  # a round brush: the strokes are wider than a traced line
        assert ndi.binary_erosion(strokes == k, iterations=2).any()
    wide = simulate_strokes(truth, seed=3, radius=5)
    assert ndi.binary_erosion(wide == 1, iterations=4).any()
