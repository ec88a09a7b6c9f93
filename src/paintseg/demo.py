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

Beside it: a texture mosaic (brick / grass / gravel of one mean and contrast), thin
overlapping plates with bend contours and thick rods on a dark support (the regime of
the original MoO3 demonstration, ``make_plates_image``), the stroke simulator the
benchmarks paint with, and the bundled demo image.
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


def simulate_strokes(
    truth: np.ndarray,
    *,
    grains: np.ndarray | None = None,
    strokes_per_class: int = 4,
    fraction: float = 0.01,
    margin: int = 12,
    seed: int = 0,
    trace: tuple[int, ...] = (),
    radius: int | None = None,
) -> np.ndarray:
    """Simulate a person's brush strokes: a few short strokes inside each class.

    Each stroke is a smooth random walk drawn with a round brush, kept at least
    ``margin`` pixels away from any class border, so it is painted where a person
    is sure of the class. About ``fraction`` of the pixels end up labelled. When
    ``grains`` (a region index per pixel) is given, a class's strokes go to its
    different grains in turn, as a person who looks at the whole image would
    paint each kind of grain they see. Classes in ``trace`` (membranes, fibres), and
    any class too thin for the brush, are traced along their centre lines with a
    3-px brush instead. Truth 0 (not scored) is never painted. ``radius`` is the
    brush radius of the normal strokes (default: 1/170 of the image side, at least 2).
    Returns a uint8 mask with 0 = unlabelled and k = class k.
    """
    rng = np.random.default_rng(seed)
    h, w = truth.shape
    classes = [int(c) for c in np.unique(truth) if c > 0]
    strokes = np.zeros(truth.shape, np.uint8)
    target = fraction * h * w / max(1, len(classes) * strokes_per_class)
    if radius is None:
        radius = max(2, int(round(min(h, w) / 170)))
    if grains is None:
        grains = np.zeros(truth.shape, np.int32)
    for k in classes:
        if k in trace:
            _trace_thin_class(strokes, truth == k, k, strokes_per_class, target, rng)
            continue
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
            if zones[0].sum() < 50:  # too thin for the brush: trace its centre lines
                _trace_thin_class(strokes, truth == k, k, strokes_per_class, target, rng)
                continue
        for i in range(strokes_per_class):
            safe = zones[i % len(zones)]
            _draw_stroke(strokes, safe, np.argwhere(safe), k, radius, target, rng)
    return strokes


def _trace_thin_class(strokes, inside, k, count, target, rng) -> None:
    """Thin strokes (3 px) along the centre lines of a thin class (membranes, fibres),
    as a person traces a membrane with a fine brush; never outside the class."""
    from skimage.morphology import skeletonize

    skeleton = skeletonize(inside)
    points = np.argwhere(skeleton)
    if not len(points):
        return
    reach = max(6, int(target / 6))  # half the length of a 3-px line of the stroke's area
    for _ in range(count):
        y, x = points[rng.integers(len(points))]
        near = (np.abs(points[:, 0] - y) <= reach) & (np.abs(points[:, 1] - x) <= reach)
        layer = np.zeros(strokes.shape, np.uint8)
        layer[points[near, 0], points[near, 1]] = 1
        layer = cv2.dilate(layer, np.ones((3, 3), np.uint8)).astype(bool) & inside
        strokes[layer] = k


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

    Every texture is matched to the same mean and standard deviation (after dither and
    a little sensor noise, so no grey level is peculiar to one texture), so only
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
        # dither and sensor noise: without them each photo keeps its own set of 8-bit
        # levels after the rescaling below, and a pixel's exact value gives its class away
        t = t + rng.uniform(-0.5, 0.5, t.shape).astype(np.float32)
        t = t + rng.normal(0, 2.0, t.shape).astype(np.float32)
        t = (t - t.mean()) / t.std()
        image[truth == k] = t[truth == k]
    return DemoImage(image=image * 40 + 128, truth=truth, pixel_size_nm=None,
                     grains=regions.astype(np.int32), class_names=("brick", "grass", "gravel"))


PLATE_CLASS_NAMES = ("background", "thin plates", "thick crystal")


def _polygon(rng, centre, length, width, angle, sides) -> np.ndarray:
    """A convex, faceted outline: a random polygon inscribed in a rotated ellipse."""
    t = np.sort(rng.uniform(0, 2 * np.pi, sides))
    x, y = length / 2 * np.cos(t), width / 2 * np.sin(t)
    c, s = np.cos(angle), np.sin(angle)
    pts = np.stack([centre[0] + c * x - s * y, centre[1] + s * x + c * y], 1)
    return cv2.convexHull(np.round(pts * 16).astype(np.int32))


def _fill(shape, polygon) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [polygon], 1, lineType=cv2.LINE_8, shift=4)
    return out.astype(bool)


def make_plates_image(size: int = 512, seed: int = 0, *,
                      pixel_size_nm: float | None = None) -> DemoImage:
    """Thin overlapping plates and thick rods on a dark support, as in low-magnification
    ADF-STEM of oxide crystals (the original MoO3 demonstration), with exact truth.

    Annular dark-field intensity grows with the mass-thickness a probe crosses, so
    plates (class 2) are grey and add up where they overlap, thick crystals (class
    3) are far brighter and saturate the detector, and the support (class 1) is dark.
    Bent plates show bend contours: bands where the lattice meets the Bragg
    condition and electrons are scattered outside the detector (dark) or into it
    (bright). Some plates lie edge-on and appear as slivers a few pixels wide.
    Detector blur, shot noise and a slow background complete the picture.
    ``grains`` numbers the objects (support 0, each plate and rod its own index; where
    they overlap, the one on top), so simulated strokes spread over them.
    """
    return _render_plates(size, seed, pixel_size_nm)[0]


def _render_plates(size: int, seed: int, pixel_size_nm: float | None) -> tuple[DemoImage, np.ndarray]:
    """``make_plates_image`` and the number of plates stacked at each pixel."""
    if size < 64:
        raise ValueError("size must be at least 64 pixels")
    rng = np.random.default_rng(seed)
    shape = (size, size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    thickness = np.zeros(shape, np.float32)
    truth = np.ones(shape, np.uint8)
    grains = np.zeros(shape, np.int32)
    layers = np.zeros(shape, np.uint8)
    scale = size / 512
    n_plates = int(rng.integers(10, 15) * scale**2) + 2
    for i in range(n_plates):
        centre = rng.uniform(0.1 * size, 0.9 * size, 2)
        if rng.random() < 0.2:  # edge-on: a sliver
            length, width = rng.uniform(60, 160) * scale, rng.uniform(3, 8)
        else:
            length = rng.uniform(60, 190) * scale
            width = length / rng.uniform(1.0, 2.5)
        plate = _fill(shape, _polygon(rng, centre, length, width, rng.uniform(0, np.pi),
                                      int(rng.integers(5, 9))))
        # bend contours: sharp bands along the level lines of a gently curved field
        k = rng.uniform(0.01, 0.03) / scale
        theta = rng.uniform(0, np.pi)
        field = (k * (xx * np.cos(theta) + yy * np.sin(theta))
                 + rng.uniform(0.5, 2.0) * k**2 * ((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / 20)
        bands = np.cos(2 * np.pi * field)
        contrast = 1.0 - 0.45 * np.clip(bands, 0, 1) ** 12 + 0.25 * np.clip(-bands, 0, 1) ** 16
        t = rng.uniform(0.2, 0.45)
        thickness += plate * t * contrast
        truth[plate] = 2
        grains[plate] = i + 1
        layers += plate
    for j in range(int(rng.integers(1, 3) * scale) + 1):
        centre = rng.uniform(0.2 * size, 0.8 * size, 2)
        length, width = rng.uniform(150, 300) * scale, rng.uniform(22, 40) * scale
        angle = rng.uniform(0, np.pi)
        rod = _fill(shape, _polygon(rng, centre, length, width, angle, 6))
        # a faceted prism: two faces of different projected thickness
        across = (-(xx - centre[0]) * np.sin(angle) + (yy - centre[1]) * np.cos(angle))
        face = np.where(across > rng.uniform(-0.2, 0.2) * width, 1.0, 0.8)
        thickness = np.where(rod, rng.uniform(1.2, 1.8) * face, thickness)
        truth[rod] = 3
        grains[rod] = n_plates + j + 1
    signal = 1.0 - np.exp(-1.6 * thickness)  # the detector saturates with thickness
    background = cv2.resize(rng.normal(size=(4, 4)).astype(np.float32), shape[::-1],
                            interpolation=cv2.INTER_CUBIC)
    signal = signal + 0.05 + 0.01 * background
    signal = ndi.gaussian_filter(signal, 1.0)
    dose = 60.0
    counts = rng.poisson(np.clip(signal, 0, None) * dose).astype(np.float32)
    counts += rng.normal(0, 1.5, shape).astype(np.float32)
    demo = DemoImage(image=counts, truth=truth, pixel_size_nm=pixel_size_nm, grains=grains,
                     class_names=PLATE_CLASS_NAMES, class_colours=("#7d1f1f", "#29a5d6", "#76e04a"))
    return demo, layers


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
