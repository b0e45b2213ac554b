"""Spectral normalisation of a wrapped layer's kernel (Miyato et al. 2018)."""

import contextlib
import threading

import keras
import tensorflow as tf
from keras import ops

# Keras reads every autocast variable of a mixed-precision layer in float16.
# The power iteration must see the float32 kernel, and Keras exposes no public
# way to read it unrounded; this scope is the mechanism Keras itself uses.
from keras.src.backend import AutocastScope

_TRANSPOSED_CONVOLUTIONS = (
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)

_pause_state = threading.local()

# Power iterations run on the kernel when the layer is built, so that sigma is
# right from the first call (torch.nn.utils.parametrizations.spectral_norm
# runs 15 as well).
WARM_START_ITERATIONS = 15


def _read_unrounded(variable):
    """The variable's value in its own dtype, never autocast to float16."""
    with AutocastScope(None):
        return tf.convert_to_tensor(variable)


@keras.saving.register_keras_serializable(package="tfattngan")
class SpectralNormalization(keras.layers.Wrapper):
    """Divides a wrapped layer's kernel by its largest singular value.

    The raw kernel `W` stays the trainable variable; every forward pass uses
    `W / sigma(W)`, where `sigma` is estimated by power iteration with a
    persistent, non-trainable unit vector `u` (Miyato et al. 2018, as in
    TF-GAN, BigGAN and StudioGAN). Keras' built-in
    `keras.layers.SpectralNormalization` instead overwrites the kernel in place
    on every training call, which this layer never does.

    `u` starts as a random unit vector warmed up by 15 power iterations on
    the initial kernel when the layer is built (as PyTorch's
    `torch.nn.utils.parametrizations.spectral_norm` does), so `sigma` is
    right to a few per cent from the very first call, inference included.

    The kernel is viewed as a matrix with the layer's output units as columns:
    `(..., out)` kernels (Dense, Conv1D/2D/3D, Embedding) are reshaped to
    `(-1, out)`. Transposed-convolution kernels are stored
    `(kh, kw, out, in)`; their last two axes are swapped first, giving a
    `(kh * kw * in, out)` matrix with one `u` entry per output unit, the
    transpose of PyTorch's view (`dim=1` for `ConvTranspose`, as BigGAN and
    StudioGAN use it), so the same sigma. TF-GAN and Keras' wrapper instead
    reshape every kernel to `(-1, kernel.shape[-1])`, which for a transposed
    convolution is `(kh * kw * out, in)`: a different matrix with another
    sigma. This layer treats every kernel alike, by its output units.

    `u` advances by `power_iterations` steps on every call with
    `training=True`, and never otherwise: inference, `model.export()` and
    TFLite conversion change no state. Within one discriminator step the
    real pass, the fake pass and a penalty's pass should all see the same
    normalised weights, so a trainer advances `u` on the first pass only and
    runs the others inside `SpectralNormalization.power_iteration_paused()`:

    ```python
    real_logits = discriminator(real, training=True)   # u advances once
    with SpectralNormalization.power_iteration_paused():
        fake_logits = discriminator(fake, training=True)  # same sigma
        penalty = losses.gradient_penalty(discriminator, real, fake)
    ```

    `sigma` is always computed from the stored `u` (after advancing it), so
    the paused passes use exactly the sigma of the first pass. The pause is
    per thread, because `tf.distribute` traces each replica in a thread of its
    own: enter it inside the function given to `strategy.run`. Under a
    distribution strategy `u` is updated in replica context and written from
    the first replica to all, so every replica holds the same `u`.

    The power iteration runs in float32 also under the `mixed_float16` policy.
    The wrapped layer must not update state in its own `call` (Dense,
    convolutions and Embedding do not).

    Args:
        layer: a Keras layer with a `kernel` (Dense, Conv1D/2D/3D and their
            transposed variants) or `embeddings` (Embedding) weight.
        power_iterations: int, power-iteration steps per training call.
            Defaults to `1`.
        epsilon: float, added to norms before dividing by them. Defaults to
            `1e-12`.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: the wrapped layer's inputs.
        training: bool; `True` advances `u` (unless paused). Defaults to
            `None` (no update).

    Example:

    >>> import numpy as np
    >>> layer = SpectralNormalization(keras.layers.Dense(4))
    >>> y = layer(np.ones((2, 3), "float32"), training=True)
    >>> tuple(y.shape)
    (2, 4)

    Reference:
        Miyato, Kataoka, Koyama, Yoshida. Spectral Normalization for
        Generative Adversarial Networks. ICLR 2018.
    """

    def __init__(self, layer, power_iterations=1, epsilon=1e-12, **kwargs):
        super().__init__(layer, **kwargs)
        if int(power_iterations) < 1:
            raise ValueError(
                f"power_iterations must be a positive integer, got "
                f"{power_iterations!r}."
            )
        self.power_iterations = int(power_iterations)
        self.epsilon = float(epsilon)

    @staticmethod
    @contextlib.contextmanager
    def power_iteration_paused():
        """Within this context, training calls do not advance `u`.

        Example:

        >>> import numpy as np
        >>> layer = SpectralNormalization(keras.layers.Dense(2))
        >>> _ = layer(np.ones((1, 2), "float32"))
        >>> before = layer.u.numpy()
        >>> with SpectralNormalization.power_iteration_paused():
        ...     _ = layer(np.ones((1, 2), "float32"), training=True)
        >>> bool((layer.u.numpy() == before).all())
        True
        """
        depth = getattr(_pause_state, "depth", 0)
        _pause_state.depth = depth + 1
        try:
            yield
        finally:
            _pause_state.depth = depth

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        kernel = self._kernel_variable()
        units = kernel.shape[self._output_axis()]
        self.u = self.add_weight(
            name="u",
            shape=(1, units),
            initializer=self._warm_started_u,
            trainable=False,
            autocast=False,
            aggregation="only_first_replica",
        )
        self.built = True

    def _warm_started_u(self, shape, dtype=None):
        """A unit random vector after `WARM_START_ITERATIONS` power iterations on the kernel."""
        u = self._normalize(keras.initializers.RandomNormal(stddev=1.0)(shape, dtype="float32"))
        matrix = self._as_matrix(_read_unrounded(self._kernel_variable()))
        return self._power_iterate(ops.cast(matrix, "float32"), u, WARM_START_ITERATIONS)

    def call(self, inputs, training=None):
        kernel_variable = self._kernel_variable()
        kernel = _read_unrounded(kernel_variable)
        u = ops.convert_to_tensor(self.u)
        if training is True and getattr(_pause_state, "depth", 0) == 0:
            u = self._power_iterate(self._as_matrix(kernel), u)
            self.u.assign(u)
        normalised = self._normalized(kernel, u)
        with keras.StatelessScope(state_mapping=[(kernel_variable, normalised)]):
            return self.layer(inputs)

    def normalized_kernel(self):
        """The kernel the forward pass uses, `W / sigma(W)` with the stored `u`.

        Example:

        >>> layer = SpectralNormalization(keras.layers.Dense(3))
        >>> layer.build((None, 5))
        >>> tuple(layer.normalized_kernel().shape)
        (5, 3)
        """
        kernel = _read_unrounded(self._kernel_variable())
        return self._normalized(kernel, ops.convert_to_tensor(self.u))

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"power_iterations": self.power_iterations, "epsilon": self.epsilon}
        )
        return config

    def _kernel_variable(self):
        for name in ("kernel", "embeddings"):
            variable = getattr(self.layer, name, None)
            if variable is not None:
                return variable
        raise ValueError(
            f"SpectralNormalization wraps layers with a `kernel` or "
            f"`embeddings` weight (Dense, Conv*, Conv*Transpose, Embedding); "
            f"{type(self.layer).__name__} has neither."
        )

    def _output_axis(self):
        return -2 if isinstance(self.layer, _TRANSPOSED_CONVOLUTIONS) else -1

    def _as_matrix(self, kernel):
        if self._output_axis() == -2:
            kernel = ops.swapaxes(kernel, -1, -2)
        return ops.reshape(kernel, (-1, kernel.shape[-1]))

    def _normalize(self, vector):
        return vector / (ops.sqrt(ops.sum(ops.square(vector))) + self.epsilon)

    def _power_iterate(self, matrix, u, iterations=None):
        matrix = ops.stop_gradient(matrix)
        for _ in range(iterations or self.power_iterations):
            v = self._normalize(ops.matmul(u, ops.transpose(matrix)))
            u = self._normalize(ops.matmul(v, matrix))
        return u

    def _normalized(self, kernel, u):
        matrix = self._as_matrix(kernel)
        u = ops.stop_gradient(u)
        v = ops.stop_gradient(
            self._normalize(ops.matmul(u, ops.transpose(matrix)))
        )
        sigma = ops.sum(ops.matmul(v, matrix) * u)
        return ops.divide(kernel, sigma)
