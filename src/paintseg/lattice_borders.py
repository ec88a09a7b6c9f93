"""Borders between phases told apart by their lattice, drawn at the lattice's resolution.

On a crystalline image, phases of one brightness (two polytypes, a crystal and its
amorphous film, one phase at two orientations) are told apart by descriptors of the
lattice (``features.filters``: lattice and symmetry families), and those average over
about one period: nothing finer than a period says which phase a pixel belongs to. The
forest's probabilities still vary from one atom column to the next, through the
intensity features that follow each column, so such a border comes out ragged, with
islands a few columns wide. ``smooth_at_lattice_resolution`` smooths those phases'
shares of the probability at half a period (LATTICE_SMOOTHING), which draws the border
at the resolution the evidence has.

Classes whose brightness differs on the strokes (``edges.separable_pairs``) keep the
pixel resolution between them: their borders follow the image's edges (``edges``), and
a structure smaller than a period (a heavy-atom column, a small precipitate) stays.

Measured on the STEM generator at 14 magnifications (lattice constant 6.3-52 px, two
forest seeds): +0.007 mean IoU, no case lower, most at the longest periods.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.sparse.csgraph import connected_components

from .probabilities import smooth_plane

#: Gaussian sigma of the smoothing, in lattice periods: half the window over which
#: the lattice descriptors average (one period). 0.25 gained about half as much, 0.75
#: and 1 period a little more on average but lost on some magnifications.
LATTICE_SMOOTHING = 0.5


def smoothing_sigma(period: float | None) -> float:
    """Sigma (px) of the smoothing for a lattice of ``period`` px; 0 without a lattice."""
    return LATTICE_SMOOTHING * float(period) if period else 0.0


def lattice_groups(n_classes: int, separable: Iterable[tuple[int, int]]) -> list[list[int]]:
    """The classes (indices 0..n-1) as groups linked by pairs *not* separable by
    brightness: the connected components of that relation. Classes in one group share
    their probability at the lattice's resolution; between groups it stays per pixel."""
    linked = np.ones((n_classes, n_classes), bool)
    for i, j in separable:
        linked[i, j] = linked[j, i] = False
    _, component = connected_components(linked, directed=False)
    return [np.flatnonzero(component == c).tolist() for c in range(component.max() + 1)]


def smooth_at_lattice_resolution(proba: np.ndarray, period: float | None,
                                 separable: Iterable[tuple[int, int]] = ()) -> np.ndarray:
    """``proba`` (H, W, K) with each group's shares smoothed at LATTICE_SMOOTHING periods
    (unchanged when ``period`` is None: no lattice).

    Within a group (``lattice_groups``) a class keeps the group's own probability at
    each pixel and takes its share of it from the smoothed maps, so a group's total, and
    every border between groups, stays as the classifier drew it.
    """
    sigma = smoothing_sigma(period)
    if sigma <= 0 or proba.shape[2] < 2:
        return proba
    groups = [g for g in lattice_groups(proba.shape[2], separable) if len(g) > 1]
    if not groups:
        return proba
    out = proba.copy()
    for group in groups:
        smoothed = [smooth_plane(proba[:, :, k], sigma) for k in group]
        total = np.sum([proba[:, :, k] for k in group], axis=0)
        smoothed_total = np.maximum(np.sum(smoothed, axis=0), 1e-12)
        for k, plane in zip(group, smoothed, strict=True):
            out[:, :, k] = total * plane / smoothed_total
    return out
