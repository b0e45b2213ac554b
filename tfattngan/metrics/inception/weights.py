"""Finding and loading the FID Inception weights archive (never downloaded)."""

import os
import pathlib
import zipfile

import keras
import numpy as np

from tfattngan.errors import UserInputError

WEIGHTS_ENV = "TFATTNGAN_INCEPTION_WEIGHTS"
BATCH_NORM_EPSILON = 0.001
LOGITS_WEIGHT = "logits.weight"  # [1008, 2048], PyTorch's (out, in) like the convolutions
LOGITS_BIAS = "logits.bias"  # [1008]; kept with the weight, unused by the Inception Score
_HOW_TO_GET = (
    f"pass weights_path= or set {WEIGHTS_ENV} to fid_inception_v3_weights.npz, the NumPy archive "
    "of the FID Inception-v3 weights (the TF inception-2015-12-05 graph's pool_3 network as "
    "float32 arrays keyed like 'mixed_4.tower.conv.weight'), made from classify_image_graph_def.pb in "
    "inception-2015-12-05.tgz by python -m tfattngan.metrics.inception.convert; nothing is downloaded"
)


def resolve_weights_path(weights_path=None):
    """The weights archive's path: the argument, else `$TFATTNGAN_INCEPTION_WEIGHTS`.

    Args:
        weights_path: path-like or `None`. Defaults to `None` (use the
            environment variable).

    Returns:
        A `pathlib.Path` to an existing file.

    Raises:
        UserInputError: neither is given, or the file does not exist.

    Example:

    >>> try:
    ...     resolve_weights_path("no/such/fid_inception_v3_weights.npz")
    ... except UserInputError as error:
    ...     print(str(error).split(";")[0])
    no Inception weights at 'no/such/fid_inception_v3_weights.npz'
    """
    if weights_path is None:
        weights_path = os.environ.get(WEIGHTS_ENV) or None
    if weights_path is None:
        raise UserInputError(f"no Inception weights given; {_HOW_TO_GET}")
    path = pathlib.Path(weights_path).expanduser()
    if not path.is_file():
        raise UserInputError(f"no Inception weights at '{weights_path}'; {_HOW_TO_GET}")
    return path


def _from_archive(path, read):
    """`read(archive)` of the open `.npz` at `path`; an unreadable file is a `UserInputError`."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return read(archive)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise UserInputError(
            f"cannot read Inception weights '{path}' ({error}); {_HOW_TO_GET}"
        ) from None


def _read_archive(path):
    return _from_archive(path, lambda archive: {key: archive[key] for key in archive.files})


def _folded_conv(arrays, name, kernel_shape):
    """Kernel and bias of conv `name` with its batch norm folded in (float64 maths)."""
    try:
        weight, beta, mean, var = (
            arrays[f"{name}.{part}"].astype("float64") for part in ("weight", "beta", "mean", "var")
        )
    except KeyError as error:
        raise UserInputError(
            f"Inception weights archive lacks {error.args[0]!r}; {_HOW_TO_GET}"
        ) from None
    kernel = weight.transpose(2, 3, 1, 0)  # (out, in, kh, kw) -> (kh, kw, in, out)
    if kernel.shape != tuple(kernel_shape):
        raise UserInputError(
            f"Inception weight '{name}.weight' has shape {weight.shape}, expected "
            f"{tuple(kernel_shape[i] for i in (3, 2, 0, 1))}; {_HOW_TO_GET}"
        )
    scale = 1.0 / np.sqrt(var + BATCH_NORM_EPSILON)
    return (kernel * scale).astype("float32"), (beta - mean * scale).astype("float32")


def has_logits(weights_path):
    """Whether the archive holds the classifier logits (`logits.weight`), as converted archives do.

    Example:

    >>> import tempfile
    >>> path = tempfile.mkdtemp() + "/weights.npz"
    >>> np.savez(path, **{"conv.weight": np.zeros(1, "float32")})
    >>> has_logits(path)
    False
    """
    return _from_archive(resolve_weights_path(weights_path), lambda archive: LOGITS_WEIGHT in archive.files)


def _logits_kernel(arrays, kernel_shape):
    """The `[2048, 1008]` kernel of the `logits` layer: `logits.weight` transposed."""
    if LOGITS_WEIGHT not in arrays:
        raise UserInputError(f"Inception weights archive lacks {LOGITS_WEIGHT!r}; {_HOW_TO_GET}")
    kernel = arrays[LOGITS_WEIGHT].T.astype("float32")
    if kernel.shape != tuple(kernel_shape):
        raise UserInputError(
            f"Inception weight {LOGITS_WEIGHT!r} has shape {arrays[LOGITS_WEIGHT].shape}, expected "
            f"{tuple(reversed(kernel_shape))}; {_HOW_TO_GET}"
        )
    return kernel


def load_inception_weights(model, weights_path=None):
    """Loads the archive into `inception_feature_network()`'s convolutions.

    Each convolution `name` takes `name.weight` (PyTorch layout
    `(out, in, kh, kw)`, transposed to Keras' `(kh, kw, in, out)`) and
    its batch norm `name.beta`, `name.mean`, `name.var` (no scale,
    epsilon 0.001), folded into the kernel and bias:
    `kernel * s`, `beta - mean * s` with `s = 1 / sqrt(var + 0.001)`.
    A `logits` layer takes `logits.weight` (`[1008, 2048]`) transposed.

    Args:
        model: the model from `inception_feature_network()`, with or
            without `logits`.
        weights_path: path-like or `None` (use `$TFATTNGAN_INCEPTION_WEIGHTS`).
            Defaults to `None`.

    Returns:
        `model`, with its weights set.

    Raises:
        UserInputError: the archive is missing, unreadable or incomplete.

    Example:

    >>> from tfattngan.metrics.inception.network import inception_feature_network
    >>> try:
    ...     load_inception_weights(inception_feature_network(), "missing.npz")
    ... except UserInputError as error:
    ...     print(str(error).split(";")[0])
    no Inception weights at 'missing.npz'
    """
    arrays = _read_archive(resolve_weights_path(weights_path))
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layer.set_weights(list(_folded_conv(arrays, layer.name, layer.kernel.shape)))
        elif isinstance(layer, keras.layers.Dense):
            layer.set_weights([_logits_kernel(arrays, layer.kernel.shape)])
    return model
