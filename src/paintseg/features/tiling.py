"""Where an image is cut into tiles: the geometry every tiled computation shares.

Features of a large image are computed tile by tile, each tile read with a halo of
context around its core and cropped back. Tile corners sit on a grid of ``ALIGN``
pixels, a multiple of the coarsest band grid of the filters (``filters.MAX_STEP``), so
the image pyramid and the decimated Fourier grids sample the same pixels in a tile as
in the whole image. ``Segmenter`` trains and predicts images above ``LARGE_PIXELS`` this
way (``paintseg.tiles`` streams images larger than memory through the same tiles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PaintsegError
from ..io import Image
from . import adapt_to_lattice, compute_features, estimate_lattice_period, is_cached
from .filters import MAX_STEP
from .intensity import intensity_range
from .spec import FeatureSpec

ALIGN = MAX_STEP  # tile corners on this grid: pyramid levels and decimated grids line up
DEFAULT_TILE = 1024  # above this side length an image is predicted in tiles (1.3 GB peak)
#: Images of more pixels than this are featured tile by tile by ``Segmenter`` (training
#: and prediction alike) unless their whole stack is cached: a whole 4096² image's
#: feature stack and filter intermediates took 9.3 GB more memory, its tiles 1.1 GB.
LARGE_PIXELS = 3072 * 3072


@dataclass(frozen=True)
class Tile:
    """One tile: the core box it fills and the larger box it reads (core + halo)."""

    core: tuple[int, int, int, int]  # row0, col0, row1, col1
    read: tuple[int, int, int, int]

    @property
    def crop(self) -> tuple[slice, slice]:
        """Where the core lies inside the read box."""
        r0, c0, r1, c1 = self.core
        return slice(r0 - self.read[0], r1 - self.read[0]), slice(c0 - self.read[1], c1 - self.read[1])


def aligned(pixels: int) -> int:
    """``pixels`` rounded up to a multiple of ``ALIGN`` (tile sides and halos)."""
    return -(-int(pixels) // ALIGN) * ALIGN


def tile_side(tile: int) -> int:
    """The side of the tiles ``plan_tiles`` cuts for a requested ``tile`` size."""
    if tile < ALIGN:
        raise PaintsegError(f"tile size must be at least {ALIGN} pixels")
    return aligned(tile)


def plan_tiles(shape: tuple[int, int], tile: int, halo: int) -> list[Tile]:
    """Tiles of side ``tile`` (rounded up to ``ALIGN``) covering ``shape``, each read
    with ``halo`` pixels of context (rounded up to ``ALIGN``) clipped to the image."""
    h, w = int(shape[0]), int(shape[1])
    tile = tile_side(tile)
    halo = aligned(halo)
    tiles = []
    for r0 in range(0, h, tile):
        for c0 in range(0, w, tile):
            r1, c1 = min(r0 + tile, h), min(c0 + tile, w)
            read = (max(0, r0 - halo), max(0, c0 - halo), min(h, r1 + halo), min(w, c1 + halo))
            tiles.append(Tile((r0, c0, r1, c1), read))
    return tiles


def by_tile(image: np.ndarray, spec: FeatureSpec,
            value_range: tuple[float, float] | None = None) -> bool:
    """Whether an image's features are to be computed tile by tile: it is above
    ``LARGE_PIXELS`` and its whole stack is not already in the cache."""
    return np.size(image) > LARGE_PIXELS and not is_cached(image, spec, value_range)


def features_at(image: np.ndarray, spec: FeatureSpec, rows: np.ndarray, cols: np.ndarray,
                value_range: tuple[float, float] | None = None,
                tile: int | None = None) -> np.ndarray:
    """The (N, F) features of the pixels (``rows``, ``cols``) of an image, computed tile
    by tile on the box around the pixels each tile holds (its corners on the ``ALIGN``
    grid), with the halo ``spec`` needs and the whole image's intensity range
    (``value_range``, by default ``intensity_range(image)``): the values the whole
    image's stack holds, up to float rounding, without holding it."""
    if spec.adaptive:  # one lattice decision for the whole image, not one per block
        spec = adapt_to_lattice(spec, estimate_lattice_period(image).period)
    value_range = intensity_range(image) if value_range is None else value_range
    pixel_size, unit = getattr(image, "pixel_size", None), getattr(image, "unit", "px")
    h, w = image.shape
    halo = aligned(spec.halo)
    out = np.empty((len(rows), spec.n_features), np.float32)
    for part in plan_tiles(image.shape, DEFAULT_TILE if tile is None else tile, 0):
        r0, c0, r1, c1 = part.core
        here = np.flatnonzero((rows >= r0) & (rows < r1) & (cols >= c0) & (cols < c1))
        if not len(here):
            continue
        top = int(rows[here].min()) // ALIGN * ALIGN - halo
        left = int(cols[here].min()) // ALIGN * ALIGN - halo
        t0, s0 = max(0, top), max(0, left)
        t1, s1 = min(h, int(rows[here].max()) + 1 + halo), min(w, int(cols[here].max()) + 1 + halo)
        block = Image(np.asarray(image[t0:t1, s0:s1], np.float32), pixel_size, unit)
        stack = compute_features(block, spec, value_range=value_range, cache=False)
        out[here] = stack[rows[here] - t0, cols[here] - s0]
    return out
