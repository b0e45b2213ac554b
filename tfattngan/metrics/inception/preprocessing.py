"""uint8 images to the FID Inception network's input, as the reference does it."""

import numpy as np
import tensorflow as tf

from tfattngan.errors import UserInputError
from tfattngan.metrics.inception.network import INPUT_SIZE

INPUT_MAX = 0.9921875  # 255 / 128 - 1: the largest input the original graph sees


def check_images(images):
    """`images` as a uint8 NumPy array `[N, H, W, 1 or 3]`, or a `UserInputError`.

    Example:

    >>> check_images(np.zeros((2, 8, 8, 1), "uint8")).shape
    (2, 8, 8, 1)
    >>> try:
    ...     check_images(np.zeros((2, 8, 8, 3), "float32"))
    ... except UserInputError as error:
    ...     print(str(error).split(";")[0])
    Inception features need uint8 images [N, H, W, 1 or 3], got float32 [2, 8, 8, 3]
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise UserInputError(
            f"Inception features need uint8 images [N, H, W, 1 or 3], got {images.dtype} "
            f"{list(images.shape)}; map [-1, 1] floats with "
            "np.clip(np.rint((x + 1) * 127.5), 0, 255).astype('uint8')"
        )
    return images


def resize_bilinear(images, size):
    """Bilinear resize with half-pixel centres, edge clamping and no antialiasing.

    Output pixel `i` samples the input at `(i + 0.5) * in / out - 0.5`,
    clamped to `[0, in - 1]`, and interpolates linearly between its two
    neighbours, along each axis; downsizing does not low-pass filter first
    (PyTorch's `interpolate(mode="bilinear", align_corners=False)`).

    Args:
        images: float `[N, H, W, C]` tensor or array.
        size: int or `(height, width)`, the output size.

    Returns:
        A float32 `[N, height, width, C]` tensor.

    Example:

    >>> row = np.array([0.0, 1.0], "float32").reshape(1, 1, 2, 1)
    >>> resize_bilinear(row, (1, 4)).numpy().ravel().tolist()
    [0.0, 0.25, 0.75, 1.0]
    """
    size = (size, size) if isinstance(size, int) else tuple(size)
    images = tf.cast(images, tf.float32)
    return tf.image.resize(images, size, method="bilinear", antialias=False)


def _to_rgb(x):
    return tf.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x


def preprocess_batch(images):
    """The traceable body of `preprocess_images`, for a uint8 `[N, H, W, C]` tensor."""
    images = tf.convert_to_tensor(images)
    height, width = images.shape[1], images.shape[2]
    if height == width == INPUT_SIZE:
        return _to_rgb(tf.cast(images, tf.float32) / 128.0 - 1.0)
    x = resize_bilinear(tf.cast(images, tf.float32) / 255.0, INPUT_SIZE)
    return _to_rgb(tf.clip_by_value(x * (1.0 + INPUT_MAX) - 1.0, -1.0, INPUT_MAX))


def preprocess_images(images):
    """uint8 images to the FID Inception network's input, as the reference does.

    Grey images (`C = 1`) are repeated to 3 channels. Images of any other
    size are scaled to `[0, 1]` (`x / 255`), resized to 299x299 with
    `resize_bilinear` (half-pixel centres, edge clamped, no
    antialiasing), mapped by `y * (1 + 0.9921875) - 1` and clamped to
    `[-1, 0.9921875]`. Images that already are 299x299 are mapped by
    `x / 128 - 1`, the original graph's own input scaling: this is the
    same map (a half-pixel resize to the same size is the identity, and
    `x / 255 * (1 + 0.9921875) = x / 128`) without the rounding of the
    detour, so 299x299 images, yours or the reference's, take it.

    Args:
        images: uint8 `[N, H, W, 1 or 3]` array or tensor.

    Returns:
        A float32 `[N, 299, 299, 3]` tensor in `[-1, 0.9921875]`.

    Raises:
        UserInputError: the images are not uint8 `[N, H, W, 1 or 3]`.

    Example:

    >>> grey = np.full((2, 32, 32, 1), 255, "uint8")
    >>> x = preprocess_images(grey)
    >>> tuple(x.shape), float(x.numpy().max())
    ((2, 299, 299, 3), 0.9921875)
    """
    return preprocess_batch(check_images(images))
