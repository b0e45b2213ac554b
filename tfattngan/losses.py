"""Adversarial losses and discriminator penalties, as plain functions.

Each loss takes discriminator logits (1-D `[B]`, `[B, 1]` or patch logits
`[B, ...]`) and returns the mean over all of them, a float32 scalar. The
penalties take the discriminator itself (any callable from images to logits;
wrap a class-conditional one as `lambda x: discriminator([x, labels])`) and
differentiate it with respect to its input. They call a Keras model or
layer with `training=True` and any other callable as it is; a trainer using spectral
normalisation calls them inside
`SpectralNormalization.power_iteration_paused()`.

Example:

>>> import numpy as np
>>> real, fake = np.array([2.0, 0.5]), np.array([-1.0, 0.0])
>>> round(float(hinge_discriminator_loss(real, fake)), 4)
0.75
>>> round(float(hinge_generator_loss(fake)), 4)
0.5
"""

import keras
import tensorflow as tf
from keras import ops


def _logits(logits):
    return ops.cast(ops.convert_to_tensor(logits), "float32")


def non_saturating_generator_loss(fake_logits):
    """Non-saturating generator loss: `mean(softplus(-D(G(z))))`.

    Equals the binary cross-entropy of fake logits against the label 1
    (Goodfellow et al. 2014, the "-log D" trick; the DCGAN loss).

    Example:

    >>> round(float(non_saturating_generator_loss([0.0])), 4)
    0.6931
    """
    return ops.mean(ops.softplus(-_logits(fake_logits)))


def non_saturating_discriminator_loss(real_logits, fake_logits):
    """Discriminator BCE: `mean(softplus(-D(x))) + mean(softplus(D(G(z))))`.

    Example:

    >>> round(float(non_saturating_discriminator_loss([0.0], [0.0])), 4)
    1.3863
    """
    return ops.mean(ops.softplus(-_logits(real_logits))) + ops.mean(
        ops.softplus(_logits(fake_logits))
    )


def minimax_generator_loss(fake_logits):
    """Minimax (saturating) generator loss: `-mean(softplus(D(G(z))))`.

    The negative of the discriminator's BCE on fakes, i.e. minimising
    `log(1 - sigmoid(D(G(z))))` (Goodfellow et al. 2014).

    Example:

    >>> round(float(minimax_generator_loss([0.0])), 4)
    -0.6931
    """
    return -ops.mean(ops.softplus(_logits(fake_logits)))


def minimax_discriminator_loss(real_logits, fake_logits):
    """Minimax discriminator loss, the same BCE as the non-saturating one.

    Example:

    >>> round(float(minimax_discriminator_loss([0.0], [0.0])), 4)
    1.3863
    """
    return non_saturating_discriminator_loss(real_logits, fake_logits)


def hinge_generator_loss(fake_logits):
    """Hinge generator loss: `-mean(D(G(z)))` (Lim & Ye 2017; SAGAN).

    Example:

    >>> float(hinge_generator_loss([1.0, 3.0]))
    -2.0
    """
    return -ops.mean(_logits(fake_logits))


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge discriminator loss: `mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))`.

    Example:

    >>> float(hinge_discriminator_loss([0.0], [0.0]))
    2.0
    """
    return ops.mean(ops.relu(1.0 - _logits(real_logits))) + ops.mean(
        ops.relu(1.0 + _logits(fake_logits))
    )


def wasserstein_generator_loss(fake_logits):
    """Wasserstein generator loss: `-mean(D(G(z)))` (Arjovsky et al. 2017).

    Example:

    >>> float(wasserstein_generator_loss([1.0, 3.0]))
    -2.0
    """
    return -ops.mean(_logits(fake_logits))


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """Wasserstein critic loss: `mean(D(G(z))) - mean(D(x))`.

    Example:

    >>> float(wasserstein_discriminator_loss([3.0], [1.0]))
    -2.0
    """
    return ops.mean(_logits(fake_logits)) - ops.mean(_logits(real_logits))


def _input_gradients(discriminator, points, gradient_scale=1.0):
    """Per-sample gradients of the summed logits with respect to `points`.

    The summed logits are multiplied by `gradient_scale` before the gradient
    and the gradient divided by it after, in float32: under `mixed_float16`
    the float16 backward pass would otherwise underflow to zero exactly as
    an unscaled outer loss does (tensorflow#48662).
    """
    points = tf.convert_to_tensor(points)
    scale = tf.cast(gradient_scale, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(points)
        logits = _call_discriminator(discriminator, points)
        total = tf.reduce_sum(tf.cast(logits, tf.float32)) * scale
    gradients = tf.cast(tape.gradient(total, points), tf.float32) / scale
    return tf.reshape(gradients, (tf.shape(gradients)[0], -1))


def _call_discriminator(discriminator, inputs):
    if isinstance(discriminator, keras.layers.Layer):
        return discriminator(inputs, training=True)
    return discriminator(inputs)


def _squared_norms(gradients):
    return tf.reduce_sum(tf.square(gradients), axis=-1)


def gradient_penalty(discriminator, real, fake, weight=10.0, mix=None, gradient_scale=1.0):
    """WGAN-GP penalty: `weight * mean((|grad D(x_hat)|_2 - 1)^2)`.

    `x_hat = e * real + (1 - e) * fake` with one `e ~ U[0, 1]` per sample
    (Gulrajani et al. 2017). The gradient is differentiable, so adding the
    penalty to the critic loss trains it (double backpropagation).

    Args:
        discriminator: callable from images to logits.
        real: `[B, ...]` real images.
        fake: `[B, ...]` generated images.
        weight: float, the penalty coefficient lambda. Defaults to `10.0`.
        mix: optional `[B]` interpolation weights `e` in [0, 1]; drawn
            uniformly when `None`. A distributed trainer passes them in so
            that results do not depend on how the batch is split. Defaults to
            `None`.
        gradient_scale: the loss scale of a `mixed_float16` critic, by
            which the input gradient is scaled and unscaled. Defaults to `1.0`.

    Returns:
        float32 scalar.

    Example:

    >>> import numpy as np
    >>> critic = lambda x: 3.0 * x[:, 0]          # gradient norm 3 everywhere
    >>> x = np.zeros((4, 2), "float32")
    >>> float(gradient_penalty(critic, x, x + 1))
    40.0
    """
    real = tf.convert_to_tensor(real)
    fake = tf.cast(tf.convert_to_tensor(fake), real.dtype)
    mix_shape = [tf.shape(real)[0]] + [1] * (len(real.shape) - 1)
    if mix is None:
        mix = tf.random.uniform(mix_shape, dtype=real.dtype)
    mix = tf.reshape(tf.cast(mix, real.dtype), mix_shape)
    interpolates = mix * real + (1.0 - mix) * fake
    norms = tf.sqrt(_squared_norms(_input_gradients(discriminator, interpolates, gradient_scale)) + 1e-12)
    return weight * tf.reduce_mean(tf.square(norms - 1.0))


def wgan_div_penalty(discriminator, real, fake, k=2.0, p=6.0, mix=None, gradient_scale=1.0):
    """Wasserstein-divergence penalty: `k/2 * mean(|grad D(real)|^p + |grad D(fake)|^p)`.

    Wu et al. 2018 (WGAN-div) add `k * E[|grad D(x_hat)|_2^p]` to the critic
    loss, with `k = 2`, `p = 6` as their recommended values. The gradient is
    taken at the real points and at the generated points themselves (not at
    interpolates), each weighing `k / 2`, as in the widely used PyTorch-GAN
    implementation of WGAN-div. For a critic whose input gradient
    has the same norm `n` everywhere this is `k * n^p`.

    Args:
        discriminator: callable from images to logits.
        real: `[B, ...]` real images.
        fake: `[B, ...]` generated images.
        k: float, the penalty coefficient. Defaults to `2.0`.
        p: float, the power of the gradient norm. Defaults to `6.0`.
        mix: unused (the points are not interpolated); taken so that every
            penalty has one signature. Defaults to `None`.
        gradient_scale: see `gradient_penalty`. Defaults to `1.0`.

    Returns:
        float32 scalar.

    Example:

    >>> import numpy as np
    >>> critic = lambda x: 0.5 * x[:, 0] - 0.5 * x[:, 1]    # |grad| = 2 ** -0.5
    >>> x = np.zeros((4, 2), "float32")
    >>> round(float(wgan_div_penalty(critic, x, x + 1)), 6)
    0.25

    Reference:
        Wu, Huang, Thoma, Acharya, Van Gool. Wasserstein Divergence for GANs.
        ECCV 2018.
    """
    real = tf.convert_to_tensor(real)
    fake = tf.cast(tf.convert_to_tensor(fake), real.dtype)
    real_norms = _squared_norms(_input_gradients(discriminator, real, gradient_scale)) ** (p / 2.0)
    fake_norms = _squared_norms(_input_gradients(discriminator, fake, gradient_scale)) ** (p / 2.0)
    return k / 2.0 * tf.reduce_mean(real_norms + fake_norms)


def r1_penalty(discriminator, real, fake=None, weight=10.0, mix=None, gradient_scale=1.0):
    """R1 penalty: `weight / 2 * mean(|grad D(real)|_2^2)` (Mescheder et al. 2018).

    Args:
        discriminator: callable from images to logits.
        real: `[B, ...]` real images.
        fake: unused (R1 looks at real images only); taken so that every
            penalty has one signature. Defaults to `None`.
        weight: float, the coefficient gamma. Defaults to `10.0`.
        mix: unused. Defaults to `None`.
        gradient_scale: see `gradient_penalty`. Defaults to `1.0`.

    Returns:
        float32 scalar.

    Example:

    >>> import numpy as np
    >>> critic = lambda x: 3.0 * x[:, 0]
    >>> float(r1_penalty(critic, np.zeros((4, 2), "float32"), weight=2.0))
    9.0
    """
    return weight / 2.0 * tf.reduce_mean(_squared_norms(_input_gradients(discriminator, real, gradient_scale)))


@keras.saving.register_keras_serializable(package="tfattngan")
class WeightClip(keras.constraints.Constraint):
    """Clips every weight to `[-clip_value, clip_value]` after each update.

    The Lipschitz constraint of the original WGAN critic (Arjovsky et al.
    2017): pass it as a layer's `kernel_constraint` (and `bias_constraint`),
    or put it on every weight of a critic with `clip_weights`.

    Args:
        clip_value: float, the clipping bound. Defaults to `0.01`.

    Example:

    >>> import numpy as np
    >>> WeightClip(0.01)(np.array([-1.0, 0.005, 2.0])).numpy().tolist()
    [-0.01, 0.005, 0.01]
    """

    def __init__(self, clip_value=0.01):
        if not clip_value > 0:
            raise ValueError(f"clip_value must be positive, got {clip_value!r}.")
        self.clip_value = float(clip_value)

    def __call__(self, weights):
        return ops.clip(weights, -self.clip_value, self.clip_value)

    def get_config(self):
        return {"clip_value": self.clip_value}


def clip_weights(model, clip_value):
    """Puts a `WeightClip(clip_value)` constraint on every trainable weight of `model`.

    Arjovsky et al.'s code clamps every critic parameter after each update
    (`for p in netD.parameters(): p.data.clamp_(-c, c)`), batch-norm scales
    and offsets and attention weights included, not only the kernels. Keras
    optimizers apply a variable's constraint after each update, under any
    distribution strategy. The constraint belongs to the variables, not to
    the layers' configs: a critic rebuilt or loaded from a `.keras` file
    needs this call again.

    Returns:
        `model`.

    Example:

    >>> import keras
    >>> critic = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.BatchNormalization()])
    >>> [type(v.constraint).__name__ for v in clip_weights(critic, 0.01).trainable_variables]
    ['WeightClip', 'WeightClip', 'WeightClip', 'WeightClip']
    """
    for variable in model.trainable_variables:
        variable.constraint = WeightClip(clip_value)
    return model


# The names `GAN.compile` and the recipes accept: a loss is a (generator, discriminator) pair of
# functions of logits; a penalty is a function (discriminator, real, fake, mix=, gradient_scale=, **options).
LOSSES = {
    "hinge": (hinge_generator_loss, hinge_discriminator_loss),
    "non_saturating": (non_saturating_generator_loss, non_saturating_discriminator_loss),
    "minimax": (minimax_generator_loss, minimax_discriminator_loss),
    "wasserstein": (wasserstein_generator_loss, wasserstein_discriminator_loss),
}
PENALTIES = {"gradient_penalty": gradient_penalty, "wgan_div": wgan_div_penalty, "r1": r1_penalty}


def get_loss(loss):
    """The `(generator_loss, discriminator_loss)` pair of a name in `LOSSES`, or the pair given.

    Example:

    >>> get_loss("hinge")[0] is hinge_generator_loss
    True
    """
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)} or give a pair of callables "
                             "(generator_loss, discriminator_loss).")
        return LOSSES[loss]
    if not (isinstance(loss, (tuple, list)) and len(loss) == 2 and all(callable(f) for f in loss)):
        raise ValueError(f"loss must be a name or a pair of callables (generator_loss, discriminator_loss); got {loss!r}.")
    return tuple(loss)


def get_penalty(penalty):
    """The penalty function of a name in `PENALTIES`, a callable as given, or `None` for none.

    Example:

    >>> get_penalty("r1") is r1_penalty, get_penalty("none")
    (True, None)
    """
    if penalty is None or penalty == "none":
        return None
    if callable(penalty):
        return penalty
    if penalty not in PENALTIES:
        raise ValueError(f"unknown penalty {penalty!r}; choose one of {sorted(PENALTIES)}, None, or give a callable "
                         "(discriminator, real, fake, mix=None, gradient_scale=1.0).")
    return PENALTIES[penalty]
