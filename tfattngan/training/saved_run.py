"""Loads the generator of a finished (or running) training run for sampling.

Evaluation and export need only the generator of a run: this module builds
it from the run's `config.json` and restores its weights (the EMA weights
when the run keeps an average) from one of the run's checkpoints, without
the discriminator or the optimisers.
"""

import dataclasses
import pathlib

import tensorflow as tf

from tfattngan import recipes
from tfattngan.errors import UserInputError
from tfattngan.training.run_directory import RunDirectory


@dataclasses.dataclass
class TrainedGenerator:
    """A run's generator with the config and step it comes from.

    Attributes:
        config: the run's resolved `GANConfig`.
        model: a Keras model mapping a latent (and a label, for a
            class-conditional config) to images in [-1, 1]; call it with
            `training=False`.
        step: the generator step of the checkpoint.
        checkpoint: the checkpoint path the weights come from.
        is_ema: whether the weights are the exponential moving average.

    Example:

    >>> import tempfile, io
    >>> from tfattngan.recipes import get_recipe
    >>> from tfattngan.training import train
    >>> run = tempfile.mkdtemp()
    >>> config = get_recipe("quickstart").replace(generator_filters=4, discriminator_filters=4, batch_size=4, steps=1)
    >>> _ = train(config, run, log_stream=io.StringIO())
    >>> generator = load_generator(run)
    >>> generator.step, tuple(generator.sample(2, seed=0).shape)
    (1, (2, 32, 32, 3))
    """

    config: recipes.GANConfig
    model: object
    step: int
    checkpoint: str
    is_ema: bool

    @property
    def conditional(self):
        """Whether the model takes a class label besides the latent."""
        return self.config.num_classes > 0

    def sample(self, count, seed=0, labels=None):
        """`count` images `[count, S, S, C]` in [-1, 1] from stateless latents for `seed`.

        Labels default to the classes in turn for a class-conditional model.
        """
        latents = tf.random.stateless_normal([count, self.config.latent_dim], [int(seed), 0])
        if not self.conditional:
            return self.model(latents, training=False)
        if labels is None:
            labels = tf.range(count, dtype=tf.int32) % self.config.num_classes
        return self.model([latents, tf.convert_to_tensor(labels, tf.int32)], training=False)


def load_generator(run_dir, checkpoint=None, use_ema=True):
    """The generator of the run in `run_dir`, restored from a checkpoint.

    Args:
        run_dir: a directory written by `tfattngan.training.train` (or
            `train.py --out`).
        checkpoint: a checkpoint path, or `"best"` for the best-FID
            checkpoint of a run trained with `eval_every`; defaults to the
            run's latest.
        use_ema: take the EMA weights when the run keeps them. Defaults to
            True.

    Returns:
        A `TrainedGenerator`.

    Raises:
        UserInputError: `run_dir` is not a run, has no checkpoint, or its
            checkpoint does not belong to its config.

    Example: see `TrainedGenerator`.
    """
    path = pathlib.Path(run_dir)
    if not (path / "config.json").is_file():
        raise UserInputError(f"{path} is not a training run (no config.json); give the --out folder of train.py.")
    run = RunDirectory(path)
    config = run.saved_config()
    if checkpoint == "best":
        checkpoint = tf.train.latest_checkpoint(str(run.best_checkpoint_dir))
        if checkpoint is None:
            raise UserInputError(f"{path} has no best-FID checkpoint; train it with --eval-every N.")
    if checkpoint is None:
        checkpoint = tf.train.latest_checkpoint(str(run.checkpoint_dir))
        if checkpoint is None:
            raise UserInputError(f"{run.checkpoint_dir} holds no checkpoint; train the run first.")
    models = recipes.build_generator(config)
    is_ema = bool(use_ema and config.ema_decay)
    objects = {"ema_generator" if is_ema else "generator": models.training}
    try:
        reader = tf.train.load_checkpoint(str(checkpoint))
        step = int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))
        status = tf.train.Checkpoint(**objects).restore(str(checkpoint))
        status.expect_partial().assert_existing_objects_matched()
    except Exception as error:  # unreadable, truncated or from another model
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise UserInputError(
            f"checkpoint {checkpoint} does not fit the run's config ({reason}); give a checkpoint of this run."
        ) from None
    return TrainedGenerator(config=config, model=models.sampling, step=step, checkpoint=str(checkpoint), is_ema=is_ema)
