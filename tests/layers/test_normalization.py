import numpy as np
import tensorflow as tf

from tests.layers.layer_checks import run_layer_test
from tfattngan.layers import ConditionalBatchNormalization
from tfattngan.layers import InstanceNormalization


def _inputs(shape, seed=0):
    return np.random.default_rng(seed).normal(2.0, 3.0, size=shape).astype("float32")


def _random_affine(layer):
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])


def test_instance_normalization_shared_checks():
    run_layer_test(InstanceNormalization, {}, _inputs((4, 5, 6, 3)), prepare_layer=_random_affine)


def test_instance_normalization_matches_numpy():
    x = _inputs((3, 5, 7, 4)).astype("float64")
    layer = InstanceNormalization(epsilon=1e-5)
    layer(x.astype("float32"))
    _random_affine(layer)
    gamma, beta = (np.asarray(w) for w in layer.get_weights())
    mean = x.mean(axis=(1, 2), keepdims=True)
    variance = x.var(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(variance + 1e-5) * gamma + beta
    np.testing.assert_allclose(layer(x.astype("float32")), expected, atol=2e-5)


def _labels(batch, seed=0):
    return np.random.default_rng(seed).integers(0, 5, size=batch).astype("int32")


def test_conditional_batch_normalization_shared_checks():
    run_layer_test(
        ConditionalBatchNormalization,
        {"num_classes": 5},
        {"inputs": _inputs((6, 4, 4, 3)), "labels": _labels(6)},
        expected_output_shape=(6, 4, 4, 3),
        prepare_layer=lambda layer: (_random_affine(layer.gamma_embedding), _random_affine(layer.beta_embedding)),
    )


def test_conditional_batch_normalization_matches_numpy():
    x = _inputs((6, 4, 5, 3)).astype("float64")
    labels = _labels(6)
    layer = ConditionalBatchNormalization(num_classes=5, momentum=0.9, epsilon=1e-5)
    layer(x.astype("float32"), labels)
    gamma = np.random.default_rng(2).normal(size=(5, 3))
    beta = np.random.default_rng(3).normal(size=(5, 3))
    layer.gamma_embedding.set_weights([gamma.astype("float32")])
    layer.beta_embedding.set_weights([beta.astype("float32")])
    mean = x.mean(axis=(0, 1, 2))
    variance = x.var(axis=(0, 1, 2))
    g = gamma[labels][:, None, None, :]
    b = beta[labels][:, None, None, :]
    trained = layer(x.astype("float32"), labels[:, None], training=True)
    np.testing.assert_allclose(trained, (x - mean) / np.sqrt(variance + 1e-5) * g + b, atol=5e-5)
    # One training call moves the moving statistics by the momentum.
    moving_mean = 0.1 * mean
    moving_variance = 0.9 + 0.1 * variance
    inferred = layer(x.astype("float32"), labels, training=False)
    expected = (x - moving_mean) / np.sqrt(moving_variance + 1e-5) * g + b
    np.testing.assert_allclose(inferred, expected, rtol=1e-4, atol=1e-4)


def test_conditional_batch_normalization_picks_rows_by_label():
    x = tf.constant(_inputs((2, 3, 3, 2)))
    layer = ConditionalBatchNormalization(num_classes=3)
    same = layer(tf.concat([x[:1], x[:1]], 0), np.array([0, 0]), training=False)
    layer.gamma_embedding.set_weights([np.array([[1, 1], [2, 2], [1, 1]], "float32")])
    swapped = layer(tf.concat([x[:1], x[:1]], 0), np.array([0, 1]), training=False)
    np.testing.assert_allclose(swapped[0], same[0], atol=1e-6)
    np.testing.assert_allclose(swapped[1], 2 * np.asarray(same[1]), atol=1e-5)
