"""A run directory: the resolved config, checkpoints and everything else a run made.

Layout::

    RUN/config.json           the resolved config of the latest checkpoint
    RUN/train.lock            held by the process that trains the run (`RunLock`)
    RUN/checkpoints/          tf.train.CheckpointManager checkpoints (the latest N)
    RUN/checkpoints/best/     the checkpoint with the lowest FID, and best.json (with --eval-every)
    RUN/checkpoints/skipped/  checkpoints that could not be restored, set aside on resuming
    RUN/logs/                 TensorBoard event files
    RUN/samples/              sample grids and attention maps, one PNG per sample step
    RUN/losses.csv            the logged losses, one row per logged step
    RUN/curves.png            the training curves
"""

import json
import pathlib

import tensorflow as tf

from tfattngan.atomic_files import write_text_atomically
from tfattngan.errors import UserInputError
from tfattngan.recipes import GANConfig

# Fields that may change when a run is resumed; any other difference means
# the checkpoint belongs to another model, data set or optimiser.
RESUMABLE_FIELDS = frozenset(
    {"steps", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints", "jit_compile", "source",
     "generator_lr", "discriminator_lr", "eval_every", "eval_samples"}
)


class RunDirectory:
    """Paths of a run directory and its config and checkpoint files.

    Making one creates nothing: readers (evaluation, export) leave the
    directory as it is; training calls `create_folders` first.

    Args:
        path: the run directory.

    Example:

    >>> import os, tempfile
    >>> run = RunDirectory(tempfile.mkdtemp())
    >>> run.saved_config() is None
    True
    >>> run.save_config(GANConfig(steps=3))
    >>> run.saved_config().steps, sorted(os.listdir(run.path))
    (3, ['config.json'])
    >>> run.create_folders()
    >>> sorted(os.listdir(run.path))
    ['checkpoints', 'config.json', 'logs', 'samples']
    """

    def __init__(self, path):
        self.path = pathlib.Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise UserInputError(f"--out {self.path} is a file; give a directory for the run.")

    def create_folders(self):
        """Creates the run directory and its `checkpoints/`, `logs/` and `samples/` folders."""
        for folder in (self.checkpoint_dir, self.log_dir, self.samples_dir):
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def config_path(self):
        return self.path / "config.json"

    @property
    def checkpoint_dir(self):
        return self.path / "checkpoints"

    @property
    def best_checkpoint_dir(self):
        return self.checkpoint_dir / "best"

    @property
    def samples_dir(self):
        return self.path / "samples"

    @property
    def log_dir(self):
        return self.path / "logs"

    @property
    def losses_csv(self):
        return self.path / "losses.csv"

    @property
    def curves_png(self):
        return self.path / "curves.png"

    def saved_config(self):
        """The config saved in the run, or None for a new run.

        Raises:
            UserInputError: the config file exists but cannot be read.
        """
        if not self.config_path.exists():
            return None
        try:
            return GANConfig.from_dict(json.loads(self.config_path.read_text()))
        except (ValueError, TypeError) as error:
            raise UserInputError(
                f"{self.config_path} is not a readable run config ({error}); use another --out."
            ) from None

    def best_fid(self):
        """The best FID record (`step`, `fid`, `checkpoint`) of the run, or None.

        Example:

        >>> import tempfile
        >>> run = RunDirectory(tempfile.mkdtemp())
        >>> run.save_best_fid({"step": 10, "fid": 42.5, "checkpoint": "ckpt"})
        >>> run.best_fid()["fid"]
        42.5
        """
        path = self.best_checkpoint_dir / "best.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def save_best_fid(self, record):
        """Writes the best FID record, atomically."""
        write_text_atomically(self.best_checkpoint_dir / "best.json", json.dumps(record, indent=2) + "\n")

    def save_config(self, config):
        """Writes the resolved config as JSON, atomically."""
        write_text_atomically(self.config_path, json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")

    def check_resumable(self, config):
        """Raises UserInputError if `config` cannot continue this run's checkpoints.

        Example:

        >>> import tempfile
        >>> run = RunDirectory(tempfile.mkdtemp())
        >>> run.save_config(GANConfig(loss="hinge"))
        >>> run.check_resumable(GANConfig(loss="hinge", steps=9))  # steps may change
        >>> run.check_resumable(GANConfig(loss="wasserstein"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tfattngan.errors.UserInputError: ... was made with another config (loss: 'hinge' here, 'wasserstein' asked); ...
        """
        saved = self.saved_config()
        if saved is None:
            return
        old, new = saved.to_dict(), config.to_dict()
        differences = [
            f"{name}: {old[name]!r} here, {new[name]!r} asked"
            for name in sorted(old)
            if name not in RESUMABLE_FIELDS and old[name] != new[name]
        ]
        if differences:
            raise UserInputError(
                f"{self.path} was made with another config ({'; '.join(differences)}); "
                "resume it with the same recipe and settings, or give a new --out."
            )

    def checkpoint_manager(self, checkpoint, max_to_keep):
        """A `tf.train.CheckpointManager` writing into `checkpoints/`."""
        return tf.train.CheckpointManager(checkpoint, str(self.checkpoint_dir), max_to_keep=max_to_keep)
