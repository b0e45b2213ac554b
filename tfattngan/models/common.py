"""Pieces shared by the generator and discriminator builders."""

import math
import typing

import keras

from tfattngan.layers import InstanceNormalization
from tfattngan.layers import SelfAttention
from tfattngan.layers import SpectralNormalization

NORMALIZATIONS = ("batch", "instance", "none")


class GeneratorModels(typing.NamedTuple):
    """The two views of one generator, sharing all their weights.

    `training` is the model the trainer differentiates; `sampling` maps a
    latent (and a class label) to images and is what samples, metrics and
    exports use. They are the same model except with regional attention,
    whose training model also takes real images while the sampling model
    draws on the layer's region bank.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    >>> pair = GeneratorModels(training=model, sampling=model)
    >>> pair.sampling is pair.training
    True
    """

    training: keras.Model
    sampling: keras.Model


def check_choice(name, value, choices):
    """Raises a clear ValueError unless `value` is one of `choices`.

    Example:

    >>> check_choice("normalization", "batch", NORMALIZATIONS)
    'batch'
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return value


def spectral(layer, enabled):
    """`layer` wrapped in SpectralNormalization when `enabled`.

    Example:

    >>> type(spectral(keras.layers.Dense(2), True)).__name__
    'SpectralNormalization'
    """
    return SpectralNormalization(layer, name=f"sn_{layer.name}") if enabled else layer


def normalization(kind, name):
    """A normalisation layer: synchronised batch norm, instance norm, or None.

    Batch norm is synchronised across replicas, so that results do not
    depend on how a global batch is split over a distribution strategy.

    Example:

    >>> normalization("none", "n") is None
    True
    """
    check_choice("normalization", kind, NORMALIZATIONS)
    if kind == "batch":
        return keras.layers.BatchNormalization(synchronized=True, momentum=0.9, epsilon=1e-5, name=name)
    if kind == "instance":
        return InstanceNormalization(name=name)
    return None


def apply_normalization(x, kind, name):
    """Applies `normalization(kind)` to `x`, or returns `x` for "none".

    Example:

    >>> x = keras.Input((4, 4, 8))
    >>> apply_normalization(x, "none", "n") is x
    True
    """
    layer = normalization(kind, name)
    return x if layer is None else layer(x)


def self_attention(options, name, channels):
    """A SelfAttention layer for `channels` channels from a dict of its arguments.

    `value_channels="half"` in `options` means `channels // 2` (the official
    SAGAN code's values).

    Example:

    >>> self_attention({"value_channels": "half"}, "attention", 64).value_channels
    32
    """
    options = dict(options or {})
    if options.get("value_channels") == "half":
        options["value_channels"] = channels // 2
    return SelfAttention(name=name, **options)


def trainable_parameter_count(model):
    """The number of trainable parameters of a model.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> trainable_parameter_count(model)
    8
    """
    return int(sum(math.prod(v.shape) for v in model.trainable_weights))
