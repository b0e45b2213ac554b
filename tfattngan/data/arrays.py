"""In-memory image and label arrays as a `DataSource` (builtin, idx, npz).

Images are checked and stored as uint8 `[N, H, W, C]` with `C` in 1, 3
or 4; `[N, H, W]` arrays get `C = 1`. Conversion rule for other dtypes:
integer arrays must hold values in 0..255 and are cast; float arrays are
read by their range: within [0, 1] as `x * 255`, else within [-1, 1] as
`(x + 1) * 127.5`, else within [0, 255] as they are, each rounded to the
nearest integer. Any other range, or a non-finite value, is an error.
"""

import numpy as np

from tfattngan.data.source import DataSource
from tfattngan.data.source import IndexedReader
from tfattngan.errors import UserInputError


def _as_uint8(images, where):
    """`images` as uint8 following the module's conversion rule."""
    if images.dtype == np.uint8:
        return images
    kind = images.dtype.kind
    if kind not in "uif":
        raise UserInputError(f"{where}: images have dtype {images.dtype}; give uint8, integer or float images.")
    low, high = float(images.min()), float(images.max())
    if kind in "ui":
        if low < 0 or high > 255:
            raise UserInputError(f"{where}: integer images must lie in 0..255, found {low:g}..{high:g}.")
        return images.astype(np.uint8)
    if not np.isfinite(low) or not np.isfinite(high):
        raise UserInputError(f"{where}: images contain NaN or infinite values.")
    for lowest, highest, scale, shift in ((0, 1, 255.0, 0.0), (-1, 1, 127.5, 1.0), (0, 255, 1.0, 0.0)):
        if lowest <= low and high <= highest:
            return np.round((images.astype(np.float32) + shift) * scale).clip(0, 255).astype(np.uint8)
    raise UserInputError(
        f"{where}: float images must lie in [0, 1], [-1, 1] or [0, 255], found [{low:g}, {high:g}]."
    )


def check_images(images, where):
    """Checks an image array and returns it as uint8 `[N, H, W, C]`.

    Args:
        images: array-like `[N, H, W]` or `[N, H, W, C]` with `C` in 1, 3, 4,
            of a dtype the module's conversion rule accepts.
        where: str, names the data in error messages.

    Returns:
        A uint8 NumPy array `[N, H, W, C]`.

    Example:

    >>> check_images(np.full((2, 4, 5), 0.5), "demo").shape
    (2, 4, 5, 1)
    >>> int(check_images(np.full((1, 2, 2, 3), -1.0), "demo").max())
    0
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise UserInputError(
            f"{where}: images have shape {images.shape}; expected [N, H, W] or [N, H, W, C] with C = 1, 3 or 4."
        )
    if images.shape[0] == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise UserInputError(f"{where}: no images (shape {images.shape}); point to a non-empty data set.")
    return _as_uint8(images, where)


def check_labels(labels, num_examples, where):
    """Checks class labels and returns them as int32 `[N]` (or `None`).

    Args:
        labels: array-like `[N]` of non-negative integers, or `None`.
        num_examples: int, the number of images `N`.
        where: str, names the data in error messages.

    Returns:
        An int32 NumPy array `[N]`, or `None` when `labels` is `None`.

    Example:

    >>> check_labels([2, 0, 1], 3, "demo")
    array([2, 0, 1], dtype=int32)
    """
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.shape != (num_examples,):
        raise UserInputError(
            f"{where}: labels have shape {labels.shape} but there are {num_examples} images; "
            f"give one label per image."
        )
    if labels.dtype.kind not in "ui" or labels.min() < 0:
        raise UserInputError(f"{where}: labels must be non-negative integers, got dtype {labels.dtype}.")
    return labels.astype(np.int32)


def array_source(name, images, labels, where):
    """Makes a random-access `DataSource` of image and label arrays.

    Args:
        name: str, the source's stable name.
        images: array-like images, checked by `check_images`.
        labels: array-like labels `[N]`, or `None` for unlabelled data.
        where: str, names the data in error messages.

    Returns:
        A `DataSource`.

    Example:

    >>> source = array_source("demo", np.zeros((6, 4, 4)), [0, 1, 2, 0, 1, 2], "demo")
    >>> source.num_examples, source.image_shape, source.num_classes
    (6, (4, 4, 1), 3)
    """
    images = check_images(images, where)
    labels = check_labels(labels, len(images), where)
    return DataSource(
        name=name,
        num_examples=len(images),
        image_shape=tuple(images.shape[1:]),
        num_classes=0 if labels is None else int(labels.max()) + 1,
        random_access=True,
        reader=IndexedReader(images, labels),
    )
