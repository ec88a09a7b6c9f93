"""Guidance: how good the segmentation is, and where to paint next.

A person painting strokes asks two things: "am I done?" and "if not, where do I
paint?". This module answers both from what training already has at hand.

- ``estimate_accuracy``: the mean IoU and per-class IoU the model would score on the
  whole image, estimated without any ground truth, from the model's own class
  probabilities over a random sample of the image's pixels, read as the chance of
  each true class. A forest's averaged votes are softer than its errors are
  frequent, so the probabilities are first calibrated on whole strokes held out in
  turn (stroke-grouped folds, ``grouped_cv``): the power of the probabilities that
  best predicts the held-out strokes' classes (least log-loss), with forests of the
  model's own size (an average over fewer trees is harder, and its power would leave
  the model's probabilities too soft). The held-out strokes
  serve only the calibration: their own error rate is a poor witness of the image
  (strokes lie inside regions, errors sit at borders; strokes a person adds where
  the model is unsure are the hard cases, and held out they rated a 0.95 model
  0.3-0.6). Measured over 55 models (guidance runs and the core benchmark's cases,
  >= 3 strokes per class): median |error| 0.060 calibrated alone, 0.090 averaged
  with the held-out strokes' rates, 0.130 uncalibrated; the guidance benchmark's 109
  models, folds of 48 trees: median |error| 0.048, median error -0.008. The estimate
  reads the forest's probabilities, not the borders ``edges`` moves
  or ``lattice_borders`` smooths. What no estimate without
  truth sees: structures nobody painted that the model labels confidently wrong.
  With fewer than two separate strokes of a class nothing can be held out, and the
  estimate is None with a sentence that says so.
- ``suggest_regions``: where to paint next. Not single pixels: areas of high
  uncertainty (1 - max probability, rescaled to 0..1), weighted by their extent and by
  their distance from the existing strokes (a region next to a stroke is one the
  model has already been shown), ranked best first, as boxes in image pixels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np
from sklearn.base import clone

from .classifiers import make_classifier, sized_for
from .errors import PaintsegError, size_text
from .features import FeatureSpec, compute_features, tiling
from .grouped_cv import even_over_strokes, full_proba, stroke_folds, strokes_per_class
from .probabilities import uncertainty

if TYPE_CHECKING:
    from .segmenter import Segmenter

#: Strokes of every class needed before one can be held out (two: one trains, one tests).
MIN_STROKES = 2
FOLDS = 3
#: Held-out pixels per class, spread evenly over the strokes: the folds stay fast.
CV_PIXELS_PER_CLASS = 1000
#: Image pixels the model's own probabilities are read at (a random sample).
IMAGE_SAMPLE = 8_000
#: Powers of the probabilities tried when calibrating them on held-out strokes, 1 to 8
#: on a geometric grid (a forest of 48 trees on a few strokes wanted up to 8 on the
#: benchmark's lattice images, 1-1.5 on real micrographs).
SHARPNESS = tuple(float(p) for p in np.round(np.geomspace(1.0, 8.0, 25), 3))
#: A confusion worth a sentence: this fraction of a class's pixels given to another.
CONFUSED = 0.05
#: Suggestions: below this uncertainty (0 = sure, 1 = no idea) nothing is suggested.
MIN_UNCERTAINTY = 0.15


@dataclass
class AccuracyEstimate:
    """An estimate of the model's accuracy on its training images, without truth.

    ``mean_iou`` is None when it cannot be estimated (``message`` says why);
    ``class_iou`` maps class ids to IoU; ``confusion[i][j]`` is the estimated
    fraction of class i's pixels labelled as class j (rows and columns in
    ``classes`` order); ``single_stroke`` lists the classes with too few strokes to
    hold one out.
    """

    mean_iou: float | None
    classes: list[int]
    class_iou: dict[int, float] = field(default_factory=dict)
    confusion: list[list[float]] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0
    single_stroke: list[int] = field(default_factory=list)

    def confusions(self) -> list[tuple[int, int, float]]:
        """(true class, taken for, fraction) of the notable confusions, worst first."""
        pairs = [(self.classes[i], self.classes[j], v)
                 for i, row in enumerate(self.confusion) for j, v in enumerate(row)
                 if i != j and v >= CONFUSED]
        return sorted(pairs, key=lambda p: -p[2])

    def describe(self, names: dict[int, str] | None = None) -> str:
        """One sentence for people: the estimate and the worst confusions."""
        name = (names or {}).get
        if self.mean_iou is None and self.single_stroke:
            return too_few_strokes_message([name(k, f"phase {k}") for k in self.single_stroke])
        if self.mean_iou is None:
            return self.message
        text = f"estimated mean IoU {self.mean_iou:.2f}"
        worst = self.confusions()[:2]
        if worst:
            text += ", " + "; ".join(
                f"{name(a, f'phase {a}')} {'often' if v >= 0.15 else 'sometimes'} taken for "
                f"{name(b, f'phase {b}')}" for a, b, v in worst)
        return text

    def to_dict(self) -> dict:
        """The estimate as JSON-able data (the training summary, the model file)."""
        return {"estimated_miou": self.mean_iou,
                "class_iou": {str(k): round(v, 4) for k, v in self.class_iou.items()},
                "confusion": [[round(v, 4) for v in row] for row in self.confusion],
                "message": self.describe(), "seconds": round(self.seconds, 3)}


def too_few_strokes_message(names: list[str]) -> str:
    """Why no stroke can be held out, for people."""
    return (f"accuracy not estimated: too few strokes ({', '.join(names)} "
            f"{'has' if len(names) == 1 else 'have'} a single stroke); paint at least "
            f"{MIN_STROKES} separate strokes of every class, 3 or more for a good estimate")


def estimate_accuracy(seg: Segmenter, X: np.ndarray, y: np.ndarray, groups: np.ndarray,
                      images: list[np.ndarray]) -> AccuracyEstimate:
    """Estimate the fitted ``seg``'s mean IoU on ``images`` from its painted pixels.

    ``X``, ``y`` (class ids), ``groups`` are every painted pixel's features, class and
    stroke group (``segmenter.labelled_pixels``); the images' feature stacks come
    from the cache that training filled.
    """
    t0 = time.perf_counter()
    classes = [int(k) for k in seg.classes_]
    short = [k for k, n in strokes_per_class(y, groups).items() if n < MIN_STROKES]
    if short:
        return AccuracyEstimate(None, classes, message=too_few_strokes_message(
            [f"phase {k}" for k in short]), seconds=time.perf_counter() - t0, single_stroke=short)
    sharpness = _held_out_sharpness(seg, X, y, groups)
    sample = _image_sample(seg, images)
    proba = _sharpen(seg.estimator_.predict_proba(sample), sharpness)
    counts = _soft_confusion(proba, len(classes))
    ious = _ious(counts)
    return AccuracyEstimate(
        float(np.mean(ious)), classes, {k: float(v) for k, v in zip(classes, ious, strict=True)},
        _rates(counts).tolist(), "", time.perf_counter() - t0)


def _image_sample(seg: Segmenter, images: list[np.ndarray]) -> np.ndarray:
    """Feature vectors of random pixels of the images (their cached stacks, or windows
    of a large image: ``_tiles_sample``)."""
    rng = np.random.default_rng(seg.random_state)
    per_image = max(1, IMAGE_SAMPLE // len(images))
    parts = []
    for image in images:
        spec, value_range = seg.spec_for(image), seg.value_range_for(image)
        if tiling.by_tile(image, spec, value_range):  # not its whole stack
            parts.append(_tiles_sample(image, spec, value_range, per_image, rng))
            continue
        stack = compute_features(image, spec, value_range=value_range)  # seg.features_of
        h, w = stack.shape[:2]
        rows, cols = rng.integers(0, h, per_image), rng.integers(0, w, per_image)
        parts.append(stack[rows, cols])
    return np.concatenate(parts)


def _tiles_sample(image: np.ndarray, spec: FeatureSpec, value_range: tuple[float, float],
                  n: int, rng: np.random.Generator, windows: int = 4,
                  side: int = 512) -> np.ndarray:
    """Feature vectors of ``n`` random pixels of a large image, drawn from ``windows``
    windows of ``side`` px spread over it at random (only their features are computed)."""
    plan = tiling.plan_tiles(image.shape, side, 0)
    chosen = [plan[i] for i in rng.choice(len(plan), min(windows, len(plan)), replace=False)]
    which = rng.integers(0, len(chosen), n)
    rows, cols = np.empty(n, np.int64), np.empty(n, np.int64)
    for i, window in enumerate(chosen):
        r0, c0, r1, c1 = window.core
        mine = which == i
        rows[mine], cols[mine] = rng.integers(r0, r1, mine.sum()), rng.integers(c0, c1, mine.sum())
    return tiling.features_at(image, spec, rows, cols, value_range, tile=side)


def _soft_confusion(proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Expected counts[i, j] of pixels of true class i labelled j, reading the model's
    probabilities as the chance of each true class."""
    pred = proba.argmax(axis=1)
    counts = np.zeros((n_classes, n_classes))
    for j in range(n_classes):
        counts[:, j] = proba[pred == j].sum(axis=0)
    return counts


def _rates(counts: np.ndarray) -> np.ndarray:
    """Row-normalised confusion (a class with no pixels: labelled right)."""
    totals = counts.sum(axis=1, keepdims=True)
    eye = np.eye(len(counts))
    return np.where(totals > 0, counts / np.maximum(totals, 1e-12), eye)


def _held_out_sharpness(seg: Segmenter, X: np.ndarray, y: np.ndarray,
                        groups: np.ndarray) -> float:
    """The sharpness that calibrates the forest's probabilities on held-out strokes
    (each fold's model never saw the strokes it predicts)."""
    keep = even_over_strokes(y, groups, CV_PIXELS_PER_CLASS, seg.random_state)
    X, y, groups = X[keep], np.searchsorted(seg.classes_, y[keep]), groups[keep]
    n = len(seg.classes_)
    folds = stroke_folds(y, groups, FOLDS, seg.random_state)
    model = _single_threaded(seg)
    painting = getattr(seg, "painting_", None)  # the folds' forests sized as the model's
    probas, truths = [], []
    for fold in np.unique(folds):
        test = folds == fold
        fitted = sized_for(clone(model), int(np.sum(~test)), painting).fit(X[~test], y[~test])
        probas.append(full_proba(fitted, X[test], n))
        truths.append(y[test])
    return _calibrated_sharpness(np.concatenate(probas), np.concatenate(truths))


def _calibrated_sharpness(proba: np.ndarray, truth: np.ndarray) -> float:
    """The power of the probabilities (renormalised) with the least log-loss on the
    held-out strokes: an averaged forest's votes are softer than its errors are
    frequent, and the image-wide confusion reads them as chances."""
    best, best_loss = 1.0, np.inf
    for power in SHARPNESS:
        p = _sharpen(proba, power)[np.arange(len(truth)), truth]
        loss = -np.mean(np.log(np.clip(p, 1e-6, 1.0)))
        if loss < best_loss:
            best, best_loss = power, loss
    return best


def _sharpen(proba: np.ndarray, power: float) -> np.ndarray:
    if power == 1.0:
        return proba
    sharp = np.power(np.clip(proba, 0.0, 1.0), power)
    return sharp / np.maximum(sharp.sum(axis=1, keepdims=True), 1e-12)


def _single_threaded(seg: Segmenter):
    """The model's classifier, trees and all, on one thread, for the folds.

    As many trees as the model: the calibration is a property of the forest's averaged
    votes, and an average over fewer trees is more often near 0 or 1; a power fitted
    to 12 trees left the 48 of the model too soft (estimates low by 0.037 in the
    median, 0.009 with the model's own count; measured over 72 models).
    """
    model = make_classifier(seg.classifier, seg.random_state)
    params = model.get_params()
    if "n_jobs" in params:  # a few thousand pixels: starting threads costs more than it saves
        model.set_params(n_jobs=1)
    return model


def _ious(counts: np.ndarray) -> np.ndarray:
    """Per-class IoU of a confusion matrix (rows true, columns labelled)."""
    tp = np.diag(counts)
    union = counts.sum(axis=0) + counts.sum(axis=1) - tp
    return np.where(union > 0, tp / np.maximum(union, 1e-12), 1.0)


# -- where to paint next ------------------------------------------------------------------
def suggest_regions(proba: np.ndarray, strokes: np.ndarray | None = None, n: int = 3,
                    *, min_uncertainty: float = MIN_UNCERTAINTY) -> list[dict]:
    """Regions to paint next, best first: ``box`` (row0, col0, row1, col1; end
    exclusive), ``score`` (0..1: mean weighted uncertainty in the box) and ``point``
    (row, col), the most uncertain pixel of the region.

    ``proba`` is (H, W, K); ``strokes`` the label mask painted so far (0 = none):
    regions far from every stroke rank higher. An empty list means that the model
    is sure everywhere (which does not mean it is right).
    """
    if strokes is not None and np.shape(strokes) != proba.shape[:2]:
        raise PaintsegError(f"the stroke mask is {size_text(np.shape(strokes))} but its "
                            f"image is {size_text(proba.shape[:2])}")
    if n < 1:
        return []
    unsure = uncertainty(proba)
    h, w = unsure.shape
    step = max(1, int(min(h, w) // 256))  # work on a grid of about 256 px: fast at any size
    small = cv2.resize(unsure, (max(1, w // step), max(1, h // step)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 1.5)
    if small.max(initial=0) < min_uncertainty:
        return []
    # every unsure pixel counts (not only the most unsure fifth): a wide area of middling
    # doubt teaches more than a thin line of the highest (measured with a simulated user)
    hot = np.where(small >= min_uncertainty, small, 0)
    weight = hot * _distance_weight(strokes, small.shape, step)
    side = max(3, int(min(small.shape) // 6) | 1)
    density = cv2.blur(weight, (side, side), borderType=cv2.BORDER_CONSTANT)
    found = []
    while len(found) < n:
        r, c = np.unravel_index(int(np.argmax(density)), density.shape)
        if density[r, c] <= 1e-6:
            break
        found.append(_region(hot, unsure, (r, c), side, step, float(density[r, c])))
        density[max(0, r - side):r + side + 1, max(0, c - side):c + side + 1] = 0
    return found


def _distance_weight(strokes, shape: tuple[int, int], step: int) -> np.ndarray:
    """0 on a stroke, rising to ~1 a sixth of the image away from every stroke."""
    if strokes is None or not np.any(strokes):
        return np.ones(shape, np.float32)
    painted = cv2.resize((np.asarray(strokes) > 0).astype(np.uint8), shape[::-1],
                         interpolation=cv2.INTER_NEAREST) if step > 1 else (np.asarray(strokes) > 0)
    distance = cv2.distanceTransform((~painted.astype(bool)).astype(np.uint8), cv2.DIST_L2, 3)
    return (1.0 - np.exp(-distance / (min(shape) / 6))).astype(np.float32)


def _region(hot, unsure, peak, side, step, score) -> dict:
    """The box of the uncertain pixels in a window around ``peak`` (grid to image pixels)."""
    r, c = peak
    half = side // 2
    r0, c0 = max(0, r - half), max(0, c - half)
    window = hot[r0:r + half + 1, c0:c + half + 1] > 0
    rows, cols = np.nonzero(window)
    if len(rows) == 0:
        rows, cols = np.array([r - r0]), np.array([c - c0])
    h, w = unsure.shape
    box = (int((r0 + rows.min()) * step), int((c0 + cols.min()) * step),
           int(min(h, (r0 + rows.max() + 1) * step)), int(min(w, (c0 + cols.max() + 1) * step)))
    inside = unsure[box[0]:box[2], box[1]:box[3]]
    pr, pc = np.unravel_index(int(np.argmax(inside)), inside.shape)
    return {"box": box, "score": round(score, 4), "point": (int(box[0] + pr), int(box[1] + pc))}
