"""FID, KID and IS of generated images against reference images: `FIDEvaluator`."""

import dataclasses
import functools
import math
import warnings

from tfattngan.metrics.cache import PREPROCESSING
from tfattngan.metrics.cache import FeatureCache
from tfattngan.metrics.cache import source_fingerprint
from tfattngan.metrics.distances import frechet_distance
from tfattngan.metrics.distances import inception_score_from_logits
from tfattngan.metrics.distances import kernel_distance_from_features
from tfattngan.metrics.extractor_loading import load_extractor
from tfattngan.metrics.features import compute_features
from tfattngan.metrics.image_input import as_source
from tfattngan.metrics.image_input import image_count
from tfattngan.metrics.image_input import source_options
from tfattngan.metrics.sample_size import KID_BLOCK_SIZE
from tfattngan.metrics.sample_size import MAX_KID_FEATURES
from tfattngan.metrics.sample_size import fid_warnings
from tfattngan.metrics.sample_size import require_images


def features_of(images, extractor, *, cache=None, num_samples=None, seed=0, image_size=None, channels=None,
                center_crop=None, data_dir=None, max_features=MAX_KID_FEATURES, **options):
    """`compute_features` of `images`, through `cache` when they are a data set.

    A data set (spec string or `DataSource`) with a `FeatureCache` is looked
    up by everything its features depend on (see `tfattngan.metrics.cache`)
    and computed and saved only when missing; a cache entry keeps
    `MAX_KID_FEATURES` feature vectors whatever `max_features` asks, so that
    one entry serves every metric. Arrays, datasets and generators are
    always computed.

    Args:
        images: anything `image_stream` accepts.
        extractor: an `InceptionExtractor`.
        cache: a `FeatureCache`, or `None` for no cache. Defaults to `None`.
        num_samples, seed, image_size, channels, center_crop, data_dir: as
            in `image_stream`.
        max_features: int, feature vectors to keep of computed (not
            cached) images. Defaults to `10000`.
        **options: `batch_size`, `progress`, `label` for `compute_features`.

    Returns:
        An `ImageFeatures`.

    Example:

    >>> import tempfile, keras
    >>> from tfattngan.metrics.extractor_loading import keras_extractor
    >>> mean_colour = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> cache = FeatureCache(tempfile.mkdtemp())
    >>> for _ in range(2):
    ...     result = features_of("builtin:16", keras_extractor(mean_colour), cache=cache, num_samples=20)
    >>> result.count, cache.misses, cache.hits
    (20, 1, 1)
    """
    stream_options = dict(seed=seed, image_size=image_size, channels=channels, center_crop=center_crop)
    source = as_source(images, data_dir)
    if source is None or cache is None:
        return compute_features(
            images if source is None else source, extractor, num_samples=num_samples, max_features=max_features,
            **stream_options, **options,
        )
    image_size, channels = source_options(source, image_size, channels)
    count = image_count(source, num_samples)
    description = {
        "data": source.name,
        "fingerprint": source_fingerprint(source),
        "image_size": image_size,
        "channels": channels,
        "center_crop": center_crop,
        "count": count,
        "seed": seed,
        "preprocessing": PREPROCESSING,
        "max_features": MAX_KID_FEATURES,
        "weights_sha256": extractor.checksum,
    }
    stream_options.update(image_size=image_size, channels=channels)
    return cache.get_or_compute(
        description,
        lambda: compute_features(
            source, extractor, num_samples=count, max_features=MAX_KID_FEATURES, **stream_options, **options
        ),
    )


@dataclasses.dataclass
class EvaluationResult:
    """FID, KID and IS of one set of generated images against reference images.

    Attributes:
        fid: float, the Fréchet Inception Distance.
        kid: float, the Kernel Inception Distance (block estimate).
        kid_std: float, KID's standard error; NaN with a single block.
        inception_score: float, or `None` when the network has no logits.
        inception_score_std: float over the splits, or `None`.
        num_reference: int, reference images.
        num_generated: int, generated images.
        weights: dict naming the Inception weights (`kind`, `source`,
            `sha256`).
        warnings: list of one-line warnings about the result, such as an
            FID of fewer images than feature dimensions (`fid_warnings`).
            Defaults to `[]`.

    Example:

    >>> EvaluationResult(12.5, 0.01, 0.002, None, None, 100, 100, {"kind": "keras"}).fid
    12.5
    """

    fid: float
    kid: float
    kid_std: float
    inception_score: object
    inception_score_std: object
    num_reference: int
    num_generated: int
    weights: dict
    warnings: list = dataclasses.field(default_factory=list)

    def as_dict(self):
        """The fields as a JSON-ready dict (NaN becomes `None`).

        Example:

        >>> result = EvaluationResult(1.5, 0.01, float("nan"), None, None, 10, 10, {})
        >>> result.as_dict()["kid_std"] is None
        True
        """
        values = dataclasses.asdict(self)
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in values.items()}


def evaluate_features(reference, generated, extractor, max_block_size=KID_BLOCK_SIZE, splits=10):
    """FID, KID and IS from the `ImageFeatures` of reference and generated images.

    FID uses the float64 statistics of all images (`frechet_distance`),
    KID the kept feature vectors (`kernel_distance_from_features`), IS the
    generated images' logits in `min(splits, count)` splits, or is `None`
    when `extractor` has no logits. The result's `warnings` name the sets
    with fewer images than feature dimensions.

    Returns:
        An `EvaluationResult`.

    Example:

    >>> import numpy as np, keras
    >>> from tfattngan.metrics.extractor_loading import keras_extractor
    >>> mean_colour = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> extractor = keras_extractor(mean_colour)
    >>> rng = np.random.default_rng(0)
    >>> real = compute_features(rng.integers(0, 256, (20, 8, 8, 3), dtype=np.uint8), extractor)
    >>> result = evaluate_features(real, real, extractor)
    >>> abs(result.fid) < 1e-9, result.inception_score, result.warnings
    (True, None, [])
    """
    kid = kernel_distance_from_features(reference.features, generated.features, max_block_size=max_block_size)
    score = None
    if extractor.has_logits:
        score = inception_score_from_logits(generated.logits, splits=min(splits, generated.count))
    return EvaluationResult(
        fid=frechet_distance(reference.statistics, generated.statistics),
        kid=kid.mean,
        kid_std=kid.std,
        inception_score=None if score is None else score.mean,
        inception_score_std=None if score is None else score.std,
        num_reference=reference.count,
        num_generated=generated.count,
        weights=extractor.describe(),
        warnings=fid_warnings({"reference": reference.count, "evaluated": generated.count},
                              reference.statistics.dim),
    )


class FIDEvaluator:
    """Evaluates generators against one reference set, whose features are computed once.

    Made for evaluation during training: the image counts are checked and
    the Inception network is loaded at construction (so too few images or a
    missing weights file fail at once), the reference features are computed
    on first use and, for a data set, cached on disk (`FeatureCache`), and
    every call then costs only the generated images.

    Args:
        reference: the real images: a `DataSource` or data set spec
            (cached), or arrays / a dataset (computed once per evaluator).
        num_samples: int, images to generate per evaluation (at least 2;
            FID warns below the feature dimensions, see `fid_warnings`).
        image_size: int, the size a data set is resized to, normally the
            generator's; `None` for the data's own. Defaults to `None`.
        channels: 1 or 3, a data set's channels, normally the generator's;
            `None` for the data's own. Defaults to `None`.
        center_crop: int or `None`, a data set's centre crop, as in
            training. Defaults to `None`.
        num_reference: int, reference images (at most the data's size);
            `None` for `num_samples`. Defaults to `None`.
        weights: Inception weights, see `load_extractor`; `None` for
            `$TFATTNGAN_INCEPTION_WEIGHTS`. Defaults to `None`.
        batch_size: int, images per Inception call. Defaults to `32`.
        seed: int, the seed of the reference order and of the generated
            latents (the same images at every evaluation). Defaults to `0`.
        cache_dir: path of the feature cache, or `None` for
            `default_cache_dir()`. Defaults to `None`.
        data_dir: tensorflow-datasets folder for `tfds:` specs. Defaults to
            `None`.
        progress: bool or `None`, progress lines on stderr (`None`: for long
            runs). Defaults to `None`.

    Example:

    >>> import tempfile, keras, numpy as np
    >>> mean_colour = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> evaluator = FIDEvaluator("builtin:16", num_samples=16, weights=mean_colour, cache_dir=tempfile.mkdtemp())
    >>> evaluator.reference_statistics.count
    16
    >>> grey = lambda count: np.zeros((count, 16, 16, 1), "float32")
    >>> evaluator.fid(grey) > 0.01
    True
    """

    def __init__(self, reference, num_samples, *, image_size=None, channels=None, center_crop=None,
                 num_reference=None, weights=None, batch_size=32, seed=0, cache_dir=None, data_dir=None,
                 progress=None):
        self.reference = as_source(reference, data_dir) or reference
        self.num_samples = num_samples
        self.num_reference = num_reference or num_samples
        require_images({"reference": image_count(self.reference, self.num_reference), "generated": num_samples})
        self.extractor = load_extractor(weights)
        self.cache = FeatureCache(cache_dir)
        self.options = dict(batch_size=batch_size, seed=seed, progress=progress)
        self.reference_options = dict(image_size=image_size, channels=channels, center_crop=center_crop)

    @functools.cached_property
    def reference_features(self):
        """`ImageFeatures` of the reference images (computed or read once)."""
        return features_of(
            self.reference, self.extractor, cache=self.cache, num_samples=self.num_reference,
            label="Reference features", **self.reference_options, **self.options,
        )

    @property
    def reference_statistics(self):
        """`FeatureStatistics` of the reference images."""
        return self.reference_features.statistics

    def generated_features(self, generator, max_features=MAX_KID_FEATURES):
        """`ImageFeatures` of `num_samples` images from `generator` (see `image_stream`)."""
        return compute_features(
            generator, self.extractor, num_samples=self.num_samples, max_features=max_features,
            label="Generated features", **self.options,
        )

    def fid(self, generator):
        """The FID of `num_samples` images from `generator`, as a float (warning when too few, `fid_warnings`)."""
        reference = self.reference_statistics
        generated = self.generated_features(generator, max_features=0).statistics
        distance = frechet_distance(reference, generated)
        for warning in fid_warnings({"reference": reference.count, "generated": generated.count}, reference.dim):
            warnings.warn(warning, stacklevel=2)
        return distance

    def evaluate(self, generator, max_block_size=KID_BLOCK_SIZE, splits=10):
        """FID, KID and (where the network has logits) IS of `generator`: an `EvaluationResult`.

        Too few images for KID's blocks are refused before any features are computed.
        """
        counts = {"reference": image_count(self.reference, self.num_reference), "generated": self.num_samples}
        require_images(counts, kid_block_size=max_block_size)
        reference = self.reference_features
        return evaluate_features(reference, self.generated_features(generator), self.extractor, max_block_size, splits)
