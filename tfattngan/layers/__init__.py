"""Keras 3 layers for attention GANs.

Example:

>>> import keras
>>> from tfattngan.layers import SelfAttention, SpectralNormalization
>>> model = keras.Sequential([
...     keras.Input((8, 8, 16)),
...     SpectralNormalization(keras.layers.Conv2D(16, 3, padding="same")),
...     SelfAttention(),
... ])
>>> model.output_shape
(None, 8, 8, 16)
"""

from tfattngan.layers.normalization import ConditionalBatchNormalization
from tfattngan.layers.normalization import InstanceNormalization
from tfattngan.layers.regional_attention import RegionalAttention
from tfattngan.layers.self_attention import SelfAttention
from tfattngan.layers.spectral_normalization import SpectralNormalization

__all__ = [
    "ConditionalBatchNormalization",
    "InstanceNormalization",
    "RegionalAttention",
    "SelfAttention",
    "SpectralNormalization",
]
