"""The filter bank: pure functions from a float32 image to float32 channels.

Gaussian smoothing and derivatives use separable kernels through OpenCV (several
times faster than scipy.ndimage on two cores and identical within float32
rounding); local statistics use box filters and morphology; the Gabor, lattice, texture and
symmetry families are band filters in the Fourier domain, where one forward transform
serves every wavelength and orientation, each band demodulated to zero frequency and
sampled on a grid decimated to its bandwidth.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import scipy.fft as sfft

from ..errors import PaintsegError
from .spec import FILTER_FAMILIES, FeatureSpec

BORDER = cv2.BORDER_REFLECT
DOG_RATIO = 1.6
#: Gaussian families at sigma >= this are computed on a pyramid level (see below).
PYRAMID_MIN_SIGMA = 3.0
#: Smallest sigma, in the level's own pixels, a pyramid level is used at.
PYRAMID_LEVEL_SIGMA = 1.5
#: Derivative order of each Gaussian family: its values scale by 2**(-order * level).
PYRAMID_FAMILIES = {"gaussian": 0, "gradient": 1, "laplacian": 2, "dog": 0, "hessian": 2,
                    "structure": 2}
ENTROPY_BINS = 16
SYMMETRY_ORIENTATIONS = 12
#: Averaging windows (Gaussian sigma) of the lattice and symmetry descriptors, in periods:
#: one period keeps grain borders sharp when a grain holds only ~10 cells (high
#: magnification) and loses nothing at low magnification (measured 1.5 / 2 against 1 / 1).
MAX_STEP = 64  # coarsest band grid (px); tiles start on multiples of it (tiling.ALIGN)
LATTICE_WINDOW = 1.0
#: Gaussian sigma, in wavelengths, of the window over which the texture family measures
#: the local contrast it divides by: the window its amplitude is averaged over
#: (LATTICE_WINDOW). Half a wavelength, the band's envelope alone, gained half as much.
TEXTURE_CONTRAST_WINDOW = LATTICE_WINDOW
#: Added to the local standard deviation (image normalised to 0..1) so that flat,
#: noise-free regions do not divide by zero.
TEXTURE_FLOOR = 1e-3
SYMMETRY_WINDOW = 1.0


# -- Gaussian kernels ----------------------------------------------------------------
def gaussian_kernel_1d(sigma: float, order: int = 0) -> np.ndarray:
    """Sampled 1-D Gaussian (order 0) or its first / second derivative."""
    radius = max(1, int(4.0 * sigma + 0.5))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    g /= g.sum()
    if order == 1:
        k = -x / sigma**2 * g
    elif order == 2:
        k = (x**2 / sigma**4 - 1.0 / sigma**2) * g
        k -= k.mean()  # zero response to a constant image
    else:
        k = g
    return k.astype(np.float32)


def gaussian_derivative(image: np.ndarray, sigma: float, order_y: int, order_x: int) -> np.ndarray:
    """Gaussian-smoothed partial derivative d^(oy+ox) / dy^oy dx^ox of ``image``."""
    kx = gaussian_kernel_1d(sigma, order_x)
    ky = gaussian_kernel_1d(sigma, order_y)
    # OpenCV correlates; flip odd kernels so that this is a true convolution.
    if order_x % 2:
        kx = kx[::-1].copy()
    if order_y % 2:
        ky = ky[::-1].copy()
    return cv2.sepFilter2D(image, cv2.CV_32F, kx, ky, borderType=BORDER)


class FilterContext:
    """Intermediate results shared between families (smoothed images, spectra)."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = np.ascontiguousarray(image, dtype=np.float32)
        self._cache: dict[tuple, np.ndarray] = {}

    def derivative(self, sigma: float, oy: int, ox: int) -> np.ndarray:
        """A Gaussian derivative of the image (order ``oy``, ``ox``), computed once per
        context."""
        key = ("d", sigma, oy, ox)
        if key not in self._cache:
            self._cache[key] = gaussian_derivative(self.image, sigma, oy, ox)
        return self._cache[key]

    def smooth(self, sigma: float) -> np.ndarray:
        """The image smoothed at ``sigma``, computed once per context."""
        return self.derivative(sigma, 0, 0)

    def pyramid(self, sigma: float) -> tuple[FilterContext, int, float]:
        """The pyramid level to compute a Gaussian family of scale ``sigma`` on.

        Coarse scales do not need every pixel: level L (``cv2.pyrDown`` L times,
        each a binomial blur of variance 1 level-pixel, then every other pixel)
        holds the image blurred by a known sigma, and a Gaussian of
        sqrt(sigma^2 - blur^2) / 2^L level-pixels completes the requested sigma.
        Returns (context of that level, 2^L, sigma on the level); level 0 is this
        context itself.
        """
        level, blur2, factor = 0, 0.0, 1
        while sigma >= PYRAMID_MIN_SIGMA and min(self.image.shape) >= 64 * factor:
            next_blur2 = blur2 + (2 * factor) ** 2 / 4.0  # variance added at the next level
            next_sigma = np.sqrt(max(sigma**2 - next_blur2, 0.0)) / (2 * factor)
            if next_sigma < PYRAMID_LEVEL_SIGMA:
                break
            level, blur2, factor = level + 1, next_blur2, factor * 2
        if level == 0:
            return self, 1, sigma
        key = ("pyr", level)
        if key not in self._cache:
            img = self.image
            for _ in range(level):
                img = cv2.pyrDown(img, borderType=BORDER)
            self._cache[key] = FilterContext(img)
        return self._cache[key], factor, float(np.sqrt(sigma**2 - blur2) / factor)

    def squared(self) -> FilterContext:
        """A context of the image squared: Gaussian means of it (on its own pyramid) with
        those of the image give the local variance at any scale."""
        key = ("squared",)
        if key not in self._cache:
            self._cache[key] = FilterContext(self.image * self.image)
        return self._cache[key]

    def quantized(self) -> tuple[np.ndarray, float, float]:
        """The image as uint8 over its 0.5-99.5 percentile range, with (offset, scale)."""
        key = ("u8",)
        if key not in self._cache:
            lo, hi = np.percentile(self.image[::4, ::4], [0.5, 99.5])
            scale = 255.0 / max(float(hi - lo), 1e-12)
            q = np.clip((self.image - lo) * scale, 0, 255)
            self._cache[key] = (q.astype(np.uint8), float(lo), scale)
        return self._cache[key]

    def spectrum(self, pad: int, step: int = 1) -> tuple[np.ndarray, int]:
        """FFT of the reflect-padded, mean-free image (computed once per pad and step);
        its size is a multiple of ``step``, so a band can be sampled every ``step`` px."""
        key = ("fft", pad, step)
        if key not in self._cache:
            padded = cv2.copyMakeBorder(self.image, pad, pad, pad, pad, BORDER)
            h, w = padded.shape
            fh = step * sfft.next_fast_len(-(-h // step))
            fw = step * sfft.next_fast_len(-(-w // step))
            padded = np.pad(padded, ((0, fh - h), (0, fw - w)), mode="reflect")
            padded = padded - padded.mean()
            self._cache[key] = sfft.fft2(padded.astype(np.complex64), workers=-1)
        return self._cache[key], pad

    def band_responses(self, wavelength: float, orientations: int) -> dict:
        """Complex responses of the band at ``wavelength``, per orientation, decimated.

        Each oriented band (a Gaussian lobe around the frequency 1/wavelength) is
        demodulated to zero frequency and inverse-transformed on a grid just fine
        enough for its envelope, so the cost falls with the wavelength instead of
        growing with it. Returns the coarse responses, the integer carrier of each
        (frequency bins), the spectrum size, and the affine map from image pixels
        to coarse-grid coordinates.
        """
        key = ("band", wavelength, orientations)
        if key in self._cache:
            return self._cache[key]
        f0 = 1.0 / wavelength
        bandwidth = 0.3 * f0
        half = 4.0 * bandwidth  # crop half-width, cycles per pixel
        # The coarse grid samples every `step` image pixels, a power of two, with its
        # first sample on a multiple of `step`: a tile that starts on a multiple of
        # MAX_STEP samples the very pixels the whole image does. (Energies and triple
        # products alias on a grid just fine enough for the band; on a shared grid
        # they alias alike, so tiles and the whole image agree.)
        step = int(min(MAX_STEP, 2 ** np.floor(np.log2(max(1.0, 1.0 / (2 * half))))))
        pad = -(-(int(2 * wavelength) + 2) // step) * step
        spectrum, pad = self.spectrum(pad, step)
        fh, fw = spectrum.shape
        mh, mw = fh // step, fw // step
        jy = np.round(sfft.fftfreq(mh) * mh).astype(np.int64)
        jx = np.round(sfft.fftfreq(mw) * mw).astype(np.int64)
        norm = np.float32(mh * mw / (fh * fw))
        dc_gain = np.exp(-(f0**2) / (2 * bandwidth**2))
        responses, carriers = [], []
        for k in range(orientations):
            theta = np.pi * k / orientations
            cy, cx = f0 * np.sin(theta), f0 * np.cos(theta)
            iy, ix = int(round(cy * fh)), int(round(cx * fw))
            rel_y, rel_x = (iy + jy) / fh - cy, (ix + jx) / fw - cx
            # Morlet's correction: minus a Gaussian at zero frequency, so a constant (a
            # tile's mean as against the whole image's) gives no response at all. Both
            # Gaussians are separable: outer products of 1-D profiles.
            lobe = np.outer(_profile(rel_y, bandwidth), _profile(rel_x, bandwidth))
            lobe -= np.float32(dc_gain) * np.outer(_profile(rel_y + cy, bandwidth),
                                                   _profile(rel_x + cx, bandwidth))
            sub = spectrum.take((iy + jy) % fh, axis=0).take((ix + jx) % fw, axis=1)
            responses.append((sfft.ifft2(sub * lobe, workers=-1) * norm).astype(np.complex64))
            carriers.append((iy, ix))
        sy, sx = mh / fh, mw / fw
        to_coarse = np.array([[sx, 0, pad * sx], [0, sy, pad * sy]], dtype=np.float64)
        result = {"responses": responses, "carriers": carriers, "full": (fh, fw),
                  "coarse": (mh, mw), "to_coarse": to_coarse}
        self._cache[key] = result
        return result

    def band_energies(self, wavelength: float, orientations: int) -> tuple[list, np.ndarray]:
        """Squared envelope of each oriented band on the coarse grid, and its map."""
        key = ("energy", wavelength, orientations)
        if key not in self._cache:
            band = self.band_responses(wavelength, orientations)
            energies = [(r.real**2 + r.imag**2).astype(np.float32) for r in band["responses"]]
            self._cache[key] = (energies, band["to_coarse"])
        return self._cache[key]

    def inside(self, shape: tuple[int, int], to_coarse: np.ndarray) -> np.ndarray:
        """1 on the samples of a band's coarse grid (``shape``, mapped by ``to_coarse``)
        that lie on the image, 0 on those in the reflected padding around it."""
        key = ("inside", shape, to_coarse.tobytes())
        if key not in self._cache:
            h, w = self.image.shape
            rows = (np.arange(shape[0]) - to_coarse[1, 2]) / to_coarse[1, 1]  # image rows
            cols = (np.arange(shape[1]) - to_coarse[0, 2]) / to_coarse[0, 0]
            on_rows = (rows > -0.5) & (rows < h - 0.5)
            on_cols = (cols > -0.5) & (cols < w - 0.5)
            self._cache[key] = (on_rows[:, None] & on_cols[None, :]).astype(np.float32)
        return self._cache[key]

    def upsample(self, coarse: np.ndarray, to_coarse: np.ndarray) -> np.ndarray:
        """Bilinearly resample a coarse-grid channel back onto the image pixels."""
        h, w = self.image.shape
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        return cv2.warpAffine(coarse, to_coarse, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def _profile(offset: np.ndarray, bandwidth: float) -> np.ndarray:
    """A Gaussian of the frequency offsets, one axis of a band's lobe (float32)."""
    return np.exp(-(offset**2) / (2 * bandwidth**2)).astype(np.float32)


def _smooth_coarse(x: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.3:
        return x
    k = gaussian_kernel_1d(sigma)
    return cv2.sepFilter2D(x, cv2.CV_32F, k, k, borderType=BORDER)


def _window_mean(x: np.ndarray, sigma: float, inside: np.ndarray) -> np.ndarray:
    """A lattice descriptor averaged over a Gaussian window on the coarse grid, from
    the samples on the image alone (``FilterContext.inside``). The padding mirrors the
    image, and a mirrored lattice has other orientations and the opposite handedness:
    averaged in, it made a crystal near the image's edges look disordered out to a
    period or two (within two periods of the edge, the error rate was 1.4-2.7 times
    that elsewhere on 7 of 14 STEM images)."""
    if sigma < 0.3:
        return x
    weight = _smooth_coarse(inside, sigma)
    return _smooth_coarse(x * inside, sigma) / np.maximum(weight, np.float32(1e-6))


# -- families ----------------------------------------------------------------------
# Each family: (ctx, scale, spec) -> list of channels; plus the channel suffixes.


def _intensity(ctx: FilterContext, s: float, spec: FeatureSpec) -> list[np.ndarray]:
    return [ctx.image]


def _gaussian(ctx, s, spec):
    return [ctx.smooth(s)]


def _gradient(ctx, s, spec):
    return [cv2.magnitude(ctx.derivative(s, 0, 1), ctx.derivative(s, 1, 0))]


def _sobel(ctx, s, spec):
    g = ctx.smooth(s)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3, borderType=BORDER)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3, borderType=BORDER)
    return [cv2.magnitude(gx, gy)]


def _laplacian(ctx, s, spec):
    return [ctx.derivative(s, 2, 0) + ctx.derivative(s, 0, 2)]


def _dog(ctx, s, spec):
    return [ctx.smooth(s) - ctx.smooth(round(s * DOG_RATIO, 4))]


def _relative(ctx, s, spec):
    """Intensity (at sigma 1) above or below its surroundings (a Gaussian of sigma
    ``s``, on a pyramid level): a difference of a fine and a coarse scale, which a
    forest splitting on one channel at a time cannot form from the two. It removes
    slow shading (illumination, thickness, charging), so a phase keeps one value
    across the image, and says whether a pixel is brighter than its neighbourhood (a
    thin plate over the support, a particle on a film) at scales beyond the other
    families' sigma 10."""
    (background,) = _on_pyramid(ctx, _gaussian, s, spec, PYRAMID_FAMILIES["gaussian"])
    return [ctx.smooth(1.0) - background]


def _sym_eigenvalues(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> list[np.ndarray]:
    """Eigenvalues (large, small) of the symmetric 2x2 field [[a, b], [b, c]]."""
    half_trace = 0.5 * (a + c)
    root = cv2.magnitude(0.5 * (a - c), b)
    return [half_trace + root, half_trace - root]


def _hessian(ctx, s, spec):
    return _sym_eigenvalues(
        ctx.derivative(s, 2, 0), ctx.derivative(s, 1, 1), ctx.derivative(s, 0, 2)
    )


def _structure(ctx, s, spec):
    gx, gy = ctx.derivative(s, 0, 1), ctx.derivative(s, 1, 0)
    outer = 2.0 * s
    k = gaussian_kernel_1d(outer)

    def smooth(x):
        return cv2.sepFilter2D(x, cv2.CV_32F, k, k, borderType=BORDER)

    return _sym_eigenvalues(smooth(gy * gy), smooth(gx * gy), smooth(gx * gx))


def _window(s: float) -> int:
    return 2 * max(1, int(round(s))) + 1


def _mean(ctx, s, spec):
    n = _window(s)
    return [cv2.boxFilter(ctx.image, cv2.CV_32F, (n, n), borderType=BORDER)]


def _variance(ctx, s, spec):
    n = _window(s)
    img = ctx.image
    m = cv2.boxFilter(img, cv2.CV_32F, (n, n), borderType=BORDER)
    m2 = cv2.boxFilter(img * img, cv2.CV_32F, (n, n), borderType=BORDER)
    return [np.maximum(m2 - m * m, 0.0)]


def _disk(s: float) -> np.ndarray:
    n = _window(s)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (n, n))


def _min(ctx, s, spec):
    return [cv2.erode(ctx.image, _disk(s), borderType=BORDER)]


def _max(ctx, s, spec):
    return [cv2.dilate(ctx.image, _disk(s), borderType=BORDER)]


def _median(ctx, s, spec):
    q, lo, scale = ctx.quantized()
    return [cv2.medianBlur(q, _window(s)).astype(np.float32) / np.float32(scale) + np.float32(lo)]


def _entropy(ctx, s, spec):
    """Shannon entropy (bits) of the grey-level histogram in a square window."""
    q = ctx.quantized()[0] // (256 // ENTROPY_BINS)
    n = _window(s)
    total = np.zeros(q.shape, np.float32)
    for b in range(ENTROPY_BINS):
        p = cv2.boxFilter((q == b).astype(np.float32), cv2.CV_32F, (n, n), borderType=BORDER)
        total -= p * np.log2(np.maximum(p, 1e-12))
    return [total]


def _gabor(ctx, s, spec):
    """Oriented band amplitude: one channel per orientation, smoothed over a period."""
    energies, to_coarse = ctx.band_energies(s, spec.orientations)
    sigma = s * to_coarse[0, 0]
    return [ctx.upsample(np.sqrt(_smooth_coarse(e, sigma)), to_coarse) for e in energies]


def _lattice(ctx, s, spec):
    """Rotation-invariant lattice descriptors at one lattice period ``s``.

    Channels: the band's local amplitude over all orientations (how strongly a
    lattice of this period is present), and its anisotropy (peak orientation
    energy over mean: high for a crystal, about 1 for noise or amorphous texture),
    both averaged over a window of about one period (LATTICE_WINDOW).
    """
    energies, to_coarse = ctx.band_energies(s, spec.orientations)
    sigma = LATTICE_WINDOW * s * to_coarse[0, 0]
    if spec.period is None:  # a texture band: its mirror image has the same statistics
        smoothed = [_smooth_coarse(e, sigma) for e in energies]
    else:  # a lattice: its mirror image has other orientations (``_window_mean``)
        inside = ctx.inside(energies[0].shape, to_coarse)
        smoothed = [np.maximum(_window_mean(e, sigma, inside), 0) for e in energies]
    total = np.sum(smoothed, axis=0)
    peak = np.max(smoothed, axis=0)
    anisotropy = (peak * len(smoothed) / np.maximum(total, 1e-12)).astype(np.float32)
    amplitude = np.sqrt(total / len(smoothed)).astype(np.float32)
    return [ctx.upsample(amplitude, to_coarse), ctx.upsample(anisotropy, to_coarse)]


def _texture(ctx, s, spec):
    """Texture at wavelength ``s`` whatever its contrast: the lattice family's two
    descriptors (``_lattice``), with the band's amplitude divided by the local standard
    deviation of the image over the same window (TEXTURE_CONTRAST_WINDOW).

    The quotient is the share of the local contrast that lies at this wavelength: the
    kind of texture, not how strong it is, which the Gaussian families already say.
    Unnormalised, the band also responds to every object border of its wavelength's
    size, and a border is as strong there as a textured interior, so small bright
    particles came out with a halo one wavelength wide.
    """
    amplitude, anisotropy = _lattice(ctx, s, spec)
    sigma = TEXTURE_CONTRAST_WINDOW * s
    (mean,) = _on_pyramid(ctx, _gaussian, sigma, spec, 0)
    (square,) = _on_pyramid(ctx.squared(), _gaussian, sigma, spec, 0)
    deviation = np.sqrt(np.maximum(square - mean * mean, 0.0)) + np.float32(TEXTURE_FLOOR)
    return [amplitude / deviation, anisotropy]


def _symmetry(ctx, s, spec):
    """Local three-fold symmetry of a hexagonal lattice at period ``s``.

    For three lattice reflections g1 + g2 + g3 = 0, 120 degrees apart, the triple
    product of their local complex amplitudes (the bispectrum) does not depend on
    where the lattice sits, only on its motif: its phase is 0 or 180 degrees for a
    centrosymmetric projection (1T MoS2, fcc [111], graphene-like AA stacks) and
    far from it for a non-centrosymmetric one (2H MoS2 honeycomb). Channels:
    ``coherence`` (|mean triple product| / mean |triple product|: how regular the
    hexagonal lattice is) and ``chirality`` (|sin| of the triple-product phase),
    taken at the orientation triplet with the strongest response, averaged over
    about one period (SYMMETRY_WINDOW).
    """
    n = SYMMETRY_ORIENTATIONS
    band = ctx.band_responses(s, n)
    responses, carriers = band["responses"], band["carriers"]
    (fh, fw), (mh, mw) = band["full"], band["coarse"]
    yy = (np.arange(mh, dtype=np.float64) * fh / mh)[:, None]
    xx = (np.arange(mw, dtype=np.float64) * fw / mw)[None, :]
    sigma = SYMMETRY_WINDOW * s * band["to_coarse"][0, 0]
    inside = ctx.inside((mh, mw), band["to_coarse"])
    best_strength = best_coherence = best_chirality = None
    step = n // 6  # orientations per 30 degrees
    for k in range(2 * step):  # triplet starts covering 0..60 degrees
        a, b, c = k, k + 4 * step, k + 2 * step  # theta, theta+120, theta+60 (conjugated)
        da = carriers[a][0] + carriers[b][0] - carriers[c][0]
        dx = carriers[a][1] + carriers[b][1] - carriers[c][1]
        triple = responses[a] * responses[b] * np.conj(responses[c])
        if da or dx:  # remove what integer demodulation left of the carrier
            triple = triple * np.exp(2j * np.pi * (da * yy / fh + dx * xx / fw)).astype(
                np.complex64)
        re = _window_mean(np.ascontiguousarray(triple.real, np.float32), sigma, inside)
        im = _window_mean(np.ascontiguousarray(triple.imag, np.float32), sigma, inside)
        mag = _window_mean(np.abs(triple).astype(np.float32), sigma, inside)
        strength = np.hypot(re, im)
        coherence = strength / np.maximum(mag, 1e-20)
        chirality = np.abs(im) / np.maximum(strength, 1e-20)
        if best_strength is None:
            best_strength, best_coherence, best_chirality = strength, coherence, chirality
        else:
            better = strength > best_strength
            best_strength = np.where(better, strength, best_strength)
            best_coherence = np.where(better, coherence, best_coherence)
            best_chirality = np.where(better, chirality, best_chirality)
    to_coarse = band["to_coarse"]
    return [ctx.upsample(best_coherence.astype(np.float32), to_coarse),
            ctx.upsample(best_chirality.astype(np.float32), to_coarse)]


FAMILY_FUNCTIONS: dict[str, Callable] = {
    "intensity": _intensity,
    "gaussian": _gaussian,
    "gradient": _gradient,
    "sobel": _sobel,
    "laplacian": _laplacian,
    "dog": _dog,
    "hessian": _hessian,
    "structure": _structure,
    "mean": _mean,
    "variance": _variance,
    "min": _min,
    "max": _max,
    "median": _median,
    "entropy": _entropy,
    "gabor": _gabor,
    "lattice": _lattice,
    "texture": _texture,
    "symmetry": _symmetry,
    "relative": _relative,
}


assert set(FAMILY_FUNCTIONS) == set(FILTER_FAMILIES)


def iter_channels(image: np.ndarray, spec: FeatureSpec):
    """Yield the feature channels of ``image`` one at a time, in stack order."""
    if spec.adaptive:
        raise PaintsegError("an adaptive feature spec must be adapted to the image's lattice first")
    ctx = FilterContext(image)
    for family in spec.filters:
        fn = FAMILY_FUNCTIONS[family]
        for s in spec.wavelengths(family) or (0.0,):
            if family in PYRAMID_FAMILIES and s >= PYRAMID_MIN_SIGMA:
                yield from _on_pyramid(ctx, fn, s, spec, PYRAMID_FAMILIES[family])
            else:
                yield from fn(ctx, s, spec)


def _on_pyramid(ctx: FilterContext, fn: Callable, sigma: float, spec: FeatureSpec, order: int):
    """A Gaussian family computed on a pyramid level and resampled to full size."""
    level, factor, level_sigma = ctx.pyramid(sigma)
    if factor == 1:
        yield from fn(ctx, sigma, spec)
        return
    to_level = np.array([[1.0 / factor, 0, 0], [0, 1.0 / factor, 0]])
    gain = np.float32(float(factor) ** -order)
    for channel in fn(level, level_sigma, spec):
        yield ctx.upsample(channel * gain if order else channel, to_level)
