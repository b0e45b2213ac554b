"""Image preprocessing: centre crop, resize, channel conversion, scaling."""

import numpy as np
import tensorflow as tf

from tfattngan.errors import UserInputError
from tfattngan.pixels import from_uint8

DTYPES = ("float32", "uint8")


def check_int(name, value, minimum):
    """Raises `UserInputError` unless `value` is an integer >= `minimum`.

    Example:

    >>> check_int("seed", 0, 0)
    >>> check_int("image_size", 0, 1)
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: image_size must be an integer >= 1, got 0.
    """
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise UserInputError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def check_preprocess_options(image_size, channels, center_crop=None, dtype="float32"):
    """Raises `UserInputError` unless the preprocessing options make sense.

    Args:
        image_size: int, output height and width.
        channels: int, output channels, 1 or 3.
        center_crop: int or `None`, side of the centre crop. Defaults to
            `None`.
        dtype: str, `"float32"` or `"uint8"`. Defaults to `"float32"`.

    Example:

    >>> check_preprocess_options(32, 3)
    >>> check_preprocess_options(32, 2)
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: channels must be 1 (grey) or 3 (RGB), got 2.
    """
    check_int("image_size", image_size, 1)
    if channels not in (1, 3):
        raise UserInputError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}.")
    if center_crop is not None:
        check_int("center_crop", center_crop, 1)
    if dtype not in DTYPES:
        raise UserInputError(f"dtype must be one of {DTYPES}, got {dtype!r}.")


def _convert_channels(image, channels):
    """Float `[..., C]` with C in 1..4 (static or not) to `channels` (1 or 3).

    Grey (C = 1, or 2 with alpha) becomes RGB by repetition; colour (C = 3,
    or 4 with alpha) becomes grey by `tf.image.rgb_to_grayscale`; alpha is
    dropped.
    """
    colour = tf.shape(image)[-1] >= 3
    rgb = tf.gather(image, tf.where(colour, tf.range(3), tf.zeros(3, tf.int32)), axis=-1)
    if channels == 3:
        return rgb
    return tf.where(colour, tf.image.rgb_to_grayscale(rgb), image[..., :1])


def preprocess_image(image, *, image_size, channels, center_crop=None, dtype="float32"):
    """Crops, resizes, converts and scales images for a GAN.

    In order: an optional centre crop to `center_crop` x `center_crop`
    (CelebA's 178x218 to 160); a bilinear resize to `image_size` x
    `image_size`, anti-aliased when shrinking; conversion to `channels`
    (grey to RGB by repetition, RGB to grey by `tf.image.rgb_to_grayscale`,
    alpha dropped); clipping to [0, 255] (the filter can overshoot by rounding) and
    scaling to [-1, 1] by `x / 127.5 - 1`, or rounding back to uint8.

    Args:
        image: uint8 or float tensor in [0, 255], `[H, W, C]` or
            `[B, H, W, C]`, `C` in 1 to 4.
        image_size: int, output height and width.
        channels: int, output channels, 1 or 3.
        center_crop: int or `None`, side of the centre crop. Defaults to
            `None` (no crop).
        dtype: str, `"float32"` for [-1, 1] or `"uint8"` for [0, 255].
            Defaults to `"float32"`.

    Returns:
        A tensor `[..., image_size, image_size, channels]` of `dtype`.

    Example:

    >>> import numpy as np
    >>> grey = np.full((8, 6, 1), 255, np.uint8)
    >>> out = preprocess_image(grey, image_size=4, channels=3, center_crop=6)
    >>> out.shape, float(out.numpy().min()), float(out.numpy().max())
    (TensorShape([4, 4, 3]), 1.0, 1.0)
    """
    check_preprocess_options(image_size, channels, center_crop, dtype)
    image = tf.convert_to_tensor(image)
    if center_crop is not None:
        shape = tf.shape(image)
        image = tf.image.crop_to_bounding_box(
            image, (shape[-3] - center_crop) // 2, (shape[-2] - center_crop) // 2, center_crop, center_crop
        )
    image = tf.image.resize(image, (image_size, image_size), method="bilinear", antialias=True)
    image = _convert_channels(image, channels)
    # The anti-aliasing filter can overshoot [0, 255] by float rounding.
    image = tf.clip_by_value(image, 0.0, 255.0)
    if dtype == "uint8":
        return tf.cast(tf.round(image), tf.uint8)
    return from_uint8(image)
