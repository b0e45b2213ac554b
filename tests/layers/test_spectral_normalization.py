import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.layer_checks import run_layer_test
from tfattngan.layers import SpectralNormalization

# (wrapped layer, input shape, the kernel as the matrix whose sigma is meant)
CASES = {
    "dense": (lambda: keras.layers.Dense(7), (4, 5), lambda w: w),
    "conv2d": (
        lambda: keras.layers.Conv2D(6, 3, padding="same"),
        (4, 6, 6, 3),
        lambda w: w.reshape(-1, w.shape[-1]),
    ),
    "conv2d_transpose": (
        lambda: keras.layers.Conv2DTranspose(5, 4, strides=2, padding="same"),
        (4, 3, 3, 8),
        # Keras stores (kh, kw, out, in); the output units are axis -2.
        lambda w: w.transpose(0, 1, 3, 2).reshape(-1, w.shape[-2]),
    ),
}


def _inputs(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _largest_singular_value(matrix):
    return np.linalg.svd(np.asarray(matrix, dtype="float64"), compute_uv=False)[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_shared_layer_checks(case):
    make_layer, shape, _ = CASES[case]
    run_layer_test(SpectralNormalization, {"layer": make_layer(), "power_iterations": 2}, _inputs(shape))


def test_shared_layer_checks_for_embedding():
    labels = np.array([0, 3, 1, 2, 3, 0], dtype="int32")
    run_layer_test(SpectralNormalization, {"layer": keras.layers.Embedding(4, 6)}, labels)


@pytest.mark.parametrize("case", sorted(CASES))
def test_sigma_matches_svd_after_power_iterations(case):
    make_layer, shape, as_matrix = CASES[case]
    layer = SpectralNormalization(make_layer(), power_iterations=50)
    layer(_inputs(shape), training=True)
    kernel = np.asarray(layer.layer.kernel)
    normalized = np.asarray(layer.normalized_kernel())
    sigma = np.linalg.norm(kernel) / np.linalg.norm(normalized)
    expected = _largest_singular_value(as_matrix(kernel))
    assert abs(sigma - expected) / expected < 1e-3
    assert abs(_largest_singular_value(as_matrix(normalized)) - 1.0) < 1e-3


def test_transposed_kernel_is_reshaped_by_output_units():
    # The naive (-1, in) reshape of a (kh, kw, out, in) kernel has another sigma.
    make_layer, shape, as_matrix = CASES["conv2d_transpose"]
    layer = SpectralNormalization(make_layer(), power_iterations=50)
    layer(_inputs(shape), training=True)
    kernel = np.asarray(layer.layer.kernel)
    naive = _largest_singular_value(kernel.reshape(-1, kernel.shape[-1]))
    right = _largest_singular_value(as_matrix(kernel))
    assert abs(naive - right) / right > 1e-2
    assert layer.u.shape == (1, kernel.shape[-2])


def test_forward_pass_uses_w_over_sigma_and_keeps_raw_kernel():
    layer = SpectralNormalization(keras.layers.Dense(3, use_bias=False), power_iterations=30)
    x = _inputs((2, 4))
    layer(x)
    raw = np.array(layer.layer.kernel)
    y = layer(x, training=True)
    np.testing.assert_array_equal(np.asarray(layer.layer.kernel), raw)  # never overwritten
    np.testing.assert_allclose(y, x @ (raw / _largest_singular_value(raw)), rtol=1e-4, atol=1e-5)


def test_inference_call_changes_no_variable():
    layer = SpectralNormalization(keras.layers.Conv2D(4, 3))
    x = _inputs((2, 5, 5, 3))
    layer(x, training=True)
    before = [np.array(v) for v in layer.weights]
    for training in (False, None):
        layer(x, training=training)
    tf.function(lambda a: layer(a, training=False))(x)
    for b, v in zip(before, layer.weights):
        np.testing.assert_array_equal(b, np.asarray(v))


def test_u_advances_once_per_training_call_and_not_when_paused():
    layer = SpectralNormalization(keras.layers.Dense(6))
    x = _inputs((3, 5))
    layer(x)
    u0 = np.array(layer.u)
    first = layer(x, training=True)
    u1 = np.array(layer.u)
    assert not np.allclose(u0, u1)
    with SpectralNormalization.power_iteration_paused():
        second = layer(x, training=True)
        np.testing.assert_array_equal(np.asarray(layer.u), u1)
    # The paused pass sees exactly the weights of the pass that advanced u.
    np.testing.assert_array_equal(np.asarray(second), np.asarray(first))
    layer(x, training=True)
    assert not np.allclose(np.asarray(layer.u), u1)


def test_u_matches_numpy_power_iteration():
    layer = SpectralNormalization(keras.layers.Dense(4), power_iterations=3)
    x = _inputs((2, 6))
    layer(x)
    w = np.array(layer.layer.kernel, dtype="float64")
    u = np.array(layer.u, dtype="float64")
    for _ in range(3):
        v = u @ w.T
        v /= np.linalg.norm(v)
        u = v @ w
        u /= np.linalg.norm(u)
    layer(x, training=True)
    np.testing.assert_allclose(np.asarray(layer.u), u, atol=1e-6)


def test_u_is_identical_on_both_replicas(two_replica_strategy):
    strategy = two_replica_strategy
    x = _inputs((4, 6, 6, 3))
    with strategy.scope():
        layer = SpectralNormalization(keras.layers.Conv2D(5, 3))
        layer(x)
    reference = SpectralNormalization(keras.layers.Conv2D(5, 3))
    reference(x)
    reference.set_weights(layer.get_weights())
    u0 = np.array(reference.u)

    @tf.function
    def step(batch):
        def replica_fn(local):
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            # Different data on each replica: u must still agree.
            return layer(local * tf.cast(replica + 1, tf.float32), training=True)

        return strategy.run(replica_fn, args=(batch,))

    for _ in range(4):
        step(tf.constant(x))
        reference(x, training=True)
    replicas = [np.asarray(u) for u in strategy.experimental_local_results(layer.u.value)]
    np.testing.assert_array_equal(replicas[0], replicas[1])
    assert not np.allclose(replicas[0], u0)
    np.testing.assert_allclose(replicas[0], np.asarray(reference.u), atol=1e-6)


def test_mixed_precision_power_iteration_is_float32():
    x = _inputs((2, 8))
    reference = SpectralNormalization(keras.layers.Dense(5), power_iterations=20)
    reference(x, training=True)
    keras.mixed_precision.set_global_policy("mixed_float16")
    mixed = SpectralNormalization(keras.layers.Dense(5), power_iterations=20)
    mixed(x)
    mixed.set_weights(reference.get_weights())
    mixed(x, training=True)
    reference(x, training=True)
    assert mixed.u.dtype == "float32"
    np.testing.assert_allclose(np.asarray(mixed.u), np.asarray(reference.u), atol=1e-6)


def test_layer_without_kernel_is_rejected():
    with pytest.raises(ValueError, match="kernel"):
        SpectralNormalization(keras.layers.BatchNormalization())(_inputs((2, 3)))
    with pytest.raises(ValueError, match="power_iterations"):
        SpectralNormalization(keras.layers.Dense(2), power_iterations=0)


def _effective_matrix(case):
    """A fresh layer's first call, in inference, on one-hot inputs; returns the matrix its kernel acts as.

    The matrix comes from the outputs, not from the layer's own reshaping: for Dense and Conv2D it is
    (inputs, outputs); for Conv2DTranspose it is PyTorch's view, (out, in * kh * kw).
    """
    if case == "dense":
        layer = SpectralNormalization(keras.layers.Dense(256, use_bias=False))
        return np.asarray(layer(np.eye(128, dtype="float32")))
    if case == "conv2d":
        layer = SpectralNormalization(keras.layers.Conv2D(32, 3, use_bias=False))
        one_hots = np.eye(3 * 3 * 16, dtype="float32").reshape(-1, 3, 3, 16)
        return np.asarray(layer(one_hots)).reshape(len(one_hots), 32)
    layer = SpectralNormalization(keras.layers.Conv2DTranspose(24, 4, use_bias=False))
    outputs = np.asarray(layer(np.eye(40, dtype="float32").reshape(40, 1, 1, 40)))  # [in, kh, kw, out]
    return outputs.transpose(3, 0, 1, 2).reshape(24, -1)


@pytest.mark.parametrize("case", ["dense", "conv2d", "conv2d_transpose"])
def test_the_first_inference_call_of_a_fresh_layer_is_normalised(case):
    # u starts warm (15 power iterations when the layer is built): no training call is needed.
    assert abs(_largest_singular_value(_effective_matrix(case)) - 1.0) < 0.05
