"""Small operations on class-probability maps (H, W, K), shared by every module that
reads them: the segmenter, the borders (``edges``, ``lattice_borders``), the guidance and
the app's uncertainty layer. One definition of "uncertain" for all of them.
"""

from __future__ import annotations

import cv2
import numpy as np

#: The widest Gaussian smoothing of the probability maps (pixels) a model accepts.
MAX_SMOOTHING = 256.0


def top_class(proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arg-max and max over the classes, one class plane at a time (a reduction over
    the last axis of an (H, W, K) array is strided and slower)."""
    highest = proba[:, :, 0].copy()
    top = np.zeros(highest.shape, np.intp)
    for c in range(1, proba.shape[2]):
        plane = proba[:, :, c]
        better = plane > highest
        np.copyto(highest, plane, where=better)
        top[better] = c
    return top, highest


def rescaled_uncertainty(highest: np.ndarray, n_classes: int) -> np.ndarray:
    """1 - the top probability, rescaled so that 1 means all ``n_classes`` equally
    likely and 0 a sure pixel, whatever the number of classes."""
    scale = np.float32(n_classes / max(n_classes - 1, 1))
    return ((1.0 - highest) * scale).astype(np.float32, copy=False)


def uncertainty(proba: np.ndarray) -> np.ndarray:
    """``rescaled_uncertainty`` of a probability map (H, W, K) -> (H, W) float32."""
    return rescaled_uncertainty(top_class(proba)[1], proba.shape[2])


def smooth_plane(plane: np.ndarray, sigma: float) -> np.ndarray:
    """One probability plane smoothed by a Gaussian of ``sigma`` px (mirrored edges)."""
    return cv2.GaussianBlur(plane, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def smooth_probabilities(proba: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smooth each probability map and renormalise to sum to one."""
    if sigma <= 0:
        return proba
    out = np.empty_like(proba)
    for k in range(proba.shape[2]):
        out[:, :, k] = smooth_plane(proba[:, :, k], sigma)
    out /= np.maximum(out.sum(axis=2, keepdims=True), 1e-12)
    return out
