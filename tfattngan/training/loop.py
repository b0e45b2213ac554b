"""The training loop: lock the run, resume, train, log, draw, checkpoint, stop cleanly."""

import contextlib
import dataclasses
import os
import signal
import tempfile
import threading
import time

import numpy as np
import tensorflow as tf

from tfattngan.data import load_source
from tfattngan.data import make_dataset
from tfattngan.data import reported_read_failures
from tfattngan.errors import UserInputError
from tfattngan.recipes import build_gan
from tfattngan.recipes import validate
from tfattngan.runs.checkpoint_files import checkpoint_prefixes
from tfattngan.runs.checkpoint_files import newest_restorable
from tfattngan.runs.checkpoint_files import record_checkpoints
from tfattngan.runs.checkpoint_files import remove_unfinished_saves
from tfattngan.runs.checkpoint_files import set_aside
from tfattngan.runs.directory import RunDirectory
from tfattngan.runs.lock import RunLock
from tfattngan.training.history import TrainingLog
from tfattngan.training.pictures import image_grid
from tfattngan.training.pictures import save_attention_maps
from tfattngan.training.pictures import save_png
from tfattngan.training.progress import ProgressLine
from tfattngan.write_errors import reported_write_failures


class TrainingDivergedError(UserInputError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


@dataclasses.dataclass
class RunSummary:
    """What a finished (or stopped) run left behind, and where.

    Example:

    >>> RunSummary("runs/x", 10, "runs/x/checkpoints/ckpt-1", "runs/x/samples/step_000010.png",
    ...            "runs/x/curves.png", None, False).step
    10
    """

    run_dir: str
    step: int
    checkpoint: str
    samples: str
    curves: str
    attention_maps: str
    interrupted: bool
    best_checkpoint: str = None
    best_fid: float = None

    def describe(self):
        """A few lines telling the user where everything is."""
        lines = [
            f"{'Stopped' if self.interrupted else 'Finished'} at step {self.step}; run directory {self.run_dir}",
            f"  checkpoint:      {self.checkpoint}",
            f"  samples:         {self.samples}",
            f"  training curves: {self.curves}",
        ]
        if self.attention_maps:
            lines.append(f"  attention maps:  {self.attention_maps}")
        if self.best_checkpoint:
            lines.append(f"  best FID:        {self.best_fid:.2f} at {self.best_checkpoint}")
        lines.append(f"  TensorBoard:     tensorboard --logdir {self.run_dir}/logs")
        return "\n".join(lines)


def resolve_config(config, source):
    """Adapts a config to its data: channels and image shape, labels.

    The model's channel count follows the data (a recipe made for RGB
    trains on grey images as a 1-channel model, and the other way round);
    a class-conditional config needs labelled data with at most
    `num_classes` classes.

    Example:

    >>> from tfattngan.recipes import GANConfig
    >>> from tfattngan.data import load_source
    >>> resolve_config(GANConfig(channels=1), load_source("builtin")).channels
    3
    """
    if source.image_shape is not None and source.image_shape[-1] in (1, 3) and source.image_shape[-1] != config.channels:
        config = config.replace(channels=source.image_shape[-1])
    if config.num_classes and not source.num_classes:
        raise UserInputError(
            f"recipe {config.recipe} is class-conditional but {source.name} has no labels; "
            "use labelled data or --set num_classes=0."
        )
    if config.num_classes and source.num_classes > config.num_classes:
        raise UserInputError(
            f"{source.name} has {source.num_classes} classes but the model has {config.num_classes}; "
            f"use --set num_classes={source.num_classes}."
        )
    return validate(config)


@tf.function
def _all_finite(variables):
    return tf.reduce_all([tf.reduce_all(tf.math.is_finite(tf.cast(v, tf.float32))) for v in variables])


class _StopRequest:
    """Ctrl-C or SIGTERM: a flag the step loop checks after each step; a second signal stops at once.

    A `KeyboardInterrupt` raised by Python's own handler can land inside a
    TensorFlow call that swallows it, and the run then goes on; a flag
    cannot be lost.
    """

    def __init__(self):
        self.requested = False

    def handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


def is_chief(strategy):
    """Whether this process writes the run's files (always, but in multi-worker runs).

    In a multi-worker run every worker trains and takes part in saving
    checkpoints, but only the chief (the `chief` task, or worker 0 when
    there is none) writes into the run directory.

    Example:

    >>> is_chief(tf.distribute.get_strategy())
    True
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def distributed_dataset(source, config, strategy, start_batch=0):
    """The training data of a config, from global batch `start_batch`, distributed over the replicas.

    Each replica reads its own part of every global batch (`make_dataset`
    with the strategy's input context), so a run resumed at step `t` starts
    at batch `t * n_critic` of the same stream.

    Example:

    >>> from tfattngan.recipes import get_recipe
    >>> config = get_recipe("quickstart").replace(batch_size=4)
    >>> batch = next(iter(distributed_dataset(load_source("builtin"), config, tf.distribute.get_strategy())))
    >>> tuple(batch["images"].shape)
    (4, 32, 32, 3)
    """

    def dataset_fn(input_context):
        return make_dataset(
            source, image_size=config.image_size, channels=config.channels, global_batch_size=config.batch_size,
            seed=config.seed, start_batch=start_batch, center_crop=config.center_crop, input_context=input_context,
        )

    return strategy.distribute_datasets_from_function(dataset_fn)


def training_checkpoint(gan):
    """The `tf.train.Checkpoint` of a run: step, networks, EMA generator, optimisers.

    Example:

    >>> from tfattngan.recipes import build_gan, get_recipe
    >>> checkpoint = training_checkpoint(build_gan(get_recipe("quickstart").replace(generator_filters=4,
    ...                                                                             discriminator_filters=4)))
    >>> int(checkpoint.step)
    0
    """
    objects = {"step": gan.step, "generator": gan.generator, "discriminator": gan.discriminator,
               "generator_optimizer": gan.generator_optimizer, "discriminator_optimizer": gan.discriminator_optimizer}
    if gan.ema_generator is not None:
        objects["ema_generator"] = gan.ema_generator
    return tf.train.Checkpoint(**objects)


class _Loop:
    """The state of one call of `train`; see there."""

    def __init__(self, config, run, strategy, source, log_stream):
        self.run = run
        self.strategy = strategy
        self.chief = is_chief(strategy)
        self.log_stream = log_stream if self.chief else open(os.devnull, "w")
        self._stop = _StopRequest()
        self.manager = None
        self.source = source
        self.config = resolve_config(config, self.source)
        self.run.check_resumable(self.config)
        if self.chief:
            with self._writing(f"the folders of {self.run.path}"):
                self.run.create_folders()
                for folder in (self.run.checkpoint_dir, self.run.best_checkpoint_dir):
                    remove_unfinished_saves(folder)
        with self.strategy.scope():
            self.gan = build_gan(self.config)
        self.checkpoint = training_checkpoint(self.gan)
        self._restore()
        if self.gan.bank_size and self.step == 0:
            self.gan.fill_banks(self._bank_images())
        self.evaluator = self._fid_evaluator()
        # Every worker evaluates (the same weights give the same FID) so that all take part in the best saves.
        self.best = self.run.best_fid()
        best_dir = self.run.best_checkpoint_dir
        if self.chief:
            self.manager = self.run.checkpoint_manager(self.checkpoint, self.config.keep_checkpoints)
        else:
            # Other workers must take part in every save; they write to a scratch directory.
            self.scratch = tempfile.TemporaryDirectory(prefix="tfattngan-worker-")
            self.manager = tf.train.CheckpointManager(self.checkpoint, self.scratch.name, max_to_keep=1)
            best_dir = os.path.join(self.scratch.name, "best")
        self.best_manager = tf.train.CheckpointManager(
            self.checkpoint, str(best_dir), max_to_keep=1, checkpoint_name="best"
        )
        self.log = None
        if self.chief:
            with self._writing(self._log_files):
                self.log = TrainingLog(self.run.losses_csv, self.run.log_dir, resume_step=self.step)
        self.latest_samples = None
        self.latest_attention = None

    @property
    def step(self):
        return int(self.gan.step.numpy())

    @property
    def _log_files(self):
        return f"the training log ({self.run.losses_csv}, {self.run.log_dir})"

    def _restore(self):
        """Restores the newest checkpoint that reads and holds finite weights.

        Newer ones that fail are skipped with one line each and, by the
        chief, moved to `checkpoints/skipped/` (nothing is deleted); the
        chief then records the kept ones as the manager's state, so that
        its later saves and pruning go on from there.
        """
        prefixes = checkpoint_prefixes(self.run.checkpoint_dir)
        restored, skipped = newest_restorable(prefixes, self._restore_one)
        if restored is None and skipped:
            newest, reason = skipped[0]
            raise UserInputError(
                f"no checkpoint in {self.run.checkpoint_dir} could be restored (the newest, {newest}: {reason}); "
                "they were left as they are: give a new --out, or move them away to start the run again."
            )
        if restored is None:
            return
        # The learning rates may change on resume; the checkpoint holds the old ones.
        self.gan.generator_optimizer.learning_rate = self.config.generator_lr
        self.gan.discriminator_optimizer.learning_rate = self.config.discriminator_lr
        if not self.chief:
            return
        with self._writing(f"the checkpoint records in {self.run.checkpoint_dir}"):
            for prefix, reason in skipped:
                moved = set_aside(prefix)
                print(f"Skipped checkpoint {prefix}, which could not be restored ({reason}): moved it to {moved}; "
                      f"resuming from {restored}.", file=self.log_stream, flush=True)
            record_checkpoints(self.run.checkpoint_dir, prefixes[: prefixes.index(restored) + 1])

    def _restore_one(self, prefix):
        self.checkpoint.restore(prefix).assert_existing_objects_matched()
        if not bool(_all_finite(self.gan.weights)):
            raise ValueError("its weights are not finite")

    def _fid_evaluator(self):
        """The FID evaluator of `eval_every`, made up front so that missing weights fail at once."""
        if not self.config.eval_every:
            return None
        from tfattngan.metrics import FIDEvaluator

        config = self.config
        return FIDEvaluator(
            self.source, config.eval_samples, image_size=config.image_size, channels=config.channels,
            center_crop=config.center_crop, seed=config.seed, progress=False,
        )

    def evaluate(self):
        """Logs the FID of the sampling generator; saves the best checkpoint when it improves."""
        step = self.step
        fid = float(self.evaluator.fid(self.gan))
        if not np.isfinite(fid):
            raise TrainingDivergedError(f"FID became {fid} at step {step}; {self._kept()}. {self._advice()}")
        improved = self.best is None or fid < self.best["fid"]
        if improved:
            self.best = {"step": step, "fid": fid, "checkpoint": self.save_checkpoint(self.best_manager)}
            if self.chief:
                with self._writing(self.run.best_checkpoint_dir / "best.json"):
                    self.run.save_best_fid(self.best)
        if self.chief:
            with self._writing(self._log_files):
                self.log.scalars(step, {"fid": fid, "best_fid": self.best["fid"]})
            print(f"step {step}: FID {fid:.2f} ({self.config.eval_samples} samples)"
                  + (" (best so far)" if improved else f"; best {self.best['fid']:.2f} at step {self.best['step']}"),
                  file=self.log_stream, flush=True)

    def _bank_images(self):
        count = self.gan.bank_size
        dataset = make_dataset(
            self.source, image_size=self.config.image_size, channels=self.config.channels,
            global_batch_size=count, seed=self.config.seed, center_crop=self.config.center_crop,
        )
        return next(iter(dataset))["images"]

    def _kept(self):
        """Which checkpoint a failure leaves as the one to resume from."""
        if self.manager is None:
            return "the run's checkpoints are left as they are"
        latest = self.manager.latest_checkpoint
        return f"the last good checkpoint {latest} is kept" if latest else "no checkpoint had been written yet"

    def _writing(self, what):
        """A failed write of `what` inside the block becomes one `WriteFailedError` saying what is kept."""
        return reported_write_failures(what, self._kept())

    def _advice(self):
        """What to change after a divergence, with the values that diverged."""
        generator_lr, discriminator_lr = self.config.generator_lr, self.config.discriminator_lr
        kept = f" ({self.run.config_path} holds the settings of that checkpoint)" if self.manager.latest_checkpoint else ""
        return (f"Lower the learning rates (this run used generator_lr={generator_lr:g}, "
                f"discriminator_lr={discriminator_lr:g}), e.g. --set generator_lr={generator_lr / 10:g} "
                f"--set discriminator_lr={discriminator_lr / 10:g}, or add a penalty, then run again to resume{kept}.")

    def save_checkpoint(self, manager=None):
        """Saves a checkpoint of the current step; the chief then records the config that made it."""
        manager = manager or self.manager
        step = self.step
        if not bool(_all_finite(self.gan.weights)):
            raise TrainingDivergedError(
                f"weights are not finite at step {step}; no checkpoint was written, {self._kept()}. {self._advice()}"
            )
        with self._writing(f"the checkpoint of step {step} in {manager.directory}"):
            path = manager.save(checkpoint_number=step)
        if self.chief:
            with self._writing(self.run.config_path):
                self.run.save_config(self.config)
        return path

    def draw(self):
        if not self.chief:
            return
        step = self.step
        grid = image_grid(self.gan.generate(64, seed=self.config.seed).numpy(), columns=8)
        probe = self.gan.attention_maps(4, seed=self.config.seed)
        with self._writing(f"the samples in {self.run.samples_dir}"):
            samples = str(self.run.samples_dir / f"step_{step:06d}.png")
            save_png(grid, samples)
            self.latest_samples = samples
            if probe is not None:
                images, maps = probe
                attention = str(self.run.samples_dir / f"attention_step_{step:06d}.png")
                save_attention_maps(images.numpy(), maps[-1].numpy(), attention)
                self.latest_attention = attention
        with self._writing(self._log_files):
            self.log.image(step, "samples", grid)

    def record(self):
        """Plots the curves and flushes the logs (chief only)."""
        with self._writing(self.run.curves_png):
            self.log.plot(self.run.curves_png)
        with self._writing(self._log_files):
            self.log.flush()

    def run_steps(self, stop_at):
        config = self.config
        iterator = iter(distributed_dataset(self.source, config, self.strategy, self.step * config.n_critic))
        train_step = self.gan.make_train_function()
        progress = ProgressLine(stop_at, stream=self.log_stream)
        images_per_step = config.batch_size * config.n_critic
        window_start, window_steps = time.perf_counter(), 0
        if self.step == 0:
            self.draw()
            if self.evaluator is not None:
                self.evaluate()
        while self.step < stop_at:
            if self._stop.requested:
                raise KeyboardInterrupt
            metrics = {name: float(value) for name, value in train_step(iterator).items() if name != "loss"}
            bad = [name for name, value in metrics.items() if not np.isfinite(value)]
            if bad:
                raise TrainingDivergedError(
                    f"{', '.join(bad)} became {metrics[bad[0]]} at step {self.step}; the run stopped without "
                    f"writing a checkpoint, {self._kept()}. {self._advice()}"
                )
            step = self.step
            window_steps += 1
            progress.update(step, {k: metrics[k] for k in ("d_loss", "g_loss")}, images=images_per_step)
            if self.chief and (step % config.log_every == 0 or step == stop_at):
                elapsed = time.perf_counter() - window_start
                rates = {"steps_per_sec": window_steps / elapsed, "images_per_sec": window_steps * images_per_step / elapsed}
                with self._writing(self._log_files):
                    self.log.scalars(step, {**metrics, **self.gan.attention_weights(), **rates})
                window_start, window_steps = time.perf_counter(), 0
            if self.chief and (step % config.sample_every == 0 or step == stop_at):
                self.draw()
                self.record()
            if step % config.checkpoint_every == 0 or step == stop_at:
                self.save_checkpoint()
            if self.evaluator is not None and (step % config.eval_every == 0 or step == stop_at):
                self.evaluate()
        progress.finish()

    def train(self, stop_at):
        """Runs to `stop_at` (or Ctrl-C / SIGTERM), then returns the `RunSummary`."""
        signals = (signal.SIGINT, signal.SIGTERM) if _in_main_thread() else ()
        previous = {number: signal.signal(number, self._stop.handle) for number in signals}
        interrupted = False
        try:
            self.run_steps(stop_at)
        except KeyboardInterrupt:
            interrupted = True
            print(f"\nInterrupted at step {self.step}; saving a checkpoint.", file=self.log_stream)
            self.save_checkpoint()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        if not interrupted and self.manager.latest_checkpoint is None:
            self.save_checkpoint()
        if self.chief:
            if self.latest_samples is None:
                self.draw()
            self.record()
        return RunSummary(
            run_dir=str(self.run.path),
            step=self.step,
            checkpoint=str(self.manager.latest_checkpoint),
            samples=str(self.latest_samples or ""),
            curves=str(self.run.curves_png),
            attention_maps=self.latest_attention,
            interrupted=interrupted,
            best_checkpoint=self.best["checkpoint"] if self.best else None,
            best_fid=self.best["fid"] if self.best else None,
        )


def train(config, run_dir, strategy=None, source=None, stop_at=None, log_stream=None):
    """Trains (or resumes) a run and returns a `RunSummary`.

    If `run_dir` holds checkpoints of the same config, training resumes from
    the newest one that restores with finite weights, continuing the step
    count, optimiser state, EMA weights and data position; newer ones that
    cannot be restored (truncated, bit-flipped) are moved to
    `checkpoints/skipped/`, with one line each saying why. It runs until
    step `config.steps` (or `stop_at`). Ctrl-C (or SIGTERM) stops it cleanly
    after saving a checkpoint; a NaN or infinite loss stops it with
    `TrainingDivergedError`, keeping the last good checkpoint and, in
    `config.json`, the config that made it (`config.json` is written with
    every checkpoint). A write that fails (full disk, file-size limit)
    stops it with a `WriteFailedError` naming what was not written, and an
    image file of the data that stops reading mid-run with a
    `UserInputError` naming the file.
    With `config.eval_every` set, the FID of
    `config.eval_samples` generated images against as many training images
    is computed at the start, every `eval_every` steps and at the end
    (Inception weights from `$TFATTNGAN_INCEPTION_WEIGHTS`), logged as
    `fid`, and the checkpoint with the best FID is kept in
    `checkpoints/best/` apart from the latest ones.

    One process at a time trains a run: the run's `RunLock` is held for the
    whole call (by the chief alone in a multi-worker run; the other workers
    write into scratch folders), and a second writer fails at once with
    `UserInputError` naming the process that holds it.

    Args:
        config: a `GANConfig`.
        run_dir: the run directory.
        strategy: a `tf.distribute.Strategy`. Defaults to the current one.
        source: a `tfattngan.data.DataSource`. Defaults to
            `load_source(config.dataset)`.
        stop_at: stop at this step instead of `config.steps`. Defaults to
            `None`.
        log_stream: where progress goes. Defaults to stdout.

    Example:

    >>> import io, tempfile
    >>> from tfattngan.recipes import get_recipe
    >>> config = get_recipe("quickstart").replace(
    ...     generator_filters=4, discriminator_filters=4, batch_size=4, steps=2, log_every=1)
    >>> summary = train(config, tempfile.mkdtemp(), log_stream=io.StringIO())
    >>> summary.step, summary.interrupted
    (2, False)
    """
    strategy = strategy or tf.distribute.get_strategy()
    source = source or load_source(config.dataset)
    run = RunDirectory(run_dir)
    # An image file that stops reading mid-run is named in one error (reported_read_failures).
    with RunLock(run.path) if is_chief(strategy) else contextlib.nullcontext(), reported_read_failures(source):
        loop = _Loop(config, run, strategy, source, log_stream)
        return loop.train(stop_at or loop.config.steps)


def _in_main_thread():
    return threading.current_thread() is threading.main_thread()
