"""Conversion of an exported generator's `serving_default` signature to TFLite.

Only TFLite's builtin operators are allowed (no Select TF ops, which would
need the large Flex delegate on the device); a graph that needs any other op
fails with the names of the ops. The quantisations:

- `none`: float32 weights and activations.
- `float16`: float16 weights, dequantised to float32 when loaded.
- `dynamic`: int8 weights, activations quantised on the fly where kernels
  allow (dynamic-range quantisation).
- `int8`: int8 weights and activations, calibrated on
  `REPRESENTATIVE_SAMPLES` latents `seeded_latents(.., seed=i)`; ops
  without an int8 kernel stay float. Inputs and outputs stay float32
  (and uint8 for `images_uint8`), so every variant is called alike.
"""

import re
import warnings

import tensorflow as tf

from tfattngan.atomic_files import atomic_file
from tfattngan.errors import UserInputError
from tfattngan.export.metadata import METADATA_SIGNATURE
from tfattngan.export.metadata import savedmodel_metadata
from tfattngan.export.metadata import with_tflite_metadata
from tfattngan.export.signatures import SERVING
from tfattngan.gan import cycled_labels
from tfattngan.gan import seeded_latents
from tfattngan.write_errors import reported_write_failures

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")
REPRESENTATIVE_SAMPLES = 100


def _load_signature(savedmodel_dir):
    try:
        loaded = tf.saved_model.load(str(savedmodel_dir))
    except (OSError, ValueError, tf.errors.OpError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise UserInputError(
            f"{savedmodel_dir} is not a readable SavedModel ({reason}); give a version directory written by "
            "export/export_savedmodel.py, such as models/NAME/1."
        ) from None
    if SERVING not in loaded.signatures:
        raise UserInputError(f"{savedmodel_dir} has no {SERVING!r} signature; export it with export_savedmodel.py.")
    return loaded, loaded.signatures[SERVING]


def _concrete_function(signature, batch_size):
    """The signature with its batch dimension fixed to `batch_size` (or left open)."""
    specs = {
        name: tf.TensorSpec([batch_size] + spec.shape.as_list()[1:], spec.dtype, name=name)
        for name, spec in signature.structured_input_signature[1].items()
    }
    return tf.function(lambda **inputs: signature(**inputs)).get_concrete_function(**specs)


def _representative_dataset(specs, batch_size, num_classes):
    latent_dim = specs["latent"].shape[-1]
    batch = batch_size or 1

    def batches():
        for index in range(REPRESENTATIVE_SAMPLES // batch):
            inputs = {"latent": seeded_latents(batch, latent_dim, seed=index)}
            if "label" in specs:
                inputs["label"] = cycled_labels(batch, num_classes, start=index * batch)
            yield inputs

    return batches


def _flex_ops(message):
    """Names of the TensorFlow ops in a ConverterError that TFLite has no builtin for."""
    names = re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", message)
    listed = re.search(r"TF Select ops: ([\w, ]+)", message)
    if listed:
        names += [name.strip() for name in listed.group(1).split(",")]
    return sorted(set(names))


class _NeedsOtherOps(Exception):
    def __init__(self, ops):
        super().__init__(", ".join(ops))
        self.ops = ops


def _convert(loaded, signature, quantize, batch_size, num_classes=None):
    """The flatbuffer, or `_NeedsOtherOps` naming the ops that have no builtin kernel."""
    specs = signature.structured_input_signature[1]
    converter = tf.lite.TFLiteConverter.from_concrete_functions([_concrete_function(signature, batch_size)], loaded)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        converter.target_spec.supported_ops.append(tf.lite.OpsSet.TFLITE_BUILTINS_INT8)
        converter.representative_dataset = _representative_dataset(specs, batch_size, num_classes)
    try:
        with warnings.catch_warnings():
            # int8 calibration runs tf.lite.Interpreter, which warns that it is deprecated.
            warnings.simplefilter("ignore", UserWarning)
            return converter.convert()
    except Exception as error:  # ConverterError; its module path is private
        ops = _flex_ops(str(error))
        if ops:
            raise _NeedsOtherOps(ops) from None
        raise


def _converts(loaded, signature, batch_size):
    """Whether a float32 conversion with this batch size succeeds."""
    try:
        _convert(loaded, signature, "none", batch_size)
    except _NeedsOtherOps:
        return False
    return True


def convert_to_tflite(savedmodel_dir, out, quantize="none", *, batch_size=None):
    """Converts a SavedModel's `serving_default` signature to a `.tflite` file.

    The file carries the SavedModel's metadata (latent size, classes, image
    shape, seed convention: `tfattngan.export.metadata`), which also gives
    the int8 calibration its classes; a SavedModel written otherwise, without
    a `metadata` signature, converts without it.

    Args:
        savedmodel_dir: a SavedModel written by `export_generator` (a
            version directory such as `models/NAME/1`).
        out: the `.tflite` path; written atomically.
        quantize: one of `QUANTIZATIONS`. Defaults to `"none"`.
        batch_size: fix the batch dimension to this size; `None` keeps it
            open (resize the interpreter's input to change it). Defaults to
            `None`.

    Returns:
        The size of the written file in bytes.

    Raises:
        UserInputError: an unknown quantisation, an unreadable SavedModel,
            a graph that needs ops outside TFLite's builtins (named in the
            message), or (`WriteFailedError`) `out` cannot be written.

    Example:

    >>> import pathlib, tempfile
    >>> from tfattngan.export import export_generator
    >>> from tfattngan.models import dcgan_generator
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = export_generator(dcgan_generator(16, 1, latent_dim=8, filters=2), folder / "1")
    >>> convert_to_tflite(folder / "1", folder / "gen.tflite", "float16") > 0
    True
    """
    if quantize not in QUANTIZATIONS:
        raise UserInputError(f"quantize must be one of {', '.join(QUANTIZATIONS)}; got {quantize!r}.")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise UserInputError(f"batch_size must be a positive integer or None, got {batch_size!r}.")
    loaded, signature = _load_signature(savedmodel_dir)
    metadata = savedmodel_metadata(loaded)
    if quantize == "int8" and "label" in signature.structured_input_signature[1] and not metadata:
        raise UserInputError(f"{savedmodel_dir} has no {METADATA_SIGNATURE!r} signature to tell the classes of its "
                             "class-conditional generator (for int8 calibration); export it with export_generator.")
    try:
        flatbuffer = _convert(loaded, signature, quantize, batch_size, (metadata or {}).get("num_classes"))
    except _NeedsOtherOps as error:
        needs = f"needs TensorFlow ops that TFLite has no builtin kernel for: {error}"
        if batch_size is None and _converts(loaded, signature, 1):
            raise UserInputError(
                f"{savedmodel_dir} with an open batch dimension {needs}; with a fixed batch the shapes are static "
                "and it converts: give --batch-size 1 (batch_size=1)."
            ) from None
        raise UserInputError(f"{savedmodel_dir} {needs}; it cannot run on builtin ops alone.") from None
    if metadata:
        flatbuffer = with_tflite_metadata(flatbuffer, metadata)
    with reported_write_failures(f"the TFLite file {out}", "no partial file was left (a file there before is kept)"):
        with atomic_file(out) as scratch:
            scratch.write_bytes(flatbuffer)
    return len(flatbuffer)
