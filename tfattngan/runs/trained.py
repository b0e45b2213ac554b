"""Loads the generator of a finished (or running) training run for sampling.

Evaluation and export need only the generator of a run: this module builds
the run's `GAN` from its `config.json` and restores the generator's weights
(the EMA weights when the run keeps an average) from one of the run's
checkpoints; the discriminator is built but not restored, and there are no
optimisers.
"""

import dataclasses
import pathlib

import tensorflow as tf

from tfattngan import recipes
from tfattngan.errors import UserInputError
from tfattngan.gan import GAN
from tfattngan.runs.checkpoint_files import restore_failure_reason
from tfattngan.runs.directory import RunDirectory


@dataclasses.dataclass
class TrainedGenerator:
    """A run's generator, as a `tfattngan.GAN`, with the config and step it comes from.

    It samples as its GAN does (`sample`, `generate`), so metrics and
    exports take it wherever they take a GAN.

    Attributes:
        config: the run's resolved `GANConfig`.
        gan: a `tfattngan.GAN` whose generator holds the checkpoint's
            weights (the EMA weights when `is_ema`).
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
    >>> generator.step, tuple(generator.generate(2, seed=0).shape)
    (1, (2, 32, 32, 3))
    """

    config: recipes.GANConfig
    gan: object
    step: int
    checkpoint: str
    is_ema: bool

    @property
    def latent_dim(self):
        """The latent width."""
        return self.gan.latent_dim

    @property
    def num_classes(self):
        """Classes of a class-conditional generator, else 0."""
        return self.gan.num_classes

    def sampling_model(self):
        """The Keras model from `latent` (and `label`) to images (`GAN.sampling_model`)."""
        return self.gan.sampling_model()

    def sample(self, latents, labels=None):
        """Images in [-1, 1] from latents (`GAN.sample`)."""
        return self.gan.sample(latents, labels)

    def generate(self, count, seed=0, labels=None):
        """`count` images in [-1, 1] from the latents of `seed` (`GAN.generate`)."""
        return self.gan.generate(count, seed, labels)


def load_generator(run_dir, checkpoint=None, use_ema=True):
    """The generator of the run in `run_dir`, restored from a checkpoint; `run_dir` is only read.

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
            checkpoint cannot be restored (damaged, or from another model).

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
    gan = GAN(recipes.build_generator(config), recipes.build_discriminator(config), latent_dim=config.latent_dim,
              num_classes=config.num_classes, seed=config.seed)
    is_ema = bool(use_ema and config.ema_decay)
    objects = {"ema_generator" if is_ema else "generator": gan.generator}
    try:
        reader = tf.train.load_checkpoint(str(checkpoint))
        step = int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))
        status = tf.train.Checkpoint(**objects).restore(str(checkpoint))
        status.expect_partial().assert_existing_objects_matched()
    except Exception as error:  # unreadable, truncated or from another model
        raise UserInputError(
            f"checkpoint {checkpoint} does not fit the run's config ({restore_failure_reason(error)}); "
            "give an undamaged checkpoint of this run (resuming the training sets damaged ones aside)."
        ) from None
    return TrainedGenerator(config=config, gan=gan, step=step, checkpoint=str(checkpoint), is_ema=is_ema)
