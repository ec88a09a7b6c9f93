"""Named classifier presets for pixel classification.

Every preset is a scikit-learn estimator that takes class ids 0..K-1 (the
Segmenter encodes paintseg's 1..K) and has ``predict_proba``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import RobustScaler
from sklearn.tree import DecisionTreeClassifier

from .annotations import IGNORE, painted_rows
from .errors import PaintsegError, require_extra


class ZeroCount(BaseEstimator, TransformerMixin):
    """Prepend, per sample, the count of zero and of non-zero features."""

    def fit(self, X, y=None):
        """Nothing to learn."""
        return self

    def transform(self, X):
        """``X`` with the counts of zero and non-zero features prepended."""
        X = np.asarray(X)
        nonzero = np.count_nonzero(X, axis=1)[:, None]
        zero = X.shape[1] - nonzero
        return np.hstack([nonzero, zero, X]).astype(X.dtype, copy=False)


class StackingEstimator(BaseEstimator, TransformerMixin):
    """Prepend an estimator's class probabilities to the features (stacking)."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y=None):
        """Fit the inner estimator."""
        self.estimator_ = clone(self.estimator).fit(X, y)
        return self

    def transform(self, X):
        """``X`` with the inner estimator's class probabilities prepended."""
        return np.hstack([self.estimator_.predict_proba(X), X])


def _random_forest(seed):
    return RandomForestClassifier(
        n_estimators=48, min_samples_leaf=2, max_features="sqrt", max_depth=16,
        n_jobs=-1, random_state=seed,
    )


def _extra_trees(seed):
    # The default. Random split thresholds and 20 % of the features per split, so the
    # few decisive channels of a ~60-filter bank (the lattice descriptors of a crystal,
    # the fine ridges of a membrane) keep being tried. Each tree sees a 5 % bootstrap
    # of the painted pixels (at least MIN_TREE_SAMPLES): the pixels along a stroke are
    # near-copies of each other, so a few of them per tree say as much, and the trees
    # then disagree where the strokes say little instead of all drawing the same thick
    # border. Against 20 %, two forest seeds: +0.005 mean IoU over 30 benchmark cases
    # (ISBI +0.011, plates +0.017, textures -0.005) and +0.0055 over 66 cases the
    # default was not designed on (grain boundaries +0.05, strokes painted up to the
    # borders -0.009). Leaves of >= 5 pixels keep predictions smooth. (A painting of
    # clicks, not strokes, gets other trees: ``sized_for``.) Classes are
    # weighted to count alike: how many pixels a class has in the strokes says how it
    # was painted (a membrane traced with a thin brush, a matrix dabbed with a wide
    # one), not how much of the image it covers (three seeds, per kind: ISBI +0.027,
    # MetalDAM +0.006, texture +0.003, STEM -0.001, plates -0.011).
    return ExtraTreesClassifier(
        n_estimators=48, min_samples_leaf=5, max_depth=18, max_features=0.2, bootstrap=True,
        max_samples=0.05, class_weight="balanced", n_jobs=-1, random_state=seed,
    )


def _xgboost(seed):
    XGBClassifier = require_extra("xgboost", "automl", "the xgboost classifier").XGBClassifier
    return XGBClassifier(
        n_estimators=120, max_depth=6, learning_rate=0.15, subsample=0.8,
        colsample_bytree=0.8, tree_method="hist", n_jobs=-1, random_state=seed,
    )


def _lightgbm(seed):
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        n_estimators=120, num_leaves=31, learning_rate=0.1, subsample=0.8, subsample_freq=1,
        colsample_bytree=0.8, n_jobs=-1, random_state=seed, verbose=-1,
    )


def _demo_pipeline(seed):
    """The pipeline TPOT found in the original demonstration of this idea."""
    XGBClassifier = require_extra("xgboost", "automl", "the demo_tpot classifier").XGBClassifier

    return make_pipeline(
        RobustScaler(),
        ZeroCount(),
        StackingEstimator(DecisionTreeClassifier(max_depth=8, random_state=seed)),
        XGBClassifier(
            n_estimators=100, max_depth=5, learning_rate=0.1, tree_method="hist",
            n_jobs=-1, random_state=seed,
        ),
    )


CLASSIFIERS = {
    "extra_trees": _extra_trees,
    "random_forest": _random_forest,
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
    "demo_tpot": _demo_pipeline,
}


def make_classifier(name: str | BaseEstimator, random_state: int = 0) -> ClassifierMixin:
    """A fresh, unfitted classifier from a preset name or an estimator to clone."""
    if isinstance(name, BaseEstimator):
        return clone(name)
    key = str(name).strip().lower().replace("-", "_")
    if key not in CLASSIFIERS:
        raise PaintsegError(
            f"unknown classifier {name!r}; choose one of: {', '.join(CLASSIFIERS)}"
        )
    return CLASSIFIERS[key](random_state)


#: Fewest painted pixels each tree of a bootstrapped forest is grown on (or all of them).
#: Above it, smaller bootstraps did better: trees on a fifth of ~540-1400 painted pixels
#: beat trees on at least 500 by 0.003 mean IoU (15 cases, thin strokes), trees on at
#: least 2000 lost 0.010 against a fifth over 30 cases with 2200-10000 painted pixels,
#: and a twentieth beat a fifth (see ``_extra_trees``).
MIN_TREE_SAMPLES = 100

#: Side (px) of the cells a painting's pixels are counted in (``Painting``): painted
#: pixels closer than this share the finest filters' support (sigma 0.7-1.6) and are
#: near-copies of one look at the image.
CELL = 4
#: Most cells a painted patch covers on average for the painting to count as clicks
#: (dots of up to ~10 px, the shortest strokes). Of 186 benchmark paintings,
#: strokes cover 6.3-80 cells per patch (median 26), random pixels 1, dots of 3 px about
#: 2, of 7 px about 5. Fitted as clicks, the 8 stroke paintings of at most 8 cells per
#: patch (half-size images, 1-px brushes) gained 0.008 on average, the 14 of at most 12
#: 0.001, all 186 lost 0.002 (plates -0.046); dots of 7 px gained 0.017.
CLICK_CELLS = 8


@dataclass(frozen=True)
class Painting:
    """How a set of stroke masks was painted: its pixels, the cells of ``CELL`` px (per
    class) they fall in, and its patches (8-connected, per class).

    Strokes are long patches of near-copies: a brush paints ~9 pixels per cell (median
    of the benchmark, 5-6 for a 1-px brush) along a few looks at the image. Clicks are
    small patches, each its own look, scattered over the image, borders included. A
    forest learns from them differently (``sized_for``).
    """

    pixels: int
    cells: int
    patches: int

    @property
    def clicks(self) -> bool:
        """Whether the painting is clicks (small scattered patches) rather than strokes."""
        return 0 < self.cells <= CLICK_CELLS * self.patches

    @property
    def redundancy(self) -> float:
        """Painted pixels per cell: 1 for single-pixel clicks, ~9 for brush strokes."""
        return self.pixels / max(self.cells, 1)

    def independent(self, n_samples: int) -> float:
        """The cells that ``n_samples`` of the painted pixels, drawn at random, are
        expected to cover: all of them for every pixel, ``n_samples`` for 1-px clicks."""
        if self.pixels <= 0:
            return float(n_samples)
        drawn = min(max(n_samples, 0) / self.pixels, 1.0)
        return self.cells * (1.0 - (1.0 - drawn) ** self.redundancy)


def painting_of(masks) -> Painting:
    """The ``Painting`` of stroke masks (one mask or several; 0 unlabelled, ``IGNORE``
    not a class)."""
    if isinstance(masks, np.ndarray) and masks.ndim == 2:
        masks = [masks]
    pixels = cells = patches = 0
    for mask in masks:
        mask = np.asarray(mask)
        band, row_of = painted_rows(mask)  # the painted rows alone: strokes cover few
        rows, cols = np.nonzero((band > 0) & (band != IGNORE))
        if not len(rows):
            continue
        labels = band[rows, cols].astype(np.int64)
        keys = (labels * (mask.shape[0] // CELL + 1) + row_of[rows] // CELL) * (mask.shape[1] // CELL + 1)
        pixels += len(rows)
        cells += len(np.unique(keys + cols // CELL))
        for k in np.unique(labels):
            patches += cv2.connectedComponents((band == k).astype(np.uint8), connectivity=8)[0] - 1
    return Painting(pixels, cells, patches)


#: Share of a click painting's independent looks each tree is bootstrapped on (as many as
#: there are, drawn with replacement: the classic bootstrap).
CLICK_SHARE = 1.0


def sized_for(estimator: ClassifierMixin, n_samples: int,
              painting: Painting | None = None) -> ClassifierMixin:
    """``estimator`` sized for the ``n_samples`` painted pixels it is fitted on.

    Strokes (or no painting given): a bootstrap fraction becomes a count of at least
    ``MIN_TREE_SAMPLES`` pixels (all of them when fewer are painted). A small fraction of
    a few hundred painted pixels would leave each tree fewer pixels than two leaves need,
    and the forest would then answer the class prior everywhere.

    Clicks (``Painting.clicks``): a forest with a bootstrap draws as many pixels as the
    clicks are independent looks (``CLICK_SHARE`` of ``Painting.independent``), and its
    leaves hold at most half the painted pixels per cell (``min_samples_leaf`` lowered,
    never raised: 1 for single-pixel clicks). Smooth trees on a few near-copies
    interpolate between strokes; clicks cover the image, its borders included, and fine
    trees on many of them follow those borders. Measured with pixels drawn at random from
    the truth of 186 benchmark images (0.5 % of the pixels): +0.073 mean IoU against the
    forest sized for strokes; with dots of 3 px: +0.040; of 7 px: +0.017.

    A pipeline's final estimator is sized the same way, so a pipeline holding the default
    forest (AutoML's kept default, its exported script) fits the very forest the default
    model does.
    """
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator  # a pipeline's model
    params = final.get_params()
    fraction = params.get("max_samples")
    if not params.get("bootstrap"):
        return estimator
    clicks = painting is not None and painting.clicks
    if clicks:
        count = max(int(CLICK_SHARE * painting.independent(n_samples)),
                    min(n_samples, MIN_TREE_SAMPLES))
        final.set_params(max_samples=int(min(count, n_samples)))
        leaf = params.get("min_samples_leaf")
        if isinstance(leaf, int) and not isinstance(leaf, bool):
            final.set_params(min_samples_leaf=int(np.clip(round(painting.redundancy / 2), 1, leaf)))
    elif isinstance(fraction, float):
        count = max(int(fraction * n_samples), min(n_samples, MIN_TREE_SAMPLES))
        final.set_params(max_samples=int(count))
    return estimator
