"""Synthetic ADF-STEM images of a 2-D crystal with several phases, and their truth.

The generator renders MoS2 as seen in annular dark-field STEM: incoherent
Z-contrast imaging, where each atom column appears as a probe-sized spot whose
brightness grows as Z^1.7. Three phases share the same mean brightness and differ
only in their lattice:

1. ``2H``: honeycomb; a Mo column and an S2 column (two S atoms stacked) per cell.
2. ``1T``: Mo on a triangular lattice with one S atom on *each* hollow site.
3. ``amorphous``: Mo and S atoms at random positions with the same density.

Crystal grains take random in-plane rotations, so grains of one phase look
different from each other. Shot noise, scan-line jitter and gain flicker, a slow
thickness background and detector noise complete the picture. The truth mask is
exact: it is the region map the atoms were placed from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage as ndi

CLASS_NAMES = ("2H", "1T", "amorphous")
CLASS_COLOURS = ("#e4572e", "#29a5d6", "#f3c623")
Z_MO, Z_S = 42, 16
LATTICE_NM = 0.316  # MoS2 in-plane lattice constant


@dataclass
class DemoImage:
    """A generated image with everything needed to score a segmentation of it."""

    image: np.ndarray  # float32 counts
    truth: np.ndarray  # uint8, class ids 1..3
    pixel_size_nm: float | None
    grains: np.ndarray | None = None  # int32 grain index per pixel
    class_names: tuple[str, ...] = CLASS_NAMES
    class_colours: tuple[str, ...] = CLASS_COLOURS


def _region_map(size: int, rng: np.random.Generator, n_regions: int) -> np.ndarray:
    """Voronoi partition with wavy borders; returns region index per pixel."""
    seeds = rng.uniform(0, size, (n_regions, 2))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    warp_amp = size / 10
    cells = max(3, size // 96)
    noise = rng.normal(size=(2, cells, cells)).astype(np.float32)
    dy = cv2.resize(noise[0], (size, size), interpolation=cv2.INTER_CUBIC) * warp_amp
    dx = cv2.resize(noise[1], (size, size), interpolation=cv2.INTER_CUBIC) * warp_amp
    wy, wx = yy + dy, xx + dx
    dist = np.stack([(wy - sy) ** 2 + (wx - sx) ** 2 for sy, sx in seeds])
    return np.argmin(dist, axis=0)


def _lattice_sites(size: int, a_px: float, angle: float, phase: str, rng) -> tuple:
    """Positions (y, x) and column intensities of a rotated MoS2 lattice."""
    c, s = np.cos(angle), np.sin(angle)
    a1 = a_px * np.array([c, s])
    a2 = a_px * np.array([c * 0.5 - s * np.sqrt(3) / 2, s * 0.5 + c * np.sqrt(3) / 2])
    n = int(size / (a_px * 0.5)) + 4
    i, j = np.meshgrid(np.arange(-n, n), np.arange(-n, n), indexing="ij")
    origin = rng.uniform(0, a_px, 2) + size / 2
    base = origin + i.reshape(-1, 1) * a1 + j.reshape(-1, 1) * a2
    keep = np.all((base > -a_px) & (base < size + a_px), axis=1)
    base = base[keep]
    hollow_b = (a1 + a2) / 3
    hollow_c = 2 * (a1 + a2) / 3
    mo, s1 = Z_MO**1.7, Z_S**1.7
    if phase == "2H":
        sites = [(base, mo), (base + hollow_b, 2 * s1)]
    else:  # 1T
        sites = [(base, mo), (base + hollow_b, s1), (base + hollow_c, s1)]
    xy = np.concatenate([p for p, _ in sites])
    weight = np.concatenate([np.full(len(p), w) for p, w in sites])
    return xy, weight


def _amorphous_sites(size: int, a_px: float, rng) -> tuple:
    """Random atoms with the density and mean column weight of the crystal."""
    cell_area = a_px * a_px * np.sqrt(3) / 2
    total_weight = Z_MO**1.7 + 2 * Z_S**1.7
    # Jittered grid: random but without the clumps of a pure Poisson process.
    spacing = np.sqrt(cell_area / 3)
    grid = np.arange(-2, size + 2, spacing)
    gy, gx = np.meshgrid(grid, grid, indexing="ij")
    xy = np.stack([gx.ravel(), gy.ravel()], axis=1)
    xy += rng.uniform(-0.5, 0.5, xy.shape) * spacing
    n_atoms = len(xy)
    is_mo = rng.random(n_atoms) < 1 / 3
    weight = np.where(is_mo, Z_MO**1.7, Z_S**1.7)
    weight *= total_weight / (3 * weight.mean())
    return xy, weight


def _splat(size: int, xy: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Deposit point weights onto the pixel grid with bilinear weights."""
    img = np.zeros((size + 2, size + 2), np.float64)
    x, y = xy[:, 0] + 1, xy[:, 1] + 1
    ok = (x >= 0) & (x < size + 1) & (y >= 0) & (y < size + 1)
    x, y, w = x[ok], y[ok], weight[ok]
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dy, dx, ww in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                       (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        np.add.at(img, (y0 + dy, x0 + dx), w * ww)
    return img[1:-1, 1:-1]


def make_stem_image(
    size: int = 512,
    seed: int = 0,
    *,
    pixel_size_nm: float = 0.05,
    n_regions: int | None = None,
    dose: float = 40.0,
    probe_sigma_px: float = 1.1,
) -> DemoImage:
    """Render a synthetic ADF-STEM image of MoS2 with 2H, 1T and amorphous regions.

    Parameters
    ----------
    size : image height and width in pixels.
    seed : random seed; the same seed gives the same image.
    pixel_size_nm : sampling; 0.05 nm puts about 6 pixels across a unit cell.
    n_regions : number of grains (default grows with the image area).
    dose : mean detected counts per pixel (lower is noisier).
    """
    if size < 32:
        raise ValueError("size must be at least 32 pixels")
    rng = np.random.default_rng(seed)
    if n_regions is None:
        n_regions = max(4, int(round(6 * (size / 512) ** 2)))
    regions = _region_map(size, rng, n_regions)
    # Every phase appears at least once; the rest are drawn at random.
    phases = list(rng.permutation(3)) + list(rng.integers(0, 3, n_regions - 3))
    phases = np.array(phases[:n_regions]) + 1
    truth = phases[regions].astype(np.uint8)

    a_px = LATTICE_NM / pixel_size_nm
    columns = np.zeros((size, size), np.float64)
    for r in range(n_regions):
        inside = regions == r
        if phases[r] == 3:
            xy, w = _amorphous_sites(size, a_px, rng)
        else:
            angle = rng.uniform(0, np.pi / 3)
            xy, w = _lattice_sites(size, a_px, angle, CLASS_NAMES[phases[r] - 1], rng)
            xy = xy + rng.normal(0, 0.04 * a_px, xy.shape)  # thermal jitter
        columns += _splat(size, xy, w) * inside
    probe = ndi.gaussian_filter(columns, probe_sigma_px)

    # Slow thickness / contamination background, then normalise to the dose.
    bg_noise = rng.normal(size=(4, 4))
    background = cv2.resize(bg_noise, (size, size), interpolation=cv2.INTER_CUBIC)
    probe = probe / probe.mean()
    signal = probe * (1.0 + 0.15 * background) + 0.25
    # Scan noise: each line shifted by a fraction of a pixel, with gain flicker.
    shifts = np.cumsum(rng.normal(0, 0.15, size)) * 0.3
    gains = 1.0 + rng.normal(0, 0.03, size)
    xs = np.arange(size)
    for row in range(size):
        signal[row] = np.interp(xs + shifts[row], xs, signal[row]) * gains[row]
    counts = rng.poisson(np.clip(signal, 0, None) * dose / signal.mean()).astype(np.float32)
    counts += rng.normal(0, 1.0, counts.shape).astype(np.float32)
    return DemoImage(image=counts, truth=truth, pixel_size_nm=pixel_size_nm,
                     grains=regions.astype(np.int32))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Stretch an image to 8 bits over its 0.1-99.9 percentile range."""
    lo, hi = np.percentile(image, [0.1, 99.9])
    return np.clip((image - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)


def simulate_strokes(
    truth: np.ndarray,
    *,
    grains: np.ndarray | None = None,
    strokes_per_class: int = 4,
    fraction: float = 0.01,
    margin: int = 12,
    seed: int = 0,
) -> np.ndarray:
    """Simulate a person's brush strokes: a few short strokes inside each class.

    Each stroke is a smooth random walk drawn with a round brush, kept at least
    ``margin`` pixels away from any class border, so it is painted where a person
    is sure of the class. About ``fraction`` of the pixels end up labelled. When
    ``grains`` (a region index per pixel) is given, a class's strokes go to its
    different grains in turn, as a person who looks at the whole image would
    paint each kind of grain they see.
    Returns a uint8 mask with 0 = unlabelled and k = class k.
    """
    rng = np.random.default_rng(seed)
    h, w = truth.shape
    classes = [int(c) for c in np.unique(truth) if c > 0]
    strokes = np.zeros(truth.shape, np.uint8)
    target = fraction * h * w / max(1, len(classes) * strokes_per_class)
    radius = max(2, int(round(min(h, w) / 170)))
    if grains is None:
        grains = np.zeros(truth.shape, np.int32)
    for k in classes:
        zones = []
        for g in rng.permutation(np.unique(grains[truth == k])):
            inside = np.pad((truth == k) & (grains == g), 1, constant_values=False)
            distance = ndi.distance_transform_edt(inside)[1:-1, 1:-1]
            safe = distance > margin + radius
            if safe.sum() > 50:
                zones.append(safe)
        if not zones:  # a thin class: paint wherever the brush fits
            inside = np.pad(truth == k, 1, constant_values=False)
            zones = [ndi.distance_transform_edt(inside)[1:-1, 1:-1] > radius + 1]
            if not zones[0].any():
                continue
        for i in range(strokes_per_class):
            safe = zones[i % len(zones)]
            _draw_stroke(strokes, safe, np.argwhere(safe), k, radius, target, rng)
    return strokes


def _draw_stroke(strokes, safe, candidates, k, radius, target, rng) -> None:
    y, x = candidates[rng.integers(len(candidates))].astype(float)
    heading = rng.uniform(0, 2 * np.pi)
    painted = 0
    layer = np.zeros(strokes.shape, np.uint8)
    for _ in range(int(target)):
        cv2.circle(layer, (int(round(x)), int(round(y))), radius, 1, -1)
        painted = int(layer.sum())
        if painted >= target:
            break
        heading += rng.normal(0, 0.25)
        ny, nx = y + np.sin(heading) * 1.5, x + np.cos(heading) * 1.5
        iy, ix = int(round(ny)), int(round(nx))
        if not (0 <= iy < safe.shape[0] and 0 <= ix < safe.shape[1] and safe[iy, ix]):
            heading += np.pi * rng.uniform(0.5, 1.5)
            continue
        y, x = ny, nx
    strokes[layer > 0] = k


def texture_mosaic(size: int = 512, seed: int = 0) -> DemoImage:
    """Brick / grass / gravel photos from scikit-image in wavy regions.

    Every texture is matched to the same mean and standard deviation, so only
    texture tells the classes apart.
    """
    from skimage import data

    rng = np.random.default_rng(seed)
    textures = [data.brick(), data.grass(), data.gravel()]
    regions = _region_map(size, rng, 6)
    labels = np.array(list(rng.permutation(3)) + list(rng.integers(0, 3, 3))) + 1
    truth = labels[regions].astype(np.uint8)
    image = np.zeros((size, size), np.float32)
    for k, tex in enumerate(textures, start=1):
        t = tex.astype(np.float32)
        reps = (size // t.shape[0] + 1, size // t.shape[1] + 1)
        t = np.tile(t, reps)[:size, :size]
        t = (t - t.mean()) / t.std()
        image[truth == k] = t[truth == k]
    return DemoImage(image=image * 40 + 128, truth=truth, pixel_size_nm=None,
                     grains=regions.astype(np.int32), class_names=("brick", "grass", "gravel"))


def write_demo(folder, size: int = 512, seed: int = 0) -> dict[str, Path]:
    """Write a demo image (16-bit TIFF with pixel size), its truth and strokes."""
    from .io import write_mask, write_tiff_image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    demo = make_stem_image(size, seed)
    counts = np.clip(np.round(demo.image - demo.image.min()), 0, 65535).astype(np.uint16)
    strokes = simulate_strokes(demo.truth, grains=demo.grains, seed=seed)
    paths = {
        "image": write_tiff_image(folder / "demo_stem.tif", counts, demo.pixel_size_nm, "nm"),
        "truth": write_mask(folder / "demo_truth.png", demo.truth),
        "strokes": write_mask(folder / "demo_strokes.png", strokes),
    }
    return paths


def bundled_demo_path() -> Path:
    """The 512x512 demo image shipped with the package."""
    return Path(__file__).parent / "data" / "demo_stem.tif"
