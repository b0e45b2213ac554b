"""MNIST-style idx files as a `DataSource`.

The idx format: a big-endian int32 magic number (2051 for an images file,
2049 for a labels file: two zero bytes, the type byte 0x08 for unsigned
bytes, the number of dimensions), one big-endian int32 per dimension, then
the uint8 data. Files may be gzip-compressed (detected by content).
"""

import gzip
import pathlib
import warnings
import zlib

import numpy as np

from tfattngan.data.arrays import array_source
from tfattngan.errors import UserInputError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


def read_idx(path, magic):
    """Reads an idx file of unsigned bytes into a NumPy array.

    Args:
        path: str or path, an idx file, raw or gzip-compressed.
        magic: int, the expected magic number: `IMAGES_MAGIC` (2051,
            `[N, H, W]`) or `LABELS_MAGIC` (2049, `[N]`).

    Returns:
        A read-only uint8 NumPy array with the file's dimensions.

    Example:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "labels-idx1-ubyte"
    ...     _ = path.write_bytes(np.array([2049, 3], ">i4").tobytes() + bytes([7, 0, 9]))
    ...     read_idx(path, LABELS_MAGIC)
    array([7, 0, 9], dtype=uint8)
    """
    path = pathlib.Path(path)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise UserInputError(f"{path}: corrupt gzip data ({error}); download the file again.") from None
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise UserInputError(
            f"{path}: not an idx file of the expected kind (magic number {found}, expected {magic}); "
            f"check the file name and download it again."
        )
    dims = np.frombuffer(data[4:header], ">i4").astype(np.int64)
    expected = header + int(np.prod(dims))
    if len(dims) != ndim or len(data) != expected:
        raise UserInputError(
            f"{path}: truncated or corrupt idx file ({len(data)} bytes, expected {expected} "
            f"for dimensions {dims.tolist()}); download it again."
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def _first_existing(folder, names):
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _images_file(path):
    """The images file at `path` (a file, or a folder holding one)."""
    if path.is_file():
        return path
    for prefix in ("train", "t10k"):
        found = _first_existing(path, [f"{prefix}-images-idx3-ubyte", f"{prefix}-images.idx3-ubyte"])
        if found is not None:
            if prefix == "t10k":
                warnings.warn(
                    f"no train-images-idx3-ubyte[.gz] in {path}; using the test split {found.name}",
                    stacklevel=4,
                )
            return found
    raise UserInputError(
        f"no train-images-idx3-ubyte[.gz] or t10k-images-idx3-ubyte[.gz] in {path}; "
        f"point idx: at the folder of the idx files or at an images file."
    )


def load_idx(path):
    """Loads idx images, and labels when their file is beside them.

    Args:
        path: str or path, a folder with `train-images-idx3-ubyte[.gz]`
            (else `t10k-images-idx3-ubyte[.gz]`, with a warning) and optionally
            the matching `*-labels-idx1-ubyte[.gz]`, or one images file whose
            labels file is found by name.

    Returns:
        A random-access `DataSource` named `"idx:<absolute images path>"`.

    Example:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     header = np.array([2051, 2, 3, 3], ">i4").tobytes()
    ...     _ = (pathlib.Path(folder) / "train-images-idx3-ubyte").write_bytes(header + bytes(18))
    ...     source = load_idx(folder)
    >>> source.num_examples, source.image_shape, source.num_classes
    (2, (3, 3, 1), 0)
    """
    images_path = _images_file(pathlib.Path(path).expanduser().resolve())
    stem = images_path.name.removesuffix(".gz")
    labels_path = _first_existing(
        images_path.parent, [stem.replace("images", "labels").replace("idx3", "idx1")]
    )
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = None if labels_path is None else read_idx(labels_path, LABELS_MAGIC)
    return array_source(f"idx:{images_path}", images, labels, str(images_path))
