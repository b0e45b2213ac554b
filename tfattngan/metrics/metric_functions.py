"""`fid`, `kid` and `inception_score` of images, data sets or generators.

Each takes its image arguments in any form `image_stream` accepts (uint8
or [-1, 1] float arrays, `tf.data` datasets, data set specs or
`DataSource`s, generators with `num_samples`), computes Inception features
batch by batch, and hands them to tensorflow-gan's classifier_metrics
(`tfattngan.metrics.distances`). Data set arguments go through the on-disk
feature cache. The Inception weights come from `weights=` or
`$TFATTNGAN_INCEPTION_WEIGHTS` (see `load_extractor`). Fewer than 2 images
of a set are refused before any feature is computed, and an FID of fewer
images than feature dimensions comes with a `UserWarning`
(`tfattngan.metrics.sample_size`).
"""

import warnings

from tfattngan.errors import UserInputError
from tfattngan.metrics.cache import FeatureCache
from tfattngan.metrics.distances import frechet_distance
from tfattngan.metrics.distances import inception_score_from_logits
from tfattngan.metrics.distances import kernel_distance_from_features
from tfattngan.metrics.evaluator import features_of
from tfattngan.metrics.extractor_loading import IS_UNAVAILABLE
from tfattngan.metrics.extractor_loading import load_extractor
from tfattngan.metrics.image_input import as_source
from tfattngan.metrics.image_input import image_count
from tfattngan.metrics.sample_size import KID_BLOCK_SIZE
from tfattngan.metrics.sample_size import fid_warnings
from tfattngan.metrics.sample_size import require_images


def _checked_sets(sets, num_samples, kid_block_size=None):
    """The image sets with their data sets opened once, after refusing too few images."""
    sets = {name: as_source(images) or images for name, images in sets.items()}
    require_images({name: image_count(images, num_samples) for name, images in sets.items()}, kid_block_size)
    return sets.values()


def _features(images, extractor, cache_dir, **options):
    return features_of(images, extractor, cache=FeatureCache(cache_dir), **options)


def fid(real, fake, *, num_samples=None, weights=None, batch_size=32, seed=0, image_size=None, channels=None,
        cache_dir=None, progress=None):
    """The Fréchet Inception Distance between two sets of images.

    Computed from the float64 mean and covariance of each set's pool_3
    features (`frechet_distance`, tensorflow-gan's formula).

    Args:
        real: the reference images (any accepted form).
        fake: the images to evaluate (any accepted form).
        num_samples: int, images of each set: at most this many of data,
            exactly this many from a generator (required there). Defaults to
            `None` (all the data).
        weights: Inception weights (see `load_extractor`). Defaults to
            `None` (`$TFATTNGAN_INCEPTION_WEIGHTS`).
        batch_size: int, images per Inception call. Defaults to `32`.
        seed: int, the order of data sets and the latents of generators.
            Defaults to `0`.
        image_size: int, the size data set arguments are read at; `None`
            for their own. Defaults to `None`.
        channels: 1 or 3 for data set arguments; `None` for their own.
            Defaults to `None`.
        cache_dir: feature cache folder for data set arguments; `None` for
            the default. Defaults to `None`.
        progress: bool or `None`, progress lines on stderr. Defaults to
            `None` (for long runs).

    Returns:
        The FID as a float; with a `UserWarning` when a set has fewer
        images than feature dimensions (2048 for Inception).

    Raises:
        UserInputError: fewer than 2 images of a set, images in a form or
            shape not accepted, or no usable Inception weights.

    Example:

    >>> import numpy as np, keras
    >>> mean_colour = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> images = np.random.default_rng(0).integers(0, 256, (64, 8, 8, 3), dtype=np.uint8)
    >>> abs(fid(images, images, weights=mean_colour)) < 1e-9  # your Inception weights in real use
    True
    """
    real, fake = _checked_sets({"real": real, "fake": fake}, num_samples)
    extractor = load_extractor(weights)
    options = dict(num_samples=num_samples, batch_size=batch_size, seed=seed, image_size=image_size,
                   channels=channels, progress=progress, max_features=0)
    real_features = _features(real, extractor, cache_dir, **options).statistics
    fake_features = _features(fake, extractor, cache_dir, **options).statistics
    distance = frechet_distance(real_features, fake_features)
    for warning in fid_warnings({"real": real_features.count, "fake": fake_features.count}, real_features.dim):
        warnings.warn(warning, stacklevel=2)
    return distance


def kid(real, fake, *, num_samples=None, weights=None, batch_size=32, seed=0, image_size=None, channels=None,
        cache_dir=None, max_block_size=KID_BLOCK_SIZE, progress=None):
    """The Kernel Inception Distance between two sets of images, with its standard error.

    The unbiased block estimate of tensorflow-gan's
    `kernel_classifier_distance_and_std_from_activations` on (at most
    10000 of) each set's features; see `kernel_distance_from_features`.

    Args:
        real, fake, num_samples, weights, batch_size, seed, image_size,
        channels, cache_dir, progress: as in `fid`.
        max_block_size: int, the largest block of the estimator; the
            standard error needs more than one block (NaN otherwise).
            Defaults to `1024`.

    Returns:
        `KernelDistance(mean, std)`.

    Raises:
        UserInputError: as in `fid`, and sets too small for the blocks
            (2 features of each set per block), checked before any feature
            is computed when the counts are known.

    Example:

    >>> import numpy as np, keras
    >>> mean_colour = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> rng = np.random.default_rng(0)
    >>> dark = rng.integers(0, 128, (64, 8, 8, 3), dtype=np.uint8)
    >>> light = rng.integers(128, 256, (64, 8, 8, 3), dtype=np.uint8)
    >>> kid(dark, light, weights=mean_colour, max_block_size=16).mean > 0.1
    True
    """
    real, fake = _checked_sets({"real": real, "fake": fake}, num_samples, kid_block_size=max_block_size)
    extractor = load_extractor(weights)
    options = dict(num_samples=num_samples, batch_size=batch_size, seed=seed, image_size=image_size,
                   channels=channels, progress=progress)
    real_features = _features(real, extractor, cache_dir, **options)
    fake_features = _features(fake, extractor, cache_dir, **options)
    return kernel_distance_from_features(real_features.features, fake_features.features, max_block_size=max_block_size)


def inception_score(images, *, num_samples=None, weights=None, batch_size=32, splits=10, seed=0, progress=None):
    """The Inception Score of images: mean and standard deviation over `splits`.

    Needs a network with its classifier head: the TF-Hub module or the
    frozen graph `classify_image_graph_def.pb` (see `load_extractor`), or
    `.npz` weights converted from that graph (`python -m
    tfattngan.metrics.inception.convert`). Other `.npz` weights have no
    logits, and then this raises rather than return a number that is not
    the Inception Score.

    Args:
        images: the images (any accepted form).
        num_samples, weights, batch_size, seed, progress: as in `fid`.
        splits: int, the parts the score is averaged over (at most the
            number of images). Defaults to `10`.

    Returns:
        `InceptionScore(mean, std)`.

    Raises:
        UserInputError: the weights give no logits, fewer than 2 images, or
            bad images.

    Example:

    >>> import numpy as np, keras
    >>> mean_colour = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> try:
    ...     inception_score(np.zeros((4, 8, 8, 3), "uint8"), weights=mean_colour)
    ... except UserInputError as error:
    ...     print(str(error).split(":")[0])
    the Inception Score needs classifier logits
    """
    (images,) = _checked_sets({"evaluated": images}, num_samples)
    extractor = load_extractor(weights)
    if not extractor.has_logits:
        raise UserInputError(f"the Inception Score {IS_UNAVAILABLE} (got {extractor.kind} weights {extractor.source})")
    result = features_of(images, extractor, num_samples=num_samples, batch_size=batch_size, seed=seed,
                         progress=progress, max_features=0)
    return inception_score_from_logits(result.logits, splits=splits)
