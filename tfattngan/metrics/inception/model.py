"""The FID Inception-v3 feature network with its weights, and its traced call."""

import weakref

import tensorflow as tf

from tfattngan.metrics.inception.network import inception_feature_network
from tfattngan.metrics.inception.preprocessing import preprocess_batch
from tfattngan.metrics.inception.weights import load_inception_weights
from tfattngan.metrics.inception.weights import resolve_weights_path

_feature_functions = weakref.WeakKeyDictionary()


def inception_feature_model(weights_path=None, logits=False):
    """The FID Inception-v3 network to pool_3 (and its logits), with its weights loaded.

    The network FID, KID and FID-style statistics are conventionally
    computed with: the TensorFlow `inception-2015-12-05` graph up to its
    2048 pool_3 features, and, for the Inception Score, its 1008 classifier
    logits. Its weights come from `fid_inception_v3_weights.npz`, a NumPy
    archive of that network's float32 arrays (the logits only in archives
    converted from the graph, `python -m tfattngan.metrics.inception.convert`);
    they are read from disk, never downloaded.

    Args:
        weights_path: path-like to the `.npz` archive, or `None` to read
            the path from the environment variable
            `TFATTNGAN_INCEPTION_WEIGHTS`. Defaults to `None`.
        logits: bool, whether the model also returns the logits (the
            archive must hold them, see `has_logits`). Defaults to `False`.

    Returns:
        A `keras.Model` from `[N, 299, 299, 3]` float32 inputs in
        `[-1, 0.9921875]` (see `preprocess_images`) to `[N, 2048]` features,
        or to `[features, [N, 1008] logits]` with `logits`.

    Raises:
        UserInputError: no path is given, or the file is missing, corrupt
            or not the FID Inception archive (or lacks asked-for logits).

    Example:

    >>> import os
    >>> from tfattngan.errors import UserInputError
    >>> try:
    ...     inception_feature_model("no/such/fid_inception_v3_weights.npz")
    ... except UserInputError as error:
    ...     print(str(error).split(";")[0])
    no Inception weights at 'no/such/fid_inception_v3_weights.npz'
    >>> if os.environ.get("TFATTNGAN_INCEPTION_WEIGHTS"):
    ...     model = inception_feature_model()  # reads $TFATTNGAN_INCEPTION_WEIGHTS
    ...     assert model.output_shape == (None, 2048)
    """
    weights_path = resolve_weights_path(weights_path)  # fail before building the network
    return load_inception_weights(inception_feature_network(logits=logits), weights_path)


def feature_function(model):
    """`model(preprocess_batch(images))` as a `tf.function`, one per model.

    The function is kept (weakly, by model) so that every use of one model
    shares its traces: one per input shape.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> mean_colour = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> feature_function(mean_colour) is feature_function(mean_colour)
    True
    >>> feature_function(mean_colour)(np.zeros((1, 8, 8, 1), "uint8")).numpy().tolist()
    [[-1.0, -1.0, -1.0]]
    """
    if model not in _feature_functions:
        model_ref = weakref.ref(model)  # the function must not keep the model alive

        # jit_compile=True gave the same features but ~25% fewer images/s on CPU.
        @tf.function
        def features(images):
            return model_ref()(preprocess_batch(images), training=False)

        _feature_functions[model] = features
    return _feature_functions[model]
