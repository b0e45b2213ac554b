"""The checks every layer of the package must pass, in one helper.

In the manner of keras-hub's `run_layer_test`: given a layer class, small
init kwargs and input data, `run_layer_test` checks

* the get_config/from_config round trip (and Keras serialisation);
* a symbolic call on `keras.Input` with a dynamic batch size, inside a
  Functional model, and (for single-input layers) a Sequential model, and a
  subclassed model, all giving the eager output;
* `tf.function` and `jit_compile=True` calls giving the eager output;
* one optimiser step in training mode: every trainable weight gets a
  gradient, the loss is finite and some weight changes;
* a `.keras` save/load with `safe_mode=True` and a SavedModel export loaded
  back with `tf.saved_model.load`, both giving identical outputs;
* the `mixed_float16` policy: float16 outputs, float32 variables, outputs
  close to the float32 layer's with the same weights;
* a real two-replica `MirroredStrategy`: each replica's output equals the
  single-device output on its half of the batch, and a training step under
  `strategy.run` gives finite gradients.

Layer test files call it once per interesting configuration and add only
the numerical checks particular to the layer.
"""

import copy
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf


def _as_inputs(input_data):
    """Normalises input data to a dict of call-argument name -> array."""
    if isinstance(input_data, dict):
        return dict(input_data)
    return {"inputs": input_data}


def _make(layer_cls, init_kwargs):
    """A new layer; Keras layers among the kwargs (wrapped layers) are cloned
    under the current dtype policy."""
    kwargs = dict(init_kwargs)
    for name, value in init_kwargs.items():
        if isinstance(value, keras.layers.Layer):
            config = value.get_config()
            config.pop("dtype", None)
            kwargs[name] = value.__class__.from_config(config)
    return layer_cls(**kwargs)


def _call(layer, arrays, **kwargs):
    values = dict(arrays)
    first = values.pop("inputs")
    return layer(first, **values, **kwargs)


def _first(outputs):
    return outputs[0] if isinstance(outputs, (tuple, list)) else outputs


def _symbolic_inputs(arrays):
    return {
        name: keras.Input(shape=value.shape[1:], dtype=str(value.dtype), name=name)
        for name, value in arrays.items()
    }


def _functional_model(layer, arrays, call_kwargs):
    symbolic = _symbolic_inputs(arrays)
    outputs = _call(layer, symbolic, **call_kwargs)
    return keras.Model(symbolic, outputs)


class _Subclassed(keras.Model):
    def __init__(self, layer, call_kwargs, **kwargs):
        super().__init__(**kwargs)
        self.inner = layer
        self.call_kwargs = call_kwargs

    def call(self, arrays, training=None):
        return _call(self.inner, arrays, training=training, **self.call_kwargs)


def _assert_close(actual, expected, atol, what):
    actual, expected = np.asarray(actual, dtype="float64"), np.asarray(expected, dtype="float64")
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    difference = np.max(np.abs(actual - expected)) if actual.size else 0.0
    assert difference <= atol, f"{what}: max abs difference {difference} > {atol}"


def _split(arrays):
    halves = [{}, {}]
    for name, value in arrays.items():
        middle = value.shape[0] // 2
        halves[0][name], halves[1][name] = value[:middle], value[middle:]
    return halves


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    call_kwargs=None,
    expected_output_shape=None,
    prepare_layer=None,
    build_layer=None,
    atol=1e-5,
    mixed_precision_rtol=2e-2,
):
    """Runs the shared layer checks; raises AssertionError on any failure.

    Args:
        layer_cls: the layer class.
        init_kwargs: dict of constructor arguments; a Keras layer among them
            (the layer a wrapper wraps) is cloned for every new instance.
        input_data: an array, or a dict of call-argument name -> array with
            the first positional argument under `"inputs"`. The batch size
            must be even (it is split over two replicas).
        call_kwargs: extra non-tensor call arguments.
        expected_output_shape: the output shape for `input_data`.
        prepare_layer: called with each built layer to give it weights that
            make the check meaningful (for example a non-zero gamma).
        build_layer: called with each new layer before its first call with
            `input_data`, for layers that must first be called with other
            inputs (regional attention is built by a call with images
            before it samples from its bank).
        atol: tolerance of the float32 comparisons.
        mixed_precision_rtol: tolerance of the mixed-precision comparison,
            relative to the largest output magnitude.
    """
    call_kwargs = dict(call_kwargs or {})
    arrays = _as_inputs(input_data)
    prepare_layer = prepare_layer or (lambda layer: None)
    build_layer = build_layer or (lambda layer: None)

    # Config round trip.
    layer = _make(layer_cls, init_kwargs)
    config = layer.get_config()
    assert layer_cls.from_config(copy.deepcopy(config)).get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is layer_cls and revived.get_config() == config

    # Eager call in inference mode (the first call builds the layer).
    build_layer(layer)
    _call(layer, arrays, **call_kwargs)
    prepare_layer(layer)
    eager = _first(_call(layer, arrays, **call_kwargs))
    eager = np.asarray(eager)
    assert np.all(np.isfinite(eager)), "eager output is not finite"
    if expected_output_shape is not None:
        assert eager.shape == tuple(expected_output_shape), eager.shape

    # Symbolic call with a dynamic batch size, Functional, Sequential, subclassed.
    functional = _functional_model(layer, arrays, call_kwargs)
    symbolic_shape = _first(functional.outputs).shape
    assert symbolic_shape[0] is None and tuple(symbolic_shape[1:]) == eager.shape[1:]
    _assert_close(_first(functional(arrays)), eager, atol, "Functional model")
    if len(arrays) == 1 and not call_kwargs:
        sequential = keras.Sequential([keras.Input(arrays["inputs"].shape[1:]), layer])
        _assert_close(sequential(arrays["inputs"]), eager, atol, "Sequential model")
    subclassed = _Subclassed(layer, call_kwargs)
    _assert_close(_first(subclassed(arrays)), eager, atol, "subclassed model")

    # Graph execution and XLA.
    for jit_compile in (False, True):
        compiled = tf.function(lambda a: _first(_call(layer, a, **call_kwargs)), jit_compile=jit_compile)
        _assert_close(compiled(arrays), eager, atol, f"tf.function(jit_compile={jit_compile})")

    # One optimiser step.
    trainable = layer.trainable_variables
    assert trainable, "the layer has no trainable weights"
    before = [np.array(v) for v in trainable]
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(_first(_call(layer, arrays, training=True, **call_kwargs))))
    gradients = tape.gradient(loss, trainable)
    missing = [v.path for v, g in zip(trainable, gradients) if g is None]
    assert not missing, f"no gradient reaches {missing}"
    assert np.isfinite(float(loss))
    keras.optimizers.SGD(learning_rate=0.1).apply(gradients, trainable)
    changed = [not np.array_equal(b, np.array(v)) for b, v in zip(before, trainable)]
    assert any(changed), "an optimiser step changed no weight"
    after_step = np.asarray(_first(_call(layer, arrays, **call_kwargs)))

    # .keras file and SavedModel export, in a fresh load.
    with tempfile.TemporaryDirectory() as directory:
        model = _functional_model(layer, arrays, call_kwargs)
        path = os.path.join(directory, "layer.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        _assert_close(_first(loaded(arrays)), after_step, 0.0, ".keras round trip")
        export_path = os.path.join(directory, "saved_model")
        model.export(export_path, format="tf_saved_model", verbose=False)
        restored = tf.saved_model.load(export_path)
        served = restored.serve({name: tf.constant(value) for name, value in arrays.items()})
        _assert_close(_first(served), after_step, atol, "SavedModel round trip")
    reference_weights = layer.get_weights()

    # Mixed precision.
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = _make(layer_cls, init_kwargs)
        build_layer(mixed)
        _call(mixed, arrays, **call_kwargs)
        mixed.set_weights(reference_weights)
        assert all(v.dtype == "float32" for v in mixed.weights), "variables must stay float32"
        mixed_output = _first(_call(mixed, arrays, **call_kwargs))
        assert mixed_output.dtype == "float16", mixed_output.dtype
        mixed_output = np.asarray(mixed_output, dtype="float32")
        assert np.all(np.isfinite(mixed_output))
        scale = max(float(np.max(np.abs(after_step))), 1.0)
        _assert_close(mixed_output, after_step, mixed_precision_rtol * scale, "mixed_float16")
        with tf.GradientTape() as tape:
            mixed_loss = tf.reduce_mean(
                tf.cast(_first(_call(mixed, arrays, training=True, **call_kwargs)), tf.float32)
            )
        mixed_gradients = tape.gradient(mixed_loss, mixed.trainable_variables)
        assert all(g is not None and np.all(np.isfinite(tf.convert_to_tensor(g))) for g in mixed_gradients)
    finally:
        keras.mixed_precision.set_global_policy("float32")

    # A real two-replica MirroredStrategy.
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        distributed = _make(layer_cls, init_kwargs)
        build_layer(distributed)
        _call(distributed, arrays, **call_kwargs)
        distributed.set_weights(reference_weights)
    halves = _split(arrays)
    replica_inputs = strategy.experimental_distribute_values_from_function(
        lambda context: halves[context.replica_id_in_sync_group]
    )

    @tf.function
    def distributed_step(per_replica):
        def replica_fn(values):
            outputs = _first(_call(distributed, values, **call_kwargs))
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(_first(_call(distributed, values, training=True, **call_kwargs))))
            grads = tape.gradient(loss, distributed.trainable_variables)
            finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(tf.convert_to_tensor(g))) for g in grads])
            return outputs, finite

        return strategy.run(replica_fn, args=(per_replica,))

    outputs, finite = distributed_step(replica_inputs)
    for replica, half in enumerate(halves):
        expected = np.asarray(_first(_call(layer, half, **call_kwargs)))
        _assert_close(strategy.experimental_local_results(outputs)[replica], expected, atol, f"replica {replica}")
        assert bool(strategy.experimental_local_results(finite)[replica]), "non-finite gradient under MirroredStrategy"
    return layer
