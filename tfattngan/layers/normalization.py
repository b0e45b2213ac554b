"""Instance normalisation and class-conditional batch normalisation."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfattngan")
class InstanceNormalization(keras.layers.GroupNormalization):
    """Normalises each channel of each sample over its spatial positions.

    `y = gamma * (x - mean) / sqrt(var + epsilon) + beta`, with mean and
    variance taken per sample and per channel, and a learned per-channel
    `gamma` and `beta` unless `center` and `scale` are off (PyTorch's
    `InstanceNorm2d` has neither by default; the SAGAN-div recipes use it
    so). This is
    Keras' `GroupNormalization` with one group per channel, which computes
    in float32 also under `mixed_float16`. Channels-last.

    Args:
        epsilon: float, added to the variance. Defaults to `1e-5`.
        center: bool, learn `beta`. Defaults to `True`.
        scale: bool, learn `gamma`. Defaults to `True`.
        **kwargs: `GroupNormalization` keyword arguments other than `groups`
            and `axis` (initializers, regularizers, constraints, `name`, ...).

    Call arguments:
        inputs: `[B, ..., C]` tensor.

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(3.0, 2.0, (2, 5, 5, 4)).astype("float32")
    >>> y = InstanceNormalization()(x).numpy()
    >>> bool(np.allclose(y.mean(axis=(1, 2)), 0, atol=1e-5))
    True

    Reference:
        Ulyanov, Vedaldi, Lempitsky. Instance Normalization: The Missing
        Ingredient for Fast Stylization. arXiv:1607.08022, 2016.
    """

    def __init__(self, epsilon=1e-5, center=True, scale=True, **kwargs):
        kwargs.pop("groups", None)
        kwargs.pop("axis", None)
        super().__init__(groups=-1, axis=-1, epsilon=epsilon, center=center, scale=scale, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("groups")
        config.pop("axis")
        return config


@keras.saving.register_keras_serializable(package="tfattngan")
class ConditionalBatchNormalization(keras.layers.Layer):
    """Batch normalisation whose gain and bias are chosen by a class label.

    `y = gamma[label] * BN(x) + beta[label]`, where `BN` is Keras'
    `BatchNormalization` without its own scale and centre, and the per-class
    `gamma` (initialised to 1) and `beta` (initialised to 0) are rows of two
    embeddings, as in the SAGAN and BigGAN generators. Statistics are taken
    over all axes but the last (channels-last).

    Args:
        num_classes: int, number of class labels.
        momentum: float, momentum of the moving statistics. Defaults to
            `0.9` (decay 0.9 of the official SAGAN code).
        epsilon: float, added to the variance. Defaults to `1e-5`.
        synchronized: bool, take the batch statistics over all replicas of a
            distribution strategy. Defaults to `False`.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[B, ..., C]` tensor.
        labels: int tensor `[B]` or `[B, 1]` of class indices.
        training: bool, normalise with batch statistics and update the moving
            ones. Defaults to `None` (inference).

    Example:

    >>> import numpy as np
    >>> layer = ConditionalBatchNormalization(num_classes=10)
    >>> x = np.ones((2, 4, 4, 8), "float32")
    >>> tuple(layer(x, np.array([3, 7])).shape)
    (2, 4, 4, 8)

    Reference:
        de Vries, Strub, Mary, Larochelle, Pietquin, Courville. Modulating
        early visual processing by language. NeurIPS 2017; as used in Zhang
        et al. 2018 (SAGAN) and Brock et al. 2019 (BigGAN).
    """

    def __init__(self, num_classes, momentum=0.9, epsilon=1e-5, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}.")
        self.num_classes = int(num_classes)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.synchronized = bool(synchronized)
        self.batch_norm = keras.layers.BatchNormalization(
            momentum=self.momentum,
            epsilon=self.epsilon,
            synchronized=self.synchronized,
            center=False,
            scale=False,
            dtype=self.dtype_policy,
            name="batch_norm",
        )

    def build(self, inputs_shape, labels_shape=None):
        channels = inputs_shape[-1]
        if channels is None:
            raise ValueError(
                f"ConditionalBatchNormalization needs a known channel count, got "
                f"shape {tuple(inputs_shape)}."
            )
        self.batch_norm.build(inputs_shape)
        self.gamma_embedding = keras.layers.Embedding(
            self.num_classes, channels, embeddings_initializer="ones",
            dtype=self.dtype_policy, name="gamma",
        )
        self.beta_embedding = keras.layers.Embedding(
            self.num_classes, channels, embeddings_initializer="zeros",
            dtype=self.dtype_policy, name="beta",
        )
        self.gamma_embedding.build((None,))
        self.beta_embedding.build((None,))
        self.built = True

    def call(self, inputs, labels, training=None):
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        normalized = self.batch_norm(inputs, training=training)
        broadcast = (-1,) + (1,) * (len(inputs.shape) - 2) + (inputs.shape[-1],)
        gamma = ops.reshape(self.gamma_embedding(labels), broadcast)
        beta = ops.reshape(self.beta_embedding(labels), broadcast)
        return normalized * ops.cast(gamma, normalized.dtype) + ops.cast(beta, normalized.dtype)

    def compute_output_shape(self, inputs_shape, labels_shape=None):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "synchronized": self.synchronized,
            }
        )
        return config
