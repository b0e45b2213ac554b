"""Inception features of many images, streamed in batches with a progress line."""

import dataclasses
import sys
import time

import numpy as np

from tfattngan.errors import UserInputError
from tfattngan.metrics.extractor_loading import keras_extractor
from tfattngan.metrics.image_input import image_stream
from tfattngan.metrics.inception.preprocessing import check_images
from tfattngan.metrics.statistics import FeatureStatistics

PROGRESS_INTERVAL = 30.0  # seconds between progress lines when stderr is not a terminal
AUTO_PROGRESS_BATCHES = 10  # progress=None shows the line for runs longer than this


class FeatureProgress:
    """Images done, images/s and ETA on stderr: redrawn on a terminal, else a line every 30 s.

    Args:
        total: int, the images to expect, or `None` when unknown (no ETA).
        label: str, the line's prefix. Defaults to `"Inception features"`.
        stream: where to write. Defaults to `sys.stderr`.

    Example:

    >>> import io
    >>> out = io.StringIO()
    >>> FeatureProgress(4, stream=out).update(4)
    >>> out.getvalue().split(" | ")[0]
    'Inception features: 4/4 images'
    """

    def __init__(self, total, label="Inception features", stream=None):
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.started = self.last_line = time.perf_counter()
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done, final=False):
        """Records `done` images; `final` (or reaching the total) ends the line."""
        now = time.perf_counter()
        final = final or (self.total is not None and done >= self.total)
        if not (self.interactive or final or now - self.last_line >= PROGRESS_INTERVAL):
            return
        rate = done / max(now - self.started, 1e-9)
        line = f"{self.label}: {done}" + (f"/{self.total}" if self.total else "") + f" images | {rate:.1f} img/s"
        if self.total and rate > 0:
            eta = int((self.total - done) / rate)
            line += f" | ETA {eta // 60}:{eta % 60:02d}"
        if self.interactive:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.last_line = now


@dataclasses.dataclass
class ImageFeatures:
    """What one pass over a set of images gives.

    Attributes:
        statistics: `FeatureStatistics` (float64 mean and covariance) of
            all the images' features.
        features: float32 `[K, D]`, the features of the first
            `K = min(count, max_features)` images (what KID uses).
        logits: float32 `[count, L]` classifier logits, or `None` when the
            network has none.

    Example:

    >>> features = np.eye(4, dtype="float32")
    >>> ImageFeatures(FeatureStatistics.from_features(features), features[:2]).count
    4
    """

    statistics: FeatureStatistics
    features: np.ndarray
    logits: object = None

    @property
    def count(self):
        """How many images the statistics cover."""
        return self.statistics.count


def _padded_call(extractor, batch, batch_size):
    """The extractor on `batch`, padded to `batch_size` so each image size traces once."""
    count = len(batch)
    if count < batch_size:
        padding = np.zeros((batch_size - count,) + batch.shape[1:], np.uint8)
        batch = np.concatenate([batch, padding])
    features, logits = extractor(batch)
    return features[:count], (None if logits is None else logits[:count])


def compute_features(images, extractor, *, num_samples=None, batch_size=32, max_features=None, progress=None,
                     label="Inception features", **stream_options):
    """Streams `images` through `extractor` in batches, keeping float64 statistics.

    Only one batch of 299x299 inputs exists at a time; the mean and
    covariance accumulate in float64 (`FeatureStatistics`), and the first
    `max_features` feature vectors (and all logits) are kept. The last,
    short batch is padded to `batch_size`.

    Args:
        images: anything `image_stream` accepts (arrays, datasets, data
            sets, generators).
        extractor: an `InceptionExtractor` (`load_extractor(...)`).
        num_samples: int, see `image_stream`. Defaults to `None`.
        batch_size: int, images per network call. Defaults to `32`.
        max_features: int, how many feature vectors to keep, or `None` for
            all. Defaults to `None`.
        progress: bool or `None`, write a progress line to stderr; `None`
            shows it for more than 10 batches. Defaults to `None`.
        label: str, the progress line's prefix. Defaults to
            `"Inception features"`.
        **stream_options: `seed`, `image_size`, `channels`, `center_crop`,
            `data_dir`, passed to `image_stream`.

    Returns:
        An `ImageFeatures`.

    Example:

    >>> import keras
    >>> from tfattngan.metrics.extractor_loading import keras_extractor
    >>> mean_colour = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> images = np.random.default_rng(0).integers(0, 256, (7, 8, 8, 3), dtype=np.uint8)
    >>> result = compute_features(images, keras_extractor(mean_colour), batch_size=3, max_features=5)
    >>> result.count, result.features.shape, result.logits
    (7, (5, 3), None)
    """
    stream = image_stream(images, num_samples=num_samples, batch_size=batch_size, **stream_options)
    if max_features is not None and (isinstance(max_features, bool) or max_features < 0):
        raise UserInputError(f"max_features must be an int >= 0 or None, got {max_features!r}")
    if progress is None:
        progress = stream.total is None or stream.total > AUTO_PROGRESS_BATCHES * batch_size
    line = FeatureProgress(stream.total, label) if progress else None
    statistics, kept, logits = FeatureStatistics(), [], []
    for batch in stream.batches:
        batch_features, batch_logits = _padded_call(extractor, batch, batch_size)
        room = len(batch_features) if max_features is None else max(max_features - sum(map(len, kept)), 0)
        if room:
            kept.append(batch_features[:room])
        if batch_logits is not None:
            logits.append(batch_logits)
        statistics.update(batch_features)
        if line is not None:
            line.update(statistics.count)
    if line is not None and line.total != statistics.count:
        line.update(statistics.count, final=True)
    dim = statistics.dim or 0
    features = np.concatenate(kept) if kept else np.zeros((0, dim), np.float32)
    return ImageFeatures(statistics, features, np.concatenate(logits) if logits else None)


def compute_inception_features(images, model, batch_size=32, progress=None):
    """Features of many uint8 images, computed in batches of `batch_size`.

    Each batch goes through `preprocess_images` and `model` in one
    `tf.function`, so only one batch of 299x299 float inputs is held at a
    time; `images` may be a memory-mapped array. The last, short batch is
    padded to full size so the function is traced once per image size.

    Args:
        images: uint8 array `[N, H, W, 1 or 3]` (grey is repeated to RGB).
        model: the feature model, usually `inception_feature_model()`; any
            Keras model from `[N, 299, 299, 3]` to `[N, D]` works.
        batch_size: int, images per model call. Defaults to `32`.
        progress: bool or `None`, write a progress line (images, images/s,
            ETA) to stderr. Defaults to `None`: only for runs of more than
            10 batches.

    Returns:
        A float64 NumPy array `[N, D]` (`D = 2048` for the Inception model).

    Raises:
        UserInputError: the images are not uint8 `[N, H, W, 1 or 3]`, or
            `batch_size` is not a positive int.

    Example:

    >>> import keras
    >>> mean_colour = keras.Sequential(
    ...     [keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> white = np.full((5, 32, 32, 3), 255, "uint8")
    >>> compute_inception_features(white, mean_colour, batch_size=2)[-1].tolist()
    [0.9921875, 0.9921875, 0.9921875]
    """
    images = check_images(images)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UserInputError(f"batch_size must be a positive int, got {batch_size!r}")
    if len(images) == 0:
        return np.empty((0, model.output_shape[-1]), np.float64)
    batch_size = min(batch_size, len(images))
    result = compute_features(images, keras_extractor(model), batch_size=batch_size, progress=progress)
    return result.features.astype(np.float64)
