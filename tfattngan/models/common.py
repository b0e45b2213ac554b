"""Pieces shared by the generator and discriminator builders."""

import math

import keras

from tfattngan.layers import InstanceNormalization
from tfattngan.layers import SelfAttention
from tfattngan.layers import SpectralNormalization

NORMALIZATIONS = ("batch", "instance", "layer", "none")
# "glorot": Keras' defaults. "dcgan": Radford et al.'s weights_init, N(0, 0.02)
# kernels and N(1, 0.02) batch-norm scales, which the WGAN code reuses.
WEIGHT_INITS = ("glorot", "dcgan")


def check_choice(name, value, choices):
    """Raises a clear ValueError unless `value` is one of `choices`.

    Example:

    >>> check_choice("normalization", "batch", NORMALIZATIONS)
    'batch'
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return value


def initializer(weight_init, scale=False):
    """A new initializer for one layer's kernel (or, with `scale`, a normalisation's scale).

    `"dcgan"` draws kernels from N(0, 0.02) and scales from N(1, 0.02);
    `"glorot"` gives Glorot-uniform kernels and unit scales. Each call
    returns a new instance, so no two layers share an unseeded initializer
    (which would give them equal values).

    Example:

    >>> initializer("dcgan").get_config()["stddev"], initializer("dcgan", scale=True).get_config()["mean"]
    (0.02, 1.0)
    """
    check_choice("weight_init", weight_init, WEIGHT_INITS)
    if weight_init == "dcgan":
        return keras.initializers.RandomNormal(mean=1.0 if scale else 0.0, stddev=0.02)
    return keras.initializers.Ones() if scale else keras.initializers.GlorotUniform()


def spectral(layer, enabled):
    """`layer` wrapped in SpectralNormalization when `enabled`.

    Example:

    >>> type(spectral(keras.layers.Dense(2), True)).__name__
    'SpectralNormalization'
    """
    return SpectralNormalization(layer, name=f"sn_{layer.name}") if enabled else layer


def normalization(kind, name, weight_init="glorot"):
    """A normalisation layer of `NORMALIZATIONS`, or None for `"none"`.

    `"batch"` is batch norm synchronised across replicas, so that results do
    not depend on how a global batch is split over a distribution strategy;
    `weight_init="dcgan"` draws its scale from N(1, 0.02). `"instance"`
    normalises each channel of each sample without a learned scale or
    offset (PyTorch's `InstanceNorm2d` default, which the SAGAN-div code
    uses). `"layer"` normalises each sample over all its positions and
    channels with a per-channel scale and offset (the critic normalisation of
    the WGAN-GP and WGAN-div code, which avoids batch statistics in a
    gradient penalty).

    Example:

    >>> normalization("none", "n") is None
    True
    """
    check_choice("normalization", kind, NORMALIZATIONS)
    if kind == "batch":
        return keras.layers.BatchNormalization(synchronized=True, momentum=0.9, epsilon=1e-5, name=name,
                                               gamma_initializer=initializer(weight_init, scale=True))
    if kind == "instance":
        return InstanceNormalization(center=False, scale=False, name=name)
    if kind == "layer":
        return keras.layers.GroupNormalization(groups=1, epsilon=1e-5, name=name,
                                               gamma_initializer=initializer(weight_init, scale=True))
    return None


def self_attention(options, name, channels, weight_init="glorot"):
    """A SelfAttention layer for `channels` channels from a dict of its arguments.

    `value_channels="half"` in `options` means `channels // 2` (the official
    SAGAN code's values); its projections start from `initializer(weight_init)`.

    Example:

    >>> self_attention({"value_channels": "half"}, "attention", 64).value_channels
    32
    """
    options = dict(options or {})
    if options.get("value_channels") == "half":
        options["value_channels"] = channels // 2
    return SelfAttention(name=name, kernel_initializer=initializer(weight_init), **options)


def trainable_parameter_count(model):
    """The number of trainable parameters of a model.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> trainable_parameter_count(model)
    8
    """
    return int(sum(math.prod(v.shape) for v in model.trainable_weights))
