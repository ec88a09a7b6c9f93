"""Generators of microstructures the default features were never tuned on.

Each makes an image, its truth (class ids 1..K) and a region index per pixel (so
simulated strokes visit different particles or grains, as a person's would), from
simple physical pictures of common micrographs:

- ``particles``: SEM particles on a grainy support, with the bright rims of the
  edge effect and slow shading of the field.
- ``nanoparticles``: HRTEM nanoparticles showing lattice fringes on amorphous
  carbon, whose speckle has power at nearly the same spatial frequencies.
- ``pores``: dark irregular pores with bright rims in a matrix of grains that differ
  slightly in grey level.
- ``grain_boundaries``: a polycrystal of grains of any grey level, separated by thin
  dark boundaries (the class to find is the boundary, as in membrane EM).
- ``lamellar``: a two-phase steel, flat ferrite and pearlite colonies of lamellae at
  random orientations and spacings.
- ``square lattice``: atomic-resolution grains of a square lattice and of the same
  lattice with a weaker column at each cell's centre (a perovskite along [001]),
  and amorphous grains, all of one mean brightness (the STEM benchmark's crystal is
  hexagonal).

They serve ``bench_robustness.py``, which judges the default on data it did not see
while it was designed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree
from skimage.segmentation import find_boundaries

Made = tuple[np.ndarray, np.ndarray, np.ndarray]


def _unit(field: np.ndarray) -> np.ndarray:
    return (field - field.mean()) / (field.std() + 1e-12)


def _smooth_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    return _unit(ndi.gaussian_filter(rng.normal(size=(size, size)), sigma))


def _ellipses(size: int, rng: np.random.Generator, radii: tuple[float, float], cover: float) -> np.ndarray:
    """Non-overlapping ellipses (index 1..n, 0 outside) until ``cover`` of the field."""
    labels = np.zeros((size, size), np.int32)
    yy, xx = np.mgrid[:size, :size]
    n = 0
    for _ in range(5000):
        if (labels > 0).mean() >= cover:
            break
        r = rng.uniform(*radii)
        cy, cx = rng.uniform(0, size, 2)
        aspect, angle = rng.uniform(0.7, 1.0), rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        inside = (u / r) ** 2 + (v / (r * aspect)) ** 2 <= 1
        if (labels[inside] > 0).mean() > 0.05:
            continue
        n += 1
        labels[inside & (labels == 0)] = n
    return labels


def _voronoi(size: int, rng: np.random.Generator, n: int) -> np.ndarray:
    seeds = rng.uniform(0, size, (n, 2))
    pixels = np.stack(np.mgrid[:size, :size], axis=-1).reshape(-1, 2)
    return cKDTree(seeds).query(pixels)[1].reshape(size, size).astype(np.int32)


def particles(size: int = 512, seed: int = 0, radii: tuple[float, float] = (4, 9),
              noise: float = 0.08, cover: float = 0.2) -> Made:
    """SEM particles (class 2) on a support (class 1)."""
    rng = np.random.default_rng(seed)
    labels = _ellipses(size, rng, radii, cover)
    inside = labels > 0
    shading = ndi.gaussian_filter(rng.normal(size=(size, size)), size / 6)
    shading *= 0.1 / (np.abs(shading).max() + 1e-12)
    image = 0.35 + shading + 0.04 * _smooth_noise(rng, size, 1.5)
    depth = ndi.distance_transform_edt(inside)
    image = np.where(inside, 0.55 + 0.25 * np.exp(-depth / 1.5), image)
    image = ndi.gaussian_filter(image, 0.8) + rng.normal(0, noise, image.shape)
    return image.astype(np.float32), np.where(inside, 2, 1).astype(np.uint8), labels


def nanoparticles(size: int = 512, seed: int = 0, radii: tuple[float, float] = (4, 8),
                  periods: tuple[float, float] = (4.7, 4.7), noise: float = 0.3,
                  cover: float = 0.12) -> Made:
    """HRTEM nanoparticles with lattice fringes (class 2) on amorphous carbon (class 1)."""
    rng = np.random.default_rng(seed)
    labels = _ellipses(size, rng, radii, cover)
    white = rng.normal(size=(size, size))
    carbon = _unit(ndi.gaussian_filter(white, 1.0) - ndi.gaussian_filter(white, 2.5))
    image = carbon.copy()
    yy, xx = np.mgrid[:size, :size]
    for k in range(1, labels.max() + 1):
        inside = labels == k
        period, angle = rng.uniform(*periods), rng.uniform(0, np.pi)
        phase = (xx[inside] * np.cos(angle) + yy[inside] * np.sin(angle)) / period
        fringes = np.cos(2 * np.pi * phase + rng.uniform(0, 2 * np.pi))
        image[inside] = 0.6 * carbon[inside] + 1.5 * fringes - 0.6
    image = ndi.gaussian_filter(image, 0.6) + rng.normal(0, 2 * noise, image.shape)
    return image.astype(np.float32), np.where(labels > 0, 2, 1).astype(np.uint8), labels


def pores(size: int = 512, seed: int = 0, noise: float = 0.05) -> Made:
    """Dark pores with bright rims (class 2) in a matrix of grains (class 1)."""
    rng = np.random.default_rng(seed)
    field = ndi.gaussian_filter(rng.normal(size=(size, size)), 7)
    pore = field > np.quantile(field, 0.85)
    grains = _voronoi(size, rng, 60)
    image = rng.uniform(0.45, 0.6, 60)[grains] + 0.03 * _smooth_noise(rng, size, 1.0)
    image = np.where(pore, 0.2, image)
    image = np.where(find_boundaries(pore, mode="outer"), image + 0.15, image)
    image = ndi.gaussian_filter(image, 0.8) + rng.normal(0, noise, image.shape)
    regions = np.where(pore, ndi.label(pore)[0], grains + 10_000)
    return image.astype(np.float32), np.where(pore, 2, 1).astype(np.uint8), regions


def grain_boundaries(size: int = 512, seed: int = 0, noise: float = 0.06, grains: int = 80) -> Made:
    """Thin dark grain boundaries (class 2) between grains of any grey level (class 1)."""
    rng = np.random.default_rng(seed)
    index = _voronoi(size, rng, grains)
    boundary = find_boundaries(index, mode="thick")
    image = rng.uniform(0.35, 0.8, grains)[index] + 0.04 * _smooth_noise(rng, size, 2.0)
    image = np.where(boundary, 0.2, image)
    image = ndi.gaussian_filter(image, 0.7) + rng.normal(0, noise, image.shape)
    regions = np.where(boundary, 0, index + 1)
    return image.astype(np.float32), np.where(boundary, 2, 1).astype(np.uint8), regions


def lamellar(size: int = 512, seed: int = 0, periods: tuple[float, float] = (3.0, 4.5),
             noise: float = 0.08, colonies: int = 50) -> Made:
    """Pearlite colonies of lamellae (class 2) among flat ferrite grains (class 1)."""
    rng = np.random.default_rng(seed)
    index = _voronoi(size, rng, colonies)
    pearlite = rng.random(colonies) < 0.4
    image = 0.45 + 0.03 * _smooth_noise(rng, size, 3.0)
    yy, xx = np.mgrid[:size, :size]
    for g in np.flatnonzero(pearlite):
        inside = index == g
        period, angle = rng.uniform(*periods), rng.uniform(0, np.pi)
        phase = (xx[inside] * np.cos(angle) + yy[inside] * np.sin(angle)) / period
        image[inside] = 0.5 + 0.15 * np.cos(2 * np.pi * phase)
    image = ndi.gaussian_filter(image, 0.8) + rng.normal(0, noise, image.shape)
    return image.astype(np.float32), np.where(pearlite[index], 2, 1).astype(np.uint8), index


def square_columns(size: int, a: float, angle: float, shift=(0.0, 0.0), centre: float = 0.0,
                   scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Positions (row, col) and weights of the atom columns of a square lattice of
    constant ``a`` px over a ``size``-px frame, rotated by ``angle`` and shifted by
    ``shift``; with ``centre`` > 0, a column of that weight at each cell's centre (a
    perovskite seen along [001]). Every weight is multiplied by ``scale``."""
    n = int(size / a * 1.5) + 2
    i, j = (m.ravel() for m in np.mgrid[-n:n, -n:n])
    sites = [(0.0, 0.0, 1.0)] + ([(0.5, 0.5, centre)] if centre > 0 else [])
    rows, cols, weights = [], [], []
    for dy, dx, weight in sites:
        y, x = (i + dy) * a, (j + dx) * a
        rows.append(size / 2 + np.cos(angle) * y - np.sin(angle) * x + shift[0])
        cols.append(size / 2 + np.sin(angle) * y + np.cos(angle) * x + shift[1])
        weights.append(np.full(len(i), weight * scale))
    return np.stack([np.concatenate(rows), np.concatenate(cols)], axis=1), np.concatenate(weights)


def probe_image(columns: np.ndarray, a: float, rng: np.random.Generator, dose: float,
                background: float = 3.0) -> np.ndarray:
    """An image of point columns (counts per pixel) blurred by a probe of 0.12 ``a``,
    with shot noise at ``dose`` counts per unit of column intensity over ``background``."""
    sigma = 0.12 * a
    image = ndi.gaussian_filter(columns, sigma) * 2 * np.pi * sigma**2
    return rng.poisson(np.clip(image * dose + background, 0, None)).astype(np.float32)


def add_columns(image: np.ndarray, points: np.ndarray, weights: np.ndarray,
                 where: np.ndarray | None = None) -> None:
    """Add each column's weight at its nearest pixel (those inside the frame and, when
    ``where`` is given, on its True pixels)."""
    size = image.shape[0]
    r, c = np.rint(points).astype(int).T
    keep = (r >= 0) & (r < size) & (c >= 0) & (c < size)
    r, c, weights = r[keep], c[keep], weights[keep]
    if where is not None:
        mine = where[r, c]
        r, c, weights = r[mine], c[mine], weights[mine]
    np.add.at(image, (r, c), weights)


def square_lattice(size: int = 512, seed: int = 0, cells: tuple[float, float] = (8.0, 20.0),
                   grains: int = 9, centre: float = 0.4, dose: float = 15.0) -> Made:
    """Grains of a square lattice (class 1), a centred one (class 2) and amorphous (class 3).

    Columns are points blurred by a probe of 0.12 cell; the centred lattice's columns are
    scaled so that every phase has the same mean brightness; shot noise at ``dose``
    counts per unit of column intensity over a background of 3.
    """
    rng = np.random.default_rng(seed)
    a = rng.uniform(*cells)
    index = _voronoi(size, rng, grains)
    phase = rng.permutation(np.arange(grains) % 3) + 1
    image = np.zeros((size, size))
    for g in range(grains):
        if phase[g] == 3:  # as many columns as the centred lattice, at random
            points = rng.uniform(0, size, (int((size / a) ** 2 * (1 + centre)), 2))
            weights = np.ones(len(points))
        else:
            angle, shift = rng.uniform(0, np.pi / 2), rng.uniform(0, a, 2)
            points, weights = square_columns(size, a, angle, shift,
                                             centre if phase[g] == 2 else 0.0,
                                             1.0 if phase[g] == 2 else 1.0 + centre)
        add_columns(image, points, weights, index == g)
    return probe_image(image, a, rng, dose), phase[index].astype(np.uint8), index


GENERATORS: dict[str, Callable[..., Made]] = {
    "particles": particles,
    "nanoparticles": nanoparticles,
    "pores": pores,
    "grain boundaries": grain_boundaries,
    "lamellar": lamellar,
    "square lattice": square_lattice,
}
