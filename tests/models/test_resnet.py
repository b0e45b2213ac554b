import numpy as np
import pytest
import tensorflow as tf

from tfattngan.layers import ConditionalBatchNormalization
from tfattngan.layers import SelfAttention
from tfattngan.layers import SpectralNormalization
from tfattngan.models import resnet_discriminator
from tfattngan.models import resnet_generator


@pytest.mark.parametrize("image_size", [32, 64, 128])
def test_conditional_shapes(image_size):
    generator = resnet_generator(image_size, 3, latent_dim=16, filters=2, num_classes=5)
    discriminator = resnet_discriminator(image_size, 3, filters=2, num_classes=5)
    latents = np.random.default_rng(0).normal(size=(2, 16)).astype("float32")
    labels = tf.constant([0, 4], tf.int32)
    images = generator([tf.constant(latents), labels])
    assert images.shape == (2, image_size, image_size, 3)
    assert discriminator([images, labels]).shape == (2, 1)


def test_generator_uses_conditional_batch_norm_and_spectral_norm_everywhere():
    generator = resnet_generator(32, 3, filters=2, num_classes=10, attention_sizes=(16,))
    assert sum(isinstance(layer, ConditionalBatchNormalization) for layer in generator.layers) == 6
    kernels = [layer for layer in generator.layers if hasattr(layer, "kernel") and not isinstance(layer, SelfAttention)]
    assert kernels == [] or all(isinstance(layer, SpectralNormalization) for layer in kernels)
    assert sum(isinstance(layer, SpectralNormalization) for layer in generator.layers) == 1 + 3 * 3 + 1
    assert [layer.input.shape[1] for layer in generator.layers if isinstance(layer, SelfAttention)] == [16]


def test_projection_discriminator_depends_on_the_label_through_the_embedding():
    discriminator = resnet_discriminator(32, 3, filters=2, num_classes=3)
    images = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    logits = [float(discriminator([images, np.array([label], "int32")])[0, 0]) for label in range(3)]
    embedding = [layer for layer in discriminator.layers if layer.name == "sn_embedding"][0]
    features = discriminator.get_layer("sum_pool").output
    import keras

    pooled = keras.Model(discriminator.inputs, features)([images, np.array([0], "int32")]).numpy()[0]
    rows = np.asarray(embedding.normalized_kernel())
    differences = np.array(logits) - logits[0]
    np.testing.assert_allclose(differences, rows @ pooled - rows[0] @ pooled, rtol=1e-4, atol=1e-4)
