"""Regional attention: the deep attention encoder of RAGAN."""

import math

import keras
import numpy as np
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

    The paper leaves `E` and `F` open ("E is encoder that can be designed to
    coordinate with outputs you want"); the choices above are this layer's.
    `E` runs twice per pass (on `X`, then on the regions); with spectral
    normalisation its power iteration advances on the first run only, so `u`
    moves once per training call, as in every other layer.

    Sampling without real images. The generator needs real images in
    training; a trained generator samples from a latent alone by drawing `X`
    from an image bank: `bank_size` real images stored in a non-trainable
    weight by `fill_bank(images)` (the trainer fills it from the training
    data before the first step). Called with `latent` instead of `images`,
    the layer takes for each sample one bank image and computes its regions
    exactly as in training, with the current weights of `E`, `F` and the
    projection (so the bank never goes stale, and an EMA copy of the layer
    encodes the bank with its own weights). The bank image of a latent `z`
    is given by the angle of its projection on two fixed orthonormal
    directions (the normalised sum and alternating sum of its entries):
    for `z ~ N(0, I)` that angle is uniform, so every bank image is drawn
    equally often, as every training image is; the same latent always gives
    the same image. Before the bank is filled the layer passes `g` through
    unchanged when sampling.

    The bank trades memory for diversity: samples can only show the regions
    of `bank_size` real images, and the bank costs
    `bank_size * H * W * c * 4` bytes in the layer's weights and in every
    export (256 images: 3 MiB at 32x32x3, 12 MiB at 64x64x3, 48 MiB at
    128x128x3). An exported generator therefore contains `bank_size` real
    training images.

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
        bank_size: int, number of real images the bank stores for sampling.
            Defaults to `256`.
        use_spectral_norm: bool, spectral normalisation on every convolution
            and dense layer. Defaults to `False`.
        kernel_initializer: initializer of the convolutions. Defaults to
            `"glorot_uniform"`.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        features: `[B, h, w, C]` generator features.
        images: `[B, H, W, c]` real images in `[-1, 1]` (training), or
            `None` to sample from the bank. Defaults to `None`.
        latent: `[B, d]` latents (`d >= 2`) that choose each sample's bank
            image when `images` is `None`; pass the generator's latent.
            Defaults to `None`.
        training: bool, passed to the spectral normalisation. Defaults to
            `None`.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> layer = RegionalAttention(num_regions=2, bank_size=4)
    >>> g = np.zeros((3, 8, 8, 16), "float32")
    >>> x = rng.uniform(-1, 1, (3, 32, 32, 3)).astype("float32")
    >>> tuple(layer(g, x).shape)
    (3, 8, 8, 16)
    >>> layer.fill_bank(np.concatenate([x, x]))
    >>> tuple(layer(g, latent=rng.normal(size=(3, 64)).astype("float32")).shape)
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
        bank_size=256,
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
                # A fresh copy each: one unseeded initializer called twice gives the same values.
                kernel_initializer=self.kernel_initializer.clone(),
                dtype=self.dtype_policy, name=name,
            )
        )

    def build(self, features_shape, images_shape=None, latent_shape=None):
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

        # One attribute per convolution: tf.train.Checkpoint does not see layers held in a list attribute
        # (Keras 3 tracks the list for its own saving only), so a list would leave E out of checkpoints.
        shape = tuple(images_shape)
        for index, filters in enumerate(self.encoder_filters):
            conv = self._conv(filters, 4, 2, f"encoder_{index}")
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            setattr(self, f"encoder_{index}", conv)
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
        self.bank_images = self.add_weight(
            name="bank_images", shape=(self.bank_size,) + tuple(images_shape[1:]), initializer="zeros",
            trainable=False,
        )
        self.bank_filled = self.add_weight(name="bank_filled", shape=(), initializer="zeros", trainable=False)
        self.built = True

    @property
    def encoder(self):
        """The encoder `E`'s convolutions, in order (available once built)."""
        return [getattr(self, f"encoder_{index}") for index in range(len(self.encoder_filters))]

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
        # E's second run: its spectral norm already advanced on the first.
        with SpectralNormalization.power_iteration_paused():
            encoded = self._encode(regions)
        encoded = ops.image.resize(encoded, self.feature_size, interpolation="bilinear")
        encoded = self.projection(encoded)
        feature_height, feature_width = self.feature_size
        return ops.reshape(
            encoded, (-1, self.num_regions, feature_height, feature_width, encoded.shape[-1])
        )

    def bank_index(self, latent):
        """The bank image each latent samples with, int32 `[B]`.

        The angle of the latent's projection on two fixed orthonormal
        directions, cut into `bank_size` equal sectors: uniform over the bank
        for normal latents, and computed with TFLite builtin ops.

        Example:

        >>> import numpy as np
        >>> layer = RegionalAttention(bank_size=8)
        >>> _ = layer(np.zeros((1, 4, 4, 8), "float32"), np.zeros((1, 16, 16, 1), "float32"))
        >>> z = np.random.default_rng(0).normal(size=(4000, 16)).astype("float32")
        >>> counts = np.bincount(layer.bank_index(z).numpy(), minlength=8)
        >>> bool(counts.min() > 400 and counts.max() < 600)
        True
        """
        latent = ops.convert_to_tensor(latent)
        if len(latent.shape) != 2 or latent.shape[-1] is None or latent.shape[-1] < 2:
            raise ValueError(
                f"RegionalAttention samples its bank with latents [B, d >= 2]; got shape {tuple(latent.shape)}."
            )
        projected = ops.matmul(ops.cast(latent, "float32"), _orthonormal_pair(latent.shape[-1]))
        angle = ops.arctan2(projected[:, 1], projected[:, 0])  # uniform in (-pi, pi]
        sector = ops.floor((angle + math.pi) * (self.bank_size / (2.0 * math.pi)))
        return ops.cast(ops.minimum(sector, self.bank_size - 1), "int32")

    def call(self, features, images=None, latent=None, training=None):
        if images is not None:
            regions = self.encode_regions(images)
            present = 1.0
        elif latent is not None:
            bank_images = ops.take(self.bank_images, self.bank_index(latent), axis=0)
            regions = self.encode_regions(ops.cast(bank_images, self.compute_dtype))
            present = self.bank_filled
        else:
            raise ValueError(
                "RegionalAttention needs real `images` (training) or the generator's `latent` "
                "(sampling from the bank): call layer(features, images) or layer(features, latent=z)."
            )
        weights = ops.reshape(ops.cast(self.lambdas, "float32") * present, (1, self.num_regions, 1, 1, 1))
        return features + ops.sum(ops.cast(weights, features.dtype) * ops.cast(regions, features.dtype), axis=1)

    def logged_weights(self):
        """`{"lambda_0": value, ...}`: the scalars a training log and its curves show for this layer.

        Example:

        >>> import numpy as np
        >>> layer = RegionalAttention(num_regions=2, bank_size=1)
        >>> _ = layer(np.zeros((1, 8, 8, 4), "float32"), np.zeros((1, 16, 16, 3), "float32"))
        >>> layer.logged_weights()
        {'lambda_0': 0.0, 'lambda_1': 0.0}
        """
        return {f"lambda_{index}": float(value) for index, value in enumerate(self.lambdas.numpy())}

    @property
    def bank_weights(self):
        """The weights `fill_bank` writes (`bank_images`, `bank_filled`); training never changes them."""
        return (self.bank_images, self.bank_filled)

    def fill_bank(self, images):
        """Stores real `images` in the bank that sampling draws on.

        Takes the first `bank_size` images, repeating them when there are
        fewer. Call it outside `strategy.run` (cross-replica context).

        Example:

        >>> import numpy as np
        >>> layer = RegionalAttention(num_regions=1, bank_size=2)
        >>> x = np.ones((1, 8, 8, 1), "float32")
        >>> _ = layer(np.zeros((1, 2, 2, 4), "float32"), x)
        >>> layer.fill_bank(x)
        >>> layer.bank_images.numpy().sum(), float(layer.bank_filled.numpy())
        (np.float32(128.0), 1.0)
        """
        images = ops.convert_to_tensor(images, dtype="float32")
        expected = self.image_size + (self.image_channels,)
        if len(images.shape) != 4 or tuple(images.shape[1:]) != expected or images.shape[0] < 1:
            raise ValueError(
                f"fill_bank needs real images of shape [N >= 1, {expected[0]}, "
                f"{expected[1]}, {expected[2]}] (the shape the layer was built for), got "
                f"{tuple(images.shape)}."
            )
        repeats = math.ceil(self.bank_size / images.shape[0])
        self.bank_images.assign(ops.tile(images, (repeats, 1, 1, 1))[: self.bank_size])
        self.bank_filled.assign(1.0)

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


def _orthonormal_pair(size):
    """`[size, 2]`: the normalised sum and alternating sum of `size` entries, made orthonormal."""
    total = np.ones(size) / np.sqrt(size)
    alternating = np.where(np.arange(size) % 2 == 0, 1.0, -1.0)
    alternating -= (alternating @ total) * total
    return np.stack([total, alternating / np.linalg.norm(alternating)], axis=1).astype("float32")
