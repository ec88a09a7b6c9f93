"""Tiled prediction: images of any size through a fitted Segmenter in bounded memory.

The image is cut into square tiles; each is predicted with a halo of context around
it wide enough for every feature family (``FeatureSpec.halo``: four times the
largest sigma or wavelength, eight for the DoG and structure-tensor families) and the
smoothing of the probabilities (``Segmenter.halo_for``) and cropped back, with the intensity mapped through
the *whole* image's range so that every tile sees the same normalisation. Tile
corners sit on a grid of ``ALIGN`` pixels (a multiple of the coarsest band grid of the
filters, ``features.filters.MAX_STEP``), so the image pyramid and the decimated
Fourier grids sample the same pixels as for the whole image, and the band filters
give no response to a constant (so a tile's own mean does not leak into them): tiled
equals untiled up to float rounding, which flips only pixels whose top classes are
nearly tied (99.998 % of labels equal on a 2048² STEM image in 512-px tiles).

The source may be anything that slices like an array without reading the rest
(a NumPy array, a ``numpy.memmap``, a Zarr array from ``tifffile.aszarr``, a Dask
array), so images larger than memory are read tile by tile; results go to a
``sink(box, proba)`` callback as tiles finish, or are gathered into one array.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from .errors import PaintsegError
from .features import tiling
from .features.tiling import (
    ALIGN,
    DEFAULT_TILE,
    LARGE_PIXELS,
    Tile,
    plan_tiles,
    tile_side,
)
from .io import ImageLike
from .segmenter import Segmenter, label_dtype, labels_from_proba

if TYPE_CHECKING:
    from .lazy_io import LazyImage

__all__ = ["ALIGN", "DEFAULT_TILE", "LARGE_PIXELS", "PREVIEW_TREES", "Tile", "plan_tiles",
           "predict", "predict_proba", "predict_tiles", "preview_proba", "tile_side"]


def predict_tiles(seg: Segmenter, source: np.ndarray | LazyImage, *, tile: int = DEFAULT_TILE,
                  value_range: tuple[float, float] | None = None,
                  pixel_size: float | None = None, unit: str = "px",
                  ) -> Iterator[tuple[Tile, np.ndarray]]:
    """Yield ``(tile, proba)`` for each tile of ``source``, proba (h, w, K) float32 of
    the tile's core (``Segmenter.proba_tiles``). Memory holds one tile's features at a time."""
    return seg.proba_tiles(source, tile=tile, value_range=value_range, pixel_size=pixel_size,
                           unit=unit)


def predict_proba(seg: Segmenter, image: ImageLike, *, tile: int = DEFAULT_TILE,
                  value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Class probabilities (H, W, K) of an image of any size, tile by tile when it is
    larger than ``tile``; equal to ``seg.predict_proba`` on the whole image."""
    h, w = image.shape[:2]
    if h <= tile and w <= tile:
        return seg.predict_proba(image, value_range=value_range)
    out = np.empty((h, w, len(seg.classes_)), np.float32)
    for t, proba in predict_tiles(seg, image, tile=tile, value_range=value_range):
        r0, c0, r1, c1 = t.core
        out[r0:r1, c0:c1] = proba
    return out


def predict(seg: Segmenter, image: ImageLike, *, tile: int = DEFAULT_TILE,
            value_range: tuple[float, float] | None = None,
            sink: Callable[[Tile, np.ndarray], None] | None = None) -> np.ndarray | None:
    """Class ids (H, W) of an image of any size, filled tile by tile (no (H, W, K)
    probabilities held at once). With ``sink``, each tile's labels go to
    ``sink(tile, labels)`` as they finish and nothing is gathered (returns None)."""
    h, w = image.shape[:2]
    if sink is None and h <= tile and w <= tile:
        return labels_from_proba(seg.predict_proba(image, value_range=value_range), seg.classes_)
    labels = None
    if sink is None:
        labels = np.zeros((h, w), label_dtype(seg.classes_))

        def sink(t: Tile, block: np.ndarray) -> None:
            r0, c0, r1, c1 = t.core
            labels[r0:r1, c0:c1] = block

    for t, proba in predict_tiles(seg, image, tile=tile, value_range=value_range):
        sink(t, labels_from_proba(proba, seg.classes_))
    return labels


PREVIEW_TREES = 16  # trees of a forest a preview asks (a third of the default's 48)


def preview_proba(seg: Segmenter, image: np.ndarray, box: tuple[int, int, int, int], step: int,
                  *, trees: int = PREVIEW_TREES) -> np.ndarray:
    """A quick look: probabilities of every ``step``-th pixel of ``box`` (row0, col0,
    row1, col1), from the image's cached feature stack (a large image's not cached: the
    box's features alone, ``features.tiling``) and the first ``trees`` trees of
    a forest. What live mode draws first, at screen resolution, before the full
    prediction; (ceil(h / step), ceil(w / step), K) float32."""
    import copy

    from .features import compute_features, feature_matrix

    r0, c0, r1, c1 = (int(v) for v in box)
    h, w = image.shape[:2]
    r0, c0, r1, c1 = max(0, r0), max(0, c0), min(h, r1), min(w, c1)
    if r1 <= r0 or c1 <= c0 or step < 1:
        raise PaintsegError("the preview box lies outside the image")
    rows, cols = len(range(r0, r1, step)), len(range(c0, c1, step))
    spec, value_range = seg.spec_for(image), seg.value_range_for(image)
    if tiling.by_tile(image, spec, value_range):  # the box's features alone
        grid_r, grid_c = np.meshgrid(np.arange(r0, r1, step), np.arange(c0, c1, step), indexing="ij")
        sample = tiling.features_at(image, spec, grid_r.ravel(), grid_c.ravel(), value_range)
    else:  # the stack features_of reads, from the spec and range already at hand
        stack = compute_features(image, spec, value_range=value_range)
        sample = feature_matrix(stack, slice(r0, r1, step), slice(c0, c1, step))
    estimator = seg.estimator_
    if len(getattr(estimator, "estimators_", ())) > trees:  # a forest: fewer trees
        estimator = copy.copy(estimator)
        estimator.estimators_ = estimator.estimators_[:trees]
        estimator.n_estimators = trees
    return estimator.predict_proba(sample).reshape(rows, cols, -1).astype(np.float32)
