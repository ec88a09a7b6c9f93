"""Named classifier presets for pixel classification.

Every preset is a scikit-learn estimator that takes class ids 0..K-1 (the
Segmenter encodes paintseg's 1..K) and has ``predict_proba``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import RobustScaler
from sklearn.tree import DecisionTreeClassifier

from .errors import PaintsegError, require_extra


class ZeroCount(BaseEstimator, TransformerMixin):
    """Prepend, per sample, the count of zero and of non-zero features."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        X = np.asarray(X)
        nonzero = np.count_nonzero(X, axis=1)[:, None]
        zero = X.shape[1] - nonzero
        return np.hstack([nonzero, zero, X]).astype(X.dtype, copy=False)


class StackingEstimator(BaseEstimator, TransformerMixin):
    """Prepend an estimator's class probabilities to the features (stacking)."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y=None):
        self.estimator_ = clone(self.estimator).fit(X, y)
        return self

    def transform(self, X):
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
    # borders -0.009). Leaves of >= 5 pixels keep predictions smooth. Classes are
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


def sized_for(estimator: ClassifierMixin, n_samples: int) -> ClassifierMixin:
    """``estimator`` with its bootstrap fraction turned into a count of at least
    ``MIN_TREE_SAMPLES`` pixels (all of them when fewer are painted).

    A small fraction of a few hundred painted pixels (a small image, a few clicks)
    leaves each tree fewer pixels than two leaves need, and the forest then answers the class
    prior everywhere; a fraction of many pixels is kept as it is. A pipeline's final
    estimator is sized the same way, so a pipeline holding the default forest (AutoML's
    kept default, its exported script) fits the very forest the default model does.
    """
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator  # a pipeline's model
    params = final.get_params()
    fraction = params.get("max_samples")
    if params.get("bootstrap") and isinstance(fraction, float):
        count = max(int(fraction * n_samples), min(n_samples, MIN_TREE_SAMPLES))
        final.set_params(max_samples=int(count))
    return estimator
