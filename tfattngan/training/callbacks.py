"""Keras callbacks for `GAN.fit`: sample grids, attention maps, training curves, FID with the best model kept.

They draw and log what train.py's run loop draws and logs, with the same
functions, so a `fit` run leaves the same pictures. Every file they write is
named by the GAN's generator step and written atomically.

Example:

>>> import keras, tempfile, numpy as np, tensorflow as tf
>>> from tfattngan import GAN
>>> generator = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4 * 4, activation="tanh"),
...                               keras.layers.Reshape((4, 4, 1))])
>>> discriminator = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
>>> gan = GAN(generator, discriminator)
>>> gan.compile()
>>> folder = tempfile.mkdtemp()
>>> images = tf.data.Dataset.from_tensor_slices(np.zeros((16, 4, 4, 1), "float32")).batch(8)
>>> _ = gan.fit(images, epochs=2, verbose=0, callbacks=[SampleGrid(folder), TrainingCurves(folder)])
>>> sorted(p.name for p in __import__("pathlib").Path(folder).iterdir())
['curves.png', 'losses.csv', 'step_000002.png', 'step_000004.png']
"""

import json
import os
import pathlib

import keras
import numpy as np

from tfattngan.atomic_files import write_text_atomically
from tfattngan.training.history import TrainingLog
from tfattngan.training.pictures import image_grid
from tfattngan.training.pictures import save_attention_maps
from tfattngan.training.pictures import save_png


def _step(gan):
    return int(gan.step.numpy())


class _EveryEpochs(keras.callbacks.Callback):
    """Calls `self.write()` at the end of every `every`-th epoch."""

    def __init__(self, every):
        super().__init__()
        if int(every) < 1:
            raise ValueError(f"every must be at least 1 (epochs), got {every!r}.")
        self.every = int(every)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.write(logs if logs is not None else {})


class SampleGrid(_EveryEpochs):
    """Saves `gan.generate(count, seed)` as a PNG grid every `every` epochs.

    The same latents every time (a seed's latents), so the grids show the
    generator's progress; files are `directory/step_{step:06d}.png`.

    Args:
        directory: the folder of the grids; created when missing.
        count: int, images per grid. Defaults to `64`.
        seed: int, the latent seed. Defaults to `0`.
        every: int, epochs between grids. Defaults to `1`.
        columns: int, images per row. Defaults to `ceil(sqrt(count))`.

    Example: see the module docstring.
    """

    def __init__(self, directory, count=64, seed=0, every=1, columns=None):
        super().__init__(every)
        self.directory, self.count, self.seed, self.columns = pathlib.Path(directory), int(count), int(seed), columns
        self.latest = None

    def write(self, logs):
        self.directory.mkdir(parents=True, exist_ok=True)
        grid = image_grid(self.model.generate(self.count, seed=self.seed).numpy(), columns=self.columns)
        self.latest = str(self.directory / f"step_{_step(self.model):06d}.png")
        save_png(grid, self.latest)


class AttentionMaps(_EveryEpochs):
    """Saves where the generator's last SelfAttention looks, for `count` samples, every `every` epochs.

    Files are `directory/attention_step_{step:06d}.png`; nothing is written
    for a generator without self-attention.

    Args:
        directory: the folder of the pictures; created when missing.
        count: int, samples shown. Defaults to `4`.
        seed: int, the latent seed. Defaults to `0`.
        every: int, epochs between pictures. Defaults to `1`.

    Example:

    >>> from tfattngan.recipes import build_gan, get_recipe
    >>> import tempfile
    >>> callback = AttentionMaps(tempfile.mkdtemp())
    >>> callback.set_model(build_gan(get_recipe("quickstart").replace(generator_filters=4, discriminator_filters=4)))
    >>> callback.on_epoch_end(0)
    >>> callback.latest.endswith("attention_step_000000.png")
    True
    """

    def __init__(self, directory, count=4, seed=0, every=1):
        super().__init__(every)
        self.directory, self.count, self.seed = pathlib.Path(directory), int(count), int(seed)
        self.latest = None

    def write(self, logs):
        probe = self.model.attention_maps(self.count, seed=self.seed)
        if probe is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        images, maps = probe
        self.latest = str(self.directory / f"attention_step_{_step(self.model):06d}.png")
        save_attention_maps(images.numpy(), maps[-1].numpy(), self.latest)


class TrainingCurves(keras.callbacks.Callback):
    """Logs `fit`'s values and the attention weights to `losses.csv` and plots `curves.png`.

    A row every `log_every` steps (the step's logs, the attention gammas and
    lambdas) and, at each epoch end, the epoch's logs (the FID of a
    `FIDCheckpoint` placed before this callback among them) and the plot.

    Args:
        directory: the folder of `losses.csv` and `curves.png`.
        log_every: int, steps between rows. Defaults to `1`.

    Example: see the module docstring.
    """

    def __init__(self, directory, log_every=1):
        super().__init__()
        self.directory, self.log_every = pathlib.Path(directory), int(log_every)
        self.log = None

    def on_train_begin(self, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log = TrainingLog(self.directory / "losses.csv", None, resume_step=_step(self.model))

    def on_train_batch_end(self, batch, logs=None):
        step = _step(self.model)
        if step % self.log_every == 0:
            values = {name: float(value) for name, value in (logs or {}).items()}
            self.log.scalars(step, {**values, **self.model.attention_weights()})

    def on_epoch_end(self, epoch, logs=None):
        extra = {name: float(value) for name, value in (logs or {}).items() if name.startswith("fid")}
        if extra:
            self.log.scalars(_step(self.model), extra)
        self.log.flush()
        self.log.plot(self.directory / "curves.png")


class FIDCheckpoint(_EveryEpochs):
    """Computes the FID every `every` epochs and saves the GAN as `.keras` when it is the best so far.

    The FID (of `num_samples` images of `generate(num_samples, seed)`
    against as many reference images, via `tfattngan.metrics.FIDEvaluator`)
    is added to the epoch's logs as `fid`. The best model is kept apart, at
    `filepath`, with `filepath + ".json"` recording its FID and step; a
    later, worse FID leaves both untouched, also across `fit` calls and
    processes (the JSON is read back at the start of training).

    Args:
        reference: the real images, anything `FIDEvaluator` accepts (a data
            set spec such as `"tfds:fashion_mnist"`, a `DataSource`, an array).
        filepath: where the best GAN is saved, ending in `.keras`.
        num_samples: int, images per evaluation. Defaults to `1000`.
        every: int, epochs between evaluations. Defaults to `1`.
        **evaluator_options: keyword arguments of `FIDEvaluator` (`weights`,
            `image_size`, `channels`, `seed`, ...).

    Example:

    >>> import keras, tempfile, numpy as np
    >>> mean_colour = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> callback = FIDCheckpoint("builtin:16", tempfile.mkdtemp() + "/best.keras", num_samples=16,
    ...                          weights=mean_colour, cache_dir=tempfile.mkdtemp())
    >>> callback.best is None
    True
    """

    def __init__(self, reference, filepath, num_samples=1000, every=1, **evaluator_options):
        super().__init__(every)
        from tfattngan.metrics import FIDEvaluator

        if not str(filepath).endswith(".keras"):
            raise ValueError(f"filepath must end in .keras, got {filepath!r}.")
        self.filepath = pathlib.Path(filepath)
        self.record = pathlib.Path(f"{filepath}.json")
        self.evaluator = FIDEvaluator(reference, num_samples, progress=False, **evaluator_options)
        self.best = json.loads(self.record.read_text()) if self.record.is_file() else None

    def write(self, logs):
        fid = float(self.evaluator.fid(self.model))
        logs["fid"] = fid
        if not np.isfinite(fid) or (self.best is not None and fid >= self.best["fid"]):
            return
        self.filepath.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.filepath.with_name(f".{self.filepath.stem}.partial.keras")
        self.model.save(scratch)
        os.replace(scratch, self.filepath)
        self.best = {"fid": fid, "step": _step(self.model)}
        write_text_atomically(self.record, json.dumps(self.best, indent=2))
