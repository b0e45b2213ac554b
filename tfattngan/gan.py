"""`GAN`: a generator and a discriminator trained against each other, as one Keras model.

The GAN owns everything about how its networks are fed and sampled, so that
training, sample grids, metrics and every export agree:

- the generator takes `latent` float32 `[B, latent_dim]`, then `label`
  int32 `[B]` when `num_classes > 0`, then real images `[B, H, W, C]` in
  [-1, 1] when it holds a layer whose state is derived from data (one with a
  `fill_bank(images)` method, such as `RegionalAttention`). In training the
  real images are the batch's; when sampling they are the images of the
  first such layer's bank that `bank_index(latent)` picks, which is what
  the layer itself does when called with `latent=`. Such a layer has
  `fill_bank(images)`, `bank_images`, `bank_index(latent)`, `bank_size`,
  `bank_filled` and `bank_weights` (what `fill_bank` writes); `fit` and
  train.py fill it from the training data before the first step. A single input is passed
  as a tensor, several as a list in that order.
- the discriminator takes images, and `[images, labels]` when conditional.
- the latents of a seed are `seeded_latents(count, latent_dim, seed)`:
  `tf.random.stateless_normal([count, latent_dim], seed=[seed, 0])`; labels
  cycle through the classes (`cycled_labels`). `GAN.generate`, the sample
  grids, the metrics, the SavedModel `generate` signature and the TFLite
  tools all use these two functions.

Example:

>>> import keras
>>> generator = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4 * 4 * 3, activation="tanh"),
...                               keras.layers.Reshape((4, 4, 3))])
>>> discriminator = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
>>> gan = GAN(generator, discriminator)
>>> gan.compile(loss="hinge")
>>> tuple(gan.generate(5, seed=1).shape)
(5, 4, 4, 3)
"""

import keras
import tensorflow as tf

from tfattngan import losses
from tfattngan.layers import SpectralNormalization

_STREAMS = {"d_latents": 0, "g_latents": 1, "mix": 2, "fake_labels": 3}
# The latents and labels of `generate(count, seed)`, in words, for exported models' metadata.
SEED_CONVENTION = "tf.random.stateless_normal([count, latent_dim], seed=[seed, 0])"
LABEL_CONVENTION = "tf.range(count) % num_classes"


def seeded_latents(count, latent_dim, seed):
    """`count` float32 latents `[count, latent_dim]` drawn statelessly from `seed`.

    Works on Python numbers and on scalar tensors (inside a `tf.function`).
    The first rows of a longer draw equal a shorter draw of the same seed.

    Example:

    >>> a = seeded_latents(3, 4, seed=7)
    >>> b = seeded_latents(5, 4, seed=7)
    >>> tuple(a.shape), bool(tf.reduce_all(a == b[:3]))
    ((3, 4), True)
    """
    seed = tf.cast(seed, tf.int64)
    shape = tf.stack([tf.cast(count, tf.int32), tf.cast(latent_dim, tf.int32)])
    return tf.random.stateless_normal(shape, seed=tf.stack([seed, tf.zeros_like(seed)]))


def cycled_labels(count, num_classes, start=0):
    """int32 labels `0, 1, ..., num_classes - 1, 0, 1, ...` of length `count`, from position `start`.

    Example:

    >>> cycled_labels(5, 3).numpy().tolist(), cycled_labels(2, 3, start=4).numpy().tolist()
    ([0, 1, 2, 0, 1], [1, 2])
    """
    return (tf.range(tf.cast(count, tf.int32), dtype=tf.int32) + start) % num_classes


def bank_layers(model):
    """The layers of `model` whose state is derived from data (they have `fill_bank`).

    Example:

    >>> import keras
    >>> bank_layers(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
    []
    """
    return [layer for layer in model._flatten_layers(include_self=False) if hasattr(layer, "fill_bank")]


class _BankImages(keras.layers.Layer):
    """The bank images a data-derived layer picks for each latent (sampling only)."""

    def __init__(self, source, **kwargs):
        super().__init__(**kwargs)
        self.source = source

    def call(self, latent):
        return _bank_images_for(self.source, latent)


def _bank_images_for(layer, latent):
    """The bank image of a data-derived `layer` that each latent picks."""
    return keras.ops.take(layer.bank_images, layer.bank_index(latent), axis=0)


class _Derived:
    """Models derived from the networks (samplers, attention probes): rebuilt, never saved."""

    def __init__(self):
        self.models = {}


def _copy(model, example_inputs):
    """A copy of `model` with its own weights, equal to the model's (built on `example_inputs` if needed)."""
    copy = keras.models.clone_model(model)
    if not copy.built or len(copy.weights) != len(model.weights):
        copy(example_inputs)
    copy.set_weights(model.get_weights())
    return copy


@keras.saving.register_keras_serializable(package="tfattngan")
class GAN(keras.Model):
    """A generator and a discriminator trained against each other with `compile` and `fit`.

    `fit` runs, per step, `n_critic` discriminator updates, each on a fresh
    batch of the dataset, then one generator update on the last batch, then
    the exponential moving average (EMA) of the generator's weights. Both
    updates run under `strategy.run` of the strategy the GAN was built in
    (`with strategy.scope(): gan = GAN(...)`); each replica's loss is divided
    by the number of replicas, so the summed gradients are those of the
    global batch. The latents, the penalty's interpolation weights and the
    fake labels of a batch are drawn statelessly from `seed`, the step and
    the critic update, for the whole global batch, and each replica takes
    its rows: results do not depend on the number of replicas beyond
    floating-point noise, and a resumed run draws what the uninterrupted
    one would. Spectral normalisation's `u` advances once per network
    update (on the discriminator's real pass, on the generator's pass).
    Under the `mixed_float16` policy the optimisers are wrapped in
    `LossScaleOptimizer`, and the penalty's gradient with respect to its
    input is scaled by the same loss scale.

    The dataset yields images in [-1, 1] (`[B, H, W, C]` float), or
    `(images, labels)`, or `{"images": ..., "labels": ...}`; labels are
    needed when `num_classes > 0`. `fit`'s logs are `d_loss` (the
    adversarial part), `penalty`, `real_logits`, `fake_logits` (means, of the
    last critic update), `g_loss` and `loss`, their sum, which Keras'
    `TerminateOnNaN` and `ModelCheckpoint(monitor="loss")` watch.

    Calling the GAN (`gan(latents)`, `gan([latents, labels])`,
    `gan.predict`) samples from the EMA generator when there is one.

    Args:
        generator: a Keras model (Functional, Sequential or subclassed and
            built) with the inputs the module docstring lists, giving images
            in [-1, 1].
        discriminator: a Keras model from images (and labels) to logits.
        latent_dim: int, the latent width. Defaults to the generator's
            first input width.
        num_classes: int, classes of a class-conditional GAN, else `0`.
            Defaults to `0`.
        ema_decay: float, decay of the generator's EMA copy, or `None` for
            none. Defaults to `None`.
        ema_start: int, step from which the EMA averages (before it, it
            copies). Defaults to `0`.
        seed: int, seed of the training noise. Defaults to `0`.
        **kwargs: `keras.Model` keyword arguments (`name`, ...).

    Example:

    >>> import keras, numpy as np
    >>> generator = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4 * 4, activation="tanh"),
    ...                               keras.layers.Reshape((4, 4, 1))])
    >>> discriminator = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    >>> gan = GAN(generator, discriminator, ema_decay=0.99)
    >>> gan.compile(loss="wasserstein", penalty="gradient_penalty", n_critic=2)
    >>> images = np.random.default_rng(0).uniform(-1, 1, (32, 4, 4, 1)).astype("float32")
    >>> history = gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(8).repeat(), steps_per_epoch=3,
    ...                   verbose=0)
    >>> int(gan.step), sorted(history.history)
    (3, ['d_loss', 'fake_logits', 'g_loss', 'loss', 'penalty', 'real_logits'])
    """

    def __init__(self, generator, discriminator, latent_dim=None, num_classes=0, ema_decay=None, ema_start=0,
                 seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim) if latent_dim else _latent_width(generator)
        self.num_classes = int(num_classes)
        self.ema_decay = float(ema_decay) if ema_decay else None
        self.ema_start = int(ema_start)
        self.seed = int(seed)
        self.ema_generator = None
        if self.ema_decay:
            images = tf.zeros((1,) + self.image_shape) if bank_layers(generator) else None
            example = self.generator_inputs(tf.zeros((1, self.latent_dim)), tf.zeros((1,), tf.int32), images)
            self.ema_generator = _copy(generator, example)
        self.step = self.add_weight(name="step", shape=(), dtype="int64", initializer="zeros", trainable=False)
        self._derived = _Derived()
        self.built = True

    @property
    def conditional(self):
        """Whether the GAN is class-conditional (`num_classes > 0`)."""
        return self.num_classes > 0

    @property
    def image_shape(self):
        """`(H, W, C)` of the generated images.

        Example: see `tfattngan.GAN`.
        """
        for tensors in (getattr(self.discriminator, "inputs", None), getattr(self.generator, "outputs", None)):
            if tensors:
                return tuple(tensors[0].shape[1:])
        raise ValueError("the image shape of two subclassed networks is unknown: make the discriminator a "
                         "Functional model, or build it on keras.Input first.")

    # ------------------------------------------------------------------
    # Compile
    # ------------------------------------------------------------------

    def compile(self, generator_optimizer=None, discriminator_optimizer=None, loss="hinge", penalty=None,
                penalty_options=None, n_critic=1, discriminator_loss_weight=1.0, jit_compile=False):
        """Sets the optimisers, the adversarial loss and the penalty.

        Args:
            generator_optimizer: a Keras optimiser. Defaults to
                `Adam(1e-4, beta_1=0.0, beta_2=0.9)` (SAGAN's TTUR).
            discriminator_optimizer: a Keras optimiser. Defaults to
                `Adam(4e-4, beta_1=0.0, beta_2=0.9)`.
            loss: a name in `tfattngan.losses.LOSSES` (`"hinge"`,
                `"non_saturating"`, `"minimax"`, `"wasserstein"`) or a pair of
                callables `(generator_loss(fake_logits),
                discriminator_loss(real_logits, fake_logits))`. Defaults to
                `"hinge"`.
            penalty: a name in `tfattngan.losses.PENALTIES`
                (`"gradient_penalty"`, `"wgan_div"`, `"r1"`), a callable
                `(discriminator, real, fake, mix=None, gradient_scale=1.0,
                **penalty_options)`, or `None`. Defaults to `None`.
            penalty_options: dict of keyword arguments of the penalty
                (`{"weight": 10.0}`, `{"k": 2.0, "p": 6.0}`). Defaults to
                `None`.
            n_critic: int, discriminator updates per generator update.
                Defaults to `1`.
            discriminator_loss_weight: float, factor of the adversarial
                discriminator loss (the penalty is not scaled). Defaults to
                `1.0`.
            jit_compile: bool, XLA-compile each update's forward and backward
                pass (the optimiser update, an all-reduce across replicas,
                stays outside). Defaults to `False`.

        Example: see `tfattngan.GAN`.
        """
        super().compile(optimizer=None, jit_compile=False)
        if int(n_critic) < 1:
            raise ValueError(f"n_critic must be at least 1, got {n_critic!r}.")
        self.loss_functions = losses.get_loss(loss)
        self.penalty_function = losses.get_penalty(penalty)
        self._compile_options = {
            "loss": loss, "penalty": penalty, "penalty_options": dict(penalty_options or {}),
            "n_critic": int(n_critic), "discriminator_loss_weight": float(discriminator_loss_weight),
            "jit_compile": bool(jit_compile),
        }
        mixed = self.dtype_policy.name == "mixed_float16"
        with self.distribute_strategy.scope():
            self.generator_optimizer = _optimizer(generator_optimizer, 1e-4, mixed)
            self.discriminator_optimizer = _optimizer(discriminator_optimizer, 4e-4, mixed)
            # Built up front: under MirroredStrategy a first apply inside a tf.function cannot create variables.
            self.generator_optimizer.build(self.generator.trainable_variables)
            self.discriminator_optimizer.build(self.discriminator.trainable_variables)
        compiled = (lambda function: tf.function(function, jit_compile=True)) if jit_compile else (lambda f: f)
        self._critic_gradients = compiled(self._discriminator_gradients)
        self._generator_gradients_fn = compiled(self._generator_gradients)
        self.train_function = None

    @property
    def n_critic(self):
        """Discriminator updates per step, as compiled."""
        return self._compile_options["n_critic"]

    def get_compile_config(self):
        if not getattr(self, "_compile_options", None):
            return {}
        options = dict(self._compile_options)
        for name in ("loss", "penalty"):
            if not (options[name] is None or isinstance(options[name], str)):
                options[name] = keras.saving.serialize_keras_object(options[name])
        return {
            **options,
            "generator_optimizer": keras.optimizers.serialize(_inner(self.generator_optimizer)),
            "discriminator_optimizer": keras.optimizers.serialize(_inner(self.discriminator_optimizer)),
        }

    def compile_from_config(self, config):
        config = dict(config)
        for name in ("loss", "penalty"):
            if isinstance(config[name], (dict, list)):
                config[name] = keras.saving.deserialize_keras_object(config[name])
        config["generator_optimizer"] = keras.optimizers.deserialize(config["generator_optimizer"])
        config["discriminator_optimizer"] = keras.optimizers.deserialize(config["discriminator_optimizer"])
        self.compile(**config)

    # ------------------------------------------------------------------
    # How the networks are fed
    # ------------------------------------------------------------------

    def generator_inputs(self, latents, labels=None, images=None):
        """The generator's inputs, in its order: a tensor, or a list of them.

        Example:

        >>> import keras
        >>> generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3), keras.layers.Reshape((1, 1, 3))])
        >>> discriminator = keras.Sequential([keras.Input((1, 1, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
        >>> GAN(generator, discriminator).generator_inputs(tf.zeros((4, 2))).shape
        TensorShape([4, 2])
        """
        inputs = [latents]
        if self.conditional:
            if labels is None:
                raise ValueError("this GAN is class-conditional: give a label for every latent.")
            inputs.append(tf.cast(labels, tf.int32))
        if bank_layers(self.generator):
            if images is None:
                raise ValueError("this generator takes real images (it has a data-derived layer such as "
                                 "RegionalAttention); give images, or sample with gan.sample / gan.generate.")
            inputs.append(images)
        return inputs[0] if len(inputs) == 1 else inputs

    def _discriminate(self, images, labels):
        inputs = [images, labels] if self.conditional else images
        return self.discriminator(inputs, training=True)

    def sampling_model(self, use_ema=True):
        """A Keras model from `latent` (and `label`) to images, for sampling and export.

        With a data-derived layer it feeds the generator the bank image each
        latent picks. Uses the EMA generator when there is one and
        `use_ema` is set. Call it with `training=False`.

        Example:

        >>> import keras
        >>> generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3), keras.layers.Reshape((1, 1, 3))])
        >>> discriminator = keras.Sequential([keras.Input((1, 1, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
        >>> [tuple(i.shape) for i in GAN(generator, discriminator).sampling_model().inputs]
        [(None, 2)]
        """
        generator = self.ema_generator if use_ema and self.ema_generator is not None else self.generator
        key = ("sampler", id(generator))
        if key not in self._derived.models:
            latent = keras.Input((self.latent_dim,), name="latent")
            inputs = [latent] + ([keras.Input((), dtype="int32", name="label")] if self.conditional else [])
            feed = list(inputs)
            banks = bank_layers(generator)
            if banks:
                feed.append(_BankImages(banks[0], name="bank_images")(latent))
            images = generator(feed[0] if len(feed) == 1 else feed)
            self._derived.models[key] = keras.Model(inputs[0] if len(inputs) == 1 else inputs, images,
                                                    name=f"{generator.name}_sampling")
        return self._derived.models[key]

    def sample(self, latents, labels=None, use_ema=True):
        """Images `[B, H, W, C]` in [-1, 1] from latents (inference mode).

        Example: see `generate`.
        """
        model = self.sampling_model(use_ema)
        inputs = [latents, tf.cast(labels, tf.int32)] if self.conditional else latents
        if self.conditional and labels is None:
            raise ValueError("this GAN is class-conditional: give a label for every latent.")
        return model(inputs, training=False)

    def generate(self, count, seed=0, labels=None, use_ema=True):
        """`count` images in [-1, 1] from the latents of `seed` (see the module docstring).

        Labels default to the classes in turn for a class-conditional GAN.

        Example:

        >>> import keras
        >>> generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3), keras.layers.Reshape((1, 1, 3))])
        >>> discriminator = keras.Sequential([keras.Input((1, 1, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
        >>> gan = GAN(generator, discriminator)
        >>> bool(tf.reduce_all(gan.generate(3, seed=5) == gan.generate(4, seed=5)[:3]))
        True
        """
        latents = seeded_latents(count, self.latent_dim, seed)
        if self.conditional and labels is None:
            labels = cycled_labels(count, self.num_classes)
        return self.sample(latents, labels, use_ema)

    def call(self, inputs, training=False):
        if self.conditional:
            latents, labels = inputs
            return self.sample(latents, labels)
        return self.sample(inputs)

    # ------------------------------------------------------------------
    # What pictures and logs show, and data-derived state
    # ------------------------------------------------------------------

    def attention_weights(self):
        """The scalars every layer of the networks logs (`logged_weights()`: SelfAttention's gamma, ...).

        Keys are `generator/LAYER/NAME` and `discriminator/LAYER/NAME`. A new
        layer shows up in the logs and curves by having `logged_weights()`.

        Example:

        >>> from tfattngan.recipes import build_gan, get_recipe
        >>> sorted(build_gan(get_recipe("quickstart").replace(generator_filters=4, discriminator_filters=4))
        ...        .attention_weights())
        ['discriminator/attention_16/gamma', 'generator/attention_16/gamma']
        """
        return {f"{prefix}/{layer.name}/{name}": value
                for prefix, model in (("generator", self.generator), ("discriminator", self.discriminator))
                for layer in model._flatten_layers(include_self=False) if hasattr(layer, "logged_weights")
                for name, value in layer.logged_weights().items()}

    def attention_maps(self, count, seed=0, labels=None, use_ema=True):
        """`(images, [map, ...])`: `generate(count, seed)` and the map of every generator layer with one.

        A layer has a map when it has `attention_map(inputs)` (SelfAttention:
        `[count, N_queries, N_keys]`); maps are in the order of the layers.
        `None` when no such layer is at the top level of a Functional
        generator.

        Example:

        >>> from tfattngan.recipes import build_gan, get_recipe
        >>> gan = build_gan(get_recipe("quickstart").replace(generator_filters=4, discriminator_filters=4))
        >>> images, maps = gan.attention_maps(2)
        >>> tuple(images.shape), [tuple(m.shape) for m in maps]
        ((2, 32, 32, 3), [(2, 256, 256)])
        """
        generator = self.ema_generator if use_ema and self.ema_generator is not None else self.generator
        layers = [layer for layer in getattr(generator, "layers", []) if hasattr(layer, "attention_map")]
        if not layers or not getattr(generator, "inputs", None):
            return None
        key = ("probe", id(generator))
        if key not in self._derived.models:
            self._derived.models[key] = keras.Model(
                generator.inputs, [generator.outputs[0]] + [layer.input for layer in layers])
        latents = seeded_latents(count, self.latent_dim, seed)
        if self.conditional and labels is None:
            labels = cycled_labels(count, self.num_classes)
        banks = bank_layers(generator)
        images = _bank_images_for(banks[0], latents) if banks else None
        images, *features = self._derived.models[key](self.generator_inputs(latents, labels, images), training=False)
        return images, [layer.attention_map(f) for layer, f in zip(layers, features)]

    def fill_banks(self, images):
        """Fills every data-derived layer (of the generator and its EMA copy) from real `images`.

        Training calls it once, before the first step. Returns the number of
        layers filled.

        Example:

        >>> from tfattngan.recipes import build_gan, get_recipe
        >>> gan = build_gan(get_recipe("quickstart").replace(generator_filters=4, discriminator_filters=4))
        >>> gan.fill_banks(tf.zeros((2, 32, 32, 3)))  # no regional attention: nothing to fill
        0
        """
        layers = [layer for model in (self.generator, self.ema_generator) if model is not None
                  for layer in bank_layers(model)]
        for layer in layers:
            layer.fill_bank(images)
        return len(layers)

    @property
    def bank_size(self):
        """Images the data-derived layers hold (the largest bank), or 0 without one."""
        return max([layer.bank_size for layer in bank_layers(self.generator)], default=0)

    @property
    def banks_filled(self):
        """Whether every data-derived layer of the generator has been filled."""
        return all(float(layer.bank_filled.numpy()) == 1.0 for layer in bank_layers(self.generator))

    # ------------------------------------------------------------------
    # The training step
    # ------------------------------------------------------------------

    def _noise(self, index, batch):
        """The random numbers of global batch `index`, this replica's rows of them."""
        context = tf.distribute.get_replica_context()
        replica = context.replica_id_in_sync_group if context is not None else 0
        total = batch * self.distribute_strategy.num_replicas_in_sync
        rows = slice(replica * batch, (replica + 1) * batch)

        def seed(stream):
            return tf.stack([tf.constant(self.seed, tf.int64), tf.cast(index, tf.int64) * 4 + _STREAMS[stream]])

        noise = {
            "d_latents": tf.random.stateless_normal([total, self.latent_dim], seed("d_latents"))[rows],
            "g_latents": tf.random.stateless_normal([total, self.latent_dim], seed("g_latents"))[rows],
            "mix": tf.random.stateless_uniform([total], seed("mix"))[rows],
            "fake_labels": None,
        }
        if self.conditional:
            noise["fake_labels"] = tf.random.stateless_uniform(
                [total], seed("fake_labels"), minval=0, maxval=self.num_classes, dtype=tf.int32)[rows]
        return noise

    def _unpack(self, data):
        if isinstance(data, dict):
            images, labels = data["images"], data.get("labels")
        elif isinstance(data, (tuple, list)):
            images, labels = data[0], (data[1] if len(data) > 1 else None)
        else:
            images, labels = data, None
        if not images.dtype.is_floating:
            raise ValueError(f"the GAN trains on float images in [-1, 1]; got {images.dtype.name} images. "
                             "Scale them first, e.g. images / 127.5 - 1.")
        if self.conditional and labels is None:
            raise ValueError("this GAN is class-conditional: the dataset must give (images, labels).")
        return tf.cast(images, tf.float32), (tf.cast(labels, tf.int32) if self.conditional else None)

    def _scaled(self, loss, optimizer):
        return optimizer.scale_loss(loss / tf.cast(self.distribute_strategy.num_replicas_in_sync, loss.dtype))

    def _penalty(self, real, fake, labels, mix):
        if self.penalty_function is None:
            return tf.constant(0.0)
        critic = (lambda x: self.discriminator([x, labels], training=True)) if self.conditional else \
            (lambda x: self.discriminator(x, training=True))
        scale = self.discriminator_optimizer.scale_loss(tf.constant(1.0))
        return self.penalty_function(critic, real, fake, mix=mix, gradient_scale=scale,
                                     **self._compile_options["penalty_options"])

    def _discriminator_gradients(self, real, labels, noise):
        fake_labels = noise["fake_labels"]
        with SpectralNormalization.power_iteration_paused():
            fake = self.generator(self.generator_inputs(noise["d_latents"], fake_labels, real), training=True)
        with tf.GradientTape() as tape:
            real_logits = self._discriminate(real, labels)
            with SpectralNormalization.power_iteration_paused():
                fake_logits = self._discriminate(fake, fake_labels)
                weight = self._compile_options["discriminator_loss_weight"]
                adversarial = weight * self.loss_functions[1](real_logits, fake_logits)
                penalty = self._penalty(real, fake, labels, noise["mix"])
            scaled = self._scaled(adversarial + penalty, self.discriminator_optimizer)
        metrics = {
            "d_loss": adversarial,
            "penalty": penalty,
            "real_logits": tf.reduce_mean(tf.cast(real_logits, tf.float32)),
            "fake_logits": tf.reduce_mean(tf.cast(fake_logits, tf.float32)),
        }
        return tape.gradient(scaled, self.discriminator.trainable_variables), metrics

    def _generator_gradients(self, real, noise):
        fake_labels = noise["fake_labels"]
        with tf.GradientTape() as tape:
            fake = self.generator(self.generator_inputs(noise["g_latents"], fake_labels, real), training=True)
            with SpectralNormalization.power_iteration_paused():
                fake_logits = self._discriminate(fake, fake_labels)
            loss = self.loss_functions[0](fake_logits)
            scaled = self._scaled(loss, self.generator_optimizer)
        return tape.gradient(scaled, self.generator.trainable_variables), {"g_loss": loss}

    def _discriminator_replica_step(self, data, index):
        real, labels = self._unpack(data)
        gradients, metrics = self._critic_gradients(real, labels, self._noise(index, tf.shape(real)[0]))
        self.discriminator_optimizer.apply(gradients, self.discriminator.trainable_variables)
        return metrics

    def _generator_replica_step(self, data, index):
        real, _ = self._unpack(data)
        gradients, metrics = self._generator_gradients_fn(real, self._noise(index, tf.shape(real)[0]))
        self.generator_optimizer.apply(gradients, self.generator.trainable_variables)
        return metrics

    def _update_ema(self):
        decay = tf.where(self.step >= self.ema_start, self.ema_decay, 0.0)
        # Data-derived state (the banks) is filled into both generators once and never changes: not copied.
        fixed = {id(weight) for layer in bank_layers(self.generator) for weight in layer.bank_weights}
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            if weight.trainable:
                average.assign(decay * average + (1.0 - decay) * weight)
            elif id(weight) not in fixed:
                average.assign(weight)

    def _reduce(self, per_replica):
        strategy = self.distribute_strategy
        return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
                for name, value in per_replica.items()}

    def _train_on_iterator(self, iterator):
        strategy = self.distribute_strategy
        first = self.step * self.n_critic
        if self.n_critic > 1:
            # One traced loop for all critic updates but the last, whose batch the generator update reuses.
            for critic in tf.range(self.n_critic - 1, dtype=tf.int64):
                strategy.run(self._discriminator_replica_step, args=(next(iterator), first + critic))
        data = next(iterator)
        index = first + self.n_critic - 1
        metrics = self._reduce(strategy.run(self._discriminator_replica_step, args=(data, index)))
        metrics.update(self._reduce(strategy.run(self._generator_replica_step, args=(data, index))))
        if self.ema_generator is not None:
            self._update_ema()
        self.step.assign_add(1)
        metrics["loss"] = metrics["d_loss"] + metrics["penalty"] + metrics["g_loss"]
        return metrics

    def make_train_function(self, force=False):
        """The function `fit` calls per step: `n_critic` batches from the iterator, one GAN step.

        Example: see `tfattngan.GAN`.
        """
        if self.train_function is not None and not force:
            return self.train_function
        if not getattr(self, "_compile_options", None):
            raise RuntimeError("compile the GAN before training it: gan.compile(...).")
        self.train_function = tf.function(self._train_on_iterator, reduce_retracing=True)
        return self.train_function

    def fit(self, x=None, *args, shuffle=False, **kwargs):
        """`keras.Model.fit`; `shuffle` defaults to `False` (a `tf.data` pipeline shuffles itself).

        Empty data-derived layers (region banks) are first filled from the
        first `bank_size` images of `x`, so that sampling during and after
        training draws on real training images.

        Example: see `tfattngan.GAN`.
        """
        if self.bank_size and not self.banks_filled:
            self.fill_banks(self._first_images(x, self.bank_size))
        return super().fit(x, *args, shuffle=shuffle, **kwargs)

    def _first_images(self, data, count):
        """The first `count` real images (or fewer) of a dataset or array given to `fit`."""
        if not isinstance(data, tf.data.Dataset):
            return self._unpack(tf.nest.map_structure(lambda array: tf.convert_to_tensor(array[:count]), data))[0]
        batches, total = [], 0
        for element in data:
            batches.append(self._unpack(element)[0])
            total += int(batches[-1].shape[0])
            if total >= count:
                break
        return tf.concat(batches, axis=0)[:count]

    def train_step(self, data):
        # Keras' one-batch step cannot hold a GAN step, which takes n_critic batches: say what to call instead.
        raise RuntimeError(
            "a GAN step takes n_critic batches: train with gan.fit(dataset), or call "
            "gan.make_train_function()(iterator) on an iterator of batches.")

    # ------------------------------------------------------------------
    # Serialisation
    # ------------------------------------------------------------------

    def get_config(self):
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "ema_decay": self.ema_decay,
            "ema_start": self.ema_start,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for name in ("generator", "discriminator"):
            config[name] = keras.saving.deserialize_keras_object(config[name], custom_objects=custom_objects)
        return cls(**config)


def _latent_width(generator):
    inputs = getattr(generator, "inputs", None)
    if not inputs:
        raise ValueError(f"cannot read the latent width of {generator.name} (a subclassed model): give latent_dim=.")
    return int(inputs[0].shape[-1])


def _inner(optimizer):
    return optimizer.inner_optimizer if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) else optimizer


def _optimizer(optimizer, learning_rate, mixed):
    optimizer = optimizer or keras.optimizers.Adam(learning_rate, beta_1=0.0, beta_2=0.9)
    if mixed and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
