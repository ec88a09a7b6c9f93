"""Estimate the lattice period of an image from its power spectrum.

Crystalline images (atomic-resolution STEM / HRTEM, lattice fringes) show sharp
peaks in their power spectrum at the spatial frequencies of the lattice planes; a
filter bank whose lattice and symmetry wavelengths follow that period works at any
magnification, where fixed wavelengths in pixels only work at one.

The estimate averages windowed periodograms of a few tiles (Welch), takes the
radial mean (rotation-invariant, so several grains at different rotations add up
instead of competing) and measures how far each radius stands above the running
median of its neighbours (±30 % in frequency), in decades of power. A lattice is
reported when a peak stands out both absolutely and against the spread of the
profile, or, for a weak lattice, when a smaller peak has a second one at a lattice
ratio (√2, √3, 2, √5, √7, 3) to it; amorphous films, cells, grains of a micrograph and white noise give broad
or weak bumps and are reported as "no lattice". When the strongest peak is a
higher order (√2, √3, 2, √5, √7 or 3 times the frequency of a lower peak with at least
0.6 of its excess, as in a hexagonal lattice imaged with a sharp probe, a perovskite
whose two kinds of column differ, or any lattice at long periods, where the first order
falls in few radial bins), the fundamental is reported.

A lattice over part of the frame (grains in an amorphous film, a crystal beside its
amorphous phase) is diluted in the whole image's spectrum by the amorphous ring. Where
the whole image shows none, or only a weak one, tiles of the image are estimated
alone, and a period that at least 3 tiles and 30 % of them agree on (within 5 %) is
reported (``_local_consensus``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from ..errors import PaintsegError
from ..io import content_digest
from .intensity import tame_outliers

REMEMBERED_ESTIMATES = 256  # lattice estimates kept, by image content
_ESTIMATES: OrderedDict[tuple, LatticeEstimate] = OrderedDict()
_ESTIMATES_LOCK = threading.Lock()

#: Peaks must stand this many decades above the running median of the profile...
MIN_EXCESS = 0.45
#: ...or this many, with a second peak of SUPPORT_EXCESS at a lattice ratio to it
#: (a weak lattice still shows its harmonics; a bump of a micrograph's grain size does not).
SUPPORTED_EXCESS = 0.25
SUPPORT_EXCESS = 0.2
#: ...and this many robust standard deviations above the profile's spread.
MIN_SIGNIFICANCE = 5.0
#: Shortest period reported, in pixels (below ~2.5 px a lattice is aliased).
MIN_PERIOD = 2.5
#: Ratios between the spacings of a lattice's reflections and its first order: hexagonal
#: (√3, 2, √7, 3) and square (√2, 2, √5). A peak at such a ratio supports a weak lattice,
#: and a strong higher order is traced back to its fundamental.
LATTICE_RATIOS = (np.sqrt(2.0), np.sqrt(3.0), 2.0, np.sqrt(5.0), np.sqrt(7.0), 3.0)
#: The orders next to the first (a square lattice's (11), a hexagonal one's (11-20) and
#: (20-20)): one of them can stand out more than the fundamental with no other order seen.
NEXT_ORDERS = (np.sqrt(2.0), np.sqrt(3.0), 2.0)
MAX_TILE = 1024
#: The tiles' second look (``_local_consensus``): tiles of this side (px), at most
#: LOCAL_GRID x LOCAL_GRID of them spread over the image, whose periods agree within
#: LOCAL_TOLERANCE. When at least LOCAL_MIN_TILES and LOCAL_MIN_SHARE of the tiles agree,
#: their period is reported where the whole image found none, or found another period
#: within LOCAL_TILE / 8: a weak lattice (below MIN_EXCESS), or a strong one at a next
#: order (√2, √3, 2) of theirs, which outshone their first order in the whole image. Any
#: other strong lattice stays: an image of domains with two periods (a real
#: high-entropy alloy: 4.45 and 5.3 px) keeps the stronger. Lattices over 29-57 % of a
#: STEM frame: 5-9 of 16 tiles agree; what else agreed in any image of the benchmarks:
#: 2 of 6 tiles (the spacing of TEM nanoparticles), 4 of 16 (2.7 px: the band limit of
#: an image enlarged twice).
LOCAL_TILE = 256
LOCAL_GRID = 4
LOCAL_TOLERANCE = 0.05
LOCAL_MIN_TILES = 3
LOCAL_MIN_SHARE = 0.3


@dataclass(frozen=True)
class LatticeEstimate:
    """The result of :func:`estimate_lattice_period`.

    ``period`` is the fundamental lattice period in pixels (None when the image
    shows no lattice); ``periods`` lists every clear peak, strongest first;
    ``strength`` is the excess of the whole image's strongest peak over the background,
    in decades of power (0.45 and above counts as a lattice on its own; a weaker one is
    reported when a second peak at a lattice ratio, or the image's tiles, confirm it).
    """

    period: float | None
    periods: tuple[float, ...] = ()
    strength: float = 0.0
    not_used: str = ""  # why a lattice that was found is not followed (``period`` is None)

    @property
    def found(self) -> bool:
        return self.period is not None

    def describe(self, pixel_size_nm: float | None = None) -> str:
        """One line for people: 'lattice period 7.8 px (0.27 nm)' or 'no lattice found'."""
        if self.period is None and self.not_used and self.periods:
            return (f"lattice period {self.periods[0]:.1f} px found, not followed: "
                    f"{self.not_used} (features use the fixed texture bank)")
        if self.period is None:
            return "no lattice found (features use the fixed texture bank)"
        text = f"lattice period {self.period:.1f} px"
        if pixel_size_nm:
            text += f" ({self.period * pixel_size_nm:.3g} nm)"
        return text


def _welch_spectrum(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Mean Hann-windowed periodogram of up to 3x3 overlapping square tiles."""
    h, w = image.shape
    tile = min(MAX_TILE, 1 << int(np.log2(min(h, w))))
    window = np.outer(np.hanning(tile), np.hanning(tile)).astype(np.float32)
    rows = np.linspace(0, h - tile, max(1, min(3, (h - tile) // (tile // 2) + 1))).astype(int)
    cols = np.linspace(0, w - tile, max(1, min(3, (w - tile) // (tile // 2) + 1))).astype(int)
    power = np.zeros((tile, tile), np.float64)
    for y in rows:
        for x in cols:
            t = image[y:y + tile, x:x + tile]
            t = (t - t.mean()) * window
            power += np.abs(sfft.fft2(t, workers=-1)) ** 2
    return power / (len(rows) * len(cols)), tile


def radial_profile(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Mean power per integer frequency radius (bins of 1/tile cycles per pixel)."""
    power, tile = _welch_spectrum(np.asarray(image, np.float32))
    f = np.abs(sfft.fftfreq(tile) * tile)
    radius = np.rint(np.hypot(f[:, None], f[None, :])).astype(np.int64).ravel()
    counts = np.bincount(radius)
    sums = np.bincount(radius, power.ravel())
    n = tile // 2
    return sums[:n] / np.maximum(counts[:n], 1), tile


def _excess(profile: np.ndarray) -> np.ndarray:
    """Log power above the running median over ±30 % in frequency."""
    log_power = np.log10(profile + 1e-30 * profile.max() + 1e-300)
    excess = np.zeros_like(log_power)
    for i in range(1, len(log_power)):
        lo, hi = max(1, int(i / 1.3)), min(len(log_power), int(np.ceil(i * 1.3)) + 1)
        excess[i] = log_power[i] - np.median(log_power[lo:hi])
    return excess


def estimate_lattice_period(image: np.ndarray) -> LatticeEstimate:
    """Estimate the fundamental lattice period (pixels) of a 2-D image.

    Robust to shot noise, slow backgrounds, amorphous regions and several grains
    at different rotations; returns ``LatticeEstimate(period=None)`` for images
    without a lattice (and for images too small to tell, under 64 px). Remembered per
    image content: every training asks again for the same images (50 ms at 1 MP,
    against 5 ms to recognise the image).
    """
    key = content_digest(image)
    with _ESTIMATES_LOCK:
        if key in _ESTIMATES:
            _ESTIMATES.move_to_end(key)
            return _ESTIMATES[key]
    estimate = _estimate(tame_outliers(image))  # a zinger's white spectrum hides a lattice
    with _ESTIMATES_LOCK:
        _ESTIMATES[key] = estimate
        while len(_ESTIMATES) > REMEMBERED_ESTIMATES:
            _ESTIMATES.popitem(last=False)
    return estimate


def _estimate(image: np.ndarray) -> LatticeEstimate:
    """The whole image's estimate, or the tiles' (``_local_consensus``) where they agree
    on a lattice the whole image missed, found only weakly, or took a next order of."""
    whole = _estimate_whole(image)
    if whole.found and whole.period > LOCAL_TILE / 8:
        return whole  # too long for a tile to judge
    local = _local_consensus(image)
    if local is None:
        return whole
    period, support, tiles = local
    if support < max(LOCAL_MIN_TILES, LOCAL_MIN_SHARE * tiles):
        return whole
    if whole.period is None or (abs(period / whole.period - 1) > LOCAL_TOLERANCE and (
            whole.strength < MIN_EXCESS or _harmonic(period, whole.period, NEXT_ORDERS))):
        return LatticeEstimate(period, (period, *whole.periods), whole.strength)
    return whole


def _local_consensus(image: np.ndarray) -> tuple[float, int, int] | None:
    """The period most of the image's tiles agree on: (median period, tiles agreeing
    within LOCAL_TOLERANCE, tiles looked at), or None.

    A lattice that covers part of the image (grains in an amorphous film, a crystal
    beside its amorphous phase) stands out in a tile it fills, where the whole image's
    spectrum dilutes it among the amorphous ring's power, or lets a higher order or
    the grains' own size outshine its first order. Up to LOCAL_GRID² tiles of LOCAL_TILE
    px, spread evenly over the image.
    """
    h, w = image.shape
    if min(h, w) < 2 * LOCAL_TILE:
        return None
    rows = np.unique(np.linspace(0, h - LOCAL_TILE, min(LOCAL_GRID, h // LOCAL_TILE)).astype(int))
    cols = np.unique(np.linspace(0, w - LOCAL_TILE, min(LOCAL_GRID, w // LOCAL_TILE)).astype(int))
    periods = [e.period for y in rows for x in cols
               if (e := _estimate_whole(image[y:y + LOCAL_TILE, x:x + LOCAL_TILE])).period]
    if not periods:
        return None
    agreeing = max(([q for q in periods if abs(q / p - 1) < LOCAL_TOLERANCE] for p in periods), key=len)
    return round(float(np.median(agreeing)), 3), len(agreeing), len(rows) * len(cols)


def _estimate_whole(image: np.ndarray) -> LatticeEstimate:
    if image.ndim != 2:
        raise PaintsegError(f"expected a 2-D grey image, got shape {image.shape}")
    if min(image.shape) < 64 or not np.isfinite(image).all():
        return LatticeEstimate(None)
    profile, tile = radial_profile(image)
    excess = _excess(profile)
    r_min, r_max = 4, int(tile / MIN_PERIOD)  # periods from 2.5 px to tile / 4
    valid = excess[r_min:r_max]
    spread = 1.4826 * float(np.median(np.abs(valid - np.median(valid))))
    threshold = max(MIN_EXCESS, MIN_SIGNIFICANCE * spread)
    candidates = [
        (float(excess[i]), _refine(profile, i))
        for i in range(r_min + 1, r_max - 1)
        if excess[i] >= excess[i - 1] and excess[i] > excess[i + 1] and excess[i] >= SUPPORT_EXCESS
    ]
    peaks = [(ex, r) for ex, r in candidates if ex >= threshold]
    if not peaks:  # a weak lattice: a peak with another at a lattice ratio to it
        peaks = _supported(candidates, max(SUPPORTED_EXCESS, 0.6 * MIN_SIGNIFICANCE * spread))
    if not peaks:
        return LatticeEstimate(None, (), float(valid.max(initial=0.0)))
    peaks.sort(reverse=True)
    strength, best = peaks[0]
    fundamental = best
    # A clear lower-frequency peak the strongest is a harmonic of is the fundamental. It
    # need not pass the threshold itself: at long periods it falls in few radial bins and
    # broadens over grains of a few unit cells, so the harmonic can stand out more. Only
    # the next orders (NEXT_ORDERS) outshine a fundamental on their own; at a higher
    # ratio, another peak must stand at a lattice ratio to it too (the ratios cover much
    # of 1.3-3.2, and one match at sqrt(5) took the bump of the grains' size for one).
    for ex, r in sorted(candidates, key=lambda c: -c[1]):
        if r < fundamental and ex >= 0.6 * strength and _harmonic(best, r) and (
            _harmonic(best, r, NEXT_ORDERS)
            or any(_harmonic(other, r) for _, other in candidates if other not in (r, best))
        ):
            fundamental = r
    periods = tuple(round(tile / r, 3) for _, r in peaks[:4])
    return LatticeEstimate(round(tile / fundamental, 3), periods, round(strength, 3))


def _harmonic(high: float, low: float, ratios: tuple[float, ...] = LATTICE_RATIOS,
              tolerance: float = 0.05) -> bool:
    """Whether radius ``high`` stands at one of ``ratios`` to ``low`` (within ``tolerance``)."""
    return any(abs(high / low - ratio) < tolerance * ratio for ratio in ratios)


def _supported(candidates: list[tuple[float, float]], threshold: float) -> list:
    """The candidate peaks above ``threshold`` that another candidate stands at a
    lattice ratio to (within 3 %), with their supporters."""
    kept = set()
    for i, (ex, r) in enumerate(candidates):
        if ex < threshold:
            continue
        for j, (_, other) in enumerate(candidates):
            if j != i and _harmonic(max(r, other), min(r, other), tolerance=0.03):
                kept.update((i, j))
    return [candidates[i] for i in sorted(kept)]


def _refine(profile: np.ndarray, i: int) -> float:
    """Sub-bin radius of a peak by a parabola through the log power of three bins."""
    a, b, c = np.log(profile[i - 1:i + 2] + 1e-300)
    denom = a - 2 * b + c
    shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
    return i + float(np.clip(shift, -0.5, 0.5))
