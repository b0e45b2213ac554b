"""Everything the metrics accept as images, turned into a stream of uint8 batches.

Accepted, as `images`:

* a NumPy array or tensor `[N, H, W, 1 or 3]`: uint8 in `[0, 255]`, or
  float in `[-1, 1]` (the library's convention; mapped by
  `round((x + 1) * 127.5)`); the first `num_samples` are used;
* a `tf.data.Dataset` of such batches, of dicts with an `"images"` batch
  (what `make_dataset` yields), or of `(images, ...)` tuples; read in order
  until `num_samples` images or its end;
* a `DataSource`, or a data set spec string for `load_source` (`"idx:PATH"`,
  a folder, `"x.npz"`, `"tfds:NAME"`, ...): read through `make_dataset`
  (uint8, resized to `image_size`, seeded random order without repeats), at
  most `num_samples` images;
* a generator, with `num_samples` (required): a `tfattngan.GAN` or a
  `TrainedGenerator` (the images of `generate(num_samples, seed)`: the
  latents of the seed, labels in turn), a single-input Keras model from
  latents to images (latents drawn from a standard normal), or a function
  `fn(count)` returning `count` images.
"""

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from tfattngan.data import DataSource
from tfattngan.data import load_source
from tfattngan.data import make_dataset
from tfattngan.data import reported_read_failures
from tfattngan.errors import UserInputError
from tfattngan.gan import cycled_labels
from tfattngan.gan import seeded_latents
from tfattngan import pixels

_ACCEPTED = (
    "give uint8 images [N, H, W, 1 or 3] in [0, 255], float images in [-1, 1], a tf.data.Dataset of such "
    "batches (or of dicts with 'images'), a data set spec or DataSource, or a generator with num_samples="
)
_FLOAT_TOLERANCE = 1e-3  # float16 / rounding slack around [-1, 1]


@dataclasses.dataclass
class ImageStream:
    """uint8 batches `[b, H, W, C]` and how many images they hold in all.

    Attributes:
        total: int, or `None` when not known in advance (a dataset without
            `num_samples`).
        batches: iterator of uint8 NumPy arrays.

    Example:

    >>> stream = ImageStream(2, iter([np.zeros((2, 4, 4, 1), "uint8")]))
    >>> stream.total, next(stream.batches).shape
    (2, (2, 4, 4, 1))
    """

    total: object
    batches: object


def _check_kind(shape, dtype, where):
    """Raises `UserInputError` unless `shape` is `[N, H, W, 1 or 3]` and `dtype` uint8 or float."""
    if len(shape) != 4 or shape[-1] not in (1, 3):
        raise UserInputError(f"{where} must be [N, H, W, 1 or 3], got {dtype} {list(shape)}; {_ACCEPTED}")
    if dtype != np.uint8 and dtype.kind != "f":
        raise UserInputError(f"{where} have dtype {dtype}; {_ACCEPTED} (cast 0..255 integers with .astype('uint8'))")


def checked_uint8(images, where="images"):
    """A batch of images as uint8 `[N, H, W, 1 or 3]`, or a `UserInputError`.

    Args:
        images: array-like or tensor `[N, H, W, 1 or 3]`, uint8 or float in
            `[-1, 1]`.
        where: str naming the images in error messages. Defaults to
            `"images"`.

    Returns:
        A uint8 NumPy array.

    Example:

    >>> checked_uint8(np.array([-1.0, 0.0, 1.0]).reshape(1, 1, 3, 1)).ravel().tolist()
    [0, 128, 255]
    >>> checked_uint8(np.zeros((2, 8, 8, 2), "uint8"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: images must be [N, H, W, 1 or 3], got uint8 [2, 8, 8, 2]; ...
    """
    if isinstance(images, tf.Tensor):
        images = images.numpy()
    images = np.asarray(images)
    _check_kind(images.shape, images.dtype, where)
    if images.dtype == np.uint8:
        return images
    if images.size:
        low, high = float(images.min()), float(images.max())
        if not (-1 - _FLOAT_TOLERANCE <= low and high <= 1 + _FLOAT_TOLERANCE):
            raise UserInputError(
                f"float {where} must lie in [-1, 1], found [{low:g}, {high:g}]; map [0, 1] images "
                "with x * 2 - 1, or give uint8 [0, 255] images"
            )
    return pixels.to_uint8(images).numpy()


def _check_count(name, value, minimum=1):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum):
        raise UserInputError(f"{name} must be an int >= {minimum}, got {value!r}")


def source_options(source, image_size=None, channels=None):
    """`(image_size, channels)` for reading `source`: the given ones, else the source's own.

    The default size is the source's height and width when square, else the
    larger side (images are stretched to a square, as Inception's own 299x299
    resize would); the default channels are 1 for grey (with or without
    alpha), else 3.

    Example:

    >>> from tfattngan.data import load_source
    >>> source_options(load_source("builtin:16"))
    (16, 3)
    """
    shape = source.image_shape
    if image_size is None:
        if shape is None:
            raise UserInputError(
                f"the images of {source.name} differ in size; give image_size (--image-size) to resize them to"
            )
        image_size = max(shape[0], shape[1])
    if channels is None:
        channels = 1 if shape is not None and shape[2] in (1, 2) else 3
    return image_size, channels


def as_source(images, data_dir=None):
    """`images` as a `DataSource` when it is one or a spec string, else `None`.

    Example:

    >>> as_source("builtin:16").num_examples, as_source(np.zeros((1, 2, 2, 1), "uint8"))
    (10000, None)
    """
    if isinstance(images, DataSource):
        return images
    if isinstance(images, (str, os.PathLike)):
        return load_source(images, data_dir=data_dir)
    return None


def image_count(images, num_samples=None, data_dir=None):
    """How many images `image_stream(images, num_samples=...)` gives, known before reading any.

    Exact for arrays, data sets and generators; for a `tf.data.Dataset` it
    is `num_samples` (at most that many: the dataset may end first), or
    `None` without it, when only reading tells.

    Example:

    >>> image_count(np.zeros((5, 8, 8, 1), "uint8")), image_count("builtin:16", num_samples=64)
    (5, 64)
    >>> image_count(lambda count: np.zeros((count, 8, 8, 1), "uint8"), num_samples=3)
    3
    """
    source = as_source(images, data_dir)
    if source is not None:
        return source.num_examples if num_samples is None else min(num_samples, source.num_examples)
    if isinstance(images, (np.ndarray, tf.Tensor, list, tuple)):
        return len(images) if num_samples is None else min(num_samples, len(images))
    return num_samples  # a dataset gives at most, a generator exactly, this many


def _array_stream(images, num_samples, batch_size):
    dtype = np.dtype(images.dtype.as_numpy_dtype) if isinstance(images, tf.Tensor) else images.dtype
    _check_kind(tuple(images.shape), dtype, "images")  # before anything runs
    total = image_count(images, num_samples)
    if total == 0:
        raise UserInputError(f"no images given (an empty array); {_ACCEPTED}")

    def batches():
        for start in range(0, total, batch_size):
            yield checked_uint8(images[start : min(start + batch_size, total)])

    return ImageStream(total, batches())


def _dataset_stream(dataset, num_samples):
    cardinality = int(dataset.cardinality())
    if num_samples is None and cardinality == tf.data.INFINITE_CARDINALITY:
        raise UserInputError("the tf.data.Dataset is infinite; give num_samples= to say how many images to read")

    def batches():
        seen = 0
        for element in dataset:
            if isinstance(element, dict):
                if "images" not in element:
                    raise UserInputError(
                        f"dataset elements are dicts without 'images' (keys {sorted(element)}); {_ACCEPTED}"
                    )
                element = element["images"]
            elif isinstance(element, (tuple, list)):
                element = element[0]
            batch = checked_uint8(element, "dataset batches")
            if num_samples is not None:
                batch = batch[: num_samples - seen]
            seen += len(batch)
            yield batch
            if num_samples is not None and seen >= num_samples:
                return
        if seen == 0:
            raise UserInputError("the tf.data.Dataset yielded no images")

    return ImageStream(num_samples, batches())


def _source_stream(source, num_samples, batch_size, seed, image_size, channels, center_crop):
    image_size, channels = source_options(source, image_size, channels)
    total = image_count(source, num_samples)
    dataset = make_dataset(
        source,
        image_size=image_size,
        channels=channels,
        global_batch_size=batch_size,
        seed=seed,
        center_crop=center_crop,
        dtype="uint8",
    )  # epoch 0 of a repeated dataset: a seeded permutation, no image twice

    def batches():
        seen = 0
        with reported_read_failures(source):  # a file that stops reading is named
            for batch in dataset:
                batch = batch["images"].numpy()[: total - seen]
                seen += len(batch)
                yield batch
                if seen >= total:
                    return

    return ImageStream(total, batches())


def _generator_batches(generator, sample, total, batch_size):
    for start in range(0, total, batch_size):
        count = min(batch_size, total - start)
        yield checked_uint8(sample(start, count), f"images made by {type(generator).__name__}")


def _generator_stream(generator, num_samples, batch_size, seed):
    """A stream of generated images, or `None` when `generator` is no generator."""
    if hasattr(generator, "sampling_model"):  # a GAN or a TrainedGenerator: exactly generate(num_samples, seed)
        # Drawn once for all images (when num_samples is missing, the error below is raised first).
        latents = seeded_latents(num_samples, generator.latent_dim, seed) if num_samples else None
        labels = cycled_labels(num_samples, generator.num_classes) if num_samples and generator.num_classes else None

        def sample(start, count):
            rows = slice(start, start + count)
            return generator.sample(latents[rows], None if labels is None else labels[rows])

    elif isinstance(generator, keras.Model):
        if len(generator.inputs) != 1:
            raise UserInputError(
                f"the Keras model {generator.name} takes {len(generator.inputs)} inputs; give a single-input "
                "generator, a GAN or TrainedGenerator (class-conditional models) or a function count -> images"
            )
        latent_shape = tuple(generator.inputs[0].shape[1:])

        def sample(start, count):
            latents = tf.random.stateless_normal((count, *latent_shape), [seed, start])
            return generator(latents, training=False)

    elif callable(generator):

        def sample(start, count):
            del start
            return generator(count)

    else:
        return None
    if num_samples is None:
        raise UserInputError(f"a generator ({type(generator).__name__}) needs num_samples= images to make")
    return ImageStream(num_samples, _generator_batches(generator, sample, num_samples, batch_size))


def image_stream(images, *, num_samples=None, batch_size=32, seed=0, image_size=None, channels=None,
                 center_crop=None, data_dir=None):
    """Turns any accepted `images` (module docstring) into uint8 batches.

    Args:
        images: the images, a data set, or a generator.
        num_samples: int, how many images: at most this many of data,
            exactly this many from a generator (required there). Defaults to
            `None` (all the data).
        batch_size: int, images per batch. Defaults to `32`.
        seed: int, the seed of a data set's order and of generated latents.
            Defaults to `0`.
        image_size: int, the size data sets are resized to; `None` for their
            own (`source_options`). Defaults to `None`.
        channels: 1 or 3, the channels data sets are read with; `None` for
            their own. Defaults to `None`.
        center_crop: int or `None`, a data set's centre crop (as in
            training). Defaults to `None`.
        data_dir: tensorflow-datasets folder for `tfds:` specs. Defaults to
            `None`.

    Returns:
        An `ImageStream`.

    Raises:
        UserInputError: anything not accepted: wrong rank, channels, dtype
            or range, strings, an empty or infinite input, a generator
            without `num_samples`.

    Example:

    >>> stream = image_stream(np.zeros((5, 8, 8, 1), "float32"), batch_size=2)
    >>> stream.total, [batch.shape[0] for batch in stream.batches]
    (5, [2, 2, 1])
    """
    _check_count("num_samples", num_samples)
    _check_count("batch_size", batch_size)
    source = as_source(images, data_dir)
    if source is not None:
        return _source_stream(source, num_samples, batch_size, seed, image_size, channels, center_crop)
    if isinstance(images, tf.data.Dataset):
        return _dataset_stream(images, num_samples)
    if isinstance(images, (np.ndarray, tf.Tensor)):
        return _array_stream(images, num_samples, batch_size)
    stream = _generator_stream(images, num_samples, batch_size, seed)
    if stream is None:
        if isinstance(images, (list, tuple)):
            return _array_stream(np.asarray(images), num_samples, batch_size)
        raise UserInputError(f"cannot use a {type(images).__name__} as images; {_ACCEPTED}")
    return stream
