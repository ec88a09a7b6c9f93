"""Segmenter: a scikit-learn-style pixel classifier over a filter bank.

>>> seg = Segmenter()                    # features="auto", classifier="extra_trees"
>>> seg.fit([image], [strokes])          # strokes: 0 = unlabelled, k = class k
>>> seg.lattice_.describe()              # the lattice period the features follow
>>> mask = seg.predict(image)            # (H, W) class ids 1..K
>>> proba = seg.predict_proba(image)     # (H, W, K)
>>> seg.training_summary_["estimated_miou"]  # held-out-stroke estimate, or None
>>> seg.suggest(image, n=3, strokes=strokes)  # where to paint next, best first
>>> seg.save("model.paintseg"); Segmenter.load("model.paintseg")
"""

from __future__ import annotations

import numbers
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import cv2
import numpy as np
from scipy import ndimage as ndi
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .annotations import IGNORE, MAX_CLASS_ID, MAX_CLASSES, painted_rows
from .classifiers import make_classifier, painting_of, sized_for
from .colours import default_colour
from .edges import (
    EDGE_SIGMA,
    EDGE_SIGMAS,
    brightness_at,
    edge_sigma,
    separable_at_some_scale,
    separable_pairs,
    snap_to_edges,
)
from .errors import PaintsegError, PaintsegWarning, size_text
from .features import (
    INTENSITY_CENTRES,
    FeatureSpec,
    LatticeEstimate,
    adapt_to_lattice,
    compute_features,
    estimate_lattice_period,
    feature_matrix,
    intensity_range,
    resolve_spec,
    tiling,
)
from .io import (
    Image,
    ImageLike,
    MaskLike,
    PathLike,
    as_image,
    is_signal,
    label_dtype_for,
    read_mask,
)
from .lattice_borders import smooth_at_lattice_resolution, smoothing_sigma
from .model_io import LEGACY_CENTRE, ModelFile, read_model, read_model_file, save_segmenter
from .probabilities import MAX_SMOOTHING, smooth_probabilities

PREDICT_CHUNK = 262_144  # pixels per classifier call: bounds peak memory


def default_class_names(classes: Sequence[int]) -> list[str]:
    """Names for classes nobody named: 'phase k' for class id k."""
    return [f"phase {k}" for k in classes]


def _as_list(images) -> list[np.ndarray]:
    if isinstance(images, np.ndarray) and images.ndim == 2:
        return [images]
    return [np.asanyarray(a) for a in images]  # keeps an io.Image's pixel size


def _stroke_masks(strokes) -> list[np.ndarray]:
    """Stroke masks as arrays: arrays as they are, a path (or list of them) read as a mask."""
    if isinstance(strokes, str | os.PathLike):
        return [read_mask(strokes)]
    if isinstance(strokes, np.ndarray):
        return _as_list(strokes)
    return [read_mask(s) if isinstance(s, str | os.PathLike) else np.asanyarray(s)
            for s in strokes]


def _check_classes(classes: np.ndarray) -> None:
    """The painted class ids a model can hold: at most ``MAX_CLASSES`` of them, each
    from 1 to ``MAX_CLASS_ID`` (a 16-bit mask)."""
    if int(classes.max()) > MAX_CLASS_ID:
        raise PaintsegError(f"class id {int(classes.max())} is too large: class ids go from 1 "
                            f"to {MAX_CLASS_ID}")
    if len(classes) > MAX_CLASSES:
        raise PaintsegError(f"{len(classes)} classes painted, more than the {MAX_CLASSES} a model "
                            "holds: is the stroke mask an image?")


def _as_image(image) -> np.ndarray:
    """Anything paintseg takes as an image (an array, grey or RGB(A), of any number
    type; a path; a HyperSpy signal), as a 2-D float32 ``io.Image`` through
    ``io.as_image``; an ``io.Image`` is kept as it is, with its pixel size."""
    return as_image(image)


def _is_colour(array: np.ndarray, strokes=None) -> bool:
    """Whether a 3-D array is one RGB(A) image rather than a stack of grey ones: its
    last axis holds 3 or 4 channels and the strokes (when given) are one 2-D mask of
    its height and width."""
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        return False
    if isinstance(strokes, str | os.PathLike):  # one mask file: one image
        return True
    if strokes is not None and not isinstance(strokes, np.ndarray | Sequence):
        return False
    if isinstance(strokes, np.ndarray):
        return strokes.ndim == 2 and strokes.shape == array.shape[:2]
    return array.shape[0] > 4


def _as_images(images, strokes=None) -> list[np.ndarray]:
    """One image or a sequence of them, as a list (see ``_as_image``); a 3-D array is a
    stack of grey images, or one colour image (``_is_colour``)."""
    if isinstance(images, np.ndarray):  # an io.Image is 2-D: kept as it is
        if images.ndim == 2 or _is_colour(images, strokes):
            return [_as_image(images)]
        return [_as_image(a) for a in images]
    if isinstance(images, str | os.PathLike) or is_signal(images):
        return [as_image(images)]
    return [_as_image(a) for a in images]


def pixel_size_nm(image: np.ndarray) -> float | None:
    """The pixel size in nm an image carries (``io.Image``), or None."""
    value = getattr(image, "pixel_size_nm", None)
    return float(value) if value else None


def labelled_pixels(
    images: Sequence[np.ndarray],
    strokes: Sequence[np.ndarray],
    spec: FeatureSpec | Callable[[np.ndarray], FeatureSpec],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and stroke-group ids of every painted pixel.

    ``spec`` is one spec for every image or a function giving each image's spec
    (a lattice period that follows each image's magnification). Group ids number
    the connected stroke regions (per image and class), so that cross-validation
    can keep the pixels of one stroke on one side of a split.
    """
    X_parts, y_parts, g_parts = [], [], []
    next_group = 0
    for index, (image, mask) in enumerate(zip(images, strokes, strict=True)):
        mask = np.asarray(mask)
        if mask.shape != image.shape:
            raise PaintsegError(
                f"stroke mask {index + 1} is {size_text(mask.shape) if mask.ndim else 'not an array'} "
                f"but its image is {size_text(image.shape)}"
            )
        band, row_of = painted_rows(mask)
        # the painted pixels' coordinates, row-major: every later step reads only them
        rows, cols = np.nonzero((band > 0) & (band != IGNORE))  # "ignore" is not a class
        if not len(rows):
            continue
        image_spec = spec(image) if callable(spec) else spec
        value_range = intensity_range(image)  # once, for the cache's key and the features
        if tiling.by_tile(image, image_spec, value_range):  # the tiles with paint, one by one
            X_parts.append(tiling.features_at(image, image_spec, row_of[rows], cols, value_range))
        else:
            stack = compute_features(image, image_spec, value_range=value_range)
            X_parts.append(stack[row_of[rows], cols])
        labels = band[rows, cols].astype(np.int64)
        y_parts.append(labels)
        groups = np.empty(len(rows), np.int64)
        for k in np.unique(labels):
            n, comp = cv2.connectedComponents((band == k).astype(np.uint8), connectivity=8)
            mine = labels == k
            groups[mine] = comp[rows[mine], cols[mine]] + next_group
            next_group += n
        g_parts.append(groups)
    if not X_parts:
        raise PaintsegError("no strokes: paint at least one stroke for each of two classes")
    return np.concatenate(X_parts), np.concatenate(y_parts), np.concatenate(g_parts)


def cap_per_class(y: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """Indices keeping at most ``cap`` randomly chosen samples of each class."""
    rng = np.random.default_rng(seed)
    keep = []
    for k in np.unique(y):
        idx = np.flatnonzero(y == k)
        if len(idx) > cap:
            idx = rng.choice(idx, cap, replace=False)
        keep.append(idx)
    return np.sort(np.concatenate(keep))


class Segmenter(BaseEstimator):
    """Scribble-trained pixel classifier.

    Parameters
    ----------
    features : preset name ("auto", "stem", "ilastik", "weka"), FeatureSpec or
        its dict. ``auto`` (default) suits every kind of image: fine to coarse
        Gaussian families plus lattice descriptors at the image's own period.
    classifier : preset name (see ``paintseg.classifiers.CLASSIFIERS``) or an
        unfitted scikit-learn classifier.
    class_names, class_colours : optional, indexed like the sorted class ids.
    smoothing : sigma in pixels of a Gaussian applied to the probability maps
        before the arg-max. 0 (default) keeps structures of any size: the filter
        bank's own scales already make the maps smooth, and measured on EM, SEM
        and STEM images a fixed smoothing gained nothing and cost thin structures.
        (On a lattice image, phases of one brightness are smoothed at half the
        lattice period regardless: ``paintseg.lattice_borders``.)
    period : lattice period in pixels for the lattice families of an adaptive
        spec, overriding the estimate from the training images.
    snap_to_edges : where two classes differ in brightness on the strokes, let the
        image's edges decide the unsure band between them (``paintseg.edges``): borders
        on the intensity edge instead of a halo halfway between the strokes.
    max_pixels_per_class : training pixels kept per class (random subsample).
    random_state : seed for the classifier and subsampling.
    estimate : estimate the mean IoU at ``fit`` by holding out whole strokes
        (``guidance.estimate_accuracy``; ``accuracy_``, and
        ``training_summary_["estimated_miou"]``, None when too few strokes).

    After ``fit``: ``spec_`` (the concrete feature spec), ``lattice_`` (the
    ``LatticeEstimate`` it follows), ``period_nm_`` (the period in nm when the
    training images carry a pixel size; a new image with another pixel size gets
    its lattice features at the same physical period), ``smoothing_``,
    ``edge_pairs_`` (the pairs of class indices whose borders follow the edges) and
    ``edge_sigma_`` (the scale their edges are read at: ``edges.edge_sigma``),
    ``painting_`` (how the labels were painted, strokes or clicks, which sizes the
    forest: ``classifiers.sized_for``), ``intensity_centre_`` (where each image's
    intensity range is centred for the features: ``features.intensity_range``).
    """

    def __init__(
        self,
        features: str | FeatureSpec | dict = "auto",
        classifier: Any = "extra_trees",
        *,
        class_names: Sequence[str] | None = None,
        class_colours: Sequence[str] | None = None,
        smoothing: float = 0.0,
        period: float | None = None,
        snap_to_edges: bool = True,
        max_pixels_per_class: int = 40_000,
        random_state: int = 0,
        estimate: bool = True,
    ) -> None:
        self.features = features
        self.classifier = classifier
        self.class_names = class_names
        self.class_colours = class_colours
        self.smoothing = smoothing
        self.period = period
        self.snap_to_edges = snap_to_edges
        self.max_pixels_per_class = max_pixels_per_class
        self.random_state = random_state
        self.estimate = estimate

    # -- training ------------------------------------------------------------------
    def _check_params(self) -> None:
        """One-line errors for parameters no fit can use, before any work is done."""
        smoothing = self.smoothing
        if not isinstance(smoothing, numbers.Real) or not 0 <= smoothing <= MAX_SMOOTHING:
            raise PaintsegError(f"smoothing must be a number of pixels from 0 to {MAX_SMOOTHING:g}")
        cap = self.max_pixels_per_class
        if isinstance(cap, bool) or not isinstance(cap, numbers.Integral) or cap < 1:
            raise PaintsegError("max_pixels_per_class must be a whole number of at least 1")
        names = [str(n) for n in (self.class_names or [])]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:  # the measurements and the exported tables name classes by these
            raise PaintsegError(f"two classes are named '{twice[0]}': give each class its own name")

    def fit(self, images: ImageLike | Sequence[ImageLike], strokes: MaskLike | Sequence[MaskLike],
            *, progress: Callable[[str], None] | None = None,
            first_trees: int | None = None) -> Segmenter:
        """Train on the painted pixels of one or several images.

        ``first_trees`` fits only that many trees of a forest classifier, for a quick
        first look (the app's live mode); ``grow`` adds the rest later, and the forest
        is then the very one a single fit would have made. The accuracy estimate reads
        the whole forest's probabilities, so it waits for ``grow`` too."""
        self._check_params()
        images, strokes = _as_images(images, strokes), _stroke_masks(strokes)
        if len(images) != len(strokes):
            raise PaintsegError(f"{len(images)} images but {len(strokes)} stroke masks")
        if not images:
            raise PaintsegError("no images to train on")
        t0 = time.perf_counter()
        self.fit_spec(images, strokes)
        if progress:
            progress("computing features")
        X, y, groups = labelled_pixels(images, strokes, self.spec_for)
        classes = np.unique(y)
        if len(classes) < 2:
            raise PaintsegError(
                f"only class {int(classes[0])} is painted: paint strokes of at least two classes"
            )
        _check_classes(classes)
        painted = (X, y, groups)
        self.classes_ = classes.astype(np.int64)
        X, encoded = self._training_set(X, y)
        if progress:
            progress("training classifier")
        t1 = time.perf_counter()
        self.painting_ = painting_of(strokes)
        self.estimator_ = sized_for(make_classifier(self.classifier, self.random_state), len(X),
                                    self.painting_)
        self.trees_pending_ = 0
        full = int(getattr(self.estimator_, "n_estimators", 0) or 0)
        if first_trees and hasattr(self.estimator_, "warm_start") and full > first_trees:
            self.estimator_.set_params(n_estimators=int(first_trees), warm_start=True)
            self.trees_pending_ = full - int(first_trees)
        _fit_quietly(self.estimator_, X, encoded)
        self.n_features_in_ = X.shape[1]
        self.intensity_centre_ = INTENSITY_CENTRES[0]
        self.class_names_ = list(self.class_names or default_class_names(self.classes_))
        if len(self.class_names_) != len(self.classes_):
            self.class_names_ = default_class_names(self.classes_)
        self.class_colours_ = list(
            self.class_colours or [default_colour(int(k)) for k in self.classes_]
        )
        if len(self.class_colours_) != len(self.classes_):
            self.class_colours_ = [default_colour(int(k)) for k in self.classes_]
        self.smoothing_ = float(self.smoothing)
        self.edge_pairs_, self.edge_sigma_ = (_edges_of(images, strokes, self.classes_)
                                              if self.snap_to_edges else ([], EDGE_SIGMA))
        self.training_summary_ = {
            "images": len(images),
            "labelled_pixels": {int(k): int(n) for k, n in
                                zip(self.classes_, np.bincount(encoded, minlength=len(classes)),
                                    strict=True)},
            "stroke_groups": int(len(np.unique(groups))),
            "n_features": int(X.shape[1]),
            "feature_seconds": round(t1 - t0, 3),
            "fit_seconds": round(time.perf_counter() - t1, 3),
        }
        self._estimate_accuracy(images, painted, progress)
        return self

    def _training_set(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The painted pixels the classifier is fitted on: at most
        ``max_pixels_per_class`` of each class (the same random choice at every call,
        so ``grow`` fits the pixels ``fit`` did), class ids encoded as 0..K-1."""
        keep = cap_per_class(y, self.max_pixels_per_class, self.random_state)
        return X[keep], np.searchsorted(self.classes_, y[keep])

    def grow(self, images: ImageLike | Sequence[ImageLike],
             strokes: MaskLike | Sequence[MaskLike]) -> Segmenter:
        """Fit the trees a ``fit(..., first_trees=n)`` left out, on the same images and
        strokes. scikit-learn's warm start draws each new tree's seed as a single fit
        would, so the grown forest equals the one ``fit`` makes without ``first_trees``."""
        check_is_fitted(self, "estimator_")
        if not getattr(self, "trees_pending_", 0):
            return self
        images, strokes = _as_images(images, strokes), _as_list(strokes)
        X, y, groups = labelled_pixels(images, strokes, self.spec_for)
        if not np.array_equal(np.unique(y), self.classes_):
            raise PaintsegError("these strokes are not the ones the model was trained on")
        full = self.estimator_.n_estimators + self.trees_pending_
        self.estimator_.set_params(n_estimators=full)
        _fit_quietly(self.estimator_, *self._training_set(X, y))
        self.estimator_.set_params(warm_start=False)
        self.trees_pending_ = 0
        self._estimate_accuracy(images, (X, y, groups), None)
        return self

    def _estimate_accuracy(self, images, painted, progress) -> None:
        """The estimate of the mean IoU (``guidance``), into ``accuracy_`` and the summary."""
        from .guidance import AccuracyEstimate, estimate_accuracy

        classes = [int(k) for k in self.classes_]
        if not self.estimate:
            self.accuracy_ = AccuracyEstimate(None, classes,
                                              message="accuracy not estimated (switched off)")
        elif self.trees_pending_:  # it reads the whole forest's probabilities: after grow
            self.accuracy_ = AccuracyEstimate(None, classes,
                                              message="accuracy estimated once every tree is grown")
        else:
            if progress:
                progress("estimating accuracy")
            self.accuracy_ = estimate_accuracy(self, *painted, images)
        self.training_summary_["estimated_miou"] = self.accuracy_.mean_iou
        self.training_summary_["accuracy"] = self.accuracy_.to_dict()

    def describe_accuracy(self) -> str:
        """The accuracy estimate in one sentence, with the class names (a loaded model:
        the sentence it was saved with)."""
        check_is_fitted(self, "estimator_")
        if not hasattr(self, "accuracy_"):
            return self.training_summary_.get("accuracy", {}).get("message", "accuracy not estimated")
        names = dict(zip((int(k) for k in self.classes_), self.class_names_, strict=True))
        return self.accuracy_.describe(names)

    def fit_spec(self, images: ImageLike | Sequence[ImageLike],
                 strokes: MaskLike | Sequence[MaskLike] | None = None) -> Segmenter:
        """Choose the concrete feature spec for these training images (``spec_``,
        ``lattice_``, ``period_nm_``): an adaptive spec's lattice families go to the
        images' lattice period. ``fit`` calls it; the AutoML search uses it alone.

        With the ``strokes``, a lattice found in the images is not followed when it is
        the packing of painted objects (``packing_of_painted_objects``).
        """
        images = _as_images(images, strokes)
        template = resolve_spec(self.features)
        self.period_nm_ = None
        if self.period is not None:
            if not template.adaptive:
                raise PaintsegError(
                    f"the '{template.name}' features have no lattice families to place at a period")
            self.lattice_ = LatticeEstimate(float(self.period), (float(self.period),))
        elif template.adaptive:
            self.lattice_ = _common_lattice(images)
            if self.lattice_.found and strokes is not None and packing_of_painted_objects(
                    images, strokes, self.lattice_.period):
                self.lattice_ = LatticeEstimate(None, self.lattice_.periods, self.lattice_.strength,
                                                not_used=PACKING)
        else:
            self.lattice_ = LatticeEstimate(template.period)
        period = self.lattice_.period
        if template.adaptive and period is not None:
            smallest = min(min(a.shape[:2]) for a in images)
            if not 2.0 <= period <= smallest / 2:
                raise PaintsegError(
                    f"lattice period {period:g} px is outside 2-{smallest / 2:g} px for this image")
        self.spec_ = adapt_to_lattice(template, period)
        size = pixel_size_nm(images[0])
        if self.spec_.period is not None and size:
            self.period_nm_ = float(self.spec_.period * size)
        return self

    def value_range_for(self, image: np.ndarray) -> tuple[float, float]:
        """The intensity range ``image`` is mapped by for this model's features, centred
        as when the model was trained (``features.intensity_range``)."""
        return intensity_range(image, self.intensity_centre_)

    def features_of(self, image: np.ndarray) -> np.ndarray:
        """The (H, W, F) feature stack this model reads for ``image`` (cached): its
        spec at the image's magnification (``spec_for``), intensities mapped as when it
        was trained (``value_range_for``)."""
        return compute_features(image, self.spec_for(image), value_range=self.value_range_for(image))

    def halo_for(self, image: np.ndarray) -> int:
        """Pixels of context a pixel's prediction depends on (for tiles): the reach of
        the features plus that of the smoothing of the probabilities."""
        spec = self.spec_for(image)
        sigma = self.smoothing_ + smoothing_sigma(spec.period)
        return spec.halo + int(np.ceil(4.0 * sigma))

    def spec_for(self, image: np.ndarray) -> FeatureSpec:
        """The feature spec for ``image``: lattice families at the model's physical period.

        When the model knows its period in nm and the image carries a pixel size,
        the lattice wavelengths are rescaled to this image's magnification;
        otherwise the training period in pixels is kept (with a warning when the
        image lacks the pixel size the model could have used).
        """
        check_is_fitted(self, "spec_")
        spec = self.spec_
        if spec.period is None or self.period_nm_ is None:
            return spec
        size = pixel_size_nm(image)
        if size is None:
            warnings.warn(
                f"the image has no pixel size: assuming the training magnification "
                f"(lattice period {spec.period:.1f} px = {self.period_nm_:.3g} nm)",
                PaintsegWarning, stacklevel=3)
            return spec
        period = self.period_nm_ / size
        if abs(period - spec.period) < 1e-3 * spec.period:
            return spec
        if not 2.0 <= period <= min(np.shape(image)[:2]) / 2:
            raise PaintsegError(
                f"at this image's pixel size ({size:.4g} nm) the model's lattice period of "
                f"{self.period_nm_:.3g} nm is {period:.1f} px, outside what the image can show")
        return spec.with_period(period)

    # -- prediction ----------------------------------------------------------------
    def predict_proba(self, image: ImageLike, *, value_range: tuple[float, float] | None = None,
                      cache: bool = True) -> np.ndarray:
        """Class probabilities, (H, W, K) float32, channels ordered as ``classes_``.

        ``cache=False`` leaves the feature stack out of the in-memory cache (a tile of a
        large image is seen once: caching it would only hold memory)."""
        check_is_fitted(self, "estimator_")
        image = _as_image(image)
        spec = self.spec_for(image)
        if value_range is None:  # once, for the features and the edges alike
            value_range = self.value_range_for(image)
        if tiling.by_tile(image, spec, value_range):  # a large image, one tile at a time
            proba = np.empty((*image.shape, len(self.classes_)), np.float32)
            for tile, block in self.proba_tiles(image, value_range=value_range):
                r0, c0, r1, c1 = tile.core
                proba[r0:r1, c0:c1] = block
            return proba
        return self._proba(image, spec, value_range, cache)

    def proba_tiles(self, source: np.ndarray, *, tile: int = tiling.DEFAULT_TILE,
                    value_range: tuple[float, float] | None = None,
                    pixel_size: float | None = None, unit: str = "px",
                    ) -> Iterator[tuple[tiling.Tile, np.ndarray]]:
        """Yield ``(tile, proba)`` for each tile of ``source`` (any array that slices
        without reading the rest), proba (h, w, K) float32 of the tile's core. Each tile
        is read with the context its pixels depend on (``halo_for``) and mapped by the
        whole image's range, so memory holds one tile's features at a time."""
        if len(source.shape) != 2:
            raise PaintsegError(f"expected a 2-D image, got shape {tuple(source.shape)}")
        pixel_size = getattr(source, "pixel_size", None) if pixel_size is None else pixel_size
        unit = getattr(source, "unit", unit)
        value_range = self.value_range_for(source) if value_range is None else value_range
        # a stand-in of the source's shape and pixel size (spec_for checks the size)
        whole = Image(np.broadcast_to(np.float32(0), tuple(source.shape)), pixel_size, unit)
        for part in tiling.plan_tiles(source.shape, tile, self.halo_for(whole)):
            r0, c0, r1, c1 = part.read
            block = Image(np.asarray(source[r0:r1, c0:c1], dtype=np.float32), pixel_size, unit)
            proba = self._proba(block, self.spec_for(block), value_range, cache=False)
            yield part, proba[part.crop]
            del block, proba  # before the next tile is read

    def _proba(self, image: np.ndarray, spec: FeatureSpec, value_range: tuple[float, float],
               cache: bool) -> np.ndarray:
        """``predict_proba`` of an image whose features are computed whole."""
        stack = compute_features(image, spec, value_range=value_range, cache=cache)
        h, w, f = stack.shape
        if f != self.n_features_in_:
            raise PaintsegError(f"model expects {self.n_features_in_} features, got {f}")
        proba = np.empty((h, w, len(self.classes_)), np.float32)
        rows = max(1, PREDICT_CHUNK // w)
        for top in range(0, h, rows):  # row blocks: bounded memory, one gather each
            block = feature_matrix(stack, slice(top, top + rows))
            proba[top:top + rows] = self.estimator_.predict_proba(block).reshape(-1, w, proba.shape[2])
        proba = smooth_probabilities(proba, self.smoothing_)
        proba = smooth_at_lattice_resolution(proba, spec.period, self.edge_pairs_)
        return snap_to_edges(proba, image, value_range, self.edge_pairs_, self.edge_sigma_)

    def predict(self, image: ImageLike, *,
                value_range: tuple[float, float] | None = None) -> np.ndarray:
        """Class id (1..K as painted) of every pixel, (H, W)."""
        proba = self.predict_proba(image, value_range=value_range)
        return labels_from_proba(proba, self.classes_)

    def suggest(self, image: np.ndarray, n: int = 3, *,
                strokes: np.ndarray | None = None) -> list[dict]:
        """Where to paint next: up to ``n`` regions of high uncertainty, best first, as
        dicts with ``box`` (row0, col0, row1, col1) in image pixels, ``score`` and
        ``point`` (see ``guidance.suggest_regions``); regions far from ``strokes`` (the
        painted label mask, optional) rank higher. Empty when the model is sure
        everywhere."""
        from .guidance import suggest_regions

        return suggest_regions(self.predict_proba(image), strokes, n)

    # -- persistence ---------------------------------------------------------------
    def save(self, path: PathLike) -> None:
        """Write the model file (JSON metadata + skops classifier, in one zip)."""
        save_segmenter(self, path)

    @classmethod
    def load(cls, path: PathLike) -> Segmenter:
        """Read a model file written by ``save``; never executes code from it."""
        return cls._from_model_file(read_model_file(path))

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "model file") -> Segmenter:
        """The model in the bytes of a model file (an upload); ``source`` names it in
        messages."""
        return cls._from_model_file(read_model(data, source))

    @classmethod
    def _from_model_file(cls, model: ModelFile) -> Segmenter:
        """A fitted Segmenter from a checked model file (``model_io.read_model``)."""
        meta = model.meta
        seg = cls(
            features=model.features,
            classifier=meta.get("classifier", "random_forest"),
            class_names=meta["class_names"],
            class_colours=meta["class_colours"],
            smoothing=min(float(meta.get("smoothing", 0.0)), MAX_SMOOTHING),  # older: no cap
            snap_to_edges=bool(meta.get("snap_to_edges", False)),
            max_pixels_per_class=int(meta.get("max_pixels_per_class", 40_000)),
            random_state=int(meta.get("random_state", 0)),
        )
        seg.spec_ = seg.features
        seg.smoothing_ = float(seg.smoothing)
        seg.edge_pairs_ = [(i, j) for i, j in meta.get("edge_pairs") or []]
        seg.edge_sigma_ = float(meta.get("edge_sigma", EDGE_SIGMA))  # older models: 1 px
        seg.intensity_centre_ = str(meta.get("intensity_centre", LEGACY_CENTRE))
        lattice = meta.get("lattice") or {}
        seg.period_nm_ = None if lattice.get("period_nm") is None else float(lattice["period_nm"])
        seg.lattice_ = LatticeEstimate(seg.spec_.period,
                                       tuple(float(x) for x in lattice.get("found_px", [])),
                                       float(lattice.get("strength", 0.0)),
                                       str(lattice.get("not_used", "")))
        seg.estimator_ = model.estimator
        seg.classes_ = np.asarray(meta["classes"], dtype=np.int64)
        seg.class_names_ = list(meta["class_names"])
        seg.class_colours_ = list(meta["class_colours"])
        seg.n_features_in_ = int(meta["n_features"])
        seg.training_summary_ = meta.get("training_summary", {})
        seg.versions_ = meta.get("versions", {})
        return seg


def _fit_quietly(estimator, X: np.ndarray, y: np.ndarray) -> None:
    """Fit, without scikit-learn's caution that balanced class weights and a warm start
    disagree when the data changes between fits: ``grow`` fits the very same pixels."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="class_weight presets", category=UserWarning)
        estimator.fit(X, y)


def _painted_brightness(images, strokes, sigmas: Sequence[float]):
    """Per image with strokes: its painted pixels' ``brightness`` at each of ``sigmas``,
    and their class ids."""
    values, labels = [], []
    for image, mask in zip(images, strokes, strict=True):
        mask = np.asarray(mask)
        painted = (mask > 0) & (mask != IGNORE)
        if painted.any():
            values.append([b[painted] for b in brightness_at(image, intensity_range(image), sigmas)])
            labels.append(mask[painted])
    return values, labels


def _edge_pairs(images, strokes, classes: np.ndarray) -> list[tuple[int, int]]:
    """The pairs of class indices whose brightness differs on the strokes at 1 px
    (``edges.separable_pairs``): the finest reading, which the packing rule asks of every
    pair (objects smaller than a period told apart at full resolution)."""
    values, labels = _painted_brightness(images, strokes, [EDGE_SIGMA])
    return separable_pairs([v[0] for v in values], labels, [int(k) for k in classes])


def _edges_of(images, strokes, classes: np.ndarray) -> tuple[list[tuple[int, int]], float]:
    """The pairs of class indices whose brightness differs on the strokes at some scale
    of 1-3 px, and the scale their edges are read at (``edges``)."""
    values, labels = _painted_brightness(images, strokes, EDGE_SIGMAS)
    classes = [int(k) for k in classes]
    pairs = separable_at_some_scale(values, labels, classes)
    return pairs, edge_sigma(values, labels, classes, pairs)


#: Why a lattice found is not followed when it is the packing of painted objects.
PACKING = ("it is the spacing of painted objects smaller than a period, which differ "
           "from the other classes in brightness")


def packing_of_painted_objects(images: Sequence[np.ndarray], strokes: Sequence[np.ndarray],
                               period: float) -> bool:
    """Whether a lattice of ``period`` px is the packing of objects painted as a class:
    every stroke of some class fits within one period (each spans less than a period
    across), and every pair of painted classes differs in brightness (``edges``).

    The lattice descriptors average over a period: they tell apart phases that only
    their lattice distinguishes, and cannot resolve objects smaller than a period. In a
    close-packed monolayer of nanoparticles painted with dots, the spectrum shows the
    particles' spacing as a lattice; followed, its descriptors called the whole layer,
    gaps included, particle, where brightness tells particle from film at full
    resolution (real TEM of Au particles on carbon, ten frames: mean IoU 0.82 followed,
    0.91 not followed; particle strokes 0.6-0.8 periods across). Particles painted
    with strokes of several periods on a support with lattice fringes keep the lattice,
    which there helps (real HAADF-STEM: 0.71 / 0.78 followed, 0.68 / 0.74 not).
    """
    strokes = [np.asarray(m) for m in _as_list(strokes)]
    if len(strokes) != len(images) or any(m.shape != np.shape(a)[:2]
                                          for a, m in zip(images, strokes, strict=True)):
        return False  # not a painting of these images (``labelled_pixels`` says why)
    classes = np.unique(np.concatenate([np.unique(m[(m > 0) & (m != IGNORE)]) for m in strokes]))
    if len(classes) < 2:
        return False
    # brightness first: a blur of each image, where labelling the strokes of every class
    # costs 0.3 s at 16 MP, on every training of a lattice image whose phases share one
    if len(_edge_pairs(images, strokes, classes)) < len(classes) * (len(classes) - 1) // 2:
        return False
    return min(_widest_stroke(strokes, int(k)) for k in classes) < period


def _widest_stroke(strokes: Sequence[np.ndarray], label: int) -> int:
    """How far across (px, the longer side of its bounding box) the widest stroke of
    class ``label`` reaches, over every stroke mask (0 when it is not painted)."""
    widest = 0
    for mask in strokes:
        components, _ = ndi.label(mask == label)
        for box in ndi.find_objects(components):
            widest = max(widest, box[0].stop - box[0].start, box[1].stop - box[1].start)
    return widest


def _common_lattice(images: Sequence[np.ndarray]) -> LatticeEstimate:
    """The lattice of the training images: the median of the periods found, in the
    first image's pixels (converted through the pixel sizes when all carry one)."""
    estimates = [(estimate_lattice_period(a), pixel_size_nm(a)) for a in images]
    found = [(e, size) for e, size in estimates if e.found]
    if not found:
        return max((e for e, _ in estimates), key=lambda e: e.strength)
    reference = pixel_size_nm(images[0])
    if reference and all(size for _, size in found):
        periods = [e.period * size / reference for e, size in found]
    else:
        periods = [e.period for e, _ in found]
    best = max((e for e, _ in found), key=lambda e: e.strength)
    return LatticeEstimate(round(float(np.median(periods)), 3), best.periods, best.strength)


def label_dtype(classes: np.ndarray) -> np.dtype:
    """The smallest unsigned type that holds every class id of a model (uint8 or
    uint16): one type for every tile of an image's mask."""
    return label_dtype_for(int(np.max(classes)))


def labels_from_proba(proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Arg-max class ids, uint8 when they fit."""
    labels = np.asarray(classes)[np.argmax(proba, axis=2)]
    return labels.astype(label_dtype_for(int(labels.max(initial=0))))
