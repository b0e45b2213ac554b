"""Self-attention over the positions of a feature map (SAGAN)."""

import keras
from keras import ops

from tfattngan.layers.attention_ops import blockwise_softmax_attention
from tfattngan.layers.attention_ops import softmax_attention
from tfattngan.layers.spectral_normalization import SpectralNormalization


@keras.saving.register_keras_serializable(package="tfattngan")
class SelfAttention(keras.layers.Layer):
    """Self-attention of SAGAN: every position attends to every other one.

    For a channels-last feature map `x [B, H, W, C]` with `N = H * W`
    positions, 1x1 convolutions (no bias) with `key_channels` channels give
    the paper's `f(x)` and `g(x)`, and one more gives the values `h(x)`. The
    paper's attention of output position `j` on position `i` is
    `beta_ji = softmax_i(s_ij)` with `s_ij = f(x_i)^T g(x_j)`: the softmax
    runs over `i`, so `f` gives the keys (the positions attended to) and `g`
    the queries (the position attending), as in the official code's
    `s = matmul(g, f, transpose_b=True)` with the softmax over its last
    axis. Then `o_j = sum_i beta_ji h(x_i)` and `y = gamma * o + x` with a
    scalar `gamma` initialised to 0, so the layer starts as the identity.
    The layer's `query_projection` is `g` and its `key_projection` is `f`.

    With `value_channels=None` the values have `C` channels (the paper's
    formula). With `value_channels` set (the official SAGAN/BigGAN code uses
    `C // 2`) the values have that many channels and a 1x1 output convolution
    maps `o` back to `C`. With `pool_keys=True` keys and values are 2x2
    max-pooled (as in the official code; `H` and `W` must then be even),
    giving `N / 4` keys. The softmax runs in float32 under `mixed_float16`.

    `query_block_size` selects the memory-lean mode: attention is computed
    for that many queries at a time, and every derivative (the gradient, and
    the gradient of a gradient that a gradient penalty takes through a
    discriminator) recomputes one block at a time, so the `N x N` map is
    never held whole, eagerly or in a `tf.function`; peak memory scales with
    `query_block_size * N` instead of `N * N` and the result equals the full
    mode (see `benchmarks/self_attention_memory.py`). Use it for 64x64 and
    128x128 feature maps.

    Args:
        key_channels: int, channels of queries and keys. Defaults to `None`,
            meaning `max(C // 8, 1)`.
        value_channels: int or `None`, channels of the values; when set, an
            output projection back to `C` is added. Defaults to `None`.
        pool_keys: bool, 2x2 max-pool keys and values. Defaults to `False`.
        use_spectral_norm: bool, wrap every projection in
            `SpectralNormalization`. Defaults to `False`.
        query_block_size: int or `None`, queries per block in the
            memory-lean mode. Defaults to `None` (whole map at once).
        kernel_initializer: initializer of the projections. Defaults to
            `"glorot_uniform"`.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[B, H, W, C]` tensor.
        return_attention_scores: bool; also return the attention map
            `[B, N_queries, N_keys]` (float32, rows sum to 1), for pictures
            of where attention looks. Defaults to `False`.

    Example:

    >>> import numpy as np
    >>> layer = SelfAttention()
    >>> x = np.random.default_rng(0).normal(size=(2, 4, 6, 16)).astype("float32")
    >>> y, scores = layer(x, return_attention_scores=True)
    >>> tuple(y.shape), tuple(scores.shape)
    ((2, 4, 6, 16), (2, 24, 24))

    Reference:
        Zhang, Goodfellow, Metaxas, Odena. Self-Attention Generative
        Adversarial Networks. ICML 2019 (arXiv:1805.08318, 2018).
    """

    def __init__(
        self,
        key_channels=None,
        value_channels=None,
        pool_keys=False,
        use_spectral_norm=False,
        query_block_size=None,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("key_channels", key_channels),
            ("value_channels", value_channels),
            ("query_block_size", query_block_size),
        ):
            if value is not None and int(value) < 1:
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}.")
        self.key_channels = key_channels
        self.value_channels = value_channels
        self.pool_keys = bool(pool_keys)
        self.use_spectral_norm = bool(use_spectral_norm)
        self.query_block_size = query_block_size
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _projection(self, filters, name):
        conv = keras.layers.Conv2D(
            filters,
            1,
            use_bias=False,
            # A fresh copy each: one unseeded initializer called twice gives the same values.
            kernel_initializer=self.kernel_initializer.clone(),
            dtype=self.dtype_policy,
            name=name,
        )
        if self.use_spectral_norm:
            return SpectralNormalization(conv, dtype=self.dtype_policy, name=f"sn_{name}")
        return conv

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                f"SelfAttention expects channels-last [B, H, W, C] inputs with a "
                f"known C, got shape {tuple(input_shape)}."
            )
        if self.pool_keys and any(d is not None and d % 2 for d in input_shape[1:3]):
            raise ValueError(
                f"SelfAttention(pool_keys=True) 2x2-pools keys and values, so H and W "
                f"must be even; got shape {tuple(input_shape)}. Use pool_keys=False "
                f"or an even-sized feature map."
            )
        channels = input_shape[-1]
        key_channels = self.key_channels or max(channels // 8, 1)
        value_channels = self.value_channels or channels
        self.query_projection = self._projection(key_channels, "query")
        self.key_projection = self._projection(key_channels, "key")
        self.value_projection = self._projection(value_channels, "value")
        for projection in (self.query_projection, self.key_projection, self.value_projection):
            projection.build(input_shape)
        self.output_projection = None
        if self.value_channels is not None:
            self.output_projection = self._projection(channels, "output")
            self.output_projection.build(tuple(input_shape[:-1]) + (value_channels,))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")
        self.built = True

    def call(self, inputs, return_attention_scores=False, training=None):
        height, width = _spatial_dims(inputs)
        query = _flatten_positions(self.query_projection(inputs))
        key = self.key_projection(inputs)
        value = self.value_projection(inputs)
        if self.pool_keys:
            key = ops.max_pool(key, pool_size=2, strides=2)
            value = ops.max_pool(value, pool_size=2, strides=2)
        key = _flatten_positions(key)
        value = _flatten_positions(value)
        scores = None
        if self.query_block_size is None or return_attention_scores:
            attended, scores = softmax_attention(query, key, value)
        else:
            attended = blockwise_softmax_attention(query, key, value, self.query_block_size)
        attended = ops.reshape(attended, (-1, height, width, attended.shape[-1]))
        if self.output_projection is not None:
            attended = self.output_projection(attended)
        outputs = inputs + ops.cast(self.gamma, inputs.dtype) * attended
        if return_attention_scores:
            return outputs, scores
        return outputs

    def logged_weights(self):
        """`{"gamma": value}`: the scalar a training log and its curves show for this layer.

        Example:

        >>> layer = SelfAttention()
        >>> import numpy as np
        >>> _ = layer(np.zeros((1, 4, 4, 8), "float32"))
        >>> layer.logged_weights()
        {'gamma': 0.0}
        """
        return {"gamma": float(self.gamma.numpy())}

    def attention_map(self, inputs):
        """The attention map `[B, N_queries, N_keys]` of `inputs` (inference mode), for pictures.

        Example:

        >>> layer = SelfAttention()
        >>> import numpy as np
        >>> tuple(layer.attention_map(np.zeros((2, 4, 4, 8), "float32")).shape)
        (2, 16, 16)
        """
        return self(inputs, return_attention_scores=True)[1]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "key_channels": self.key_channels,
                "value_channels": self.value_channels,
                "pool_keys": self.pool_keys,
                "use_spectral_norm": self.use_spectral_norm,
                "query_block_size": self.query_block_size,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config


def _spatial_dims(tensor):
    """Static height and width where known, dynamic scalars otherwise."""
    dynamic = ops.shape(tensor)
    height = tensor.shape[1] if tensor.shape[1] is not None else dynamic[1]
    width = tensor.shape[2] if tensor.shape[2] is not None else dynamic[2]
    return height, width


def _flatten_positions(tensor):
    """`[B, H, W, C]` -> `[B, H * W, C]`."""
    height, width = _spatial_dims(tensor)
    return ops.reshape(tensor, (-1, height * width, tensor.shape[-1]))

