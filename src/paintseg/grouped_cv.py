"""Stroke-grouped cross-validation: the pixels of one stroke stay on one side of a split.

The pixels along a stroke are near-copies of each other, so a plain K-fold over
pixels rates any classifier too well. Both the AutoML search and the accuracy
estimate of ``guidance`` hold out whole strokes (stroke groups: connected
components of each class's painted mask, from ``segmenter.labelled_pixels``) and
use these helpers.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold


def even_over_strokes(y: np.ndarray, groups: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """At most ``cap`` pixels per class, taken as evenly as possible from each stroke."""
    rng = np.random.default_rng(seed)
    keep = []
    for k in np.unique(y):
        members = [np.flatnonzero((y == k) & (groups == g)) for g in np.unique(groups[y == k])]
        budget, remaining = cap, sorted(members, key=len)
        while remaining:
            share = budget // len(remaining)
            idx = remaining.pop(0)
            take = idx if len(idx) <= share else rng.choice(idx, share, replace=False)
            keep.append(take)
            budget -= len(take)
    return np.sort(np.concatenate(keep))


def strokes_per_class(y: np.ndarray, groups: np.ndarray) -> dict[int, int]:
    """How many separate strokes (groups) each class has."""
    return {int(k): len(np.unique(groups[y == k])) for k in np.unique(y)}


def stroke_folds(y: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold index of every pixel: whole strokes per fold, every class in every fold.

    The number of folds is at most the fewest strokes of any class, so each fold
    holds out at least one stroke of every class; callers check that it is >= 2.
    """
    n_splits = int(min(folds, min(strokes_per_class(y, groups).values())))
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    test_fold = np.empty(len(y), np.int64)
    for i, (_, test) in enumerate(splitter.split(np.zeros((len(y), 1)), y, groups)):
        test_fold[test] = i
    return test_fold


def full_proba(estimator, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over all classes 0..K-1, even when a fold's training lacked one."""
    proba = np.full((len(X), n_classes), 1e-6)
    proba[:, np.asarray(estimator.classes_, int)] = estimator.predict_proba(X)
    return proba / proba.sum(axis=1, keepdims=True)
