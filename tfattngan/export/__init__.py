"""Export: SavedModels for TF Serving and `.tflite` files for LiteRT.

`export_run` writes a run's generator as a TF Serving model version;
`convert_to_tflite` turns that SavedModel into a TFLite flatbuffer;
`TFLiteGenerator` samples from it and `benchmark_tflite` times it.

Example:

>>> import pathlib, tempfile
>>> import tensorflow as tf
>>> from tfattngan.models import dcgan_generator
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> model = dcgan_generator(16, 1, latent_dim=8, filters=2)
>>> version = export_generator(model, folder / "gan" / "1")
>>> _ = convert_to_tflite(version, folder / "gen.tflite")
>>> served = tf.saved_model.load(str(version)).signatures["generate"]
>>> expected = served(num_samples=tf.constant(2), seed=tf.constant(5, tf.int64))["images_uint8"].numpy()
>>> on_device = TFLiteGenerator(folder / "gen.tflite").sample(2, seed=5)
>>> from tfattngan.pixels import to_uint8
>>> int(abs(to_uint8(on_device).numpy().astype(int) - expected).max()) <= 1
True
"""

from tfattngan.export.savedmodel import DEFAULT_MAX_SAMPLES
from tfattngan.export.savedmodel import ServingExport
from tfattngan.export.savedmodel import export_generator
from tfattngan.export.savedmodel import export_run
from tfattngan.export.serving_layout import existing_versions
from tfattngan.export.serving_layout import version_path
from tfattngan.export.signatures import GeneratorSignatures
from tfattngan.export.tflite_benchmark import benchmark_tflite
from tfattngan.export.tflite_convert import QUANTIZATIONS
from tfattngan.export.tflite_convert import convert_to_tflite
from tfattngan.export.tflite_runtime import TFLiteGenerator
from tfattngan.export.tflite_runtime import load_interpreter

__all__ = [
    "DEFAULT_MAX_SAMPLES",
    "GeneratorSignatures",
    "QUANTIZATIONS",
    "ServingExport",
    "TFLiteGenerator",
    "benchmark_tflite",
    "convert_to_tflite",
    "existing_versions",
    "export_generator",
    "export_run",
    "load_interpreter",
    "version_path",
]
