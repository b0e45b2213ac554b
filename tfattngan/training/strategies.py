"""Choosing a `tf.distribute` strategy by name."""

import os

import tensorflow as tf

from tfattngan.errors import UserInputError

STRATEGIES = ("auto", "default", "one-device", "mirrored", "multi-worker", "tpu")


def make_strategy(name="auto"):
    """The `tf.distribute` strategy called `name`.

    - `auto`: MirroredStrategy over all visible GPUs when there are several,
      else the default strategy;
    - `default`: the default (no-op) strategy on the current device;
    - `one-device`: OneDeviceStrategy on the first GPU, or the CPU;
    - `mirrored`: MirroredStrategy over all visible GPUs (or, with none,
      over all logical CPU devices);
    - `multi-worker`: MultiWorkerMirroredStrategy configured by the
      `TF_CONFIG` environment variable;
    - `tpu`: TPUStrategy on the TPU named by `TPU_NAME` (or the local one).

    Args:
        name: one of the names above. Defaults to `"auto"`.

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        UserInputError: an unknown name.

    Example:

    >>> make_strategy("default").num_replicas_in_sync
    1
    """
    if name not in STRATEGIES:
        raise UserInputError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    if name == "multi-worker":
        # First: it must configure TensorFlow before anything else runs.
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one-device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        if gpus:
            return tf.distribute.MirroredStrategy()
        return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=os.environ.get("TPU_NAME", "local"))
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
