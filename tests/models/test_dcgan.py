import keras
import numpy as np
import pytest

from tfattngan.layers import InstanceNormalization
from tfattngan.layers import RegionalAttention
from tfattngan.layers import SelfAttention
from tfattngan.layers import SpectralNormalization
from tfattngan.models import dcgan_discriminator
from tfattngan.models import dcgan_generator
from tfattngan.models import trainable_parameter_count


def _dcgan_reference_counts(latent_dim=100, filters=64, channels=3):
    """Parameter counts of the DCGAN of Radford et al. at 64x64, layer by layer.

    The PyTorch DCGAN reference (bias-free 4x4 convolutions, batch norm with
    a scale and a shift) has 3,576,704 generator and 2,765,568
    discriminator parameters for these defaults.
    """
    f = filters
    generator = (
        latent_dim * 8 * f * 16 + 2 * 8 * f      # 1x1 -> 4x4 transposed conv + BN
        + 8 * f * 4 * f * 16 + 2 * 4 * f        # 4 -> 8
        + 4 * f * 2 * f * 16 + 2 * 2 * f        # 8 -> 16
        + 2 * f * f * 16 + 2 * f                # 16 -> 32
        + f * channels * 16                     # 32 -> 64, tanh
    )
    discriminator = (
        channels * f * 16                       # 64 -> 32, no BN
        + f * 2 * f * 16 + 2 * 2 * f            # 32 -> 16
        + 2 * f * 4 * f * 16 + 2 * 4 * f        # 16 -> 8
        + 4 * f * 8 * f * 16 + 2 * 8 * f        # 8 -> 4
        + 8 * f * 16                            # 4x4 -> 1 logit
    )
    return generator, discriminator


def test_dcgan_64_has_the_reference_parameter_counts():
    generator, discriminator = _dcgan_reference_counts()
    assert (generator, discriminator) == (3_576_704, 2_765_568)
    assert trainable_parameter_count(dcgan_generator(64, 3, latent_dim=100)) == generator
    assert trainable_parameter_count(dcgan_discriminator(64, 3)) == discriminator


@pytest.mark.parametrize("image_size", [16, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_for_every_size(image_size, channels):
    generator = dcgan_generator(image_size, channels, latent_dim=8, filters=2)
    discriminator = dcgan_discriminator(image_size, channels, filters=2)
    images = generator(np.random.default_rng(0).normal(size=(3, 8)).astype("float32"))
    assert images.shape == (3, image_size, image_size, channels)
    assert np.all(np.abs(images) <= 1.0)
    assert discriminator(images).shape == (3, 1)


def test_attention_slots_norms_and_spectral_norm_are_where_asked():
    generator = dcgan_generator(
        64, 1, filters=4, normalization="instance", spectral_norm=True, attention="self", attention_sizes=(8, 32)
    )
    attention = [layer for layer in generator.layers if isinstance(layer, SelfAttention)]
    assert [layer.input.shape[1] for layer in attention] == [8, 32]
    assert sum(isinstance(layer, InstanceNormalization) for layer in generator.layers) == 4
    assert all(
        isinstance(layer, SpectralNormalization) for layer in generator.layers if layer.name.startswith(("sn_", "project", "deconv"))
    )
    discriminator = dcgan_discriminator(64, 1, filters=4, normalization="none", attention_sizes=(16,))
    assert [layer.input.shape[1] for layer in discriminator.layers if isinstance(layer, SelfAttention)] == [16]
    assert not any(isinstance(layer, SpectralNormalization) for layer in discriminator.layers)


def test_regional_attention_generator_trains_with_images_and_samples_without():
    from tfattngan import GAN

    generator = dcgan_generator(32, 3, filters=4, attention="regional", attention_sizes=(16,),
                                regional_options={"num_regions": 2, "bank_size": 4})
    assert [i.name for i in generator.inputs] == ["latent", "real_images"]
    gan = GAN(generator, dcgan_discriminator(32, 3, filters=4))
    assert [i.name for i in gan.sampling_model().inputs] == ["latent"]
    layer = [layer for layer in generator.layers if isinstance(layer, RegionalAttention)][0]
    latents = np.random.default_rng(0).normal(size=(4, 100)).astype("float32")
    images = np.random.default_rng(1).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    layer.lambdas.assign([0.5, 1.0])
    assert gan.fill_banks(images) == 1
    assert gan.sample(latents).shape == (4, 32, 32, 3)
    assert not np.allclose(generator([latents, images]), gan.sample(latents))


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="power of two"):
        dcgan_generator(48, 3)
    with pytest.raises(ValueError, match="attention sizes"):
        dcgan_discriminator(32, 3, attention_sizes=(32,))


def test_the_ragan_sampling_model_spreads_its_latents_over_the_whole_bank():
    """2,000 latents through `ragan-dcgan-ra-cifar10`'s regional attention, bank of 64 different real images.

    Each sample's region term (the layer's output minus its input) is matched against the term the
    training path gives each bank image as the real image; a sampler that collapses onto one entry, or
    uses a stale or empty bank, fails. The GAN's sampling model (what exports hold) feeds the generator
    exactly the bank image the layer picks.
    """
    import tensorflow as tf

    from tfattngan.data import load_source
    from tfattngan.recipes import build_generator
    from tfattngan.recipes import get_recipe

    generator = build_generator(get_recipe("ragan-dcgan-ra-cifar10").replace(regional_bank_size=64))
    layer = [layer for layer in generator.layers if isinstance(layer, RegionalAttention)][0]
    bank = load_source("builtin").reader.items[:64].astype("float32") / 127.5 - 1.0
    assert len({image.tobytes() for image in bank}) == 64
    layer.fill_bank(bank)
    layer.lambdas.assign(np.ones(layer.num_regions, "float32"))
    latents = tf.constant(np.random.default_rng(0).normal(size=(2000, 100)).astype("float32"))

    def region_terms(latents):
        x = latents
        for sublayer in generator.layers:
            if isinstance(sublayer, keras.layers.InputLayer):
                continue
            if isinstance(sublayer, RegionalAttention):
                return np.asarray(sublayer(x, latent=latents) - x)
            x = sublayer(x)

    terms = region_terms(latents)
    candidates = np.asarray(layer(tf.zeros((64,) + terms.shape[1:]), tf.constant(bank)))
    terms, candidates = terms.reshape(2000, -1).astype("float64"), candidates.reshape(64, -1).astype("float64")
    squared = (terms**2).sum(1)[:, None] + (candidates**2).sum(1)[None] - 2 * terms @ candidates.T
    used = squared.argmin(axis=1)
    relative = np.sqrt(np.maximum(squared.min(axis=1), 0) / (candidates**2).sum(1)[used])
    assert np.all(relative < 1e-3)  # every sample got exactly one bank image's regions
    counts = np.bincount(used, minlength=64)
    assert (counts > 0).sum() >= 32 and counts.max() <= 0.1 * 2000, counts
    np.testing.assert_array_equal(region_terms(latents[:100]).reshape(100, -1), terms[:100])  # the same latent, the same image
    from tfattngan import GAN

    gan = GAN(generator, dcgan_discriminator(32, 3, filters=4))
    picked = tf.gather(tf.constant(bank), used[:8])
    np.testing.assert_allclose(gan.sample(latents[:8]), generator([latents[:8], picked], training=False), atol=1e-6)
