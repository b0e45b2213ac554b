"""Input pipelines: data sources and the `tf.data` pipeline of batches.

`load_source(spec)` opens and checks the data (`"builtin"`, `"idx:PATH"`,
`"npz:PATH"`, `"folder:PATH"`, `"tfds:NAME[:SPLIT]"`); `make_dataset`
turns it into a deterministic `tf.data.Dataset` of per-replica batches;
`draw_shapes` draws the built-in data set; `reported_read_failures` turns
an image file that stops reading during a run into one error naming it.

Example:

>>> from tfattngan.data import load_source, make_dataset
>>> source = load_source("builtin:16")
>>> data = make_dataset(source, image_size=16, channels=3, global_batch_size=8, seed=1)
>>> batch = next(iter(data))
>>> sorted(batch), batch["images"].shape
(['images', 'labels', 'position'], TensorShape([8, 16, 16, 3]))
"""

from tfattngan.data.builtin import CLASS_NAMES
from tfattngan.data.builtin import draw_shapes
from tfattngan.data.loading import load_source
from tfattngan.data.pipeline import make_dataset
from tfattngan.data.preprocess import preprocess_image
from tfattngan.data.read_errors import reported_read_failures
from tfattngan.data.source import DataSource

__all__ = [
    "CLASS_NAMES",
    "DataSource",
    "draw_shapes",
    "load_source",
    "make_dataset",
    "preprocess_image",
    "reported_read_failures",
]
