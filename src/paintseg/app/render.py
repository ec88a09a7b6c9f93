"""Pictures the app sends to the browser: PNG bytes of images, labels and overlays."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image as PILImage

from ..colours import palette
from ..io import to_uint8


def _png(im: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def display_png(image: np.ndarray) -> bytes:
    """8-bit grey PNG of an image, contrast-stretched over 0.1-99.9 percentiles."""
    return _png(PILImage.fromarray(to_uint8(np.asarray(image))))


def label_png(mask: np.ndarray, colours: dict[int, str], transparent_zero: bool = True) -> bytes:
    """Palette PNG of a label mask; class k in ``colours[k]``, 0 transparent."""
    im = PILImage.fromarray(np.asarray(mask, np.uint8), mode="P")
    im.putpalette(palette(colours))
    buffer = io.BytesIO()
    extra = {"transparency": 0} if transparent_zero else {}
    im.save(buffer, format="PNG", compress_level=1, **extra)
    return buffer.getvalue()


# A perceptually ordered dark-to-bright ramp (close to 'inferno') for uncertainty.
_RAMP = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
                  [245, 125, 21], [250, 193, 39], [252, 255, 164]], np.float32)


def ramp_css() -> str:
    """The heat ramp as a CSS gradient, for the page's colour legend."""
    stops = ", ".join(f"rgb({int(r)}, {int(g)}, {int(b)})" for r, g, b in _RAMP)
    return f"linear-gradient(to right, {stops})"


def _heat_lut(alpha_from_value: bool) -> np.ndarray:
    """RGBA of the 256 levels of ``heat_png``: the ramp interpolated, alpha sqrt(value)."""
    v = np.linspace(0, 1, 256, dtype=np.float32)
    pos = v * (len(_RAMP) - 1)
    lo = np.floor(pos).astype(np.int32).clip(0, len(_RAMP) - 2)
    frac = (pos - lo)[..., None]
    rgb = _RAMP[lo] * (1 - frac) + _RAMP[lo + 1] * frac
    alpha = (np.sqrt(v) * 255) if alpha_from_value else np.full(v.shape, 255, np.float32)
    return np.column_stack([rgb, alpha]).astype(np.uint8)


_HEAT_LUTS = {fade: _heat_lut(fade) for fade in (True, False)}


def heat_png(values: np.ndarray, alpha_from_value: bool = True) -> bytes:
    """RGBA PNG of values in [0, 1] through the ramp; low values fade out.

    Values are quantised to the 256 levels a PNG shows and looked up in a table, which
    is ten times faster than interpolating every pixel (layer switches wait on this).
    """
    v = np.clip(np.asarray(values, np.float32), 0, 1)
    levels = np.rint(v * 255).astype(np.uint8)
    return _png(PILImage.fromarray(_HEAT_LUTS[alpha_from_value][levels], mode="RGBA"))
