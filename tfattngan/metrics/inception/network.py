"""The layout of the FID Inception-v3 network, up to its pool_3 features."""

import keras

INPUT_SIZE = 299
CLASSES = 1008  # the logits of the original graph's softmax layer
FLOAT32 = "float32"  # every layer, whatever the global policy: features must not depend on it


def _conv(x, name, filters, kernel_size, strides=1, padding="same"):
    """Conv (batch norm folded into kernel and bias) then ReLU.

    Every padded convolution of this network has stride 1 and pads
    `(k - 1) // 2` on each side, which is exactly Keras' `"same"`; the
    strided ones are unpadded (`"valid"`).
    """
    return keras.layers.Conv2D(
        filters, kernel_size, strides, padding=padding, activation="relu", name=name, dtype=FLOAT32
    )(x)


def _avg_pool(x, name):
    """3x3/1 average pool whose padding is not counted in the average."""
    return keras.layers.AveragePooling2D(3, 1, padding="same", name=name, dtype=FLOAT32)(x)


def _block_a(x, name, pool_filters):
    branches = [
        _conv(x, f"{name}.conv", 64, 1),
        _conv(_conv(x, f"{name}.tower.conv", 48, 1), f"{name}.tower.conv_1", 64, 5),
    ]
    t = _conv(x, f"{name}.tower_1.conv", 64, 1)
    t = _conv(t, f"{name}.tower_1.conv_1", 96, 3)
    branches.append(_conv(t, f"{name}.tower_1.conv_2", 96, 3))
    t = _avg_pool(x, f"{name}.tower_2.pool")
    branches.append(_conv(t, f"{name}.tower_2.conv", pool_filters, 1))
    return keras.layers.Concatenate(name=name, dtype=FLOAT32)(branches)


def _block_b(x, name):
    branches = [_conv(x, f"{name}.conv", 384, 3, 2, "valid")]
    t = _conv(x, f"{name}.tower.conv", 64, 1)
    t = _conv(t, f"{name}.tower.conv_1", 96, 3)
    branches.append(_conv(t, f"{name}.tower.conv_2", 96, 3, 2, "valid"))
    branches.append(keras.layers.MaxPooling2D(3, 2, name=f"{name}.pool", dtype=FLOAT32)(x))
    return keras.layers.Concatenate(name=name, dtype=FLOAT32)(branches)


def _block_c(x, name, channels):
    branches = [_conv(x, f"{name}.conv", 192, 1)]
    t = _conv(x, f"{name}.tower.conv", channels, 1)
    t = _conv(t, f"{name}.tower.conv_1", channels, (1, 7))
    branches.append(_conv(t, f"{name}.tower.conv_2", 192, (7, 1)))
    t = _conv(x, f"{name}.tower_1.conv", channels, 1)
    t = _conv(t, f"{name}.tower_1.conv_1", channels, (7, 1))
    t = _conv(t, f"{name}.tower_1.conv_2", channels, (1, 7))
    t = _conv(t, f"{name}.tower_1.conv_3", channels, (7, 1))
    branches.append(_conv(t, f"{name}.tower_1.conv_4", 192, (1, 7)))
    t = _avg_pool(x, f"{name}.tower_2.pool")
    branches.append(_conv(t, f"{name}.tower_2.conv", 192, 1))
    return keras.layers.Concatenate(name=name, dtype=FLOAT32)(branches)


def _block_d(x, name):
    t = _conv(x, f"{name}.tower.conv", 192, 1)
    branches = [_conv(t, f"{name}.tower.conv_1", 320, 3, 2, "valid")]
    t = _conv(x, f"{name}.tower_1.conv", 192, 1)
    t = _conv(t, f"{name}.tower_1.conv_1", 192, (1, 7))
    t = _conv(t, f"{name}.tower_1.conv_2", 192, (7, 1))
    branches.append(_conv(t, f"{name}.tower_1.conv_3", 192, 3, 2, "valid"))
    branches.append(keras.layers.MaxPooling2D(3, 2, name=f"{name}.pool", dtype=FLOAT32)(x))
    return keras.layers.Concatenate(name=name, dtype=FLOAT32)(branches)


def _block_e(x, name, max_pool):
    branches = [_conv(x, f"{name}.conv", 320, 1)]
    a = _conv(x, f"{name}.tower_conv", 384, 1)
    branches.append(_conv(a, f"{name}.tower_mixed_conv", 384, (1, 3)))
    branches.append(_conv(a, f"{name}.tower_mixed_conv_1", 384, (3, 1)))
    b = _conv(x, f"{name}.tower_1_conv", 448, 1)
    b = _conv(b, f"{name}.tower_1_conv_1", 384, 3)
    branches.append(_conv(b, f"{name}.tower_1_mixed_conv", 384, (1, 3)))
    branches.append(_conv(b, f"{name}.tower_1_mixed_conv_1", 384, (3, 1)))
    if max_pool:
        # A quirk of the original graph: mixed_10 max-pools here. Its input
        # is a ReLU output (>= 0), so "same" padding equals zero padding.
        t = keras.layers.MaxPooling2D(
            3, 1, padding="same", name=f"{name}.tower_2_pool", dtype=FLOAT32
        )(x)
    else:
        t = _avg_pool(x, f"{name}.tower_2_pool")
    branches.append(_conv(t, f"{name}.tower_2_conv", 192, 1))
    return keras.layers.Concatenate(name=name, dtype=FLOAT32)(branches)


def inception_feature_network(logits=False):
    """The FID Inception-v3 network up to pool_3 (and its logits), with untrained weights.

    The layout of the TensorFlow `inception-2015-12-05` graph as FID uses
    it: `[N, 299, 299, 3]` inputs in `[-1, 0.9921875]` to `[N, 2048]`
    pool_3 features, computed in float32 whatever the global dtype policy
    (FID must not depend on a training run's `mixed_float16`). Each convolution is a `Conv2D` with a bias and a ReLU:
    the graph's batch norm (no scale) is folded into kernel and bias when
    the weights are loaded. Every convolution is named after its key in the
    weights archive (`"mixed_4.tower_1.conv_2"`); use
    `inception_feature_model` for the network with its weights.

    Args:
        logits: bool, whether the model also returns the 1008 classifier
            logits that the Inception Score needs: pool_3 times the
            `"logits"` layer's `[2048, 1008]` kernel, without a bias, as
            the original Inception Score code computes them. Defaults to
            `False`.

    Returns:
        A `keras.Model` with input `[N, 299, 299, 3]` and output `[N, 2048]`,
        or outputs `[[N, 2048], [N, 1008]]` with `logits`.

    Example:

    >>> model = inception_feature_network(logits=True)
    >>> model.output_shape
    [(None, 2048), (None, 1008)]
    >>> tuple(model.get_layer("mixed_10.tower_1_mixed_conv_1").kernel.shape)
    (3, 1, 384, 384)
    """
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="images", dtype=FLOAT32)
    x = _conv(inputs, "conv", 32, 3, 2, "valid")
    x = _conv(x, "conv_1", 32, 3, 1, "valid")
    x = _conv(x, "conv_2", 64, 3)
    x = keras.layers.MaxPooling2D(3, 2, name="pool", dtype=FLOAT32)(x)
    x = _conv(x, "conv_3", 80, 1)
    x = _conv(x, "conv_4", 192, 3, 1, "valid")
    x = keras.layers.MaxPooling2D(3, 2, name="pool_1", dtype=FLOAT32)(x)
    x = _block_a(x, "mixed", 32)
    x = _block_a(x, "mixed_1", 64)
    x = _block_a(x, "mixed_2", 64)
    x = _block_b(x, "mixed_3")
    for name, channels in (("mixed_4", 128), ("mixed_5", 160), ("mixed_6", 160), ("mixed_7", 192)):
        x = _block_c(x, name, channels)
    x = _block_d(x, "mixed_8")
    x = _block_e(x, "mixed_9", max_pool=False)
    x = _block_e(x, "mixed_10", max_pool=True)
    features = keras.layers.GlobalAveragePooling2D(name="pool_3", dtype=FLOAT32)(x)
    if not logits:
        return keras.Model(inputs, features, name="fid_inception_v3")
    classes = keras.layers.Dense(CLASSES, use_bias=False, name="logits", dtype=FLOAT32)(features)
    return keras.Model(inputs, [features, classes], name="fid_inception_v3")
