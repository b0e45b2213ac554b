import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.layer_checks import run_layer_test
from tfattngan.layers import RegionalAttention


def _features(batch=4, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, 8, 8, 16)).astype("float32")


def _images(batch=4, seed=1, size=32, channels=3):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, channels)).astype("float32")


def _set_lambdas(layer):
    layer.lambdas.assign(np.linspace(0.5, 1.5, layer.num_regions).astype("float32"))


@pytest.mark.parametrize("use_spectral_norm", [False, True])
def test_shared_layer_checks(use_spectral_norm):
    run_layer_test(
        RegionalAttention,
        {"num_regions": 3, "encoder_filters": (8, 16), "localization_filters": 8,
         "bank_size": 4, "use_spectral_norm": use_spectral_norm},
        {"inputs": _features(), "images": _images()},
        expected_output_shape=(4, 8, 8, 16),
        prepare_layer=_set_lambdas,
    )


def test_zero_lambdas_give_the_identity_with_and_without_images():
    layer = RegionalAttention(num_regions=3, bank_size=4)
    features, images = _features(), _images()
    np.testing.assert_array_equal(layer(features, images), features)
    layer.fill_region_bank(images)
    np.testing.assert_array_equal(layer(features), features)


def test_output_is_features_plus_weighted_region_encodings():
    layer = RegionalAttention(num_regions=3, bank_size=4)
    features, images = _features(), _images()
    layer(features, images)
    _set_lambdas(layer)
    regions = np.asarray(layer.encode_regions(images), dtype="float64")
    lambdas = np.asarray(layer.lambdas, dtype="float64")
    expected = features + np.einsum("n,bnhwc->bhwc", lambdas, regions)
    np.testing.assert_allclose(layer(features, images), expected, atol=1e-5)


def test_masks_are_gaussians_that_peak_at_the_predicted_centres():
    layer = RegionalAttention(num_regions=4, mask_width=0.1)
    images = _images(size=32)
    layer(_features(), images)
    centres = np.asarray(layer.region_centres(images))
    assert centres.shape == (4, 4, 2) and np.all((centres > 0) & (centres < 1))
    masks = np.asarray(layer.region_masks(centres))
    assert masks.shape == (4, 4, 32, 32)
    grid = (np.arange(32) + 0.5) / 32
    for b in range(4):
        for i in range(4):
            row, column = np.unravel_index(masks[b, i].argmax(), (32, 32))
            assert abs(grid[row] - centres[b, i, 0]) <= 0.5 / 32 + 1e-6
            assert abs(grid[column] - centres[b, i, 1]) <= 0.5 / 32 + 1e-6
            expected = np.exp(
                -((grid[:, None] - centres[b, i, 0]) ** 2 + (grid[None, :] - centres[b, i, 1]) ** 2)
                / (2 * 0.1**2)
            )
            np.testing.assert_allclose(masks[b, i], expected, atol=1e-6)


def test_initial_centres_spread_over_a_grid():
    layer = RegionalAttention(num_regions=4)
    images = _images()
    layer(_features(), images)
    centres = np.asarray(layer.region_centres(images)).mean(axis=0)
    np.testing.assert_allclose(centres, [[0.25, 0.25], [0.25, 0.75], [0.75, 0.25], [0.75, 0.75]], atol=0.05)


def test_gradients_reach_localisation_encoder_and_lambdas():
    layer = RegionalAttention(num_regions=2, encoder_filters=(8, 16), localization_filters=8)
    features, images = tf.constant(_features()), tf.constant(_images())
    layer(features, images)
    _set_lambdas(layer)
    weights = tf.constant(np.random.default_rng(5).normal(size=features.shape).astype("float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(features, images, training=True) * weights)
    gradients = tape.gradient(loss, layer.trainable_variables)
    names = [v.path for v in layer.trainable_variables]
    for part in ("encoder_0", "encoder_1", "localization_conv", "localization_dense", "projection", "lambdas"):
        assert any(part in n for n in names), part
    for name, gradient in zip(names, gradients):
        assert gradient is not None and float(tf.norm(gradient)) > 0, f"no gradient reaches {name}"


def test_bank_sampling_without_images():
    layer = RegionalAttention(num_regions=2, bank_size=5)
    features, images = _features(6), _images(6)
    layer(features, images)
    _set_lambdas(layer)
    layer.fill_region_bank(images)
    bank = np.asarray(layer.region_bank, dtype="float64")
    np.testing.assert_allclose(bank, layer.encode_regions(images[:5]), atol=1e-6)
    outputs = np.asarray(layer(features))
    assert outputs.shape == features.shape and np.all(np.isfinite(outputs))
    index = np.argmax(features.mean(axis=(1, 2)) @ np.asarray(layer.bank_selector), axis=-1)
    lambdas = np.asarray(layer.lambdas, dtype="float64")
    expected = features + np.einsum("n,bnhwc->bhwc", lambdas, bank[index])
    np.testing.assert_allclose(outputs, expected, atol=1e-5)
    np.testing.assert_array_equal(layer(features), outputs)  # deterministic


def test_bank_model_exports_with_a_latent_only():
    layer = RegionalAttention(num_regions=2, bank_size=3)
    features, images = _features(), _images()
    layer(features, images)
    _set_lambdas(layer)
    layer.fill_region_bank(images)
    inputs = keras.Input((8, 8, 16))
    model = keras.Model(inputs, layer(inputs))
    expected = np.asarray(model(features))
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "bank.keras")
        model.save(path)
        np.testing.assert_array_equal(keras.saving.load_model(path, safe_mode=True)(features), expected)
        model.export(os.path.join(directory, "saved"), verbose=False)
        restored = tf.saved_model.load(os.path.join(directory, "saved"))
        served = restored.serve(features)
        np.testing.assert_allclose(served, expected, atol=1e-6)


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="called with real images"):
        RegionalAttention()(_features())
    layer = RegionalAttention(bank_size=2)
    layer(_features(), _images())
    with pytest.raises(ValueError, match="fill_region_bank needs real images"):
        layer.fill_region_bank(_images(size=16))
    with pytest.raises(ValueError, match="mask_width"):
        RegionalAttention(mask_width=0)
