"""`InceptionExtractor`: a feature network run on uint8 image batches, and weight checksums."""

import functools
import hashlib
import pathlib

import tensorflow as tf

_HASH_CHUNK = 1 << 22


class InceptionExtractor:
    """A feature network run on batches of uint8 images.

    Args:
        function: a callable (a `tf.function`, or calling one) from a uint8
            `[N, H, W, C]` tensor to `(features [N, D], logits [N, L])`, or
            to `(features, None)` for a network without a classifier head.
        kind: str, `"keras"`, `"frozen-graph"`, `"tf-hub"` (or your own name).
        source: str, where the weights came from (a path or handle).
        checksum: str, the hex SHA-256 that identifies the weights (the
            reference feature cache is keyed by it), or a function
            returning it, called when first needed.
        has_logits: bool, whether `function` returns logits.
        network: the object `function` runs, kept alive by the extractor.
            Defaults to `None`.

    Call arguments:
        images: uint8 NumPy array `[N, H, W, 1 or 3]`.

    Returns (from a call):
        `(features, logits)`: float32 NumPy arrays `[N, D]` and `[N, L]`,
        logits `None` when `has_logits` is false.

    Example:

    >>> import numpy as np
    >>> def mean_colour(images):
    ...     return tf.reduce_mean(tf.cast(images, tf.float32), axis=[1, 2]), None
    >>> extractor = InceptionExtractor(mean_colour, kind="custom", source="demo", checksum="0" * 64,
    ...                                has_logits=False)
    >>> features, logits = extractor(np.full((2, 8, 8, 3), 255, "uint8"))
    >>> features.tolist(), logits
    ([[255.0, 255.0, 255.0], [255.0, 255.0, 255.0]], None)
    """

    def __init__(self, function, *, kind, source, checksum, has_logits, network=None):
        self.function = function
        self.kind = kind
        self.source = source
        self._checksum = checksum
        self.has_logits = has_logits
        self.network = network

    @functools.cached_property
    def checksum(self):
        """The hex SHA-256 that identifies the weights."""
        return self._checksum() if callable(self._checksum) else self._checksum

    def __call__(self, images):
        features, logits = self.function(tf.constant(images))
        return features.numpy(), (logits.numpy() if self.has_logits else None)

    def describe(self):
        """A dict naming the weights, for metrics.json."""
        return {"kind": self.kind, "source": self.source, "sha256": self.checksum}


def file_sha256(path):
    """The hex SHA-256 of a file's bytes.

    Example:

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as file:
    ...     file_sha256(file.name)[:12]
    'e3b0c44298fc'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def folder_sha256(path):
    """The hex SHA-256 of every file in a folder: relative names and bytes, sorted.

    Example:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     len(folder_sha256(folder))
    64
    """
    digest = hashlib.sha256()
    root = pathlib.Path(path)
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode() + b"\0" + file_sha256(file).encode())
    return digest.hexdigest()


def text_sha256(text):
    """The hex SHA-256 of a string's UTF-8 bytes.

    Example:

    >>> text_sha256("")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(text.encode()).hexdigest()
