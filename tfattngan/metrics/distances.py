"""FID, KID and IS from features and logits, by tensorflow-gan's classifier_metrics.

Two paths give the Fréchet distance, both in float64 and both on
tensorflow-gan's mathematics:

* `frechet_distance_from_features(a, b)`: features in memory go to
  `frechet_classifier_distance_from_activations` as they are.
* `frechet_distance(statistics_a, statistics_b)`: streaming statistics
  (`FeatureStatistics`, possibly read from the cache) hold only a mean and a
  covariance, which that function cannot take; the distance
  `|m_a - m_b|^2 + tr(C_a) + tr(C_b) - 2 tr((C_a C_b)^(1/2))` is then
  computed with the same formula, its matrix term as tensorflow-gan's
  `trace_sqrt_product` computes it, `tr((sqrt(C_a) C_b sqrt(C_a))^(1/2))`, but
  with NumPy's symmetric eigendecompositions (`eigh`) in float64 instead of
  its two SVDs: at Inception's 2048 dimensions 2 s instead of 13 s on a
  2-core CPU, paid at every evaluation during training. Both use the
  unbiased covariance (divided by `N - 1`); the tests check the two paths
  against each other and against `scipy.linalg.sqrtm`.
"""

import collections
import contextlib

import numpy as np
import tensorflow as tf

from tfattngan.errors import UserInputError
from tfattngan.metrics.sample_size import KID_BLOCK_SIZE
from tfattngan.metrics.sample_size import kid_block_problem
from tfattngan.metrics.tfgan import classifier_metrics

KernelDistance = collections.namedtuple("KernelDistance", ["mean", "std"])
KernelDistance.__doc__ = """KID: the block estimate's mean and its standard error (NaN for one block).

Example:

>>> KernelDistance(0.012, 0.001).mean
0.012
"""
InceptionScore = collections.namedtuple("InceptionScore", ["mean", "std"])
InceptionScore.__doc__ = """IS: mean and standard deviation over the splits.

Example:

>>> mean, std = InceptionScore(8.5, 0.1)
>>> mean
8.5
"""


def _as_2d(name, values):
    values = np.asarray(values)
    if values.ndim != 2 or values.dtype.kind not in "fiu" or values.shape[0] < 2:
        raise UserInputError(f"{name} must be a numeric array [N >= 2, D], got {values.dtype} {list(values.shape)}")
    return values.astype(np.float64)


def _check_same_dim(a, b):
    if a.shape[1] != b.shape[1]:
        raise UserInputError(
            f"features of {a.shape[1]} and {b.shape[1]} dimensions cannot be compared; "
            "compute both with the same Inception weights"
        )


@contextlib.contextmanager
def _quiet_tensorflow_deprecations():
    """Hides tensorflow-gan's `map_fn(back_prop=False)` deprecation notice."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


def frechet_distance_from_features(features1, features2):
    """FID of two feature arrays, by `frechet_classifier_distance_from_activations`.

    Args:
        features1: array `[N1, D]`, e.g. Inception pool_3 features of real
            images.
        features2: array `[N2, D]`, of generated images.

    Returns:
        The Fréchet distance as a Python float, computed in float64.

    Raises:
        UserInputError: not two numeric `[N >= 2, D]` arrays of one `D`.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(500, 4)), rng.normal(size=(500, 4)) + 1.0
    >>> abs(frechet_distance_from_features(a, a)) < 1e-9, frechet_distance_from_features(a, b) > 3.5
    (True, True)
    """
    features1, features2 = _as_2d("features1", features1), _as_2d("features2", features2)
    _check_same_dim(features1, features2)
    distance = classifier_metrics().frechet_classifier_distance_from_activations(
        tf.constant(features1), tf.constant(features2)
    )
    return float(distance)


def frechet_distance(statistics1, statistics2):
    """FID of two `FeatureStatistics` (mean and covariance), in float64.

    The module docstring says how this relates to
    `frechet_distance_from_features`: the same formula on the same unbiased
    covariances, with tensorflow-gan's `trace_sqrt_product` for
    `tr((C1 C2)^(1/2))`.

    Args:
        statistics1: `FeatureStatistics` of the real images (at least 2).
        statistics2: `FeatureStatistics` of the generated images.

    Returns:
        The Fréchet distance as a Python float.

    Example:

    >>> from tfattngan.metrics.statistics import FeatureStatistics
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(500, 4)), rng.normal(size=(500, 4)) + 1.0
    >>> by_statistics = frechet_distance(FeatureStatistics.from_features(a), FeatureStatistics.from_features(b))
    >>> abs(by_statistics - frechet_distance_from_features(a, b)) < 1e-9
    True
    """
    if statistics1.dim != statistics2.dim:
        raise UserInputError(
            f"features of {statistics1.dim} and {statistics2.dim} dimensions cannot be compared; "
            "compute both with the same Inception weights"
        )
    covariance1 = np.asarray(statistics1.covariance, np.float64)
    covariance2 = np.asarray(statistics2.covariance, np.float64)
    mean_term = float(np.sum(np.square(statistics1.mean - statistics2.mean)))
    trace_term = float(np.trace(covariance1) + np.trace(covariance2)) - 2.0 * trace_sqrt_product(covariance1, covariance2)
    return mean_term + trace_term


def trace_sqrt_product(covariance1, covariance2):
    """`tr((C1 C2)^(1/2))` of two covariance matrices, as `tr((sqrt(C1) C2 sqrt(C1))^(1/2))`.

    The construction of tensorflow-gan's `trace_sqrt_product`: `C1 C2` and
    `sqrt(C1) C2 sqrt(C1)` have the same eigenvalues, and the latter is
    symmetric positive semi-definite, so the trace of its square root is
    the sum of the square roots of its eigenvalues. Both steps use float64
    symmetric eigendecompositions; as in tensorflow-gan, eigenvalues below
    1e-10 (the null space of a covariance of fewer images than dimensions,
    up to rounding) are kept as they are rather than square-rooted, which
    would turn rounding noise into a bias.

    Example:

    >>> c1, c2 = np.diag([4.0, 9.0]), np.diag([1.0, 4.0])
    >>> round(trace_sqrt_product(c1, c2), 12)  # sqrt(4) + sqrt(36)
    8.0
    """
    values, vectors = np.linalg.eigh(np.asarray(covariance1, np.float64))
    root = (vectors * _root_of_eigenvalues(values)) @ vectors.T
    product = root @ np.asarray(covariance2, np.float64) @ root
    return float(np.sum(_root_of_eigenvalues(np.linalg.eigvalsh((product + product.T) / 2.0))))


def _root_of_eigenvalues(values, eps=1e-10):
    values = np.clip(values, 0.0, None)
    return np.where(values < eps, values, np.sqrt(values))


def kernel_distance_from_features(features1, features2, max_block_size=KID_BLOCK_SIZE, shuffle_seed=0):
    """KID and its standard error, by `kernel_classifier_distance_and_std_from_activations`.

    The unbiased MMD^2 with the cubic polynomial kernel
    `k(x, y) = (x.y / D + 1)^3`, estimated on blocks of at most
    `max_block_size` features of each set (the blocks pair up in order);
    the result is the mean of the block estimates and the standard error
    of that mean (NaN when there is one block, that is when neither set has
    more than `max_block_size` features). The block estimator assumes both
    sets are in random order, so both are first permuted with
    `shuffle_seed`.

    Args:
        features1: array `[N1, D]`.
        features2: array `[N2, D]`.
        max_block_size: int, the largest block. Defaults to `1024`
            (tensorflow-gan's default).
        shuffle_seed: int seed of the permutation, or `None` to keep the
            given order. Defaults to `0`.

    Returns:
        `KernelDistance(mean, std)` of Python floats.

    Raises:
        UserInputError: bad arrays, or a set too small for its blocks
            (each block needs 2 features of each set).

    Example:

    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    >>> result = kernel_distance_from_features(a, b, max_block_size=100)
    >>> abs(result.mean) < 4 * result.std
    True
    """
    features1, features2 = _as_2d("features1", features1), _as_2d("features2", features2)
    _check_same_dim(features1, features2)
    problem = kid_block_problem(len(features1), len(features2), max_block_size)
    if problem is not None:
        raise UserInputError(problem)
    if shuffle_seed is not None:
        rng = np.random.default_rng(shuffle_seed)
        features1, features2 = rng.permutation(features1), rng.permutation(features2)
    with _quiet_tensorflow_deprecations():
        mean, std = classifier_metrics().kernel_classifier_distance_and_std_from_activations(
            tf.constant(features1), tf.constant(features2), max_block_size=max_block_size
        )
    return KernelDistance(float(mean), float(std))


def inception_score_from_logits(logits, splits=10):
    """IS of classifier logits, by `classifier_score_from_logits` on each split.

    The logits are cut into `splits` consecutive parts of (nearly) equal size,
    as in the original Inception Score code; each part's score
    `exp(E[KL(p(y|x) || p(y))])` comes from tensorflow-gan in float64.

    Args:
        logits: array `[N, classes]` (1008 for the Inception graph).
        splits: int, number of parts. Defaults to `10`.

    Returns:
        `InceptionScore(mean, std)` over the parts (population std, as the
        original code).

    Example:

    >>> confident = np.eye(10)[np.arange(100) % 10] * 50.0
    >>> round(inception_score_from_logits(confident).mean, 3)
    10.0
    """
    logits = _as_2d("logits", logits)
    if isinstance(splits, bool) or not isinstance(splits, int) or not 1 <= splits <= len(logits):
        raise UserInputError(f"splits must be an int from 1 to the {len(logits)} images, got {splits!r}")
    metrics = classifier_metrics()
    scores = [float(metrics.classifier_score_from_logits(tf.constant(part))) for part in np.array_split(logits, splits)]
    return InceptionScore(float(np.mean(scores)), float(np.std(scores)))
