"""FID, KID and IS against NumPy/SciPy references, and the streaming statistics."""

import numpy as np
import pytest

from tests.metrics.references import numpy_fid
from tests.metrics.references import numpy_inception_score
from tests.metrics.references import numpy_mmd_unbiased
from tfattngan.errors import UserInputError
from tfattngan.metrics import FeatureStatistics
from tfattngan.metrics import frechet_distance
from tfattngan.metrics import frechet_distance_from_features
from tfattngan.metrics import inception_score_from_logits
from tfattngan.metrics import kernel_distance_from_features


def _inception_like(rng, count, dim, shift=0.0):
    """Non-negative, skewed features like pool_3 activations (mean ~0.3)."""
    return rng.gamma(0.5, 0.6, size=(count, dim)) + shift


def _streamed(features, sizes):
    statistics = FeatureStatistics()
    for batch in np.split(features, np.cumsum(sizes)[:-1]):
        statistics.update(batch)
    return statistics


def test_streaming_statistics_equal_numpy_mean_and_cov():
    rng = np.random.default_rng(1)
    features = rng.normal(1000.0, 1.0, size=(257, 6)).astype(np.float32)  # a large offset: no cancellation
    statistics = _streamed(features, [1, 0, 100, 31, 125])
    expected = features.astype(np.float64)
    assert statistics.count == 257 and statistics.mean.dtype == np.float64
    np.testing.assert_allclose(statistics.mean, expected.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(statistics.covariance, np.cov(expected, rowvar=False), rtol=0, atol=1e-10)


def test_streaming_statistics_reject_bad_features():
    statistics = FeatureStatistics.from_features(np.zeros((3, 4)))
    with pytest.raises(UserInputError, match=r"features must be \[n, 4\]"):
        statistics.update(np.zeros((3, 5)))
    with pytest.raises(UserInputError, match="at least 2"):
        FeatureStatistics.from_features(np.zeros((1, 4))).covariance


def test_fid_of_a_set_with_itself_is_zero_after_streaming():
    rng = np.random.default_rng(2)
    features = _inception_like(rng, 300, 512)  # fewer images than dimensions, as with small evaluations
    one_pass = FeatureStatistics.from_features(features)
    streamed = _streamed(features, [32] * 9 + [12])
    assert abs(frechet_distance(one_pass, streamed)) < 1e-6
    assert abs(frechet_distance_from_features(features, features)) < 1e-6


def test_fid_paths_equal_scipy():
    rng = np.random.default_rng(3)
    real, fake = _inception_like(rng, 400, 32), _inception_like(rng, 300, 32, shift=0.2) * 1.3
    expected = numpy_fid(real, fake)
    assert expected > 1.0
    by_statistics = frechet_distance(_streamed(real, [64] * 6 + [16]), _streamed(fake, [100] * 3))
    np.testing.assert_allclose(by_statistics, expected, rtol=1e-8)
    np.testing.assert_allclose(frechet_distance_from_features(real, fake), expected, rtol=1e-8)
    # Fewer images than dimensions (singular covariances, as in small evaluations): the eigendecomposition
    # path still agrees with tensorflow-gan's SVD path on the features.
    real, fake = _inception_like(rng, 300, 512), _inception_like(rng, 200, 512, shift=0.2) * 1.3
    np.testing.assert_allclose(frechet_distance(_streamed(real, [100] * 3), _streamed(fake, [50] * 4)),
                               frechet_distance_from_features(real, fake), rtol=1e-7)


def test_fid_rejects_features_of_other_dimensions():
    with pytest.raises(UserInputError, match="8 and 9 dimensions"):
        frechet_distance_from_features(np.zeros((4, 8)), np.zeros((4, 9)))
    with pytest.raises(UserInputError, match="8 and 9 dimensions"):
        frechet_distance(FeatureStatistics.from_features(np.eye(8)), FeatureStatistics.from_features(np.eye(9)))


def test_kid_equals_the_unbiased_mmd_formula():
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(120, 16)), rng.normal(0.3, 1.0, size=(90, 16))
    expected = numpy_mmd_unbiased(real, fake)
    for seed in (None, 0, 5):  # one block: any order gives the same estimate
        result = kernel_distance_from_features(real, fake, shuffle_seed=seed)
        np.testing.assert_allclose(result.mean, expected, rtol=1e-10)
        assert np.isnan(result.std)  # one block has no standard error


def test_kid_blocks_and_standard_error_equal_numpy():
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(300, 8)), rng.normal(0.2, 1.0, size=(240, 8))
    result = kernel_distance_from_features(real, fake, max_block_size=100, shuffle_seed=None)
    estimates = [numpy_mmd_unbiased(r, f) for r, f in zip(np.split(real, 3), np.split(fake, 3))]
    np.testing.assert_allclose(result.mean, np.mean(estimates), rtol=1e-10)
    np.testing.assert_allclose(result.std, np.std(estimates, ddof=1) / np.sqrt(3), rtol=1e-8)


def test_kid_is_unbiased_and_detects_a_shift():
    rng = np.random.default_rng(6)
    same, shifted, biased = [], [], []
    for _ in range(100):
        x, y = rng.normal(size=(40, 16)), rng.normal(size=(40, 16))
        same.append(kernel_distance_from_features(x, y, shuffle_seed=None).mean)
        shifted.append(kernel_distance_from_features(x, y + 0.5, shuffle_seed=None).mean)
        joint = np.concatenate([x, y])
        k = (joint @ joint.T / 16 + 1) ** 3
        biased.append(k[:40, :40].mean() + k[40:, 40:].mean() - 2 * k[:40, 40:].mean())  # the V-statistic
    standard_error = np.std(same, ddof=1) / np.sqrt(len(same))
    assert abs(np.mean(same)) < 3 * standard_error
    assert np.mean(shifted) > 20 * standard_error and min(shifted) > 0
    assert np.mean(biased) > 20 * standard_error  # the test would catch an estimator that keeps the diagonal


def test_kid_rejects_sets_too_small_for_their_blocks():
    with pytest.raises(UserInputError, match="needs at least 6 of each"):
        kernel_distance_from_features(np.zeros((5, 4)), np.ones((300, 4)), max_block_size=100)


def test_inception_score_equals_numpy():
    logits = np.random.default_rng(7).normal(0.0, 3.0, size=(103, 12))
    result = inception_score_from_logits(logits, splits=4)
    np.testing.assert_allclose(result, numpy_inception_score(logits, 4), rtol=1e-9)
    assert inception_score_from_logits(np.zeros((20, 12)), splits=2).mean == pytest.approx(1.0)
    with pytest.raises(UserInputError, match="splits"):
        inception_score_from_logits(logits, splits=0)
