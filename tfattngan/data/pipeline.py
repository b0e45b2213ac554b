"""`make_dataset`: the `tf.data` input pipeline of batches in a fixed order.

The order, for random-access sources: an endless stream of example
positions 0, 1, 2, ...; position `p` lies in epoch `e = p // N` at slot
`i = p % N` and shows example `index_shuffle(i, seed=[seed, e], max_index=N-1)`,
so every epoch is a fresh permutation and any position is found without
reading earlier data. Global step `t` covers positions `[t*B, (t+1)*B)`
(`B` the global batch). With an input context of `P` input pipelines,
pipeline `k` and `R` replicas per pipeline, the `j`-th per-replica batch
`b` of pipeline `k` belongs to step `t = start_batch + j // R` and global
replica `g = k*R + j % R`, and holds positions `[t*B + g*b, t*B + (g+1)*b)`.
Under `MirroredStrategy` (one pipeline) the replicas of a step thus hold the
global batch `[t*B, (t+1)*B)` in order, whatever the number of replicas.

Streamed (tfds) sources cannot seek: they are shuffled with a seed derived
from `(seed, start_batch)`, so a resumed run sees a fresh shuffle rather
than a replay of the data it would have seen; positions count the same way.
"""

import numpy as np
import tensorflow as tf

from tfattngan.data.preprocess import check_int
from tfattngan.data.preprocess import check_preprocess_options
from tfattngan.data.preprocess import preprocess_image
from tfattngan.errors import UserInputError



def _layout(global_batch_size, input_context):
    """`(b, k, R)`: per-replica batch, pipeline id, replicas per pipeline."""
    if input_context is None:
        return global_batch_size, 0, 1
    replicas = input_context.num_replicas_in_sync
    if global_batch_size % replicas:
        raise UserInputError(
            f"global_batch_size {global_batch_size} is not divisible by the {replicas} replicas; "
            f"choose a multiple of {replicas}."
        )
    return (
        global_batch_size // replicas,
        input_context.input_pipeline_id,
        replicas // input_context.num_input_pipelines,
    )


def stream_seed(seed, start_batch):
    """The shuffle seed of a streamed source resumed at `start_batch`.

    Example:

    >>> stream_seed(7, 0) == stream_seed(7, 0) != stream_seed(7, 100)
    True
    """
    return int(np.random.SeedSequence([seed, start_batch]).generate_state(1)[0])


def make_dataset(
    source,
    *,
    image_size,
    channels,
    global_batch_size,
    seed,
    start_batch=0,
    center_crop=None,
    input_context=None,
    repeat=True,
    dtype="float32",
):
    """Makes the `tf.data.Dataset` of preprocessed batches of a `DataSource`.

    Batches come in the order of the module docstring, always full (the
    remainder is dropped), and are dicts:
    `{"images": [b, image_size, image_size, channels], "labels": int32 [b]`
    (labelled sources only)`, "position": int64 [b]}`,
    where `b` is the per-replica batch of `input_context`, else
    `global_batch_size`. Works inside
    `strategy.distribute_datasets_from_function`.

    Args:
        source: a `DataSource` from `load_source`.
        image_size: int, output height and width.
        channels: int, output channels: 1 (grey) or 3 (RGB).
        global_batch_size: int, the batch over all replicas, `B`.
        seed: int >= 0, the seed of the example order.
        start_batch: int, the global step to start at; a resumed run passes
            the number of steps done and continues with no replay. Defaults
            to `0`.
        center_crop: int or `None`, centre-crop side before resizing (160 for
            CelebA). Defaults to `None`.
        input_context: `tf.distribute.InputContext` or `None`. Defaults to
            `None` (one pipeline, batches of `global_batch_size`).
        repeat: bool; `False` gives one pass over epoch 0 (positions
            `0 .. (N // B) * B - 1`), for evaluation. Defaults to `True`.
        dtype: str, `"float32"` for images in [-1, 1] or `"uint8"` for
            [0, 255]. Defaults to `"float32"`.

    Returns:
        A `tf.data.Dataset` of batch dicts.

    Example:

    >>> from tfattngan.data import load_source
    >>> source = load_source("builtin:16")
    >>> data = make_dataset(source, image_size=8, channels=1, global_batch_size=4, seed=0)
    >>> batch = next(iter(data))
    >>> batch["images"].shape, batch["labels"].dtype, batch["position"].numpy().tolist()
    (TensorShape([4, 8, 8, 1]), tf.int32, [0, 1, 2, 3])
    """
    check_preprocess_options(image_size, channels, center_crop, dtype)
    check_int("global_batch_size", global_batch_size, 1)
    check_int("seed", seed, 0)
    check_int("start_batch", start_batch, 0)
    if center_crop is not None and source.image_shape is not None and center_crop > min(source.image_shape[:2]):
        raise UserInputError(
            f"center_crop {center_crop} is larger than the {source.name} images "
            f"({source.image_shape[0]}x{source.image_shape[1]}); choose a smaller crop."
        )
    per_replica, pipeline, replicas = _layout(global_batch_size, input_context)
    total = source.num_examples
    if repeat:
        counter = tf.data.Dataset.counter()
    else:
        steps = total // global_batch_size
        if steps == 0:
            raise UserInputError(
                f"{source.name} has {total} examples, fewer than one global batch of "
                f"{global_batch_size}; choose a smaller batch."
            )
        counter = tf.data.Dataset.range(max(steps - start_batch, 0) * replicas * per_replica)

    def position_of(count):
        """Position of the `count`-th example of this pipeline."""
        batch, offset = count // per_replica, count % per_replica
        step = start_batch + batch // replicas
        replica = pipeline * replicas + batch % replicas
        return step * global_batch_size + replica * per_replica + offset

    def finish(position, example):
        out = {
            "images": preprocess_image(
                example["image"], image_size=image_size, channels=channels, center_crop=center_crop, dtype=dtype
            ),
            "position": position,
        }
        if "label" in example:
            out["labels"] = tf.cast(example["label"], tf.int32)
        return out

    positions = counter.map(position_of)
    if source.random_access:
        read = source.reader.example_fn()

        def example_at(position):
            epoch, slot = position // total, position % total
            seed_pair = tf.stack([tf.constant(seed, tf.int64), epoch])
            index = tf.random.experimental.index_shuffle(slot, seed_pair, tf.constant(total - 1, tf.int64))
            return finish(position, read(index))

        examples = positions.map(example_at, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        stream = source.reader.stream(stream_seed(seed, start_batch), input_context, repeat)
        examples = tf.data.Dataset.zip(positions, stream).map(
            finish, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    return examples.batch(per_replica, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
