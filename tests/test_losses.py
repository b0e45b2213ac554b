import keras
import numpy as np
import pytest
import tensorflow as tf

from tfattngan import losses

REAL = np.array([2.5, -0.3, 0.0, 1.2, -4.0, 0.7], dtype="float32")
FAKE = np.array([-1.5, 0.4, 3.0, -0.2, 0.9, -2.2], dtype="float32")


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


CLOSED_FORMS = {
    # name: (generator loss of fake, discriminator loss of real and fake)
    "non_saturating": (
        lambda f: -np.mean(np.log(_sigmoid(f))),
        lambda r, f: -np.mean(np.log(_sigmoid(r))) - np.mean(np.log(1 - _sigmoid(f))),
    ),
    "minimax": (
        lambda f: np.mean(np.log(1 - _sigmoid(f))),
        lambda r, f: -np.mean(np.log(_sigmoid(r))) - np.mean(np.log(1 - _sigmoid(f))),
    ),
    "hinge": (
        lambda f: -np.mean(f),
        lambda r, f: np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
    ),
    "wasserstein": (
        lambda f: -np.mean(f),
        lambda r, f: np.mean(f) - np.mean(r),
    ),
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
@pytest.mark.parametrize("shape", [(6,), (6, 1), (3, 2, 1)], ids=["1d", "column", "patch"])
def test_losses_equal_closed_forms(name, shape):
    generator_form, discriminator_form = CLOSED_FORMS[name]
    real, fake = REAL.astype("float64"), FAKE.astype("float64")
    generator_loss = getattr(losses, f"{name}_generator_loss")(FAKE.reshape(shape))
    discriminator_loss = getattr(losses, f"{name}_discriminator_loss")(REAL.reshape(shape), FAKE.reshape(shape))
    assert generator_loss.shape == () and discriminator_loss.shape == ()
    np.testing.assert_allclose(float(generator_loss), generator_form(fake), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(float(discriminator_loss), discriminator_form(real, fake), rtol=1e-6, atol=1e-6)


def test_bce_losses_are_stable_for_large_logits():
    big = np.array([80.0, -80.0], "float32")
    for value in (
        losses.non_saturating_generator_loss(big),
        losses.non_saturating_discriminator_loss(big, big),
        losses.minimax_generator_loss(big),
    ):
        assert np.isfinite(float(value))
    np.testing.assert_allclose(float(losses.non_saturating_generator_loss(big)), 40.0, rtol=1e-6)


def _linear_critic(weights, bias=0.3):
    """A Keras critic D(x) = <w, x> + b, whose input gradient is w everywhere."""
    inputs = keras.Input(weights.shape)
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    model.layers[-1].set_weights([weights.reshape(-1, 1), np.array([bias], "float32")])
    return model


def _batches(shape=(5, 3, 4, 2), seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape).astype("float32"), rng.normal(size=shape).astype("float32")


def test_gradient_penalty_of_a_linear_critic():
    w = np.random.default_rng(1).normal(size=(3, 4, 2)).astype("float32")
    real, fake = _batches()
    norm = np.linalg.norm(w.astype("float64"))
    penalty = losses.gradient_penalty(_linear_critic(w), real, fake, weight=7.0)
    np.testing.assert_allclose(float(penalty), 7.0 * (norm - 1.0) ** 2, rtol=1e-5)


def test_wgan_div_penalty_of_a_linear_critic():
    w = 0.4 * np.random.default_rng(2).normal(size=(3, 4, 2)).astype("float32")
    real, fake = _batches()
    norm = np.linalg.norm(w.astype("float64"))
    penalty = losses.wgan_div_penalty(_linear_critic(w), real, fake, k=2.0, p=6.0)
    np.testing.assert_allclose(float(penalty), 2.0 * norm**6, rtol=1e-5)


def test_r1_penalty_of_a_linear_critic():
    w = np.random.default_rng(3).normal(size=(3, 4, 2)).astype("float32")
    real, _ = _batches()
    norm = np.linalg.norm(w.astype("float64"))
    np.testing.assert_allclose(float(losses.r1_penalty(_linear_critic(w), real, weight=4.0)), 2.0 * norm**2, rtol=1e-5)


def _quadratic_critic(x):
    """D(x) = |x|^2 / 2, whose input gradient at x is x itself."""
    return 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])


def test_penalties_take_gradients_at_the_documented_points():
    real, fake = _batches()
    real64, fake64 = real.reshape(5, -1).astype("float64"), fake.reshape(5, -1).astype("float64")
    real_norms, fake_norms = np.linalg.norm(real64, axis=1), np.linalg.norm(fake64, axis=1)
    # WGAN-div: at the real and at the generated points.
    expected_div = 3.0 / 2 * np.mean(real_norms**4 + fake_norms**4)
    np.testing.assert_allclose(float(losses.wgan_div_penalty(_quadratic_critic, real, fake, k=3.0, p=4.0)), expected_div, rtol=1e-5)
    # R1: at the real points.
    np.testing.assert_allclose(float(losses.r1_penalty(_quadratic_critic, real, weight=2.0)), np.mean(real_norms**2), rtol=1e-5)
    # WGAN-GP: at interpolates; with real == fake they are the real points.
    np.testing.assert_allclose(
        float(losses.gradient_penalty(_quadratic_critic, real, real, weight=1.0)), np.mean((real_norms - 1) ** 2), rtol=1e-5
    )
    # ... and otherwise points on the segment, one random mix per sample: with
    # fake = 2 * real the gradient norm at the mix e is (2 - e) |real| > 1.
    assert np.all(real_norms > 1)
    penalties = [float(losses.gradient_penalty(_quadratic_critic, real, 2.0 * real, weight=1.0)) for _ in range(3)]
    low, high = np.mean((real_norms - 1) ** 2), np.mean((2 * real_norms - 1) ** 2)
    assert all(low < p < high for p in penalties)
    assert len(set(penalties)) == 3


def test_gradient_penalty_uses_given_mixing_weights():
    real, fake = _batches()
    mix = np.linspace(0.0, 1.0, 5).astype("float32")
    points = mix[:, None, None, None] * real + (1 - mix[:, None, None, None]) * fake
    norms = np.linalg.norm(points.reshape(5, -1).astype("float64"), axis=1)
    np.testing.assert_allclose(
        float(losses.gradient_penalty(_quadratic_critic, real, fake, weight=2.0, mix=mix)),
        2.0 * np.mean((norms - 1) ** 2),
        rtol=1e-5,
    )


def test_gradient_penalty_is_differentiable_in_the_critic_weights():
    w = np.random.default_rng(4).normal(size=(3, 4, 2)).astype("float32")
    critic = _linear_critic(w)
    real, fake = _batches()
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(critic, real, fake, weight=10.0)
    kernel_gradient = tape.gradient(penalty, critic.layers[-1].kernel)
    norm = np.linalg.norm(w.astype("float64"))
    expected = 2 * 10.0 * (norm - 1) * w.reshape(-1, 1) / norm
    np.testing.assert_allclose(kernel_gradient, expected, rtol=1e-4, atol=1e-5)


def test_weight_clip_constraint_bounds_weights_after_updates():
    layer = keras.layers.Dense(3, kernel_constraint=losses.WeightClip(0.05))
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    layer(x)
    optimizer = keras.optimizers.SGD(learning_rate=1.0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x))
    optimizer.apply(tape.gradient(loss, layer.trainable_variables), layer.trainable_variables)
    kernel = np.asarray(layer.kernel)
    assert np.max(np.abs(kernel)) <= 0.05 + 1e-7
    assert np.isclose(np.max(np.abs(kernel)), 0.05)
    assert losses.WeightClip.from_config(losses.WeightClip(0.2).get_config()).clip_value == 0.2


def _small_gradient_critic(policy):
    """Three dense layers scaling by 1e-3 each: the input gradient is 1e-9, below float16's smallest number."""
    keras.mixed_precision.set_global_policy(policy)
    try:
        return keras.Sequential([keras.Input((4,))] + [
            keras.layers.Dense(units, use_bias=False, kernel_initializer=keras.initializers.Constant(1e-3))
            for units in (4, 4, 1)])
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("penalty", ["wgan_div", "r1"])
def test_a_float16_critics_input_gradient_is_loss_scaled_not_underflowed(penalty):
    """tensorflow#48662 / StudioGAN#175: float16 underflows the penalty's inner gradient unless it is scaled.

    Penalties proportional to the squared gradient norm show it (the
    gradient penalty `(|g| - 1)^2` is blind to a vanishing gradient).
    """
    real = np.random.default_rng(0).uniform(-1, 1, (8, 4)).astype("float32")
    fake = np.random.default_rng(1).uniform(-1, 1, (8, 4)).astype("float32")
    function = losses.get_penalty(penalty)
    options = {"weight": 1e16} if penalty == "r1" else {"k": 1e16, "p": 2.0}
    critic32, critic16 = _small_gradient_critic("float32"), _small_gradient_critic("mixed_float16")
    assert critic16.layers[0].compute_dtype == "float16"
    # Float32 reference: the gradient is the constant 1e-9 * 4 * 4 = 1.6e-8 in every input.
    np.testing.assert_allclose(losses._input_gradients(critic32, real), 1.6e-8, rtol=1e-5)
    reference = float(function(critic32, real, fake, mix=np.full(8, 0.5, "float32"), **options))
    scaled = float(function(critic16, real, fake, mix=np.full(8, 0.5, "float32"), gradient_scale=2.0**15, **options))
    unscaled = float(function(critic16, real, fake, mix=np.full(8, 0.5, "float32"), **options))
    assert reference == pytest.approx(1e16 / 2 * 4 * 1.6e-8**2 * (2 if penalty == "wgan_div" else 1), rel=1e-4)
    assert scaled == pytest.approx(reference, rel=0.02)
    assert unscaled == 0.0
