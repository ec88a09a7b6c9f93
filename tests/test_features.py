import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.feature import hessian_matrix, hessian_matrix_eigvals

from paintseg import FeatureSpec, PaintsegError, compute_features
from paintseg.features import PRESETS, adapt_to_lattice, estimate_lattice_period
from paintseg.features.filters import iter_channels


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(0).random((96, 80)).astype(np.float32)


def one(image, family, scale=None):
    spec = FeatureSpec(filters={family: () if scale is None else (scale,)})
    # value_range (0, 1) keeps the image as it is, so results compare directly
    return compute_features(image, spec, value_range=(0.0, 1.0), cache=False)


@pytest.mark.parametrize("sigma", [1.0, 2.5])
def test_gaussian_matches_scipy(noise, sigma):
    ours = one(noise, "gaussian", sigma)[..., 0]
    ref = ndi.gaussian_filter(noise.astype(np.float64), sigma, mode="reflect", truncate=4.0)
    np.testing.assert_allclose(ours, ref, atol=2e-5)


def test_gradient_and_laplacian_match_scipy(noise):
    grad = one(noise, "gradient", 2.0)[..., 0]
    ref = ndi.gaussian_gradient_magnitude(noise.astype(np.float64), 2.0, mode="reflect")
    np.testing.assert_allclose(grad, ref, atol=1e-4)
    lap = one(noise, "laplacian", 2.0)[..., 0]
    ref = ndi.gaussian_laplace(noise.astype(np.float64), 2.0, mode="reflect")
    # our second-derivative kernel is made exactly zero-mean (flat image -> 0)
    np.testing.assert_allclose(lap, ref, atol=3e-4)
    assert np.abs(one(np.full((30, 30), 0.7, np.float32), "laplacian", 2.0)).max() < 1e-6


def test_dog_and_sobel_match_scipy(noise):
    img = noise.astype(np.float64)
    ref = ndi.gaussian_filter(img, 2.0, mode="reflect") - ndi.gaussian_filter(img, 3.2, mode="reflect")
    np.testing.assert_allclose(one(noise, "dog", 2.0)[..., 0], ref, atol=2e-5)
    smooth = ndi.gaussian_filter(img, 2.0, mode="reflect")
    # OpenCV's 3x3 Sobel equals scipy's; compare away from the border handling
    ref = np.hypot(ndi.sobel(smooth, axis=1), ndi.sobel(smooth, axis=0))
    np.testing.assert_allclose(one(noise, "sobel", 2.0)[..., 0][1:-1, 1:-1], ref[1:-1, 1:-1], atol=1e-4)


def test_hessian_eigenvalues_match_scipy_derivatives(noise):
    ours = one(noise, "hessian", 2.0)
    img = noise.astype(np.float64)
    hrr = ndi.gaussian_filter(img, 2.0, order=(2, 0), mode="reflect")
    hrc = ndi.gaussian_filter(img, 2.0, order=(1, 1), mode="reflect")
    hcc = ndi.gaussian_filter(img, 2.0, order=(0, 2), mode="reflect")
    ref = np.linalg.eigvalsh(np.stack([np.stack([hrr, hrc], -1), np.stack([hrc, hcc], -1)], -1))
    np.testing.assert_allclose(ours[..., 0], ref[..., 1], atol=3e-4)
    np.testing.assert_allclose(ours[..., 1], ref[..., 0], atol=3e-4)
    # and scikit-image agrees on the ordering and the sign of the largest eigenvalue
    sk = hessian_matrix_eigvals(hessian_matrix(img, 2.0, mode="reflect", order="rc",
                                               use_gaussian_derivatives=True))
    assert np.corrcoef(sk[0].ravel(), ours[..., 0].ravel())[0, 1] > 0.95


def test_structure_tensor_eigenvalues(noise):
    ours = one(noise, "structure", 1.5)
    img = noise.astype(np.float64)
    gy = ndi.gaussian_filter(img, 1.5, order=(1, 0), mode="reflect")
    gx = ndi.gaussian_filter(img, 1.5, order=(0, 1), mode="reflect")
    a, b, c = (ndi.gaussian_filter(p, 3.0, mode="reflect") for p in (gy * gy, gx * gy, gx * gx))
    ref = np.linalg.eigvalsh(np.stack([np.stack([a, b], -1), np.stack([b, c], -1)], -1))
    np.testing.assert_allclose(ours[..., 0], ref[..., 1], atol=1e-5)
    np.testing.assert_allclose(ours[..., 1], ref[..., 0], atol=1e-5)
    assert (ours[..., 1] >= -1e-6).all()


def test_local_statistics_match_scipy(noise):
    img = noise.astype(np.float64)
    np.testing.assert_allclose(one(noise, "mean", 2)[..., 0],
                               ndi.uniform_filter(img, 5, mode="reflect"), atol=1e-5)
    var = ndi.uniform_filter(img**2, 5, mode="reflect") - ndi.uniform_filter(img, 5, mode="reflect") ** 2
    np.testing.assert_allclose(one(noise, "variance", 2)[..., 0], var, atol=1e-5)
    import cv2

    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)).astype(bool)
    np.testing.assert_allclose(one(noise, "min", 2)[..., 0],
                               ndi.grey_erosion(img, footprint=disk, mode="mirror"), atol=1e-6)
    np.testing.assert_allclose(one(noise, "max", 2)[..., 0],
                               ndi.grey_dilation(img, footprint=disk, mode="mirror"), atol=1e-6)


def test_median_and_entropy(noise):
    med = one(noise, "median", 1)[..., 0]
    ref = ndi.median_filter(noise, size=3, mode="reflect")
    assert np.abs(med - ref)[2:-2, 2:-2].max() <= 1.5 / 255  # 8-bit quantisation
    flat = np.full((40, 40), 0.5, np.float32)
    assert np.allclose(one(flat, "entropy", 3)[..., 0], 0.0, atol=1e-5)
    assert one(noise, "entropy", 3)[..., 0].mean() > 3.0  # ~16 equiprobable bins: 4 bits


def _wave(period, angle, size=128):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    return np.cos(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period)


def test_lattice_energy_is_tuned_to_the_period_and_rotation_invariant():
    spec = FeatureSpec(filters={"lattice": (6, 14)})
    names = spec.channel_names()
    assert names == ["lattice_6_energy", "lattice_6_anisotropy", "lattice_14_energy",
                     "lattice_14_anisotropy"]
    centre = (slice(40, 88), slice(40, 88))
    energies = []
    for angle in (0.0, 0.37, 1.1):
        stack = compute_features(_wave(6, angle), spec, value_range=(-1, 1), cache=False)
        e6, e14 = stack[..., 0][centre].mean(), stack[..., 2][centre].mean()
        assert e6 > 10 * e14
        assert stack[..., 1][centre].mean() > 2.0  # one orientation dominates
        energies.append(e6)
    assert max(energies) / min(energies) < 1.15


def test_texture_share_says_which_texture_not_how_strong():
    """Stripes at one contrast on the left and four times it on the right: the lattice
    family's amplitude follows the contrast, the texture family's share of the local
    contrast does not; noise of the same contrast has a far smaller share at that
    wavelength. (Away from the middle, where the window sees both halves.)"""
    size = 256
    stripes = _wave(12, 0.4, size)
    contrast = np.where(np.arange(size) < size // 2, 1.0, 4.0).astype(np.float32)[None, :]
    noise = np.random.default_rng(1).normal(0, 0.7, (size, size)).astype(np.float32)
    image = np.concatenate([stripes * contrast, noise * contrast], axis=0)
    spec = FeatureSpec(filters={"lattice": (12,), "texture": (12,)})
    assert spec.channel_names() == ["lattice_12_energy", "lattice_12_anisotropy",
                                    "texture_12_share", "texture_12_anisotropy"]
    stack = compute_features(image, spec, value_range=(-4, 4), cache=False)
    rows, left, right = slice(64, 192), slice(40, 88), slice(168, 216)
    energy, share = stack[..., 0], stack[..., 2]
    assert energy[rows, right].mean() > 3 * energy[rows, left].mean()
    assert share[rows, right].mean() == pytest.approx(share[rows, left].mean(), rel=0.1)
    noise_rows = slice(size + 64, size + 192)
    assert share[noise_rows, right].mean() < 0.5 * share[rows, right].mean()
    assert share[noise_rows, right].mean() == pytest.approx(share[noise_rows, left].mean(),
                                                            rel=0.15)


def test_band_filters_ignore_a_crops_own_mean():
    """A crop with a halo gives the lattice and symmetry channels of the whole image:
    the band filters pass nothing of a constant, so the crop's mean (brighter than
    the whole image's here) does not leak into them."""
    wave = _wave(7, 0.3, size=256) * 0.05
    wave[:, 160:] += 1.0  # a bright half: the crop's mean differs from the image's
    spec = FeatureSpec(filters={"lattice": (7,), "symmetry": (7,)})
    whole = compute_features(wave, spec, value_range=(-1, 2), cache=False)
    crop = compute_features(wave[64:, 64:], spec, value_range=(-1, 2), cache=False)
    inner = (slice(96, 160), slice(32, 64))  # of the crop: 32 px and more from its edges
    outer = (slice(160, 224), slice(96, 128))  # the same pixels of the whole image
    for k in (0, 1):  # lattice energy and anisotropy
        np.testing.assert_allclose(crop[inner][..., k], whole[outer][..., k], rtol=1e-3)


def test_gabor_picks_the_orientation():
    spec = FeatureSpec(filters={"gabor": (8,)}, orientations=4)
    stack = compute_features(_wave(8, np.pi / 2), spec, value_range=(-1, 1), cache=False)
    centre = stack[40:88, 40:88].mean(axis=(0, 1))
    assert int(np.argmax(centre)) == 2  # 90 degrees


def _hexagonal(motif, a=8.0, size=160, angle=0.3):
    from paintseg.demo import _splat

    c, s = np.cos(angle), np.sin(angle)
    a1 = a * np.array([c, s])
    a2 = a * np.array([c / 2 - s * np.sqrt(3) / 2, s / 2 + c * np.sqrt(3) / 2])
    i, j = np.meshgrid(np.arange(-40, 40), np.arange(-40, 40), indexing="ij")
    base = i.reshape(-1, 1) * a1 + j.reshape(-1, 1) * a2 + size / 2
    pts, w = [], []
    for frac, weight in motif:
        pts.append(base + frac * (a1 + a2))
        w.append(np.full(len(base), weight))
    img = _splat(size, np.concatenate(pts), np.concatenate(w))
    return ndi.gaussian_filter(img, 1.2).astype(np.float32)


def test_symmetry_separates_honeycomb_from_centrosymmetric_lattice():
    spec = FeatureSpec(filters={"symmetry": (8 * np.sqrt(3) / 2,)})
    honeycomb = _hexagonal([(0, 1.0), (1 / 3, 0.4)])
    triangular = _hexagonal([(0, 1.0), (1 / 3, 0.2), (2 / 3, 0.2)])
    centre = (slice(50, 110), slice(50, 110))
    h = compute_features(honeycomb, spec, cache=False)[centre].mean(axis=(0, 1))
    t = compute_features(triangular, spec, cache=False)[centre].mean(axis=(0, 1))
    assert h[0] > 0.9 and t[0] > 0.9  # both are regular hexagonal lattices
    assert h[1] > 0.5 and t[1] < 0.15  # only the honeycomb is non-centrosymmetric


def test_lattice_windows_do_not_average_in_the_mirrored_padding():
    """At the image's edge the padding mirrors the lattice, turning its orientation and
    handedness: averaged in, the honeycomb's symmetry coherence fell to 0.92 on average
    over the 8 px along each edge (1.0 inside). From the image's own samples alone it
    stays at 0.96."""
    honeycomb = _hexagonal([(0, 1.0), (1 / 3, 0.4)], a=16.0, size=256)
    period = 16.0 * np.sqrt(3) / 2
    spec = FeatureSpec(filters={"symmetry": (1.0,)}, period=period)
    coherence = compute_features(honeycomb, spec, cache=False)[..., 0]
    rows = slice(60, 196)
    assert coherence[rows, 100:156].mean() > 0.99
    along_edges = [coherence[rows, :8], coherence[rows, -8:], coherence[:8, rows],
                   coherence[-8:, rows]]
    assert np.mean([band.mean() for band in along_edges]) > 0.945


def test_every_family_and_preset_gives_named_finite_channels(noise):
    for name, spec in PRESETS.items():
        stack = compute_features(noise, spec, cache=False)
        concrete = adapt_to_lattice(spec, estimate_lattice_period(noise).period)
        assert stack.shape == (*noise.shape, concrete.n_features), name
        assert stack.dtype == np.float32 and np.isfinite(stack).all()
    families = {f: (2.0,) if f != "intensity" else () for f in
                ("intensity", "sobel", "dog", "entropy", "median", "mean")}
    spec = FeatureSpec(filters=families)
    assert compute_features(noise, spec).shape[-1] == spec.n_features == 6


def test_spec_json_round_trip_and_validation():
    spec = adapt_to_lattice(PRESETS["auto"], 8.0)
    again = FeatureSpec.from_json(spec.to_json())
    assert again == spec and again.channel_names() == spec.channel_names()
    assert "lattice_1.6P_energy" in spec.channel_names()
    assert spec.halo >= 4 * 2.5 * 8.0  # the longest lattice wavelength, in pixels
    assert spec.with_period(40.0).halo > spec.halo  # 4 x 2.5 x 40 px
    with pytest.raises(PaintsegError, match="period"):
        spec.with_period(1.0)
    with pytest.raises(PaintsegError, match="adapted"):
        list(iter_channels(np.ones((8, 8), np.float32), PRESETS["auto"]))
    with pytest.raises(PaintsegError, match="unknown filter"):
        FeatureSpec(filters={"gausian": (1,)})
    with pytest.raises(PaintsegError, match="at least one"):
        FeatureSpec(filters={})
    with pytest.raises(PaintsegError, match="newer"):
        FeatureSpec.from_dict({"version": 99, "filters": {"gaussian": [1]}})


def test_cache_returns_the_same_stack(noise):
    a = compute_features(noise, "stem")
    assert compute_features(noise, "stem") is a
    assert compute_features(noise + 1, "stem") is not a


def test_relative_intensity_ignores_slow_shading():
    """Two identical particles on a strong illumination ramp: their raw intensities
    differ by the ramp, their intensity relative to the surroundings does not."""
    yy, xx = np.mgrid[:256, :512].astype(np.float32)
    image = xx / 512.0 * 4.0  # shading four times the particles' contrast
    for cx in (128, 384):
        image[(yy - 128) ** 2 + (xx - cx) ** 2 < 8**2] += 1.0
    spec = FeatureSpec(filters={"gaussian": (1.0,), "relative": (24.0,)})
    stack = compute_features(image, spec, value_range=(0.0, 5.0), cache=False)
    raw, relative = stack[128, [128, 384], 0], stack[128, [128, 384], 1]
    assert abs(raw[1] - raw[0]) > 0.3
    assert abs(relative[1] - relative[0]) < 0.02 and relative.min() > 0.1
    assert np.abs(stack[20, 20:490, 1]).max() < 0.02  # the bare ramp is flat


def test_the_intensity_range_centres_on_the_dominant_phase():
    """The background maps to the same level whatever frames, spots or minority shares
    the extremes of the image change (what lets a model apply to the next image)."""
    from paintseg.features.intensity import intensity_range, normalise

    rng = np.random.default_rng(0)
    film = (100.0 + rng.normal(0, 5, (200, 200))).astype(np.float32)
    framed = film.copy()
    framed[:12] = 0.0  # a black frame
    framed[50:60, 50:60] = 400.0  # a saturated spot
    levels = [float(np.median(normalise(im, intensity_range(im))[20:])) for im in (film, framed)]
    assert levels[0] == pytest.approx(0.5, abs=0.02)
    assert levels[1] == pytest.approx(0.5, abs=0.02)
    lo, hi = intensity_range(framed)  # as wide as the 0.5-99.5 % range
    assert hi - lo == pytest.approx(np.subtract(*np.percentile(framed, [99.5, 0.5])), rel=0.01)
    assert intensity_range(np.full((8, 8), 3.0)) == (2.5, 3.5)


def test_the_intensity_range_moves_smoothly_as_two_phases_trade_places():
    """Two phases about half the image each: as the dark one's share goes from 48 % to
    52 %, each phase maps to nearly the same level (the median would jump from one phase
    to the other, two thirds of a range)."""
    from paintseg.features.intensity import intensity_range, normalise

    rng = np.random.default_rng(0)
    levels = []
    for dark_share in (0.48, 0.52):
        dark = rng.random((300, 300)) < dark_share
        image = (np.where(dark, 50.0, 150.0) + rng.normal(0, 5, dark.shape)).astype(np.float32)
        levels.append(float(np.median(normalise(image, intensity_range(image))[dark])))
    assert abs(levels[1] - levels[0]) < 0.06, levels
    jumped = []
    for dark_share in (0.48, 0.52):
        dark = rng.random((300, 300)) < dark_share
        image = (np.where(dark, 50.0, 150.0) + rng.normal(0, 5, dark.shape)).astype(np.float32)
        jumped.append(float(np.median(normalise(image, intensity_range(image, "median"))[dark])))
    assert abs(jumped[1] - jumped[0]) > 0.5, jumped  # what the test guards against


def test_the_outlier_clip_keeps_a_rare_bright_phase_of_a_skewed_image():
    """The clip lies at least two ranges beyond the 0.5-99.5 % percentiles wherever the
    range is centred: a phase of 0.3 % of the pixels, four times brighter than the next,
    keeps its contrast."""
    from paintseg.features.intensity import intensity_range, normalise

    rng = np.random.default_rng(0)
    share = rng.random((300, 300))
    image = np.where(share < 0.8, 0.0, np.where(share < 0.997, 10.0, 40.0))
    image = (image + rng.normal(0, 1, image.shape)).astype(np.float32)
    mapped = normalise(image, intensity_range(image))
    bright = share >= 0.997
    lo, hi = intensity_range(image)
    assert np.allclose(mapped[bright], (image[bright] - lo) / (hi - lo), atol=1e-5)
