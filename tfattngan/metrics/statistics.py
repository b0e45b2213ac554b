"""Mean and covariance of features, accumulated batch by batch in float64."""

import numpy as np

from tfattngan.errors import UserInputError


class FeatureStatistics:
    """Running count, mean and covariance of feature vectors, in float64.

    Each `update` computes the batch's mean and centred scatter matrix
    `sum (x - mean_b)(x - mean_b)^T` in float64 and merges them into the
    running ones with Chan, Golub and LeVeque's pairwise formula
    (`M2 = M2_a + M2_b + d d^T n_a n_b / n`, `d = mean_b - mean_a`), so the
    covariance never subtracts two large sums and any batch split gives the
    same result up to float64 rounding. Memory is `O(D^2)` whatever the
    number of images.

    Args:
        mean: float64 `[D]` or `None` for no features yet. Defaults to `None`.
        scatter: float64 `[D, D]`, the centred sum of outer products, or
            `None`. Defaults to `None`.
        count: int, features seen. Defaults to `0`.

    Example:

    >>> x = np.random.default_rng(0).normal(size=(100, 3))
    >>> statistics = FeatureStatistics()
    >>> for batch in np.array_split(x, 7):
    ...     statistics.update(batch)
    >>> statistics.count
    100
    >>> bool(np.allclose(statistics.covariance, np.cov(x, rowvar=False), rtol=0, atol=1e-12))
    True
    """

    def __init__(self, mean=None, scatter=None, count=0):
        self.mean = None if mean is None else np.asarray(mean, np.float64)
        self.scatter = None if scatter is None else np.asarray(scatter, np.float64)
        self.count = int(count)

    @classmethod
    def from_features(cls, features):
        """The statistics of a `[N, D]` array of features, in one update.

        Example:

        >>> FeatureStatistics.from_features(np.eye(2)).mean.tolist()
        [0.5, 0.5]
        """
        statistics = cls()
        statistics.update(features)
        return statistics

    @property
    def dim(self):
        """Feature dimension `D`, or `None` before the first update."""
        return None if self.mean is None else self.mean.shape[0]

    def update(self, features):
        """Adds a batch of features `[n, D]` (any float dtype; n may be 0)."""
        features = np.asarray(features, np.float64)
        if features.ndim != 2 or (self.dim is not None and features.shape[1] != self.dim):
            raise UserInputError(
                f"features must be [n, {self.dim or 'D'}], got {list(features.shape)}; "
                "give every batch from the same feature network"
            )
        count = features.shape[0]
        if count == 0:
            return
        batch_mean = features.mean(axis=0)
        centred = features - batch_mean
        batch_scatter = centred.T @ centred
        if self.count == 0:
            self.mean, self.scatter, self.count = batch_mean, batch_scatter, count
            return
        total = self.count + count
        delta = batch_mean - self.mean
        self.scatter = self.scatter + batch_scatter + np.outer(delta, delta) * (self.count * count / total)
        self.mean = self.mean + delta * (count / total)
        self.count = total

    @property
    def covariance(self):
        """The unbiased covariance `[D, D]` (divides by `count - 1`, like `np.cov`)."""
        if self.count < 2:
            raise UserInputError(
                f"a covariance needs at least 2 feature vectors, got {self.count}; use more images"
            )
        return self.scatter / (self.count - 1)
