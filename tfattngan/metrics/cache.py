"""Reference features of data sets, cached on disk so that they are computed once.

A cache entry is one `.npz` file holding a data set's feature statistics
(count, float64 mean and centred scatter matrix), its first
`max_features` float32 feature vectors (for KID), its logits when the
network has a classifier head, and a JSON description.
Its name is the SHA-256 of everything the features depend on: the data
(spec, and a fingerprint of its content: the image bytes of in-memory
data, each file's name, size and modification time for folders), the image
size, channels and centre crop, the number of images and the seed of their
order, the metric preprocessing, the number of kept features and the
SHA-256 of the Inception weights. Change any of them and the entry is a
different file. Entries are written to a temporary file in the same
folder and renamed into place, so a reader never sees half a file, and an
unreadable entry counts as a miss.

The folder is `$TFATTNGAN_FID_CACHE`, else `$XDG_CACHE_HOME/tfattngan/fid_stats`,
else `~/.cache/tfattngan/fid_stats`. Deleting it is always safe.
"""

import hashlib
import json
import os
import pathlib
import tempfile
import warnings
import zipfile

import numpy as np

from tfattngan.atomic_files import atomic_file
from tfattngan.data.read_errors import reported_read_failures
from tfattngan.data.source import IndexedReader
from tfattngan.metrics.features import ImageFeatures
from tfattngan.metrics.statistics import FeatureStatistics

CACHE_ENV = "TFATTNGAN_FID_CACHE"
PREPROCESSING = "uint8 -> half-pixel bilinear 299x299 -> [-1, 0.9921875], grey to RGB; v1"
_FORMAT = 1


def default_cache_dir():
    """The cache folder: `$TFATTNGAN_FID_CACHE`, else the user's cache folder.

    Example:

    >>> import unittest.mock
    >>> with unittest.mock.patch.dict(os.environ, {CACHE_ENV: "/tmp/fid-cache"}):
    ...     str(default_cache_dir())
    '/tmp/fid-cache'
    """
    if os.environ.get(CACHE_ENV):
        return pathlib.Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "tfattngan" / "fid_stats"


def source_fingerprint(source):
    """A hex SHA-256 of a `DataSource`'s content, cheap to compute.

    In-memory images (builtin, idx, npz): their bytes. A folder: each file's
    path, size and modification time. Streamed (tfds) data: the name alone,
    as tensorflow-datasets versions its data.

    Example:

    >>> from tfattngan.data import load_source
    >>> source_fingerprint(load_source("builtin:16")) == source_fingerprint(load_source("builtin:16"))
    True
    """
    digest = hashlib.sha256(source.name.encode())
    reader = source.reader
    if isinstance(reader, IndexedReader):
        if reader.decode is None:
            digest.update(str(reader.items.shape).encode())
            digest.update(np.ascontiguousarray(reader.items).data)
        else:
            with reported_read_failures(source):  # a file deleted since the folder was checked is named
                for name in reader.items:
                    stat = os.stat(str(name))
                    digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class FeatureCache:
    """Data set features on disk, keyed by what they depend on.

    Args:
        directory: path of the cache folder, or `None` for
            `default_cache_dir()`. Defaults to `None`.

    Attributes:
        hits: int, entries found by `get_or_compute` since creation.
        misses: int, entries computed by it.

    Example:

    >>> import tempfile
    >>> cache = FeatureCache(tempfile.mkdtemp())
    >>> make = lambda: ImageFeatures(FeatureStatistics.from_features(np.eye(3)), np.eye(3, dtype="float32"))
    >>> first = cache.get_or_compute({"data": "demo"}, make)
    >>> second = cache.get_or_compute({"data": "demo"}, make)
    >>> cache.misses, cache.hits, second.count
    (1, 1, 3)
    """

    def __init__(self, directory=None):
        self.directory = pathlib.Path(directory).expanduser() if directory is not None else default_cache_dir()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(description):
        """The entry name of a JSON-serialisable `description` dict.

        Example:

        >>> FeatureCache.key({"a": 1}) == FeatureCache.key({"a": 1}) != FeatureCache.key({"a": 2})
        True
        """
        text = json.dumps({"format": _FORMAT, **description}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def path(self, description):
        """The file of the entry for `description`."""
        return self.directory / f"{self.key(description)}.npz"

    def load(self, description):
        """The cached `ImageFeatures` for `description`, or `None`."""
        path = self.path(description)
        try:
            with np.load(path, allow_pickle=False) as entry:
                statistics = FeatureStatistics(entry["mean"], entry["scatter"], int(entry["count"]))
                logits = entry["logits"] if "logits" in entry.files else None
                return ImageFeatures(statistics, entry["features"], logits)
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
            return None

    def save(self, description, features):
        """Writes an entry atomically; a cache that cannot be written only warns."""
        path = self.path(description)
        statistics = features.statistics
        try:
            with atomic_file(path) as scratch, open(scratch, "wb") as file:
                np.savez(
                    file,
                    mean=statistics.mean,
                    scatter=statistics.scatter,
                    count=np.int64(statistics.count),
                    features=features.features.astype(np.float32),
                    **({} if features.logits is None else {"logits": features.logits.astype(np.float32)}),
                    description=np.array(json.dumps(description, sort_keys=True)),
                )
        except OSError as error:
            warnings.warn(f"could not write the feature cache {path} ({error}); features will be computed again")

    def get_or_compute(self, description, compute):
        """The entry for `description`, computed by `compute()` and saved when missing."""
        features = self.load(description)
        if features is not None:
            self.hits += 1
            return features
        self.misses += 1
        features = compute()
        self.save(description, features)
        return features
