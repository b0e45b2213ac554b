"""The training loop: resume, train, log, draw, checkpoint, stop cleanly."""

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
from tfattngan.errors import UserInputError
from tfattngan.recipes import build_gan
from tfattngan.recipes import validate
from tfattngan.runs.directory import RunDirectory
from tfattngan.training.history import TrainingLog
from tfattngan.training.pictures import image_grid
from tfattngan.training.pictures import save_attention_maps
from tfattngan.training.pictures import save_png
from tfattngan.training.progress import ProgressLine


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


def _raise_interrupted(signum, frame):
    raise KeyboardInterrupt


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

    def __init__(self, config, run_dir, strategy, source, log_stream):
        self.run = RunDirectory(run_dir)
        self.source = source or load_source(config.dataset)
        self.config = resolve_config(config, self.source)
        self.run.check_resumable(self.config)
        self.strategy = strategy or tf.distribute.get_strategy()
        with self.strategy.scope():
            self.gan = build_gan(self.config)
        self.checkpoint = training_checkpoint(self.gan)
        self.chief = is_chief(self.strategy)
        self.manager = self.run.checkpoint_manager(self.checkpoint, self.config.keep_checkpoints)
        self._restore()
        if self.gan.bank_size and self.step == 0:
            self.gan.fill_banks(self._bank_images())
        self.evaluator = self._fid_evaluator()
        # Every worker evaluates (the same weights give the same FID) so that all take part in the best saves.
        self.best = self.run.best_fid()
        best_dir = self.run.best_checkpoint_dir
        if not self.chief:
            # Other workers must take part in every save; they write to a scratch directory.
            self.scratch = tempfile.TemporaryDirectory(prefix="tfattngan-worker-")
            self.manager = tf.train.CheckpointManager(self.checkpoint, self.scratch.name, max_to_keep=1)
            best_dir = os.path.join(self.scratch.name, "best")
        else:
            self.run.save_config(self.config)
        self.best_manager = tf.train.CheckpointManager(
            self.checkpoint, str(best_dir), max_to_keep=1, checkpoint_name="best"
        )
        self.log = TrainingLog(self.run.losses_csv, self.run.log_dir, resume_step=self.step) if self.chief else None
        self.log_stream = log_stream if self.chief else open(os.devnull, "w")
        self.latest_samples = None
        self.latest_attention = None

    @property
    def step(self):
        return int(self.gan.step.numpy())

    def _restore(self):
        latest = self.manager.latest_checkpoint
        if latest is None:
            return
        try:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
            # The learning rates may change on resume; the checkpoint holds the old ones.
            self.gan.generator_optimizer.learning_rate = self.config.generator_lr
            self.gan.discriminator_optimizer.learning_rate = self.config.discriminator_lr
        except Exception as error:  # any failure to read it: truncated, foreign, mismatched
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
            raise UserInputError(
                f"checkpoint {latest} could not be restored ({reason}); delete it to resume from an "
                "earlier one, or give a new --out."
            ) from None

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
            raise TrainingDivergedError(f"FID became {fid} at step {step}; {self._kept()}.")
        improved = self.best is None or fid < self.best["fid"]
        if improved:
            self.best = {"step": step, "fid": fid, "checkpoint": self.save_checkpoint(self.best_manager)}
            if self.chief:
                self.run.save_best_fid(self.best)
        if self.chief:
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
        latest = self.manager.latest_checkpoint
        return f"the last good one ({latest}) is kept" if latest else "and none had been written before"

    def save_checkpoint(self, manager=None):
        if not bool(_all_finite(self.gan.weights)):
            raise TrainingDivergedError(
                f"weights are not finite at step {self.step}; no checkpoint was written, {self._kept()}. "
                "Lower the learning rates and run again to resume."
            )
        return (manager or self.manager).save(checkpoint_number=self.step)

    def draw(self):
        if not self.chief:
            return
        step = self.step
        grid = image_grid(self.gan.generate(64, seed=self.config.seed).numpy(), columns=8)
        self.latest_samples = str(self.run.samples_dir / f"step_{step:06d}.png")
        save_png(grid, self.latest_samples)
        self.log.image(step, "samples", grid)
        probe = self.gan.attention_maps(4, seed=self.config.seed)
        if probe is not None:
            images, maps = probe
            self.latest_attention = str(self.run.samples_dir / f"attention_step_{step:06d}.png")
            save_attention_maps(images.numpy(), maps[-1].numpy(), self.latest_attention)

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
            metrics = {name: float(value) for name, value in train_step(iterator).items() if name != "loss"}
            bad = [name for name, value in metrics.items() if not np.isfinite(value)]
            if bad:
                raise TrainingDivergedError(
                    f"{', '.join(bad)} became {metrics[bad[0]]} at step {self.step}; the run stopped without "
                    f"writing a checkpoint, {self._kept()}. Lower the learning rates (--set generator_lr=... "
                    "discriminator_lr=...) or add a penalty, then run again to resume."
                )
            step = self.step
            window_steps += 1
            progress.update(step, {k: metrics[k] for k in ("d_loss", "g_loss")}, images=images_per_step)
            if self.chief and (step % config.log_every == 0 or step == stop_at):
                elapsed = time.perf_counter() - window_start
                rates = {"steps_per_sec": window_steps / elapsed, "images_per_sec": window_steps * images_per_step / elapsed}
                self.log.scalars(step, {**metrics, **self.gan.attention_weights(), **rates})
                window_start, window_steps = time.perf_counter(), 0
            if self.chief and (step % config.sample_every == 0 or step == stop_at):
                self.draw()
                self.log.plot(self.run.curves_png)
                self.log.flush()
            if step % config.checkpoint_every == 0 or step == stop_at:
                self.save_checkpoint()
            if self.evaluator is not None and (step % config.eval_every == 0 or step == stop_at):
                self.evaluate()
        progress.finish()


def train(config, run_dir, strategy=None, source=None, stop_at=None, log_stream=None):
    """Trains (or resumes) a run and returns a `RunSummary`.

    If `run_dir` holds checkpoints of the same config, training resumes from
    the latest one, continuing the step count, optimiser state, EMA weights
    and data position; it runs until step `config.steps` (or `stop_at`).
    Ctrl-C (or SIGTERM) stops it cleanly after saving a checkpoint; a NaN or
    infinite loss stops it with `TrainingDivergedError`, keeping the last
    good checkpoint. With `config.eval_every` set, the FID of
    `config.eval_samples` generated images against as many training images
    is computed at the start, every `eval_every` steps and at the end
    (Inception weights from `$TFATTNGAN_INCEPTION_WEIGHTS`), logged as
    `fid`, and the checkpoint with the best FID is kept in
    `checkpoints/best/` apart from the latest ones.

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
    loop = _Loop(config, run_dir, strategy, source, log_stream)
    stop_at = stop_at or loop.config.steps
    previous = signal.signal(signal.SIGTERM, _raise_interrupted) if _in_main_thread() else None
    interrupted = False
    try:
        loop.run_steps(stop_at)
    except KeyboardInterrupt:
        interrupted = True
        print(f"\nInterrupted at step {loop.step}; saving a checkpoint.", file=loop.log_stream)
        loop.save_checkpoint()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if not interrupted and loop.manager.latest_checkpoint is None:
        loop.save_checkpoint()
    if loop.chief:
        if loop.latest_samples is None:
            loop.draw()
        loop.log.plot(loop.run.curves_png)
        loop.log.flush()
    return RunSummary(
        run_dir=str(loop.run.path),
        step=loop.step,
        checkpoint=str(loop.manager.latest_checkpoint),
        samples=str(loop.latest_samples or ""),
        curves=str(loop.run.curves_png),
        attention_maps=loop.latest_attention,
        interrupted=interrupted,
        best_checkpoint=loop.best["checkpoint"] if loop.best else None,
        best_fid=loop.best["fid"] if loop.best else None,
    )


def _in_main_thread():
    return threading.current_thread() is threading.main_thread()
