import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.layer_checks import run_layer_test
from tfattngan.layers import SelfAttention


def _inputs(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _set_gamma(value):
    def prepare(layer):
        layer.gamma.assign(value)

    return prepare


def _numpy_kernel(projection):
    """The 1x1 kernel a projection applies, as a [C_in, C_out] matrix."""
    if hasattr(projection, "normalized_kernel"):
        kernel = np.asarray(projection.normalized_kernel())
    else:
        kernel = np.asarray(projection.kernel)
    return kernel[0, 0]


def _numpy_max_pool(x):
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _numpy_self_attention(layer, x):
    """The SAGAN formula, in NumPy, with the layer's own weights."""
    query = x @ _numpy_kernel(layer.query_projection)
    key = x @ _numpy_kernel(layer.key_projection)
    value = x @ _numpy_kernel(layer.value_projection)
    if layer.pool_keys:
        key, value = _numpy_max_pool(key), _numpy_max_pool(value)
    b, h, w, _ = x.shape
    query = query.reshape(b, h * w, -1)
    key = key.reshape(b, -1, key.shape[-1])
    value = value.reshape(b, -1, value.shape[-1])
    scores = query @ key.transpose(0, 2, 1)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    attention = scores / scores.sum(axis=-1, keepdims=True)
    attended = (attention @ value).reshape(b, h, w, -1)
    if layer.output_projection is not None:
        attended = attended @ _numpy_kernel(layer.output_projection)
    return float(np.asarray(layer.gamma)) * attended + x, attention


@pytest.mark.parametrize(
    "init_kwargs",
    [
        {},
        {"value_channels": 8, "pool_keys": True, "use_spectral_norm": True},
        {"query_block_size": 5, "key_channels": 4},
    ],
    ids=["paper", "official-code", "blocks"],
)
def test_shared_layer_checks(init_kwargs):
    run_layer_test(
        SelfAttention,
        init_kwargs,
        _inputs((4, 6, 4, 16)),
        expected_output_shape=(4, 6, 4, 16),
        prepare_layer=_set_gamma(0.7),
    )


@pytest.mark.parametrize("pool_keys", [False, True])
@pytest.mark.parametrize("value_channels", [None, 8])
@pytest.mark.parametrize("use_spectral_norm", [False, True])
def test_matches_numpy_formula_on_non_square_maps(pool_keys, value_channels, use_spectral_norm):
    x = _inputs((2, 6, 10, 16))
    layer = SelfAttention(
        value_channels=value_channels, pool_keys=pool_keys, use_spectral_norm=use_spectral_norm
    )
    layer(x)
    layer.gamma.assign(0.9)
    outputs, scores = layer(x, return_attention_scores=True)
    expected_outputs, expected_scores = _numpy_self_attention(layer, x.astype("float64"))
    keys = 15 if pool_keys else 60
    assert scores.shape == (2, 60, keys)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5)
    np.testing.assert_allclose(outputs, expected_outputs, atol=1e-5)


@pytest.mark.parametrize("execution", ["eager", "function"])
def test_block_mode_equals_full_mode_with_first_and_second_derivatives(execution):
    x = tf.constant(_inputs((2, 8, 9, 16)))
    full = SelfAttention(value_channels=8)
    full(x)
    full.gamma.assign(1.3)
    blocks = SelfAttention(value_channels=8, query_block_size=7)  # 72 queries: a ragged last block
    blocks(x)
    blocks.set_weights(full.get_weights())

    def derivatives(layer):
        # The output, its gradient, and the gradient of a penalty on the input gradient (as WGAN-GP takes).
        with tf.GradientTape() as outer:
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(x)
                y = layer(x, training=True)
                loss = tf.reduce_sum(y * tf.sin(y))
            gradients = tape.gradient(loss, [x] + layer.trainable_variables)
            penalty = tf.reduce_sum(tf.square(gradients[0]))
        return [y] + gradients + outer.gradient(penalty, layer.trainable_variables)

    run = derivatives if execution == "eager" else (lambda layer: tf.function(lambda: derivatives(layer))())
    for a, b in zip(run(blocks), run(full)):
        np.testing.assert_allclose(a, b, atol=1e-5 * float(np.abs(b).max()), rtol=1e-4)


def test_block_mode_is_lean_in_every_mode_by_the_memory_benchmark():
    # The benchmark's own method: peak resident memory of one pass in a fresh process. A block mode that
    # kept every block (as an eager tape or a second derivative would) costs about what the full map does.
    import json
    import pathlib
    import subprocess
    import sys

    script = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "self_attention_memory.py"
    result = subprocess.run([sys.executable, str(script), "--sizes", "64", "--batch", "4", "--jobs", "2",
                             "--blocks", "None", "512"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    records = json.loads(result.stdout)
    peaks = {(r["mode"], r["execution"], r["query_block_size"]): r["peak_rss_increase_mib"] for r in records}
    assert len(peaks) == 12 and all("error" not in r for r in records), records
    for mode in ("forward", "backward", "double-backward"):
        for execution in ("eager", "function"):
            full, blocks = peaks[(mode, execution, None)], peaks[(mode, execution, 512)]
            assert full > 256, (mode, execution, full)  # the full pass holds at least one 256 MiB map
            # Eight blocks: measured 0.14-0.19 of the full pass; one that kept every block would be about 1.
            assert blocks < 0.5 * full, (mode, execution, blocks, full)


def test_projections_start_from_different_weights():
    # One unseeded initializer shared by the projections would start the queries equal to the keys.
    layer = SelfAttention(value_channels=16)
    layer(_inputs((1, 4, 4, 16)))
    kernels = [np.asarray(p.kernel).ravel() for p in (layer.query_projection, layer.key_projection)]
    assert np.abs(kernels[0] - kernels[1]).max() > 1e-3
    value, output = np.asarray(layer.value_projection.kernel), np.asarray(layer.output_projection.kernel)
    assert np.abs(value - output[..., :16, :16]).max() > 1e-3


def test_zero_gamma_is_the_identity():
    x = _inputs((3, 5, 7, 8))
    layer = SelfAttention(value_channels=4, pool_keys=False)
    np.testing.assert_array_equal(layer(x), x)


def test_gradients_reach_gamma_and_projections():
    x = tf.constant(_inputs((2, 4, 4, 16)))
    layer = SelfAttention(value_channels=8)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) * x)
    gradients = tape.gradient(loss, layer.trainable_variables)
    by_name = {v.path: g for v, g in zip(layer.trainable_variables, gradients)}
    gamma_gradient = [g for path, g in by_name.items() if path.endswith("gamma")][0]
    assert abs(float(gamma_gradient)) > 1e-3  # at gamma = 0, only gamma can move

    layer.gamma.assign(0.5)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) * x)
    gradients = tape.gradient(loss, layer.trainable_variables)
    assert len(gradients) == 5  # query, key, value, output kernels and gamma
    for variable, gradient in zip(layer.trainable_variables, gradients):
        assert float(tf.norm(gradient)) > 1e-6, f"no gradient reaches {variable.path}"


def test_attention_rows_are_distributions_and_pooling_needs_even_sizes():
    layer = SelfAttention(pool_keys=True)
    _, scores = layer(_inputs((1, 4, 6, 8)), return_attention_scores=True)
    np.testing.assert_allclose(np.sum(scores, axis=-1), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="must be even"):
        SelfAttention(pool_keys=True)(_inputs((1, 5, 6, 8)))


def test_converts_to_tflite_with_builtin_ops_only():
    model = keras.Sequential([keras.Input((6, 4, 16)), SelfAttention(value_channels=8, pool_keys=True)])
    model.layers[0].gamma.assign(0.8)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = tf.lite.Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    x = _inputs((1, 6, 4, 16))
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    result = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(result, model(x), atol=1e-5)
