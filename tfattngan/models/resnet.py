"""ResNet generators and discriminators of SAGAN (and SNGAN/BigGAN).

The residual architecture of SAGAN's official code, as made standard by
BigGAN-PyTorch: generator blocks are BN -> ReLU -> 2x nearest upsampling ->
3x3 conv -> BN -> ReLU -> 3x3 conv, with an upsampled 1x1-conv shortcut.
The official code gives these convolutions biases; here they have none.
A batch norm cancels the first convolution's bias exactly, and a block
output's shift reaches the output only through batch norms and the next
shortcut (where it is a constant), except through self-attention:
`x + gamma * o(x)` passes a shift of `x` through the nonlinear `o`, so the
block before an attention layer loses a per-channel shift of the
attention's input. It is dropped anyway: while gamma is 0 its gradient is
rounding noise from the batch norms' cancellation, which Adam turns into
full learning-rate steps that differ between replica layouts and leak
into the moving statistics, breaking the trainer's equal results on one
device and on several;
discriminator blocks are (ReLU ->) 3x3 conv -> ReLU -> 3x3 conv -> 2x2
average pooling, with a 1x1-conv shortcut. Spectral normalisation is on
every layer of both networks. Class-conditional models use conditional
batch normalisation in the generator and a projection discriminator
(Miyato & Koyama 2018): `logit = dense(h) + <embed(y), h>` over the
globally sum-pooled features `h`.

Channel multipliers per block (times `filters`) follow BigGAN-PyTorch's
architectures for 32, 64 and 128 pixels.
"""

import keras
from keras import ops

from tfattngan.layers import ConditionalBatchNormalization
from tfattngan.models.common import self_attention
from tfattngan.models.common import spectral

# image size -> (input multipliers, output multipliers) of the generator blocks
_GENERATOR_WIDTHS = {
    32: ((4, 4, 4), (4, 4, 4)),
    64: ((16, 16, 8, 4), (16, 8, 4, 2)),
    128: ((16, 16, 8, 4, 2), (16, 8, 4, 2, 1)),
}
# image size -> (output multipliers, downsample flags) of the discriminator blocks
_DISCRIMINATOR_WIDTHS = {
    32: ((4, 4, 4, 4), (True, True, False, False)),
    64: ((1, 2, 4, 8, 16), (True, True, True, True, False)),
    128: ((1, 2, 4, 8, 16, 16), (True, True, True, True, True, False)),
}


IMAGE_SIZES = tuple(sorted(_GENERATOR_WIDTHS))


def block_sizes(image_size):
    """The feature-map sizes after each block: `(generator sizes, discriminator sizes)`.

    These are the sizes self-attention can follow (`attention_sizes`).

    Example:

    >>> block_sizes(32)
    ((8, 16, 32), (16, 8, 8, 8))
    """
    if image_size not in _GENERATOR_WIDTHS:
        raise ValueError(f"ResNet models come in {list(IMAGE_SIZES)} pixels, got {image_size}.")
    generator = tuple(8 * 2**index for index in range(len(_GENERATOR_WIDTHS[image_size][1])))
    discriminator, size = [], image_size
    for downsample in _DISCRIMINATOR_WIDTHS[image_size][1]:
        size = size // 2 if downsample else size
        discriminator.append(size)
    return generator, tuple(discriminator)


def _check(attention_sizes, sizes):
    bad = [size for size in attention_sizes if size not in sizes]
    if bad:
        raise ValueError(f"attention sizes {bad} are not block outputs; choose from {sorted(set(sizes))}.")


def _batch_norm(x, labels, num_classes, name):
    if num_classes:
        return ConditionalBatchNormalization(num_classes, synchronized=True, name=name)(x, labels)
    return keras.layers.BatchNormalization(synchronized=True, momentum=0.9, epsilon=1e-5, name=name)(x)


def _conv(filters, size, name, use_bias=True):
    return spectral(keras.layers.Conv2D(filters, size, padding="same", use_bias=use_bias, name=name), True)


@keras.saving.register_keras_serializable(package="tfattngan")
class NearestUpsampling2D(keras.layers.Layer):
    """2x nearest-neighbour upsampling, `[B, H, W, C] -> [B, 2H, 2W, C]`.

    Written as a broadcast and a reshape rather than a resize op, so that
    its gradient (a 2x2 sum) compiles under XLA, where the gradient of
    `tf.image.resize(..., "nearest")` has no kernel. keras'
    `UpSampling2D` (`tf.repeat`) is not used because it loses the static
    height when the batch size is unknown, and the TFLite converter then
    fails to lower the next convolution.

    Example:

    >>> import numpy as np
    >>> x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
    >>> NearestUpsampling2D()(x)[0, :, :, 0].numpy().tolist()
    [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0], [2.0, 2.0, 3.0, 3.0]]
    """

    def call(self, inputs):
        height, width, channels = inputs.shape[1:]
        x = ops.expand_dims(ops.expand_dims(inputs, 2), 4)
        x = ops.broadcast_to(x, (ops.shape(inputs)[0], height, 2, width, 2, channels))
        return ops.reshape(x, (-1, 2 * height, 2 * width, channels))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, 2 * height, 2 * width, channels)


def _generator_block(x, labels, num_classes, out_channels, name):
    h = _batch_norm(x, labels, num_classes, f"{name}_bn1")
    h = keras.layers.ReLU()(h)
    h = NearestUpsampling2D(name=f"{name}_up")(h)
    # Every block's output goes into a batch norm, so its convolutions need no bias.
    h = _conv(out_channels, 3, f"{name}_conv1", use_bias=False)(h)
    h = _batch_norm(h, labels, num_classes, f"{name}_bn2")
    h = keras.layers.ReLU()(h)
    h = _conv(out_channels, 3, f"{name}_conv2", use_bias=False)(h)
    shortcut = NearestUpsampling2D(name=f"{name}_shortcut_up")(x)
    shortcut = _conv(out_channels, 1, f"{name}_shortcut", use_bias=False)(shortcut)
    return keras.layers.Add(name=f"{name}_add")([h, shortcut])


def resnet_generator(image_size, channels, latent_dim=128, filters=64, num_classes=0,
                     attention_sizes=(), attention_options=None, name="generator"):
    """A ResNet SAGAN generator, `latent (+ label) -> images` in [-1, 1].

    Args:
        image_size: int, 32, 64 or 128.
        channels: int, output channels.
        latent_dim: int, latent size. Defaults to `128`.
        filters: int, channel unit `ch` of BigGAN-PyTorch. Defaults to `64`.
        num_classes: int, classes of a class-conditional model; 0 for an
            unconditional one. Defaults to `0`.
        attention_sizes: block output sizes followed by self-attention.
            Defaults to `()`.
        attention_options: dict of SelfAttention keyword arguments. Defaults
            to `None`.
        name: model name. Defaults to `"generator"`.

    Returns:
        A Keras model whose inputs are `latent` and, for a conditional
        model, `label` (int32 `[B]`).

    Example:

    >>> generator = resnet_generator(32, 3, filters=4, num_classes=10, attention_sizes=(16,))
    >>> [tuple(i.shape) for i in generator.inputs], generator.output_shape
    ([(None, 128), (None,)], (None, 32, 32, 3))
    """
    sizes = block_sizes(image_size)[0]
    _check(attention_sizes, sizes)
    inputs_widths, output_widths = _GENERATOR_WIDTHS[image_size]
    latent = keras.Input((latent_dim,), name="latent")
    labels = keras.Input((), dtype="int32", name="label") if num_classes else None
    width = filters * inputs_widths[0]
    x = spectral(keras.layers.Dense(4 * 4 * width, name="project"), True)(latent)
    x = keras.layers.Reshape((4, 4, width), name="reshape")(x)
    for index, (multiplier, size) in enumerate(zip(output_widths, sizes)):
        x = _generator_block(x, labels, num_classes, filters * multiplier, f"block_{size}")
        if size in attention_sizes:
            x = self_attention(attention_options, f"attention_{size}", x.shape[-1])(x)
    x = keras.layers.BatchNormalization(synchronized=True, momentum=0.9, epsilon=1e-5, name="output_bn")(x)
    x = keras.layers.ReLU()(x)
    x = _conv(channels, 3, "output_conv")(x)
    images = keras.layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model([latent, labels] if num_classes else latent, images, name=name)


def _discriminator_block(x, out_channels, downsample, preactivation, name):
    in_channels = x.shape[-1]
    h = keras.layers.ReLU()(x) if preactivation else x
    h = _conv(out_channels, 3, f"{name}_conv1")(h)
    h = keras.layers.ReLU()(h)
    h = _conv(out_channels, 3, f"{name}_conv2")(h)
    if downsample:
        h = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(h)
    shortcut = x
    if preactivation:
        if in_channels != out_channels or downsample:
            shortcut = _conv(out_channels, 1, f"{name}_shortcut")(shortcut)
        if downsample:
            shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(shortcut)
    else:
        if downsample:
            shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(shortcut)
        shortcut = _conv(out_channels, 1, f"{name}_shortcut")(shortcut)
    return keras.layers.Add(name=f"{name}_add")([h, shortcut])


def resnet_discriminator(image_size, channels, filters=64, num_classes=0, attention_sizes=(),
                         attention_options=None, name="discriminator"):
    """A ResNet SAGAN discriminator, `images (+ label) -> logits [B, 1]`.

    Args:
        image_size: int, 32, 64 or 128.
        channels: int, input channels.
        filters: int, channel unit `ch`. Defaults to `64`.
        num_classes: int, classes of a projection discriminator; 0 for an
            unconditional one. Defaults to `0`.
        attention_sizes: block output sizes followed by self-attention.
            Defaults to `()`.
        attention_options: dict of SelfAttention keyword arguments. Defaults
            to `None`.
        name: model name. Defaults to `"discriminator"`.

    Returns:
        A `keras.Model` with inputs `images` and, when conditional, `label`.

    Example:

    >>> model = resnet_discriminator(32, 3, filters=4, num_classes=10)
    >>> model.output_shape
    (None, 1)
    """
    sizes = block_sizes(image_size)[1]
    _check(attention_sizes, sizes)
    multipliers, downsample = _DISCRIMINATOR_WIDTHS[image_size]
    images = keras.Input((image_size, image_size, channels), name="images")
    labels = keras.Input((), dtype="int32", name="label") if num_classes else None
    x = images
    attended = set()
    for index, (multiplier, flag, size) in enumerate(zip(multipliers, downsample, sizes)):
        x = _discriminator_block(x, filters * multiplier, flag, index > 0, f"block_{index}")
        if size in attention_sizes and size not in attended:
            x = self_attention(attention_options, f"attention_{size}", x.shape[-1])(x)
            attended.add(size)
    x = keras.layers.ReLU()(x)
    width = x.shape[-1]
    pooled = keras.layers.GlobalAveragePooling2D(name="mean_pool")(x)
    pooled = keras.layers.Rescaling(float(x.shape[1] * x.shape[2]), name="sum_pool")(pooled)
    logits = spectral(keras.layers.Dense(1, name="linear"), True)(pooled)
    if num_classes:
        embedded = spectral(keras.layers.Embedding(num_classes, width, name="embedding"), True)(labels)
        projection = keras.layers.Dot(axes=1, name="projection")([embedded, pooled])
        logits = keras.layers.Add(name="projected_logits")([logits, projection])
    logits = keras.layers.Activation("linear", dtype="float32", name="logits")(logits)
    return keras.Model([images, labels] if num_classes else images, logits, name=name)
