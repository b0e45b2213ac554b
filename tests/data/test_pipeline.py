import numpy as np
import pytest
import tensorflow as tf

from tfattngan.data import make_dataset
from tfattngan.data.arrays import array_source
from tfattngan.errors import UserInputError

N = 10


def _indexed_source(num_examples=N, labelled=True):
    """Images that show their own index (every pixel), labels index % 3."""
    images = np.broadcast_to(np.arange(num_examples, dtype=np.uint8)[:, None, None, None], (num_examples, 2, 2, 1))
    labels = np.arange(num_examples) % 3 if labelled else None
    return array_source("indexed", images, labels, "test")


def _indices(batch):
    return batch["images"].numpy()[:, 0, 0, 0].astype(np.int64)


def _take(data, count):
    return [{key: value.numpy() for key, value in batch.items()} for batch in data.take(count)]


def _make(source=None, **overrides):
    kwargs = {"image_size": 2, "channels": 1, "global_batch_size": 5, "seed": 4, "dtype": "uint8", **overrides}
    return make_dataset(source or _indexed_source(), **kwargs)


def test_each_epoch_is_a_fresh_permutation_following_index_shuffle():
    batches = list(_make().take(8))  # 4 epochs of 2 batches
    positions = np.concatenate([batch["position"].numpy() for batch in batches])
    indices = np.concatenate([_indices(batch) for batch in batches])
    np.testing.assert_array_equal(positions, np.arange(40))
    epochs = indices.reshape(4, N)
    for epoch in epochs:
        np.testing.assert_array_equal(np.sort(epoch), np.arange(N))
    assert len({epoch.tobytes() for epoch in epochs}) == 4
    # The documented contract, which the run loop relies on.
    for epoch, order in enumerate(epochs):
        expected = tf.random.experimental.index_shuffle(tf.range(N, dtype=tf.int64), [4, epoch], N - 1)
        np.testing.assert_array_equal(order, expected)
    labels = np.concatenate([batch["labels"].numpy() for batch in batches])
    np.testing.assert_array_equal(labels, indices % 3)
    assert batches[0]["labels"].dtype == tf.int32 and batches[0]["position"].dtype == tf.int64


def test_seed_changes_the_order():
    orders = [np.concatenate([_indices(batch) for batch in _make(seed=seed).take(2)]) for seed in (4, 4, 5)]
    np.testing.assert_array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[0], orders[2])


def test_start_batch_continues_a_run_exactly():
    # Batches of 4 straddle epochs of 10: resuming must handle that too.
    from_start = _take(_make(global_batch_size=4), 9)
    resumed = _take(_make(global_batch_size=4, start_batch=5), 4)
    for expected, got in zip(from_start[5:], resumed):
        assert sorted(got) == sorted(expected) == ["images", "labels", "position"]
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key])


def test_one_pass_for_evaluation():
    batches = _take(_make(global_batch_size=4, repeat=False), 10)
    assert len(batches) == 2  # 10 // 4 full batches, the remainder dropped
    positions = np.concatenate([batch["position"] for batch in batches])
    np.testing.assert_array_equal(positions, np.arange(8))
    first_epoch = np.concatenate([_indices(batch) for batch in _make(global_batch_size=N).take(1)])
    np.testing.assert_array_equal(np.concatenate([batch["images"][:, 0, 0, 0] for batch in batches]), first_epoch[:8])
    resumed = _take(_make(global_batch_size=4, repeat=False, start_batch=1), 10)
    assert len(resumed) == 1
    np.testing.assert_array_equal(resumed[0]["images"], batches[1]["images"])
    with pytest.raises(UserInputError, match="fewer than one global batch of 16"):
        _make(global_batch_size=16, repeat=False)


def test_float_images_of_an_unlabelled_source():
    data = _make(_indexed_source(labelled=False), dtype="float32", image_size=3, channels=3)
    batch = next(iter(data))
    assert sorted(batch) == ["images", "position"]
    assert batch["images"].shape == (5, 3, 3, 3) and batch["images"].dtype == tf.float32
    first = tf.random.experimental.index_shuffle(tf.constant(0, tf.int64), [4, 0], N - 1).numpy()
    np.testing.assert_allclose(batch["images"][0], np.full((3, 3, 3), first / 127.5 - 1), atol=1e-6)


def _pipeline_batches(input_context, steps, **overrides):
    data = _make(input_context=input_context, global_batch_size=8, **overrides)
    return _take(data, steps)


def test_input_pipelines_split_each_global_batch_in_replica_order():
    # 2 input pipelines x 2 replicas each: per-replica batches of 2.
    single = _pipeline_batches(None, 3, start_batch=1)
    pipelines = [
        _pipeline_batches(tf.distribute.InputContext(2, k, 4), 6, start_batch=1) for k in range(2)
    ]
    for step in range(3):
        # Pipeline k feeds global replicas 2k and 2k + 1, one batch each per step.
        replicas = [pipelines[k][2 * step + r] for k in range(2) for r in range(2)]
        for key in ("images", "labels", "position"):
            np.testing.assert_array_equal(np.concatenate([batch[key] for batch in replicas]), single[step][key])
        np.testing.assert_array_equal(single[step]["position"], np.arange(8) + 8 * (step + 1))
    with pytest.raises(UserInputError, match="global_batch_size 6 is not divisible by the 4 replicas"):
        _make(input_context=tf.distribute.InputContext(2, 0, 4), global_batch_size=6)


def test_mirrored_strategy_replicas_hold_the_single_device_global_batch(two_replica_strategy):
    strategy = two_replica_strategy
    assert strategy.num_replicas_in_sync == 2

    options = {"global_batch_size": 6, "dtype": "float32", "image_size": 4}
    distributed = iter(
        strategy.distribute_datasets_from_function(lambda context: _make(input_context=context, **options))
    )
    single = _take(_make(**options), 4)
    for step in range(4):
        batch = next(distributed)
        for key in ("images", "labels", "position"):
            local = strategy.experimental_local_results(batch[key])
            assert len(local) == 2 and local[0].shape[0] == 3
            np.testing.assert_array_equal(np.concatenate([value.numpy() for value in local]), single[step][key])
