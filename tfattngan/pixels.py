"""Images in [-1, 1] (the library's convention) and uint8 [0, 255] (files, serving, metrics): one mapping.

`to_uint8(x) = round((x + 1) * 127.5)` clipped to [0, 255], rounding half
to even as NumPy does; `from_uint8(u) = u / 127.5 - 1`. Every edge of the
library (sample grids, serving outputs, metrics input, data pipelines) uses
these two functions.

Example:

>>> import numpy as np
>>> to_uint8(np.array([-1.0, 0.0, 1.0])).numpy().tolist(), from_uint8(np.array([0, 255], "uint8")).numpy().tolist()
([0, 128, 255], [-1.0, 1.0])
"""

import tensorflow as tf


def to_uint8(images):
    """Images in [-1, 1] (any float dtype, array or tensor) as a uint8 tensor in [0, 255].

    Works inside a `tf.function` and in exported graphs.

    Example:

    >>> to_uint8(tf.constant([-1.0, 0.0, 1.0])).numpy().tolist()
    [0, 128, 255]
    """
    images = tf.cast(tf.convert_to_tensor(images), tf.float32)
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def from_uint8(images):
    """uint8 (or float 0..255) images as float32 in [-1, 1].

    Example:

    >>> from_uint8(tf.constant([0, 255], tf.uint8)).numpy().tolist()
    [-1.0, 1.0]
    """
    return tf.cast(images, tf.float32) / 127.5 - 1.0
