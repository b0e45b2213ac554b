"""The latents and labels a seed stands for, the same in every exported form.

The SavedModel's `generate` signature, the TFLite sampling tool and the
int8 calibration data all draw latents here: `tf.random.stateless_normal`
with the seed `[seed, 0]` (as `TrainedGenerator.sample` does), so a seed
gives the same latents in Python, in TF Serving and on a TFLite device.
Labels of class-conditional models cycle through the classes.
"""

import tensorflow as tf


def seeded_latents(count, latent_dim, seed):
    """`count` float32 latents `[count, latent_dim]` drawn statelessly from `seed`.

    Works on Python numbers and on scalar tensors (inside a `tf.function`).

    Example:

    >>> a = seeded_latents(3, 4, seed=7)
    >>> b = seeded_latents(5, 4, seed=7)
    >>> tuple(a.shape), bool(tf.reduce_all(a == b[:3]))
    ((3, 4), True)
    """
    seed = tf.cast(seed, tf.int64)
    shape = tf.stack([tf.cast(count, tf.int32), tf.cast(latent_dim, tf.int32)])
    return tf.random.stateless_normal(shape, seed=tf.stack([seed, tf.zeros_like(seed)]))


def cycled_labels(count, num_classes):
    """int32 labels `0, 1, ..., num_classes - 1, 0, 1, ...` of length `count`.

    Example:

    >>> cycled_labels(5, 3).numpy().tolist()
    [0, 1, 2, 0, 1]
    """
    return tf.range(tf.cast(count, tf.int32), dtype=tf.int32) % num_classes
