"""The GAN trainer: `tf.function` steps run by `strategy.run` under any strategy."""

import keras
import tensorflow as tf

from tfattngan import losses
from tfattngan import recipes
from tfattngan.layers import RegionalAttention
from tfattngan.layers import SelfAttention
from tfattngan.layers import SpectralNormalization

_NOISE_STREAMS = {"d_latents": 0, "g_latents": 1, "mix": 2, "fake_labels": 3}


def _optimizer(config, learning_rate):
    if config.optimizer == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate)
    else:
        optimizer = keras.optimizers.Adam(learning_rate, beta_1=config.beta_1, beta_2=config.beta_2)
    return keras.optimizers.LossScaleOptimizer(optimizer) if config.mixed_precision else optimizer


class GANTrainer:
    """Trains a generator against a discriminator as a recipe config says.

    One training step is `n_critic` discriminator updates followed by one
    generator update, then the exponential moving average (EMA) of the
    generator weights. Both updates are `tf.function`s whose per-replica
    work runs under `strategy.run`; each replica's loss is divided by the
    number of replicas so that the summed gradients are those of the global
    batch (losses are means over equal per-replica batches). Batch norm is
    synchronised and every random number (latents, penalty interpolation
    weights, fake labels) comes with the data, drawn by stateless ops from
    the run seed and the example's position in the stream, so results do not
    depend on the number of replicas beyond floating-point noise.

    Spectral normalisation's `u` advances once per network update: on the
    discriminator's real pass in its step and on the generator's pass in its
    step; all other passes run inside
    `SpectralNormalization.power_iteration_paused()`.

    Args:
        config: a `tfattngan.recipes.GANConfig`.
        strategy: a `tf.distribute.Strategy`. Defaults to the current one.

    Example:

    >>> from tfattngan.recipes import get_recipe
    >>> config = get_recipe("quickstart").replace(generator_filters=8, discriminator_filters=8)
    >>> trainer = GANTrainer(config)
    >>> int(trainer.step)
    0
    """

    def __init__(self, config, strategy=None):
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        keras.mixed_precision.set_global_policy("mixed_float16" if config.mixed_precision else "float32")
        keras.utils.set_random_seed(config.seed)
        with self.strategy.scope():
            self.generator = recipes.build_generator(config)
            self.discriminator = recipes.build_discriminator(config)
            self.ema_generator = recipes.build_generator(config) if config.ema_decay else None
            self.generator_optimizer = _optimizer(config, config.generator_lr)
            self.discriminator_optimizer = _optimizer(config, config.discriminator_lr)
            # Optimizers are built up front: under MirroredStrategy a first
            # apply inside a tf.function cannot create their variables.
            self.generator_optimizer.build(self.generator.training.trainable_variables)
            self.discriminator_optimizer.build(self.discriminator.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        if self.ema_generator is not None:
            self.ema_generator.training.set_weights(self.generator.training.get_weights())
        self.checkpoint = tf.train.Checkpoint(
            step=self.step,
            generator=self.generator.training,
            discriminator=self.discriminator,
            generator_optimizer=self.generator_optimizer,
            discriminator_optimizer=self.discriminator_optimizer,
            **({"ema_generator": self.ema_generator.training} if self.ema_generator else {}),
        )
        self._regional = config.generator_attention == "regional" and bool(config.generator_attention_sizes)
        self._conditional = config.num_classes > 0
        # With jit_compile, XLA compiles each update's forward and backward
        # pass; the optimiser update (a cross-replica all-reduce) stays outside.
        compile_options = {"jit_compile": True} if config.jit_compile else None
        self._discriminator_compute = (
            tf.function(self._discriminator_gradients, **compile_options) if compile_options else self._discriminator_gradients
        )
        self._generator_compute = (
            tf.function(self._generator_gradients, **compile_options) if compile_options else self._generator_gradients
        )
        self._train_step = tf.function(self._train_step_fn)

    # ------------------------------------------------------------------
    # Randomness and data
    # ------------------------------------------------------------------

    def example_noise(self, position):
        """The random numbers of the example at `position` of the data stream.

        Stateless functions of (seed, position), so every replica layout and
        every resumed run sees the same numbers for the same example.

        Example:

        >>> from tfattngan.recipes import get_recipe
        >>> trainer = GANTrainer(get_recipe("quickstart").replace(generator_filters=8, discriminator_filters=8))
        >>> noise = trainer.example_noise(tf.constant(5, tf.int64))
        >>> sorted(noise), tuple(noise["d_latents"].shape)
        (['d_latents', 'g_latents', 'mix'], (64,))
        """
        position = tf.cast(position, tf.int64)

        def seed(stream):
            return tf.stack([tf.constant(self.config.seed, tf.int64), position * 4 + _NOISE_STREAMS[stream]])

        noise = {
            "d_latents": tf.random.stateless_normal([self.config.latent_dim], seed("d_latents")),
            "g_latents": tf.random.stateless_normal([self.config.latent_dim], seed("g_latents")),
            "mix": tf.random.stateless_uniform([], seed("mix")),
        }
        if self._conditional:
            noise["fake_labels"] = tf.random.stateless_uniform(
                [], seed("fake_labels"), minval=0, maxval=self.config.num_classes, dtype=tf.int32
            )
        return noise

    def fixed_latents(self, count):
        """`count` latents (and labels) that stay the same for a run, for sample grids.

        Example:

        >>> from tfattngan.recipes import get_recipe
        >>> trainer = GANTrainer(get_recipe("quickstart").replace(generator_filters=8, discriminator_filters=8))
        >>> tuple(trainer.fixed_latents(4)[0].shape)
        (4, 64)
        """
        latents = tf.random.stateless_normal([count, self.config.latent_dim], [self.config.seed, -1])
        labels = tf.range(count, dtype=tf.int32) % self.config.num_classes if self._conditional else None
        return latents, labels

    # ------------------------------------------------------------------
    # Forward passes
    # ------------------------------------------------------------------

    def _generate(self, latents, labels, real_images, training):
        if self._regional:
            return self.generator.training([latents, real_images], training=training)
        if self._conditional:
            return self.generator.training([latents, labels], training=training)
        return self.generator.training(latents, training=training)

    def _discriminate(self, images, labels):
        if self._conditional:
            return self.discriminator([images, labels], training=True)
        return self.discriminator(images, training=True)

    def sample(self, latents, labels=None, use_ema=True):
        """Images `[B, S, S, C]` in [-1, 1] from latents (inference mode).

        Uses the EMA generator when there is one and `use_ema` is set; a
        generator with regional attention samples with the real images of its bank.

        Example:

        >>> from tfattngan.recipes import get_recipe
        >>> trainer = GANTrainer(get_recipe("quickstart").replace(generator_filters=8, discriminator_filters=8))
        >>> tuple(trainer.sample(*trainer.fixed_latents(2)).shape)
        (2, 32, 32, 3)
        """
        generator = self.sampling_generator(use_ema)
        inputs = [latents, labels] if self._conditional else latents
        return generator(inputs, training=False)

    def sampling_generator(self, use_ema=True):
        """The model that maps latents (and labels) to images for samples and export.

        Example:

        >>> from tfattngan.recipes import get_recipe
        >>> trainer = GANTrainer(get_recipe("quickstart").replace(generator_filters=8, discriminator_filters=8))
        >>> trainer.sampling_generator().output_shape
        (None, 32, 32, 3)
        """
        if use_ema and self.ema_generator is not None:
            return self.ema_generator.sampling
        return self.generator.sampling

    # ------------------------------------------------------------------
    # Losses
    # ------------------------------------------------------------------

    def _penalty(self, real, fake, labels, mix):
        config = self.config
        if config.penalty == "none":
            return tf.constant(0.0)
        critic = (lambda x: self.discriminator([x, labels], training=True)) if self._conditional else self.discriminator
        if config.penalty == "gradient_penalty":
            return losses.gradient_penalty(critic, real, fake, weight=config.penalty_weight, mix=mix)
        if config.penalty == "wgan_div":
            return losses.wgan_div_penalty(critic, real, fake, k=config.wgan_div_k, p=config.wgan_div_p)
        return losses.r1_penalty(critic, real, weight=config.penalty_weight)

    def _scaled(self, loss, optimizer):
        loss = loss / tf.cast(self.strategy.num_replicas_in_sync, loss.dtype)
        return optimizer.scale_loss(loss) if self.config.mixed_precision else loss

    def _discriminator_gradients(self, batch):
        config = self.config
        real, labels = batch["images"], batch.get("labels")
        fake_labels = batch.get("fake_labels")
        with SpectralNormalization.power_iteration_paused():
            fake = self._generate(batch["d_latents"], fake_labels, real, training=True)
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_logits = self._discriminate(real, labels)
            with SpectralNormalization.power_iteration_paused():
                fake_logits = self._discriminate(fake, fake_labels)
                discriminator_loss = getattr(losses, f"{config.loss}_discriminator_loss")
                adversarial = config.discriminator_loss_weight * discriminator_loss(real_logits, fake_logits)
                penalty = self._penalty(real, fake, labels, batch["mix"])
            loss = adversarial + penalty
            scaled = self._scaled(loss, self.discriminator_optimizer)
        metrics = {
            "d_loss": adversarial,
            "penalty": penalty,
            "real_logits": tf.reduce_mean(tf.cast(real_logits, tf.float32)),
            "fake_logits": tf.reduce_mean(tf.cast(fake_logits, tf.float32)),
        }
        return tape.gradient(scaled, variables), metrics

    def _generator_gradients(self, batch):
        config = self.config
        fake_labels = batch.get("fake_labels")
        variables = self.generator.training.trainable_variables
        with tf.GradientTape() as tape:
            fake = self._generate(batch["g_latents"], fake_labels, batch["images"], training=True)
            with SpectralNormalization.power_iteration_paused():
                fake_logits = self._discriminate(fake, fake_labels)
            loss = getattr(losses, f"{config.loss}_generator_loss")(fake_logits)
            scaled = self._scaled(loss, self.generator_optimizer)
        return tape.gradient(scaled, variables), {"g_loss": loss}

    def _discriminator_replica_step(self, batch):
        gradients, metrics = self._discriminator_compute(batch)
        self.discriminator_optimizer.apply(gradients, self.discriminator.trainable_variables)
        return metrics

    def _generator_replica_step(self, batch):
        gradients, metrics = self._generator_compute(batch)
        self.generator_optimizer.apply(gradients, self.generator.training.trainable_variables)
        return metrics

    def _update_ema(self):
        decay = tf.where(self.step >= self.config.ema_start, float(self.config.ema_decay), 0.0)
        # The image banks are filled into both generators once (fill_banks) and never change: not copied.
        banks = {id(variable) for layer in self._regional_layers(self.generator)
                 for variable in (layer.bank_images, layer.bank_filled)}
        for average, weight in zip(self.ema_generator.training.weights, self.generator.training.weights):
            if weight.trainable:
                average.assign(decay * average + (1.0 - decay) * weight)
            elif id(weight) not in banks:
                average.assign(weight)

    def _reduce(self, per_replica):
        return {
            name: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
            for name, value in per_replica.items()
        }

    def _train_step_fn(self, iterator):
        metrics = {}
        for _ in range(self.config.n_critic):
            batch = next(iterator)
            metrics = self._reduce(self.strategy.run(self._discriminator_replica_step, args=(batch,)))
        metrics.update(self._reduce(self.strategy.run(self._generator_replica_step, args=(batch,))))
        if self.ema_generator is not None:
            self._update_ema()
        self.step.assign_add(1)
        return metrics

    def train_step(self, iterator):
        """Runs one training step on batches from a distributed iterator.

        Returns:
            dict of scalar metrics (global means): `d_loss`, `penalty`,
            `real_logits`, `fake_logits` (of the last critic update) and
            `g_loss`.

        Example:

        >>> from tfattngan.recipes import get_recipe
        >>> from tfattngan.data import load_source
        >>> config = get_recipe("quickstart").replace(generator_filters=8, discriminator_filters=8, batch_size=4)
        >>> trainer = GANTrainer(config)
        >>> iterator = iter(trainer.distributed_dataset(load_source("builtin")))
        >>> sorted(trainer.train_step(iterator))
        ['d_loss', 'fake_logits', 'g_loss', 'penalty', 'real_logits']
        """
        return self._train_step(iterator)

    def distributed_dataset(self, source, start_step=None):
        """The training data of `source`, distributed over the strategy's replicas.

        Each element is one critic update's global batch: real images (and
        labels), plus the example noise. It starts at the batch of
        `start_step` (default: the current step), so a resumed run continues
        exactly where it stopped.

        Example:

        >>> from tfattngan.recipes import get_recipe
        >>> from tfattngan.data import load_source
        >>> trainer = GANTrainer(get_recipe("quickstart").replace(generator_filters=8, discriminator_filters=8))
        >>> dataset = trainer.distributed_dataset(load_source("builtin"))
        >>> sorted(next(iter(dataset)))
        ['d_latents', 'g_latents', 'images', 'labels', 'mix', 'position']
        """
        from tfattngan.data import make_dataset

        config = self.config
        start_step = int(self.step.numpy()) if start_step is None else start_step

        def dataset_fn(input_context):
            return make_dataset(
                source,
                image_size=config.image_size,
                channels=config.channels,
                global_batch_size=config.batch_size,
                seed=config.seed,
                start_batch=start_step * config.n_critic,
                center_crop=config.center_crop,
                input_context=input_context,
                per_example_fn=self.example_noise,
            )

        return self.strategy.distribute_datasets_from_function(dataset_fn)

    # ------------------------------------------------------------------
    # Inspection
    # ------------------------------------------------------------------

    def attention_weights(self):
        """The current gamma of every SelfAttention and lambdas of every RegionalAttention.

        Example:

        >>> from tfattngan.recipes import get_recipe
        >>> trainer = GANTrainer(get_recipe("quickstart").replace(generator_filters=8, discriminator_filters=8))
        >>> sorted(trainer.attention_weights())
        ['discriminator/attention_16/gamma', 'generator/attention_16/gamma']
        """
        values = {}
        for prefix, model in (("generator", self.generator.training), ("discriminator", self.discriminator)):
            for layer in model.layers:
                if isinstance(layer, SelfAttention):
                    values[f"{prefix}/{layer.name}/gamma"] = float(layer.gamma.numpy())
                elif isinstance(layer, RegionalAttention):
                    for index, value in enumerate(layer.lambdas.numpy()):
                        values[f"{prefix}/{layer.name}/lambda_{index}"] = float(value)
        return values

    def checkpoint_variables(self):
        """Every model weight the checkpoint holds (for a finiteness check).

        Example:

        >>> from tfattngan.recipes import get_recipe
        >>> trainer = GANTrainer(get_recipe("quickstart").replace(generator_filters=8, discriminator_filters=8))
        >>> len(trainer.checkpoint_variables()) > 0
        True
        """
        models = [self.generator.training, self.discriminator]
        if self.ema_generator is not None:
            models.append(self.ema_generator.training)
        return [weight for model in models for weight in model.weights]

    def fill_banks(self, images):
        """Stores real `images` in the bank of every RegionalAttention layer.

        The banks of the generator and of its EMA copy get the same images;
        sampling encodes them with each generator's own current weights, so
        they are filled once, before the first step, and travel in the
        checkpoints. Returns the number of layers filled.

        Example:

        >>> from tfattngan.recipes import get_recipe
        >>> trainer = GANTrainer(get_recipe("quickstart").replace(generator_filters=8, discriminator_filters=8))
        >>> trainer.fill_banks(tf.zeros((2, 32, 32, 3)))  # no regional attention: nothing to fill
        0
        """
        layers = [layer for models in (self.generator, self.ema_generator) if models is not None
                  for layer in self._regional_layers(models)]
        for layer in layers:
            layer.fill_bank(images)
        return len(layers)

    @staticmethod
    def _regional_layers(models):
        return [layer for layer in models.training.layers if isinstance(layer, RegionalAttention)]
