"""The serving signatures of an exported generator.

`serving_default` maps a latent (and a label) to images; `generate` maps a
sample count and a seed to images, drawing the latents inside the graph, so
that a client needs to send two numbers only; `metadata` takes nothing and
returns the generator's metadata as one JSON string
(`tfattngan.export.metadata`). The first two check their inputs in the
graph, before the generator runs, with messages that reach every client
(Python, `saved_model_cli`, TF Serving): both take at most `max_samples`
images a request (so one request cannot claim the server's memory: each
image costs the generator's activations, ~330 KB for the quickstart model),
and `serving_default` takes finite latents only (NaN or inf would give
all-NaN images). The generator's own ops would otherwise fail deep inside
with a matrix-size error, or not at all.

The TFLite converter drops these checks (`tf.debugging.Assert` has no TFLite
kernel); `TFLiteGenerator` checks the same in Python.
"""

import json

import tensorflow as tf

from tfattngan.errors import UserInputError
from tfattngan.export.metadata import METADATA_SIGNATURE
from tfattngan.export.metadata import generator_metadata
from tfattngan.gan import cycled_labels
from tfattngan.gan import seeded_latents
from tfattngan.pixels import to_uint8

SERVING = "serving_default"  # the signature TF Serving calls by default, and the one TFLite converts
MAX_SAMPLES_LIMIT = 2**31 - 1  # num_samples and the batch dimension are int32


# What a request over the export's max_samples is told, by `generate` and `serving_default` alike.
MAX_SAMPLES_ADVICE = ("the max_samples of this export; export again with a larger --max-samples to raise it, or "
                      "send several requests")


def check_max_samples(max_samples):
    """`max_samples` when it is an integer from 1 to `MAX_SAMPLES_LIMIT`; else a `UserInputError`.

    Past the int32 range the bound would wrap negative in the graph and the
    export would refuse every request.

    Example:

    >>> check_max_samples(256)
    256
    >>> check_max_samples(3_000_000_000)
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: max_samples must be an integer from 1 to 2147483647 (requests are counted in int32), got 3000000000.
    """
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or not 1 <= max_samples <= MAX_SAMPLES_LIMIT:
        raise UserInputError(f"max_samples must be an integer from 1 to {MAX_SAMPLES_LIMIT} (requests are counted in "
                             f"int32), got {max_samples!r}.")
    return max_samples


def _checked(tensor, condition, *message):
    """`tensor`, once `condition` holds; otherwise an InvalidArgumentError with `message`."""
    with tf.control_dependencies([tf.debugging.Assert(condition, list(message), summarize=8)]):
        return tf.identity(tensor)


class GeneratorSignatures:
    """The `serving_default` and `generate` functions of a sampling model.

    Args:
        model: a Keras model mapping `latent [B, latent_dim]` (and `label`
            int32 `[B]` when `num_classes > 0`) to images in [-1, 1].
        latent_dim: int, the latent width.
        num_classes: int, classes of a class-conditional model, else 0.
        max_samples: int, the largest `num_samples` of `generate` and batch
            of `serving_default`, at most `MAX_SAMPLES_LIMIT`.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(12, activation="tanh"),
    ...                           keras.layers.Reshape((2, 2, 3))])
    >>> signatures = GeneratorSignatures(model, latent_dim=2, num_classes=0, max_samples=4)
    >>> [(name, [spec.name for spec in specs]) for name, _, specs in signatures.endpoints()]
    [('serving_default', ['latent']), ('generate', ['num_samples', 'seed']), ('metadata', [])]
    >>> sorted(signatures.serve(tf.zeros([1, 2])))
    ['images', 'images_uint8']
    >>> tuple(signatures.generate(tf.constant(3), tf.constant(0, tf.int64))["images_uint8"].shape)
    (3, 2, 2, 3)
    >>> for latent in ([[0.0, float("nan")]], tf.zeros([5, 2])):
    ...     try:
    ...         signatures.serve(tf.constant(latent))
    ...     except tf.errors.InvalidArgumentError as error:
    ...         print(error.message.split("Summarized data: b'")[1].split(" (")[0])
    latent must hold finite numbers only
    latent must have between 1 and 4 rows
    """

    def __init__(self, model, latent_dim, num_classes, max_samples):
        self.model = model
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.max_samples = check_max_samples(max_samples)
        self.metadata_json = json.dumps(
            generator_metadata(latent_dim, num_classes, model.output_shape[1:], max_samples), sort_keys=True)

    def endpoints(self):
        """`(name, function, input_signature)` of each signature, for `ExportArchive.add_endpoint`.

        The functions take exactly the signature's inputs: `serving_default`
        takes `latent` (and `label`), `generate` takes `num_samples` and
        `seed`.

        Example: see the class.
        """
        latent = tf.TensorSpec([None, self.latent_dim], tf.float32, name="latent")
        if self.num_classes:
            serving = (self.serve, [latent, tf.TensorSpec([None], tf.int32, name="label")])
        else:
            serving = (lambda latent: self.serve(latent), [latent])
        generate = [tf.TensorSpec([], tf.int32, name="num_samples"), tf.TensorSpec([], tf.int64, name="seed")]
        return [(SERVING, *serving), ("generate", self.generate, generate), (METADATA_SIGNATURE, self.metadata, [])]

    def metadata(self):
        """`{"metadata": string}`: the generator's metadata as JSON.

        Example: see the class.
        """
        return {"metadata": tf.constant(self.metadata_json)}

    def serve(self, latent, label=None):
        """`{"images": float32 [-1, 1], "images_uint8": uint8}` for the given latents.

        Example: see the class.
        """
        shape = tf.shape(latent)
        latent = _checked(
            latent, tf.equal(shape[-1], self.latent_dim),
            f"latent must have shape [batch, {self.latent_dim}] (this generator's latent size); got shape", shape,
        )
        latent = _checked(
            latent, (shape[0] >= 1) & (shape[0] <= self.max_samples),
            f"latent must have between 1 and {self.max_samples} rows ({MAX_SAMPLES_ADVICE}); got shape", shape,
        )
        finite = tf.math.is_finite(latent)
        latent = _checked(
            latent, tf.reduce_all(finite),
            "latent must hold finite numbers only (no NaN or inf, which give all-NaN images); got this many "
            "non-finite values:", tf.reduce_sum(tf.cast(tf.logical_not(finite), tf.int32)),
        )
        if not self.num_classes:
            return self._outputs(self.model(latent, training=False))
        label = _checked(
            label, tf.equal(tf.shape(label)[0], shape[0]),
            "label must have one entry per latent; got label count and latent shape", tf.shape(label), shape,
        )
        label = _checked(
            label, tf.reduce_all((label >= 0) & (label < self.num_classes)),
            f"label must be class indices in [0, {self.num_classes}); got", label,
        )
        return self._outputs(self.model([latent, label], training=False))

    def generate(self, num_samples, seed):
        """`{"images_uint8": uint8}` of `num_samples` images for latents drawn from `seed`.

        Example: see the class.
        """
        num_samples = _checked(
            num_samples, (num_samples >= 1) & (num_samples <= self.max_samples),
            f"num_samples must be between 1 and {self.max_samples} ({MAX_SAMPLES_ADVICE}); got", num_samples,
        )
        latent = seeded_latents(num_samples, self.latent_dim, seed)
        if not self.num_classes:
            images = self.model(latent, training=False)
        else:
            images = self.model([latent, cycled_labels(num_samples, self.num_classes)], training=False)
        return {"images_uint8": to_uint8(images)}

    @staticmethod
    def _outputs(images):
        return {"images": tf.identity(images, name="images"), "images_uint8": to_uint8(images)}
