"""The robustness benchmark's generators make what their docstrings say they make."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import REPO
from scipy import ndimage as ndi

sys.path.insert(0, str(REPO / "benchmarks"))
from generators import (  # noqa: E402
    GENERATORS,
    grain_boundaries,
    lamellar,
    nanoparticles,
    particles,
    square_lattice,
)

from paintseg.features import estimate_lattice_period  # noqa: E402


@pytest.mark.parametrize("name", list(GENERATORS))
def test_deterministic_two_classes_and_regions(name):
    image, truth, regions = GENERATORS[name](size=128, seed=3)
    again = GENERATORS[name](size=128, seed=3)[0]
    assert image.dtype == np.float32 and image.shape == truth.shape == regions.shape == (128, 128)
    np.testing.assert_array_equal(image, again)
    assert not np.array_equal(image, GENERATORS[name](size=128, seed=4)[0])
    classes = np.unique(truth)
    assert classes[0] == 1 and len(classes) >= 2 and (np.diff(classes) == 1).all()
    assert all(0.02 < (truth == k).mean() < 0.7 for k in classes[1:])


def test_particles_are_separate_bright_objects():
    image, truth, regions = particles(size=256, seed=0, noise=0.0)
    assert image[truth == 2].mean() > image[truth == 1].mean() + 0.15
    assert regions.max() >= 20  # many particles, each its own region
    assert set(np.unique(regions[truth == 2])) == set(range(1, regions.max() + 1))


def test_nanoparticles_show_fringes_at_their_period():
    image, truth, regions = nanoparticles(size=256, seed=0, radii=(20, 30), noise=0.0, cover=0.3)
    k = int(regions[truth == 2][0])
    inside = ndi.binary_erosion(regions == k, iterations=3)
    box = ndi.find_objects(inside.astype(int))[0]
    patch = np.where(inside[box], image[box] - image[box][inside[box]].mean(), 0.0)
    n = 128
    power = np.abs(np.fft.fft2(patch, s=(n, n))) ** 2
    power[0, 0] = 0
    fy, fx = np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n), indexing="ij")
    peak = np.unravel_index(np.argmax(power), power.shape)
    assert 1 / np.hypot(fy[peak], fx[peak]) == pytest.approx(4.7, rel=0.12)


def test_grain_boundaries_are_thin_and_dark():
    image, truth, _ = grain_boundaries(size=256, seed=0, noise=0.0)
    boundary = truth == 2
    assert ndi.binary_erosion(boundary, iterations=2).sum() < 0.01 * boundary.sum()  # at most ~3 px wide
    assert image[boundary].mean() < image[~boundary].mean() - 0.15


def test_lamellar_pearlite_is_striped_and_ferrite_flat():
    image, truth, _ = lamellar(size=256, seed=1, noise=0.0)
    lap = np.abs(ndi.laplace(image))
    assert np.median(lap[truth == 2]) > 5 * np.median(lap[truth == 1])


def test_square_lattice_phases_share_one_brightness_and_show_the_cell():
    image, truth, _ = square_lattice(size=384, seed=2)
    means = [image[truth == k].mean() for k in (1, 2, 3)]
    assert max(means) / min(means) < 1.1  # told apart by their lattice, not their grey
    assert 8.0 <= estimate_lattice_period(image).period <= 20.0
