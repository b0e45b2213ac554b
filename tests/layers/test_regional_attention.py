import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.layer_checks import run_layer_test
from tfattngan.layers import RegionalAttention


def _features(batch=4, seed=0, size=8):
    return np.random.default_rng(seed).normal(size=(batch, size, size, 16)).astype("float32")


def _images(batch=4, seed=1, size=32, channels=3):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, channels)).astype("float32")


def _latents(batch=4, seed=2, size=12):
    return np.random.default_rng(seed).normal(size=(batch, size)).astype("float32")


def _set_lambdas(layer):
    layer.lambdas.assign(np.linspace(0.5, 1.5, layer.num_regions).astype("float32"))


SMALL = {"num_regions": 3, "encoder_filters": (8, 16), "localization_filters": 8, "bank_size": 4}


@pytest.mark.parametrize("use_spectral_norm", [False, True])
def test_shared_layer_checks_with_real_images(use_spectral_norm):
    run_layer_test(
        RegionalAttention,
        {**SMALL, "use_spectral_norm": use_spectral_norm},
        {"inputs": _features(), "images": _images()},
        expected_output_shape=(4, 8, 8, 16),
        prepare_layer=_set_lambdas,
    )


def test_shared_layer_checks_sampling_from_the_bank():
    def build_and_fill(layer):
        layer(_features(), _images())
        layer.fill_bank(_images(batch=4, seed=9))

    run_layer_test(
        RegionalAttention,
        {**SMALL, "use_spectral_norm": True},
        {"inputs": _features(), "latent": _latents()},
        expected_output_shape=(4, 8, 8, 16),
        prepare_layer=_set_lambdas,
        build_layer=build_and_fill,
    )


def test_zero_lambdas_or_an_empty_bank_give_the_identity():
    layer = RegionalAttention(num_regions=3, bank_size=4)
    features, images, latents = _features(), _images(), _latents()
    np.testing.assert_array_equal(layer(features, images), features)
    _set_lambdas(layer)
    np.testing.assert_array_equal(layer(features, latent=latents), features)  # nothing in the bank yet
    layer.fill_bank(images)
    assert np.abs(np.asarray(layer(features, latent=latents)) - features).max() > 1e-3


# ---------------------------------------------------------------------------
# The paper's computation, O = sum_i lambda_i E(X * M_i) + g, in NumPy
# ---------------------------------------------------------------------------


def _leaky_relu(x):
    return np.where(x > 0, x, 0.2 * x)


def _conv_same(x, kernel, bias, stride):
    """TensorFlow's "same" convolution, by explicit patches."""
    batch, height, width, _ = x.shape
    size = kernel.shape[0]
    out_h, out_w = -(-height // stride), -(-width // stride)
    pad_h = max((out_h - 1) * stride + size - height, 0)
    pad_w = max((out_w - 1) * stride + size - width, 0)
    padded = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    out = np.zeros((batch, out_h, out_w, kernel.shape[-1]))
    for row in range(out_h):
        for column in range(out_w):
            patch = padded[:, row * stride:row * stride + size, column * stride:column * stride + size]
            out[:, row, column] = np.einsum("bijc,ijco->bo", patch, kernel)
    return out + bias


def _bilinear_resize(x, out_h, out_w):
    """Bilinear resize with half-pixel centres (tf.image.resize's default)."""

    def axis_weights(size_in, size_out):
        positions = (np.arange(size_out) + 0.5) * size_in / size_out - 0.5
        positions = np.clip(positions, 0, size_in - 1)
        low = np.floor(positions).astype(int)
        high = np.minimum(low + 1, size_in - 1)
        matrix = np.zeros((size_out, size_in))
        matrix[np.arange(size_out), low] += 1 - (positions - low)
        matrix[np.arange(size_out), high] += positions - low
        return matrix

    rows, columns = axis_weights(x.shape[1], out_h), axis_weights(x.shape[2], out_w)
    return np.einsum("ri,bijc,sj->brsc", rows, x, columns)


def _numpy_regional_attention(layer, features, images, mask_width):
    weights = lambda sub: [np.asarray(w, "float64") for w in sub.weights]  # noqa: E731

    def encode(x):
        for conv in layer.encoder:
            kernel, bias = weights(conv)
            x = _leaky_relu(_conv_same(x, kernel, bias, 2))
        return x

    kernel, bias = weights(layer.localization_conv)
    hidden = _leaky_relu(_conv_same(encode(images), kernel, bias, 1)).mean(axis=(1, 2))
    dense_kernel, dense_bias = weights(layer.localization_dense)
    centres = 1 / (1 + np.exp(-(hidden @ dense_kernel + dense_bias)))
    centres = centres.reshape(len(images), layer.num_regions, 2)
    size = images.shape[1]
    grid = (np.arange(size) + 0.5) / size
    projection_kernel, projection_bias = weights(layer.projection)
    lambdas = np.asarray(layer.lambdas, "float64")
    output = np.array(features, "float64")
    for region in range(layer.num_regions):
        rows = grid[None, :, None] - centres[:, region, 0, None, None]
        columns = grid[None, None, :] - centres[:, region, 1, None, None]
        mask = np.exp(-(rows**2 + columns**2) / (2 * mask_width**2))
        encoded = encode(images * mask[..., None])
        encoded = _bilinear_resize(encoded, features.shape[1], features.shape[2])
        encoded = encoded @ projection_kernel[0, 0] + projection_bias
        output += lambdas[region] * encoded
    return output


def test_output_matches_the_papers_computation_in_numpy():
    # 16x16 features from 32x32 images: the encoder gives 8x8, so the resize is a real upsampling.
    layer = RegionalAttention(num_regions=3, encoder_filters=(8, 16), localization_filters=8, mask_width=0.2)
    features, images = _features(batch=3, size=16), _images(batch=3)
    layer(features, images)
    _set_lambdas(layer)
    for sublayer in (layer.localization_dense, layer.projection, *layer.encoder, layer.localization_conv):
        sublayer.bias.assign(np.random.default_rng(3).normal(0, 0.3, sublayer.bias.shape).astype("float32"))
    expected = _numpy_regional_attention(layer, features.astype("float64"), images.astype("float64"), 0.2)
    np.testing.assert_allclose(layer(features, images), expected, atol=2e-5)
    assert np.abs(expected - features).max() > 0.1  # the check sees the region term


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


def test_sampling_uses_one_bank_image_per_latent_as_if_it_were_the_real_image():
    layer = RegionalAttention(num_regions=2, bank_size=5)
    features, bank = _features(6), _images(5, seed=7)
    layer(features, _images(6))
    _set_lambdas(layer)
    layer.fill_bank(bank)
    np.testing.assert_array_equal(layer.bank_images, bank)
    latents = _latents(6, size=16)
    sampled = np.asarray(layer(features, latent=latents))
    np.testing.assert_array_equal(layer(features, latent=latents), sampled)  # deterministic
    # Each sample equals the training computation with one of the bank's images as its real image.
    candidates = np.stack([np.asarray(layer(features, np.repeat(bank[j:j + 1], 6, axis=0))) for j in range(5)])
    distances = np.abs(candidates - sampled[None]).max(axis=(2, 3, 4))
    assert np.all(distances.min(axis=0) < 1e-5), distances


def test_the_bank_fills_with_repeats_and_the_model_exports_with_a_latent_only():
    layer = RegionalAttention(num_regions=2, bank_size=3)
    features, images = _features(), _images(2)
    layer(features, _images())
    _set_lambdas(layer)
    layer.fill_bank(images)
    np.testing.assert_array_equal(layer.bank_images, images[[0, 1, 0]])
    feature_input, latent_input = keras.Input((8, 8, 16)), keras.Input((12,))
    model = keras.Model([feature_input, latent_input], layer(feature_input, latent=latent_input))
    latents = _latents()
    expected = np.asarray(model([features, latents]))
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "bank.keras")
        model.save(path)
        np.testing.assert_array_equal(keras.saving.load_model(path, safe_mode=True)([features, latents]), expected)
        model.export(os.path.join(directory, "saved"), verbose=False)
        restored = tf.saved_model.load(os.path.join(directory, "saved"))
        np.testing.assert_allclose(restored.serve([features, latents]), expected, atol=1e-6)


def test_bank_index_is_uniform_for_normal_latents_and_converts_to_builtin_tflite():
    layer = RegionalAttention(bank_size=7)
    layer(_features(), _images())
    latents = np.random.default_rng(4).normal(size=(7000, 20)).astype("float32")
    counts = np.bincount(np.asarray(layer.bank_index(latents)), minlength=7)
    expected = 1000
    chi_square = float(((counts - expected) ** 2 / expected).sum())
    assert chi_square < 22.5, counts  # the 0.999 quantile of chi-square with 6 degrees of freedom

    latent_input = keras.Input((20,))
    model = keras.Model(latent_input, layer.bank_index(latent_input))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = tf.lite.Interpreter(model_content=converter.convert())
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], [64, 20])
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], latents[:64])
    interpreter.invoke()
    np.testing.assert_array_equal(
        interpreter.get_tensor(interpreter.get_output_details()[0]["index"]), layer.bank_index(latents[:64])
    )


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="called with real images"):
        RegionalAttention()(_features(), latent=_latents())
    layer = RegionalAttention(bank_size=2)
    layer(_features(), _images())
    with pytest.raises(ValueError, match="needs real `images` .* or the generator's `latent`"):
        layer(_features())
    with pytest.raises(ValueError, match=r"latents \[B, d >= 2\]"):
        layer(_features(), latent=_latents(size=1))
    with pytest.raises(ValueError, match="fill_bank needs real images"):
        layer.fill_bank(_images(size=16))
    with pytest.raises(ValueError, match="mask_width"):
        RegionalAttention(mask_width=0)
