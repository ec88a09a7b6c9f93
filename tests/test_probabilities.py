"""Operations on probability maps: one meaning of "unsure" for every number of classes."""

import numpy as np
import pytest

from paintseg.probabilities import smooth_probabilities, top_class, uncertainty


@pytest.mark.parametrize("k", [2, 3, 5])
def test_uncertainty_is_zero_when_sure_and_one_when_every_class_is_equally_likely(k):
    proba = np.zeros((2, 2, k), np.float32)
    proba[0, :, 0] = 1.0
    proba[1, :] = 1.0 / k
    unsure = uncertainty(proba)
    assert unsure.dtype == np.float32
    np.testing.assert_allclose(unsure[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(unsure[1], 1.0, atol=1e-6)


def test_top_class_is_the_arg_max_and_the_max():
    proba = np.random.default_rng(0).dirichlet(np.ones(4), size=(30, 20)).astype(np.float32)
    top, highest = top_class(proba)
    np.testing.assert_array_equal(top, proba.argmax(axis=2))
    np.testing.assert_array_equal(highest, proba.max(axis=2))


def test_smoothing_keeps_probabilities_summing_to_one_and_removes_a_speck():
    proba = np.zeros((64, 64, 2), np.float32)
    proba[..., 0] = 1.0
    proba[30:32, 30:32] = (0.0, 1.0)  # a 2-px speck of class 1
    smoothed = smooth_probabilities(proba, 3.0)
    np.testing.assert_allclose(smoothed.sum(axis=2), 1.0, atol=1e-5)
    assert (smoothed.argmax(axis=2) == 0).all()
    assert smooth_probabilities(proba, 0.0) is proba
