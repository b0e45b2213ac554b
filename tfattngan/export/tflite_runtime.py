"""Running a converted generator with the LiteRT interpreter on the CPU.

LiteRT (`pip install ai-edge-litert`) is TFLite's runtime; when it is not
installed, TensorFlow's own (deprecated) `tf.lite.Interpreter` runs the
model instead, with the same results.
"""

import os
import pathlib
import warnings

import numpy as np

from tfattngan.errors import UserInputError
from tfattngan.export.metadata import tflite_metadata
from tfattngan.export.signatures import SERVING
from tfattngan.gan import cycled_labels
from tfattngan.gan import seeded_latents
from tfattngan.pixels import to_uint8

CHUNK_SIZE = 64  # rows per invoke of an open-batch model: its activations are sized for this, whatever the count


def load_interpreter(path, num_threads=None):
    """`(interpreter, name)` for a `.tflite` file: LiteRT, else `tf.lite`.

    Args:
        path: the `.tflite` file.
        num_threads: CPU threads. Defaults to the number of CPU cores.

    Raises:
        UserInputError: the file is missing or not a TFLite model.

    Example (a model file comes from `convert_to_tflite`, see `TFLiteGenerator`):

    >>> load_interpreter("/no/such.tflite")
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: /no/such.tflite does not exist; convert a SavedModel with tflite/convert.py first.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise UserInputError(f"{path} does not exist; convert a SavedModel with tflite/convert.py first.")
    try:
        from ai_edge_litert.interpreter import Interpreter

        name = "ai_edge_litert"
    except ImportError:
        import tensorflow as tf

        Interpreter, name = tf.lite.Interpreter, "tf.lite"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # tf.lite.Interpreter's deprecation notice
            interpreter = Interpreter(model_path=str(path), num_threads=num_threads or os.cpu_count())
    except ValueError as error:
        reason = (str(error).strip().splitlines() or ["unreadable"])[0][:200]
        raise UserInputError(
            f"{path} is not a TFLite model ({reason}); give a file written by tflite/convert.py."
        ) from None
    return interpreter, name


class TFLiteGenerator:
    """A converted generator: latents (and labels) in, images out.

    Runs the `serving_default` signature in chunks of a fixed size: a model
    converted with an open batch dimension in chunks of up to `CHUNK_SIZE`
    (the input is resized once), one converted with a fixed batch in chunks of
    that size, so the interpreter's memory does not grow with the count.
    Latents must be finite: the checks of the SavedModel's signature do not
    survive the conversion, so they are made here. The file's
    metadata (`tfattngan.export.metadata`) gives `num_classes`, so `sample`
    cycles the labels of a class-conditional model by itself.

    Args:
        path: a `.tflite` file written by `convert_to_tflite`.
        num_threads: CPU threads. Defaults to the number of CPU cores.

    Example:

    >>> import pathlib, tempfile
    >>> from tfattngan.export import convert_to_tflite, export_generator
    >>> from tfattngan.models import dcgan_generator
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = export_generator(dcgan_generator(16, 1, latent_dim=8, filters=2), folder / "1")
    >>> _ = convert_to_tflite(folder / "1", folder / "gen.tflite")
    >>> generator = TFLiteGenerator(folder / "gen.tflite", num_threads=1)
    >>> generator.latent_dim, generator.num_classes, generator.batch_size, generator.interpreter_name
    (8, 0, None, 'ai_edge_litert')
    >>> generator.image_shape
    (16, 16, 1)
    >>> images = generator.sample(3, seed=0)
    >>> images.shape
    (3, 16, 16, 1)
    >>> bool(np.array_equal(generator.generate(seeded_latents(3, 8, seed=0)), images))
    True
    >>> bool(np.array_equal(generator.sample_uint8(3, seed=0), to_uint8(images)))
    True
    >>> generator.generate(np.full((2, 8), np.inf))
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: latents must be finite numbers (no NaN or inf, which give all-NaN images); got 16 non-finite values.
    >>> generator.feed(seeded_latents(1, 8, seed=0))  # low level: set the inputs, then invoke
    >>> generator.interpreter.invoke()
    """

    def __init__(self, path, num_threads=None):
        self.path = str(path)
        self.num_threads = num_threads or os.cpu_count()
        self.interpreter, self.interpreter_name = load_interpreter(path, self.num_threads)
        if SERVING not in self.interpreter.get_signature_list():
            raise UserInputError(f"{path} has no {SERVING!r} signature; convert it with tflite/convert.py.")
        # A signature runner pins the interpreter's buffers (no resizing while it lives): keep only its indices.
        runner = self.interpreter.get_signature_runner(SERVING)
        inputs, outputs = runner.get_input_details(), runner.get_output_details()
        del runner
        if "latent" not in inputs or "images" not in outputs:
            raise UserInputError(f"{path} maps {sorted(inputs)} to {sorted(outputs)}; it is not a converted generator.")
        self._inputs = {name: details["index"] for name, details in inputs.items()}
        self._images = outputs["images"]["index"]
        latent_shape = inputs["latent"]["shape_signature"]
        self.latent_dim = int(latent_shape[-1])
        self.batch_size = None if latent_shape[0] == -1 else int(latent_shape[0])
        self.image_shape = tuple(int(size) for size in outputs["images"]["shape_signature"][1:])
        self.conditional = "label" in inputs
        self.metadata = tflite_metadata(pathlib.Path(path).read_bytes())
        if self.conditional and not (self.metadata or {}).get("num_classes"):
            raise UserInputError(f"{path} is class-conditional but carries no metadata with its classes; convert it "
                                 "again with tflite/convert.py.")
        self.num_classes = int((self.metadata or {}).get("num_classes", 0))
        self.interpreter.allocate_tensors()

    def generate(self, latents, labels=None):
        """float32 images `[N, S, S, C]` in [-1, 1] for latents `[N, latent_dim]` (and labels `[N]`).

        Example: see the class.
        """
        return np.concatenate([images for _, images in self._chunks(latents, labels)])

    def sample(self, count, seed=0):
        """`count` images from `seeded_latents(count, latent_dim, seed)`, as the SavedModel's `generate` draws them.

        The labels of a class-conditional model cycle through its classes.

        Example: see the class.
        """
        return self.generate(*self._seeded_inputs(count, seed))

    def sample_uint8(self, count, seed=0):
        """`sample(count, seed)` as uint8 `[count, S, S, C]`, converted chunk by chunk.

        Holds the count's latents and uint8 images, a quarter of the float
        images `sample` returns.

        Example: see the class.
        """
        images = np.empty((count, *self.image_shape), np.uint8)
        for start, chunk in self._chunks(*self._seeded_inputs(count, seed)):
            images[start:start + len(chunk)] = to_uint8(chunk).numpy()
        return images

    def _seeded_inputs(self, count, seed):
        latents = seeded_latents(count, self.latent_dim, seed).numpy()
        return latents, (cycled_labels(count, self.num_classes).numpy() if self.conditional else None)

    def _chunks(self, latents, labels):
        """Yields `(start, float32 images)` for each chunk of the checked inputs."""
        latents = np.asarray(latents, np.float32)
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim or not len(latents):
            raise UserInputError(f"latents must have shape [N >= 1, {self.latent_dim}], got {latents.shape}.")
        non_finite = int(np.size(latents) - np.count_nonzero(np.isfinite(latents)))
        if non_finite:
            raise UserInputError("latents must be finite numbers (no NaN or inf, which give all-NaN images); "
                                 f"got {non_finite} non-finite values.")
        labels = None if labels is None or not self.conditional else np.asarray(labels, np.int32)
        if self.conditional and (labels is None or labels.shape != (len(latents),)):
            raise UserInputError(f"{self.path} is class-conditional; give one int label per latent.")
        step = self.batch_size or min(CHUNK_SIZE, len(latents))
        for start in range(0, len(latents), step):
            chunk = slice(start, start + step)
            count = len(latents[chunk])
            self.feed(*self._padded(step, latents[chunk], None if labels is None else labels[chunk]))
            self.interpreter.invoke()
            yield start, self.interpreter.get_tensor(self._images)[:count]

    def feed(self, latents, labels=None):
        """Sets the inputs of the next `interpreter.invoke()`, resizing them when the batch changes.

        A fixed-batch model takes exactly `batch_size` rows.

        Example: see the class.
        """
        arrays = {"latent": np.asarray(latents, np.float32)}
        if self.conditional:
            arrays["label"] = np.asarray(labels, np.int32)
        current = self.interpreter.get_input_details()
        shapes = {details["index"]: tuple(details["shape"]) for details in current}
        if any(shapes[self._inputs[name]] != array.shape for name, array in arrays.items()):
            for name, array in arrays.items():
                self.interpreter.resize_tensor_input(self._inputs[name], list(array.shape), strict=True)
            self.interpreter.allocate_tensors()
        for name, array in arrays.items():
            self.interpreter.set_tensor(self._inputs[name], array)

    @staticmethod
    def _padded(step, latents, labels):
        """A last chunk, padded to `step` rows (so the interpreter keeps its size)."""
        missing = step - len(latents)
        if missing:
            latents = np.concatenate([latents, np.zeros((missing, latents.shape[1]), np.float32)])
            labels = None if labels is None else np.concatenate([labels, np.zeros(missing, np.int32)])
        return latents, labels
