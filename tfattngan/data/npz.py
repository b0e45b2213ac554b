"""A NumPy `.npz` file of images (and labels) as a `DataSource`."""

import pathlib
import zipfile
import zlib

import numpy as np

from tfattngan.data.arrays import array_source
from tfattngan.errors import UserInputError


def load_npz(path):
    """Loads the `images` array, and `labels` if present, of an `.npz` file.

    Args:
        path: str or path of the file. `images` is `[N, H, W]` or
            `[N, H, W, C]` (`C` = 1, 3 or 4), uint8, or integer or float by
            the conversion rule of `tfattngan.data.arrays`; `labels` is
            an optional `[N]` array of non-negative integers.

    Returns:
        A random-access `DataSource` named `"npz:<absolute path>"`.

    Example:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "toy.npz"
    ...     np.savez(path, images=np.zeros((5, 8, 8, 3), np.uint8), labels=np.arange(5) % 2)
    ...     source = load_npz(path)
    >>> source.num_examples, source.image_shape, source.num_classes
    (5, (8, 8, 3), 2)
    """
    path = pathlib.Path(path).expanduser().resolve()
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single .npy array, not named arrays")
        with loaded:
            arrays = {key: loaded[key] for key in ("images", "labels") if key in loaded.files}
            names = sorted(loaded.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise UserInputError(f"{path}: not a readable .npz file ({error}); write it with np.savez.") from None
    if "images" not in arrays:
        raise UserInputError(
            f"{path}: no 'images' array (found {names}); save the images with "
            f"np.savez(path, images=..., labels=...)."
        )
    return array_source(f"npz:{path}", arrays["images"], arrays.get("labels"), str(path))
