"""`load_source`: from a data spec string to a `DataSource`."""

import os
import pathlib

from tfattngan.data.arrays import array_source
from tfattngan.data.builtin import draw_shapes
from tfattngan.data.folder import load_folder
from tfattngan.data.idx import load_idx
from tfattngan.data.npz import load_npz
from tfattngan.data.tfds_source import load_tfds
from tfattngan.errors import UserInputError

BUILTIN_SIZES = (8, 128)
_SPECS = "builtin, builtin:SIZE, idx:PATH, npz:PATH, folder:PATH (or a folder), tfds:NAME[:SPLIT]"
_PATH_LOADERS = {"idx": load_idx, "npz": load_npz, "folder": load_folder}


def _builtin(size):
    size = size or "32"
    low, high = BUILTIN_SIZES
    if not size.isdigit() or not low <= int(size) <= high:
        raise UserInputError(f"bad builtin size {size!r}; write builtin:SIZE with SIZE from {low} to {high}.")
    images, labels = draw_shapes(image_size=int(size))
    return array_source(f"builtin:{int(size)}", images, labels, "builtin")


def load_source(spec, data_dir=None):
    """Opens the data named by `spec` and checks it, before any training.

    Specs: `"builtin"` (10000 drawn 32x32 RGB images of 4 classes, see
    `draw_shapes`) or `"builtin:SIZE"`; `"idx:PATH"` (MNIST-style idx files,
    see `load_idx`); `"npz:PATH"` or a path ending in `.npz` (see
    `load_npz`); `"folder:PATH"` or an existing folder (image files, see
    `load_folder`); `"tfds:NAME"` or `"tfds:NAME:SPLIT"` (a
    tensorflow-datasets data set, see `load_tfds`).

    Args:
        spec: str or path, the data spec.
        data_dir: str or `None`, the tensorflow-datasets data folder, used by
            `tfds:` specs only. Defaults to `None` (tensorflow-datasets'
            default).

    Returns:
        A `DataSource`.

    Raises:
        UserInputError: for an unknown spec, a missing path, empty data, bad
            shapes or labels, or an unprepared tfds data set while offline.

    Example:

    >>> load_source("builtin").image_shape
    (32, 32, 3)
    >>> load_source("cifar")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: unknown data 'cifar'; give one of builtin, builtin:SIZE, idx:PATH, ...
    """
    spec = os.fspath(spec)
    scheme, colon, rest = spec.partition(":")
    if scheme == "builtin":
        return _builtin(rest)
    if colon and scheme == "tfds":
        return load_tfds(rest, data_dir)
    if colon and scheme in _PATH_LOADERS:
        path = pathlib.Path(rest).expanduser()
        if not path.exists():
            raise UserInputError(f"no such file or folder: {rest!r} (data {spec!r}); check the path.")
        return _PATH_LOADERS[scheme](path)
    path = pathlib.Path(spec).expanduser()
    if path.is_dir():
        return load_folder(path)
    if path.suffix == ".npz" and path.is_file():
        return load_npz(path)
    missing = " (no such file or folder)" if path.suffix == ".npz" or os.sep in spec else ""
    raise UserInputError(f"unknown data {spec!r}{missing}; give one of {_SPECS}.")
