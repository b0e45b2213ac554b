"""DCGAN-style generators and discriminators with attention slots.

The layout of Radford et al. (2016): the generator projects a latent to a
4x4 map and doubles it with 4x4 stride-2 transposed convolutions; the
discriminator halves the image with 4x4 stride-2 convolutions down to 4x4
and ends with a 4x4 valid convolution to one logit. At resolution `r` a
layer has `filters * image_size // (2 * r)` channels (512 at 4x4 for a 64
pixel image with `filters=64`), for power-of-two images from 16 pixels up
with 1 or 3 channels. Layers followed by a normalisation have no bias, as in
DCGAN, which gives exactly the DCGAN parameter counts.

Attention slots: `attention_sizes` lists the feature-map sizes after whose
block a SelfAttention (or, in the generator, a RegionalAttention) layer is
inserted.
"""

import keras

from tfattngan.layers import RegionalAttention
from tfattngan.models.common import check_choice
from tfattngan.models.common import initializer
from tfattngan.models.common import normalization as normalization_layer
from tfattngan.models.common import self_attention
from tfattngan.models.common import spectral

ATTENTION_TYPES = ("none", "self", "regional")


def feature_sizes(image_size):
    """The feature-map sizes of a DCGAN network, 4 up to half the image.

    Example:

    >>> feature_sizes(64)
    (4, 8, 16, 32)
    """
    if image_size < 16 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two >= 16, got {image_size}.")
    sizes, size = [], 4
    while size < image_size:
        sizes.append(size)
        size *= 2
    return tuple(sizes)


def _check_attention_sizes(image_size, attention_sizes):
    allowed = feature_sizes(image_size)
    bad = [size for size in attention_sizes if size not in allowed]
    if bad:
        raise ValueError(
            f"attention sizes {bad} are not feature-map sizes of a {image_size}-pixel "
            f"network; choose from {allowed}."
        )


def _width(filters, image_size, resolution):
    return filters * image_size // (2 * resolution)


def _generator_stack(image_size, channels, latent_dim, filters, normalization, spectral_norm,
                     attention, attention_sizes, attention_options, regional_options, weight_init):
    use_bias = normalization == "none"
    width = _width(filters, image_size, 4)
    stack = [
        spectral(keras.layers.Dense(4 * 4 * width, use_bias=use_bias, kernel_initializer=initializer(weight_init),
                                    name="project"), spectral_norm),
        keras.layers.Reshape((4, 4, width), name="reshape"),
    ]
    for size in feature_sizes(image_size):
        if size > 4:
            stack.append(spectral(keras.layers.Conv2DTranspose(
                _width(filters, image_size, size), 4, 2, padding="same", use_bias=use_bias,
                kernel_initializer=initializer(weight_init), name=f"deconv_{size}"), spectral_norm))
        norm = normalization_layer(normalization, f"norm_{size}", weight_init)
        stack.extend([norm] if norm is not None else [])
        stack.append(keras.layers.ReLU(name=f"relu_{size}"))
        if size in attention_sizes:
            if attention == "self":
                stack.append(self_attention(attention_options, f"attention_{size}", _width(filters, image_size, size),
                                            weight_init))
            else:
                stack.append(RegionalAttention(name=f"regional_attention_{size}", **(regional_options or {}),
                                               kernel_initializer=initializer(weight_init)))
    stack.append(spectral(keras.layers.Conv2DTranspose(
        channels, 4, 2, padding="same", use_bias=False, kernel_initializer=initializer(weight_init),
        name=f"deconv_{image_size}"), spectral_norm))
    stack.append(keras.layers.Activation("tanh", dtype="float32", name="images"))
    return stack


def _apply_stack(stack, latent, real_images):
    """The stack on a latent; regional attention also takes the real images."""
    x = latent
    for layer in stack:
        x = layer(x, real_images) if isinstance(layer, RegionalAttention) else layer(x)
    return x


def dcgan_generator(
    image_size,
    channels,
    latent_dim=100,
    filters=64,
    normalization="batch",
    spectral_norm=False,
    attention="none",
    attention_sizes=(),
    attention_options=None,
    regional_options=None,
    weight_init="glorot",
    name="generator",
):
    """A DCGAN generator, `latent [B, latent_dim] -> images [B, S, S, C]` in [-1, 1].

    Each block is (transposed convolution ->) normalisation -> ReLU (->
    attention); the last is a transposed convolution -> tanh.

    Args:
        image_size: int, output side `S` (a power of two >= 16).
        channels: int, output channels (1 or 3).
        latent_dim: int, latent size. Defaults to `100`.
        filters: int, base width (64 in DCGAN). Defaults to `64`.
        normalization: `"batch"`, `"instance"` or `"none"` after every hidden
            layer. Defaults to `"batch"`.
        spectral_norm: bool, spectral normalisation on every layer. Defaults
            to `False`.
        attention: `"none"`, `"self"` or `"regional"`. Defaults to `"none"`.
        attention_sizes: feature-map sizes followed by attention. Defaults to
            `()`.
        attention_options: dict of SelfAttention keyword arguments. Defaults
            to `None`.
        regional_options: dict of RegionalAttention keyword arguments.
            Defaults to `None`.
        weight_init: `"glorot"` (Keras' defaults) or `"dcgan"` (every
            kernel, attention included, from N(0, 0.02) and every
            normalisation scale from N(1, 0.02), as Radford et al.).
            Defaults to `"glorot"`.
        name: model name. Defaults to `"generator"`.

    Returns:
        A Keras model from `latent` to images in [-1, 1]; with regional
        attention it takes `[latent, real_images]` (a `tfattngan.GAN` feeds
        it real images in training and images of the layer's bank when
        sampling).

    Example:

    >>> generator = dcgan_generator(32, 3, filters=8, attention="self", attention_sizes=(16,))
    >>> generator.output_shape
    (None, 32, 32, 3)
    """
    check_choice("attention", attention, ATTENTION_TYPES)
    attention_sizes = tuple(attention_sizes) if attention != "none" else ()
    _check_attention_sizes(image_size, attention_sizes)
    stack = _generator_stack(image_size, channels, latent_dim, filters, normalization, spectral_norm,
                             attention, attention_sizes, attention_options, regional_options, weight_init)
    latent = keras.Input((latent_dim,), name="latent")
    if attention != "regional" or not attention_sizes:
        return keras.Model(latent, _apply_stack(stack, latent, None), name=name)
    real_images = keras.Input((image_size, image_size, channels), name="real_images")
    return keras.Model([latent, real_images], _apply_stack(stack, latent, real_images), name=name)


def dcgan_discriminator(
    image_size,
    channels,
    filters=64,
    normalization="batch",
    spectral_norm=False,
    attention_sizes=(),
    attention_options=None,
    weight_init="glorot",
    name="discriminator",
):
    """A DCGAN discriminator, `images [B, S, S, C] -> logits [B, 1]`.

    The first block is convolution -> LeakyReLU(0.2) (no normalisation, as
    in DCGAN); the others convolution -> normalisation -> LeakyReLU(0.2) (->
    self-attention); a 4x4 valid convolution gives the logit.

    Args:
        image_size: int, input side `S` (a power of two >= 16).
        channels: int, input channels.
        filters: int, base width (64 in DCGAN). Defaults to `64`.
        normalization: `"batch"`, `"instance"` or `"none"`. Defaults to
            `"batch"`.
        spectral_norm: bool, spectral normalisation on every layer. Defaults
            to `False`.
        attention_sizes: feature-map sizes followed by self-attention.
            Defaults to `()`.
        attention_options: dict of SelfAttention keyword arguments. Defaults
            to `None`.
        weight_init: `"glorot"` or `"dcgan"`, as in `dcgan_generator`.
            Defaults to `"glorot"`.
        name: model name. Defaults to `"discriminator"`.

    Returns:
        A `keras.Model`.

    Example:

    >>> model = dcgan_discriminator(32, 1, filters=8, attention_sizes=(8,))
    >>> model.output_shape
    (None, 1)
    """
    _check_attention_sizes(image_size, attention_sizes)
    use_bias = normalization == "none"
    images = keras.Input((image_size, image_size, channels), name="images")
    x = images
    for size in reversed(feature_sizes(image_size)):
        conv = keras.layers.Conv2D(
            _width(filters, image_size, size), 4, 2, padding="same", use_bias=use_bias,
            kernel_initializer=initializer(weight_init), name=f"conv_{size}",
        )
        x = spectral(conv, spectral_norm)(x)
        norm = normalization_layer(normalization, f"norm_{size}", weight_init) if size < image_size // 2 else None
        if norm is not None:
            x = norm(x)
        x = keras.layers.LeakyReLU(0.2, name=f"lrelu_{size}")(x)
        if size in attention_sizes:
            x = self_attention(attention_options, f"attention_{size}", x.shape[-1], weight_init)(x)
    final = keras.layers.Conv2D(1, 4, 1, padding="valid", use_bias=False,
                                kernel_initializer=initializer(weight_init), name="logit_conv")
    x = spectral(final, spectral_norm)(x)
    logits = keras.layers.Flatten(dtype="float32", name="logits")(x)
    return keras.Model(images, logits, name=name)
