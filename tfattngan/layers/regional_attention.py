"""Regional attention: the deep attention encoder of RAGAN."""

import math

import keras
from keras import ops

from tfattngan.layers.spectral_normalization import SpectralNormalization


@keras.saving.register_keras_serializable(package="tfattngan")
class RegionalAttention(keras.layers.Layer):
    """Adds encodings of attended regions of real images to generator features.

    The deep attention encoder (DAE) of RAGAN. Given generator features
    `g [B, h, w, C]` and real images `X [B, H, W, c]`:

    1. a shared convolutional encoder `E` (strided 4x4 convolutions with
       LeakyReLU 0.2) encodes `X`; a localisation function `F` (a 3x3
       convolution, global average pooling and a dense layer with a sigmoid)
       predicts `num_regions` centres `c_i` in `[0, 1]^2` from `E(X)`;
    2. each centre gives a differentiable mask `M_i` at image resolution, a
       Gaussian window `exp(-|p - c_i|^2 / (2 mask_width^2))` over pixel
       centres `p` in normalised `[0, 1]` coordinates;
    3. the regions `R_i = X * M_i` are encoded by the same `E`, resized
       bilinearly to `h x w` and projected by a 1x1 convolution to `C`
       channels, giving `A_i`;
    4. the output is `O = sum_i lambda_i * A_i + g`, with trainable scalars
       `lambda_i` initialised to 0, so the layer starts as the identity.

    Sampling without real images. The paper does not say how a trained
    generator samples when no real images are at hand. This layer keeps a
    region bank: the `A_i` maps of `bank_size` real images, stored in a
    non-trainable weight by `fill_region_bank(images)` (the trainer calls it
    when training ends and at every checkpoint). Called without `images`, the
    layer takes for each sample one bank entry, chosen deterministically from
    the features (the arg-max of a fixed random projection of their spatial
    mean), so an exported generator needs only a latent and a given latent
    always gives the same image. Before the bank is filled it holds zeros and
    the layer passes `g` through unchanged.

    The layer must be called once with `images` before it is used without
    them: that call builds the encoder for the image shape.

    Args:
        num_regions: int, number of regions `N`. Defaults to `4`.
        encoder_filters: tuple of ints, filters of the encoder's strided
            convolutions. Defaults to `(32, 64)`.
        localization_filters: int, filters of the localisation convolution.
            Defaults to `32`.
        mask_width: float, standard deviation of the Gaussian masks as a
            fraction of the image side. Defaults to `0.15`.
        bank_size: int, number of real images whose encodings the region
            bank stores. Defaults to `64`.
        use_spectral_norm: bool, spectral normalisation on every convolution
            and dense layer. Defaults to `False`.
        kernel_initializer: initializer of the convolutions. Defaults to
            `"glorot_uniform"`.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        features: `[B, h, w, C]` generator features.
        images: `[B, H, W, c]` real images in `[-1, 1]`, or `None` to sample
            from the region bank. Defaults to `None`.
        training: bool, passed to the spectral normalisation. Defaults to
            `None`.

    Example:

    >>> import numpy as np
    >>> layer = RegionalAttention(num_regions=2, bank_size=4)
    >>> g = np.zeros((3, 8, 8, 16), "float32")
    >>> x = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 3)).astype("float32")
    >>> tuple(layer(g, x).shape)
    (3, 8, 8, 16)
    >>> layer.fill_region_bank(np.concatenate([x, x]))
    >>> tuple(layer(g).shape)
    (3, 8, 8, 16)

    Reference:
        Wang, Hu, Huang, Ruan, Chen. Regional attention generative
        adversarial networks. Electronics Letters 55(8), 2019.
    """

    def __init__(
        self,
        num_regions=4,
        encoder_filters=(32, 64),
        localization_filters=32,
        mask_width=0.15,
        bank_size=64,
        use_spectral_norm=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(num_regions) < 1 or int(bank_size) < 1 or not encoder_filters:
            raise ValueError(
                "num_regions and bank_size must be positive and encoder_filters "
                f"non-empty; got num_regions={num_regions!r}, bank_size={bank_size!r}, "
                f"encoder_filters={encoder_filters!r}."
            )
        if not float(mask_width) > 0:
            raise ValueError(f"mask_width must be positive, got {mask_width!r}.")
        self.num_regions = int(num_regions)
        self.encoder_filters = tuple(int(f) for f in encoder_filters)
        self.localization_filters = int(localization_filters)
        self.mask_width = float(mask_width)
        self.bank_size = int(bank_size)
        self.use_spectral_norm = bool(use_spectral_norm)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _maybe_normalized(self, layer):
        if self.use_spectral_norm:
            return SpectralNormalization(layer, dtype=self.dtype_policy, name=f"sn_{layer.name}")
        return layer

    def _conv(self, filters, size, strides, name):
        return self._maybe_normalized(
            keras.layers.Conv2D(
                filters, size, strides=strides, padding="same",
                kernel_initializer=self.kernel_initializer,
                dtype=self.dtype_policy, name=name,
            )
        )

    def build(self, features_shape, images_shape=None):
        if images_shape is None:
            raise ValueError(
                "RegionalAttention must first be called with real images "
                "(`layer(features, images)`): that call builds its encoder."
            )
        if len(features_shape) != 4 or None in tuple(features_shape[1:]):
            raise ValueError(
                f"RegionalAttention needs features [B, h, w, C] with known h, w and C, "
                f"got {tuple(features_shape)}."
            )
        if len(images_shape) != 4 or None in tuple(images_shape[1:]):
            raise ValueError(
                f"RegionalAttention needs images [B, H, W, c] with known H, W and c, "
                f"got {tuple(images_shape)}."
            )
        _, height, width, channels = features_shape
        self.feature_size = (height, width)
        self.image_size = tuple(images_shape[1:3])
        self.image_channels = images_shape[3]

        self.encoder = [
            self._conv(filters, 4, 2, f"encoder_{index}")
            for index, filters in enumerate(self.encoder_filters)
        ]
        shape = tuple(images_shape)
        for conv in self.encoder:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
        self.localization_conv = self._conv(self.localization_filters, 3, 1, "localization_conv")
        self.localization_conv.build(shape)
        self.localization_dense = self._maybe_normalized(
            keras.layers.Dense(
                2 * self.num_regions,
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
                bias_initializer=keras.initializers.Constant(self._grid_logits()),
                dtype=self.dtype_policy, name="localization_dense",
            )
        )
        self.localization_dense.build((None, self.localization_filters))
        self.projection = self._conv(channels, 1, 1, "projection")
        self.projection.build((None, height, width, self.encoder_filters[-1]))

        self.lambdas = self.add_weight(name="lambdas", shape=(self.num_regions,), initializer="zeros")
        self.region_bank = self.add_weight(
            name="region_bank",
            shape=(self.bank_size, self.num_regions, height, width, channels),
            initializer="zeros",
            trainable=False,
        )
        self.bank_selector = self.add_weight(
            name="bank_selector",
            shape=(channels, self.bank_size),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
        )
        self.built = True

    def _grid_logits(self):
        """Dense-layer biases that put the initial centres on a grid."""
        side = math.ceil(math.sqrt(self.num_regions))
        logits = []
        for index in range(self.num_regions):
            row, column = divmod(index, side)
            for position in (row, column):
                centre = (position + 0.5) / side
                logits.append(math.log(centre / (1.0 - centre)))
        return logits

    def _encode(self, images):
        for conv in self.encoder:
            images = ops.leaky_relu(conv(images), negative_slope=0.2)
        return images

    def region_centres(self, images):
        """Predicted region centres `[B, N, 2]` as (row, column) in `[0, 1]`.

        Example:

        >>> import numpy as np
        >>> layer = RegionalAttention(num_regions=4)
        >>> x = np.zeros((2, 16, 16, 1), "float32")
        >>> _ = layer(np.zeros((2, 4, 4, 8), "float32"), x)
        >>> tuple(layer.region_centres(x).shape)
        (2, 4, 2)
        """
        hidden = ops.leaky_relu(self.localization_conv(self._encode(images)), negative_slope=0.2)
        logits = self.localization_dense(ops.mean(hidden, axis=(1, 2)))
        centres = ops.sigmoid(ops.cast(logits, "float32"))
        return ops.reshape(centres, (-1, self.num_regions, 2))

    def region_masks(self, centres):
        """Gaussian masks `[B, N, H, W]` (float32) around `centres [B, N, 2]`.

        Example:

        >>> import numpy as np
        >>> layer = RegionalAttention(num_regions=1)
        >>> _ = layer(np.zeros((1, 4, 4, 8), "float32"), np.zeros((1, 8, 8, 1), "float32"))
        >>> masks = layer.region_masks(np.array([[[0.0, 1.0]]], "float32")).numpy()
        >>> [int(i) for i in np.unravel_index(masks[0, 0].argmax(), (8, 8))]
        [0, 7]
        """
        height, width = self.image_size
        rows = (ops.arange(height, dtype="float32") + 0.5) / height
        columns = (ops.arange(width, dtype="float32") + 0.5) / width
        centres = ops.cast(centres, "float32")
        row_distance = rows[None, None, :, None] - centres[:, :, 0, None, None]
        column_distance = columns[None, None, None, :] - centres[:, :, 1, None, None]
        squared = ops.square(row_distance) + ops.square(column_distance)
        return ops.exp(-squared / (2.0 * self.mask_width**2))

    def encode_regions(self, images):
        """The region encodings `A_i`, `[B, N, h, w, C]`.

        Example:

        >>> import numpy as np
        >>> layer = RegionalAttention(num_regions=3)
        >>> x = np.zeros((2, 16, 16, 3), "float32")
        >>> _ = layer(np.zeros((2, 4, 4, 8), "float32"), x)
        >>> tuple(layer.encode_regions(x).shape)
        (2, 3, 4, 4, 8)
        """
        masks = self.region_masks(self.region_centres(images))
        regions = images[:, None] * ops.cast(masks[..., None], images.dtype)
        height, width = self.image_size
        regions = ops.reshape(regions, (-1, height, width, images.shape[-1]))
        encoded = ops.image.resize(self._encode(regions), self.feature_size, interpolation="bilinear")
        encoded = self.projection(encoded)
        feature_height, feature_width = self.feature_size
        return ops.reshape(
            encoded, (-1, self.num_regions, feature_height, feature_width, encoded.shape[-1])
        )

    def _bank_regions(self, features):
        summary = ops.mean(features, axis=(1, 2))
        scores = ops.matmul(ops.cast(summary, "float32"), ops.cast(self.bank_selector, "float32"))
        # The first index of the maximum, like argmax; keras.ops.argmax on floats tests the sign bit with
        # tf.bitwise.bitwise_and, an op TFLite has no builtin kernel for.
        index = ops.top_k(scores, k=1)[1][:, 0]
        return ops.take(self.region_bank, index, axis=0)

    def call(self, features, images=None, training=None):
        if images is None:
            regions = self._bank_regions(features)
        else:
            regions = self.encode_regions(images)
        weights = ops.reshape(self.lambdas, (1, self.num_regions, 1, 1, 1))
        return features + ops.sum(ops.cast(weights, features.dtype) * ops.cast(regions, features.dtype), axis=1)

    def fill_region_bank(self, images):
        """Stores the region encodings of real `images` in the bank.

        Takes the first `bank_size` images, repeating them when there are
        fewer. Call it outside `strategy.run` (cross-replica context).

        Example:

        >>> import numpy as np
        >>> layer = RegionalAttention(num_regions=1, bank_size=2)
        >>> x = np.ones((1, 8, 8, 1), "float32")
        >>> _ = layer(np.zeros((1, 2, 2, 4), "float32"), x)
        >>> layer.fill_region_bank(x)
        >>> bool(np.abs(layer.region_bank.numpy()).sum() > 0)
        True
        """
        images = ops.convert_to_tensor(images, dtype=self.compute_dtype)
        expected = self.image_size + (self.image_channels,)
        if len(images.shape) != 4 or tuple(images.shape[1:]) != expected or images.shape[0] < 1:
            raise ValueError(
                f"fill_region_bank needs real images of shape [N >= 1, {expected[0]}, "
                f"{expected[1]}, {expected[2]}] (the shape the layer was built for), got "
                f"{tuple(images.shape)}."
            )
        count = images.shape[0]
        repeats = math.ceil(self.bank_size / count)
        images = ops.tile(images, (repeats, 1, 1, 1))[: self.bank_size]
        self.region_bank.assign(ops.cast(self.encode_regions(images), self.region_bank.dtype))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_regions": self.num_regions,
                "encoder_filters": list(self.encoder_filters),
                "localization_filters": self.localization_filters,
                "mask_width": self.mask_width,
                "bank_size": self.bank_size,
                "use_spectral_norm": self.use_spectral_norm,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
