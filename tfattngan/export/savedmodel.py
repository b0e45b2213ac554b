"""SavedModel export of a generator, for TF Serving and plain TensorFlow.

The export goes through `keras.export.ExportArchive`, whose SavedModels load
with TensorFlow alone (no custom classes) and run in the C++ loader that TF
Serving and `saved_model_cli` use. The SavedModel holds the variables its
signatures use, each once. The generator is exported in inference
mode: spectral normalisation divides by the sigma of its stored `u`, batch
normalisation uses its moving statistics, regional attention the real
images of its bank.
"""

import dataclasses
import pathlib

import keras

from tfattngan.errors import UserInputError
from tfattngan.atomic_files import atomic_directory
from tfattngan.export.serving_layout import version_path
from tfattngan.export.signatures import GeneratorSignatures
from tfattngan.export.signatures import check_max_samples
from tfattngan.runs.trained import load_generator
from tfattngan.write_errors import reported_write_failures

DEFAULT_MAX_SAMPLES = 256


def _model_and_classes(generator, num_classes):
    if hasattr(generator, "sampling_model"):  # a GAN or a TrainedGenerator
        return generator.sampling_model(), generator.num_classes
    inputs = generator.inputs
    if len(inputs) == 2 and not num_classes:
        raise UserInputError(
            "the model takes a label besides the latent; give num_classes= so that `generate` can cycle the labels."
        )
    if len(inputs) not in (1, 2):
        raise UserInputError(f"a generator takes a latent (and a label); this model takes {len(inputs)} inputs.")
    return generator, (num_classes if len(inputs) == 2 else 0)


def export_generator(generator, path, *, max_samples=DEFAULT_MAX_SAMPLES, num_classes=None):
    """Writes a generator as a SavedModel with `serving_default` and `generate` signatures.

    Signatures:
        `serving_default`: `latent` float32 `[batch, latent_dim]` (and
        `label` int32 `[batch]` for a class-conditional generator) ->
        `images` float32 `[batch, S, S, C]` in [-1, 1] and `images_uint8`.
        `generate`: `num_samples` int32 and `seed` int64 scalars ->
        `images_uint8`; the latents are `seeded_latents(num_samples,
        latent_dim, seed)` and the labels cycle through the classes, so a
        seed always gives the same images.

    The directory appears complete or not at all (`atomic_directory`), also
    when the disk is full or the folder read-only (a `WriteFailedError`
    naming it).

    Args:
        generator: a `tfattngan.GAN`, a `TrainedGenerator` (from
            `load_generator`) or a Keras sampling model (inputs `latent` and
            optionally `label`).
        path: the SavedModel directory to create; it must not exist.
        max_samples: the largest `num_samples` of `generate` and batch of
            `serving_default`, from 1 to `MAX_SAMPLES_LIMIT` (2**31 - 1).
            Defaults to `256`.
        num_classes: the class count of a bare class-conditional Keras
            model; ignored for a GAN or `TrainedGenerator`. Defaults to `None`.

    Returns:
        `path` as a `pathlib.Path`.

    Raises:
        UserInputError: `path` exists, `max_samples` is out of range, a
            conditional Keras model comes without `num_classes`, or
            (`WriteFailedError`) the SavedModel cannot be written.

    Example:

    >>> import tempfile
    >>> import tensorflow as tf
    >>> from tfattngan.models import dcgan_generator
    >>> model = dcgan_generator(16, 1, latent_dim=8, filters=2)
    >>> path = export_generator(model, tempfile.mkdtemp() + "/1", max_samples=8)
    >>> loaded = tf.saved_model.load(str(path))
    >>> sorted(loaded.signatures)
    ['generate', 'metadata', 'serving_default']
    >>> images = loaded.signatures["generate"](num_samples=tf.constant(2), seed=tf.constant(0, tf.int64))
    >>> images["images_uint8"].shape
    TensorShape([2, 16, 16, 1])
    """
    check_max_samples(max_samples)
    model, classes = _model_and_classes(generator, num_classes)
    signatures = GeneratorSignatures(model, model.inputs[0].shape[-1], classes, max_samples)
    path = pathlib.Path(path)
    kept = f"no partial export was left (other versions in {path.parent} are untouched)"
    with reported_write_failures(f"the SavedModel {path}", kept), atomic_directory(path) as scratch:
        archive = keras.export.ExportArchive()
        # No archive.track(model): the endpoints capture every variable they use, and tracking the model too
        # stores each weight twice (2x the files and the server's memory; keras-team/keras#23553, Keras 3.15).
        for name, function, input_signature in signatures.endpoints():
            archive.add_endpoint(name, function, input_signature=input_signature)
        archive.write_out(str(scratch), verbose=False)
    return path


@dataclasses.dataclass
class ServingExport:
    """Where `export_run` wrote a run's generator, and which weights it holds.

    Example:

    >>> ServingExport(path="models/gan/1", version=1, step=1500, checkpoint="ckpt-1500", is_ema=False).version
    1
    """

    path: str
    version: int
    step: int
    checkpoint: str
    is_ema: bool


def export_run(run_dir, out, version=None, *, max_samples=DEFAULT_MAX_SAMPLES, checkpoint=None, use_ema=True):
    """Exports a training run's generator as version `out/VERSION` of a TF Serving model.

    Args:
        run_dir: a run directory written by `train`.
        out: the model directory (`models/NAME`); created when missing.
        version: int version number. Defaults to one above the highest
            existing version, or 1. An existing version is never replaced.
        max_samples: the largest `num_samples` of `generate` and batch of
            `serving_default` (see `export_generator`). Defaults to `256`.
        checkpoint: a checkpoint path. Defaults to the run's latest.
        use_ema: export the EMA weights when the run keeps them. Defaults to
            True.

    Returns:
        A `ServingExport`.

    Raises:
        UserInputError: `max_samples` out of range, not a run, no usable
            checkpoint, the version exists, or (`WriteFailedError`) it
            cannot be written.

    Example:

    >>> import io, tempfile
    >>> from tfattngan.recipes import get_recipe
    >>> from tfattngan.training import train
    >>> run, models = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> config = get_recipe("quickstart").replace(generator_filters=2, discriminator_filters=2, batch_size=2, steps=1)
    >>> _ = train(config, run, log_stream=io.StringIO())
    >>> export_run(run, models).version, export_run(run, models).version
    (1, 2)
    """
    check_max_samples(max_samples)
    path = version_path(out, version)
    generator = load_generator(run_dir, checkpoint=checkpoint, use_ema=use_ema)
    export_generator(generator, path, max_samples=max_samples)
    return ServingExport(path=str(path), version=int(path.name), step=generator.step,
                         checkpoint=generator.checkpoint, is_ema=generator.is_ema)
