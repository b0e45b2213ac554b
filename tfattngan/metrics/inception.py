"""The FID Inception-v3 feature network with its weights, and features of many images."""

import sys
import time
import weakref

import numpy as np
import tensorflow as tf

from tfattngan.errors import UserInputError
from tfattngan.metrics.inception_network import inception_feature_network
from tfattngan.metrics.inception_preprocessing import check_images
from tfattngan.metrics.inception_preprocessing import preprocess_batch
from tfattngan.metrics.inception_weights import load_inception_weights
from tfattngan.metrics.inception_weights import resolve_weights_path

_PROGRESS_INTERVAL = 30.0  # seconds between progress lines when stderr is not a terminal
_AUTO_PROGRESS_BATCHES = 10  # progress=None shows the line for runs longer than this
_feature_functions = weakref.WeakKeyDictionary()


def inception_feature_model(weights_path=None):
    """The FID Inception-v3 network to pool_3, with its weights loaded.

    The network FID, KID and FID-style statistics are conventionally
    computed with: the TensorFlow `inception-2015-12-05` graph up to its
    2048 pool_3 features (no classifier head). Its weights come from
    `fid_inception_v3_weights.npz`, a NumPy archive of that network's
    float32 arrays; they are read from disk, never downloaded.

    Args:
        weights_path: path-like to the `.npz` archive, or `None` to read
            the path from the environment variable
            `TFATTNGAN_INCEPTION_WEIGHTS`. Defaults to `None`.

    Returns:
        A `keras.Model` from `[N, 299, 299, 3]` float32 inputs in
        `[-1, 0.9921875]` (see `preprocess_images`) to `[N, 2048]` features.

    Raises:
        UserInputError: no path is given, or the file is missing, corrupt
            or not the FID Inception archive.

    Example:

    >>> import os
    >>> try:
    ...     inception_feature_model("no/such/fid_inception_v3_weights.npz")
    ... except UserInputError as error:
    ...     print(str(error).split(";")[0])
    no Inception weights at 'no/such/fid_inception_v3_weights.npz'
    >>> if os.environ.get("TFATTNGAN_INCEPTION_WEIGHTS"):
    ...     model = inception_feature_model()  # reads $TFATTNGAN_INCEPTION_WEIGHTS
    ...     assert model.output_shape == (None, 2048)
    """
    weights_path = resolve_weights_path(weights_path)  # fail before building the network
    return load_inception_weights(inception_feature_network(), weights_path)


def _feature_function(model):
    """`model(preprocess_batch(images))` as a `tf.function`, one per model."""
    if model not in _feature_functions:
        model_ref = weakref.ref(model)  # the function must not keep the model alive

        # jit_compile=True gave the same features but ~25% fewer images/s on CPU.
        @tf.function
        def features(images):
            return model_ref()(preprocess_batch(images), training=False)

        _feature_functions[model] = features
    return _feature_functions[model]


class _ProgressLine:
    """Images done, images/s and ETA on stderr: redrawn on a terminal, else a line every 30 s."""

    def __init__(self, total):
        self.total = total
        self.started = self.last_line = time.perf_counter()
        self.interactive = sys.stderr.isatty()

    def update(self, done):
        now = time.perf_counter()
        final = done >= self.total
        if not (self.interactive or final or now - self.last_line >= _PROGRESS_INTERVAL):
            return
        rate = done / max(now - self.started, 1e-9)
        eta = int((self.total - done) / rate) if rate > 0 else 0
        line = (
            f"Inception features: {done}/{self.total} images | {rate:.1f} img/s"
            f" | ETA {eta // 60}:{eta % 60:02d}"
        )
        if self.interactive:
            sys.stderr.write("\r" + line + ("\n" if final else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
        self.last_line = now


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
    total = len(images)
    batch_size = max(min(batch_size, total), 1)
    if progress is None:
        progress = total > _AUTO_PROGRESS_BATCHES * batch_size
    features = None
    function = _feature_function(model)
    progress_line = _ProgressLine(total) if progress else None
    for start in range(0, total, batch_size):
        batch = images[start : start + batch_size]
        count = len(batch)
        if count < batch_size:
            padding = np.zeros((batch_size - count,) + batch.shape[1:], np.uint8)
            batch = np.concatenate([batch, padding])
        values = function(tf.constant(batch)).numpy()[:count]
        if features is None:
            features = np.empty((total, values.shape[-1]), np.float64)
        features[start : start + count] = values
        if progress_line is not None:
            progress_line.update(start + count)
    if features is None:
        features = np.empty((0, model.output_shape[-1]), np.float64)
    return features
