"""What an exported generator says about itself, in the SavedModel and in the `.tflite` file.

The metadata is one JSON object: `latent_dim`, `num_classes`, `image_shape`
`[H, W, C]`, `max_samples` (the most images a request to the SavedModel may ask for), and the latent
and label conventions of a seed (`tfattngan.gan.SEED_CONVENTION`), so that a
client, `tflite/generate.py` and the int8 calibration need no flags the
model knows. The SavedModel returns it from its `metadata` signature (no
inputs; one string output `metadata`); a `.tflite` file carries it as the
flatbuffer metadata entry `tfattngan`.
"""

import json

from tfattngan.errors import UserInputError
from tfattngan.gan import LABEL_CONVENTION
from tfattngan.gan import SEED_CONVENTION

METADATA_SIGNATURE = "metadata"
TFLITE_METADATA_NAME = "tfattngan"


def generator_metadata(latent_dim, num_classes, image_shape, max_samples):
    """The metadata object of a generator.

    Example:

    >>> generator_metadata(64, 0, (32, 32, 3), 256)["image_shape"]
    [32, 32, 3]
    """
    return {
        "latent_dim": int(latent_dim),
        "num_classes": int(num_classes),
        "image_shape": [int(size) for size in image_shape],
        "max_samples": int(max_samples),
        "latents": SEED_CONVENTION,
        "labels": LABEL_CONVENTION,
    }


def savedmodel_metadata(loaded):
    """The metadata of a loaded SavedModel (`tf.saved_model.load`), or `None` when it has none.

    Example:

    >>> import tempfile, tensorflow as tf
    >>> from tfattngan.export import export_generator
    >>> from tfattngan.models import dcgan_generator
    >>> path = export_generator(dcgan_generator(16, 1, latent_dim=8, filters=2), tempfile.mkdtemp() + "/1")
    >>> savedmodel_metadata(tf.saved_model.load(str(path)))["latent_dim"]
    8
    """
    signature = loaded.signatures.get(METADATA_SIGNATURE)
    if signature is None:
        return None
    return json.loads(signature()["metadata"].numpy().decode())


def with_tflite_metadata(flatbuffer, metadata):
    """The `.tflite` flatbuffer `flatbuffer` (bytes) with `metadata` stored in it.

    Example: see `tflite_metadata`.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(flatbuffer)
    buffer = flatbuffer_utils.schema_fb.BufferT()
    buffer.data = list(json.dumps(metadata, sort_keys=True).encode())
    model.buffers.append(buffer)
    entry = flatbuffer_utils.schema_fb.MetadataT()
    entry.name, entry.buffer = TFLITE_METADATA_NAME, len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name != TFLITE_METADATA_NAME.encode()] + [entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def tflite_metadata(flatbuffer):
    """The metadata stored in a `.tflite` flatbuffer (bytes), or `None` when it has none.

    Example:

    >>> import tensorflow as tf
    >>> module = tf.Module()
    >>> function = tf.function(lambda x: {"y": x * 2.0}, input_signature=[tf.TensorSpec([1], tf.float32)])
    >>> flatbuffer = tf.lite.TFLiteConverter.from_concrete_functions(
    ...     [function.get_concrete_function()], module).convert()
    >>> tflite_metadata(with_tflite_metadata(flatbuffer, {"latent_dim": 8}))
    {'latent_dim': 8}
    """
    from tensorflow.lite.python import schema_py_generated as schema_fb

    try:
        model = schema_fb.Model.GetRootAs(bytearray(flatbuffer), 0)
        for index in range(model.MetadataLength()):
            entry = model.Metadata(index)
            if entry.Name().decode() == TFLITE_METADATA_NAME:
                return json.loads(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes().decode())
    except Exception as error:  # not a flatbuffer, or damaged metadata
        raise UserInputError(f"the .tflite file's metadata cannot be read ({error}); convert it again.") from None
    return None
