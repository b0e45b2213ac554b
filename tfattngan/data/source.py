"""`DataSource`, what `load_source` found, and the reader of indexed data."""

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class DataSource:
    """A data set opened by `load_source`, ready for `make_dataset`.

    Args:
        name: str, a stable name of the data, such as `"builtin:32"` or
            `"idx:/abs/path/train-images-idx3-ubyte.gz"`; usable as a cache
            key.
        num_examples: int, how many examples one epoch has.
        image_shape: `(H, W, C)` of the stored images, or `None` when they
            differ (a folder of mixed sizes or channel counts).
        num_classes: int, number of classes; `0` when unlabelled.
        random_access: bool, whether any example can be read by its index
            (builtin, idx, npz, folder); `False` for streamed tfds data.
        skipped_files: list of `(path, reason)` for the files of a folder
            that were left out. Defaults to `[]`.
        reader: what `make_dataset` reads examples with. For random access
            an `IndexedReader`: `reader.example_fn()` returns a function from
            an int64 index to an example; for streamed data
            `reader.stream(seed, input_context, repeat)` returns a
            `tf.data.Dataset` of examples. An example is a dict with a uint8
            `"image"` `[H, W, C]` and, when labelled, an integer `"label"`.
            A folder's `FolderReader` also finds files that stopped reading
            (`unreadable_files()`, for `reported_read_failures`). Defaults
            to `None`.

    Example:

    >>> from tfattngan.data import load_source
    >>> source = load_source("builtin:16")
    >>> source.name, source.num_examples, source.image_shape, source.num_classes
    ('builtin:16', 10000, (16, 16, 3), 4)
    """

    name: str
    num_examples: int
    image_shape: tuple | None
    num_classes: int
    random_access: bool
    skipped_files: list = dataclasses.field(default_factory=list)
    reader: object = dataclasses.field(default=None, repr=False, compare=False)


class IndexedReader:
    """Reads examples by index from arrays in memory: images or file names.

    Args:
        items: NumPy array `[N, ...]`: uint8 images `[N, H, W, C]`, or the
            file names `[N]` that `decode` turns into images.
        labels: int32 NumPy array `[N]`, or `None` for unlabelled data.
        decode: function from one item (a tensor) to a uint8 image
            `[H, W, C]`, or `None` when the items are the images. Defaults
            to `None`.

    Example:

    >>> import numpy as np
    >>> images = np.arange(8, dtype=np.uint8).reshape(2, 2, 2, 1)
    >>> read = IndexedReader(images, np.array([3, 5], np.int32)).example_fn()
    >>> example = read(tf.constant(1, tf.int64))
    >>> example["image"].numpy().ravel().tolist(), int(example["label"])
    ([4, 5, 6, 7], 5)
    """

    def __init__(self, items, labels, decode=None):
        self.items = items
        self.labels = labels
        self.decode = decode

    def example_fn(self):
        """Returns a function from an int64 index to an example dict.

        The arrays become tensors on the host CPU, captured by the function,
        so one copy serves every call (and every parallel `tf.data` map).
        """
        with tf.device("/cpu:0"):
            items = tf.constant(self.items)
            labels = None if self.labels is None else tf.constant(self.labels)

        def read(index):
            item = tf.gather(items, index)
            example = {"image": item if self.decode is None else self.decode(item)}
            if labels is not None:
                example["label"] = tf.gather(labels, index)
            return example

        return read
