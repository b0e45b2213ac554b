"""Inception networks as feature extractors: the Keras port, a frozen graph, TF-Hub.

Every extractor maps a batch of uint8 images `[N, H, W, 1 or 3]` through
the same preprocessing (`preprocess_images`: half-pixel bilinear resize to
299x299, values in `[-1, 0.9921875]`, grey repeated to RGB) to the network's
2048 pool_3 features and, where the network has its classifier head, the
1008 logits that the Inception Score needs. Which network is used follows
from the `weights` argument (or `$TFATTNGAN_INCEPTION_WEIGHTS`):

* a `.npz` path: the Keras port of the FID network (`inception_feature_model`);
  features only, no logits, so no Inception Score;
* a `.pb` path: the original frozen graph `classify_image_graph_def.pb`
  (see `frozen_graph_extractor`); features and logits;
* a TF-Hub handle (`https://tfhub.dev/tensorflow/tfgan/eval/inception/1`,
  or a folder holding the downloaded module): the module TF-GAN uses, via
  the optional `tensorflow-hub` (`pip install 'tfattngan[hub]'`); features
  and logits;
* a `keras.Model` from `[N, 299, 299, 3]` to `[N, D]`, or an
  `InceptionExtractor`: used as given.
"""

import functools
import hashlib
import os
import pathlib

import keras
import numpy as np

from tfattngan.metrics.extractor import InceptionExtractor
from tfattngan.metrics.extractor import file_sha256
from tfattngan.metrics.inception.frozen_graph import frozen_graph_extractor
from tfattngan.metrics.inception.hub_module import hub_extractor
from tfattngan.metrics.inception.model import feature_function
from tfattngan.metrics.inception.model import inception_feature_model
from tfattngan.metrics.inception.weights import WEIGHTS_ENV
from tfattngan.metrics.inception.weights import resolve_weights_path

IS_UNAVAILABLE = (
    "needs classifier logits: weights from the TF-Hub module tfgan/eval/inception/1 or "
    "classify_image_graph_def.pb; the .npz weights have none"
)


def keras_extractor(model, source=None, checksum=None):
    """An extractor of a Keras feature model (no logits).

    Args:
        model: `keras.Model` from `[N, 299, 299, 3]` inputs in
            `[-1, 0.9921875]` to `[N, D]` features.
        source: str naming the weights, or `None` for the model's name.
            Defaults to `None`.
        checksum: hex SHA-256 of the weights, or `None` to hash the model's
            weight arrays when the checksum is first needed. Defaults to
            `None`.

    Returns:
        An `InceptionExtractor` of kind `"keras"`.

    Example:

    >>> mean_colour = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> extractor = keras_extractor(mean_colour)
    >>> features, logits = extractor(np.full((2, 8, 8, 3), 255, "uint8"))
    >>> features.shape, logits, extractor.has_logits
    ((2, 3), None, False)
    """

    def weights_sha256():
        digest = hashlib.sha256()
        for weight in model.get_weights():
            digest.update(np.ascontiguousarray(weight).tobytes())
        return digest.hexdigest()

    features = feature_function(model)  # traced once per model and image size
    return InceptionExtractor(
        lambda images: (features(images), None),
        kind="keras",
        source=source or model.name,
        checksum=checksum or weights_sha256,
        has_logits=False,
        network=model,
    )


def _hub_handle(spec):
    return spec.startswith(("http://", "https://")) or pathlib.Path(spec).expanduser().is_dir()


@functools.lru_cache(maxsize=2)
def _load(spec, stamp):
    """The extractor of a weights spec; `stamp` (size, mtime) renews the cache entry."""
    del stamp  # only part of the cache key
    if _hub_handle(spec):
        return hub_extractor(spec)
    if spec.endswith(".pb"):
        return frozen_graph_extractor(spec)
    path = resolve_weights_path(spec)
    return keras_extractor(inception_feature_model(path), source=str(path), checksum=lambda: file_sha256(path))


def load_extractor(weights=None):
    """The extractor that `weights` names (see the module docstring).

    A loaded network is kept for the next call with the same file (the two
    most recent ones), so repeated `fid(...)` calls do not rebuild it.

    Args:
        weights: `.npz` or `.pb` path, TF-Hub handle or module folder,
            `keras.Model`, `InceptionExtractor`, or `None` to read
            `$TFATTNGAN_INCEPTION_WEIGHTS`. Defaults to `None`.

    Returns:
        An `InceptionExtractor`.

    Raises:
        UserInputError: nothing given, a missing or unreadable file, a graph
            without the Inception tensors, or a TF-Hub module that cannot be
            loaded (e.g. offline).

    Example:

    >>> from tfattngan.errors import UserInputError
    >>> try:
    ...     load_extractor("no/such/classify_image_graph_def.pb")
    ... except UserInputError as error:
    ...     print(str(error).split(";")[0])
    no frozen Inception graph at 'no/such/classify_image_graph_def.pb'
    """
    if isinstance(weights, InceptionExtractor):
        return weights
    if isinstance(weights, keras.Model):
        return keras_extractor(weights)
    if weights is None:
        weights = os.environ.get(WEIGHTS_ENV) or None
    if weights is None:
        resolve_weights_path(None)  # raises the error that says where to get weights
    spec = os.fspath(weights)
    local = pathlib.Path(spec).expanduser()
    stamp = (local.stat().st_size, local.stat().st_mtime_ns) if local.is_file() else None
    return _load(spec, stamp)
