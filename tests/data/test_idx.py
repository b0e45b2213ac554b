import gzip
import warnings

import numpy as np
import pytest
import tensorflow as tf

from tests.assets import FASHION
from tests.assets import MNIST
from tests.assets import needs
from tests.data.idx_reference import read_idx_reference
from tfattngan.data import load_source
from tfattngan.data import make_dataset
from tfattngan.data.idx import IMAGES_MAGIC
from tfattngan.data.idx import LABELS_MAGIC
from tfattngan.data.idx import read_idx
from tfattngan.errors import UserInputError


@needs(FASHION)
def test_fashion_mnist_train_equals_an_independent_reading():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the train files are there: no fallback warning
        source = load_source(f"idx:{FASHION}")
    images = read_idx_reference(FASHION / "train-images-idx3-ubyte.gz", 16).reshape(60000, 28, 28, 1)
    labels = read_idx_reference(FASHION / "train-labels-idx1-ubyte.gz", 8)
    assert source.name == f"idx:{(FASHION / 'train-images-idx3-ubyte.gz').resolve()}"
    assert (source.num_examples, source.image_shape, source.num_classes) == (60000, (28, 28, 1), 10)
    np.testing.assert_array_equal(source.reader.items, images)
    np.testing.assert_array_equal(source.reader.labels, labels)
    np.testing.assert_array_equal(np.bincount(labels), [6000] * 10)


@needs(FASHION)
def test_pipeline_reads_the_example_and_label_at_each_shuffled_index():
    source = load_source(f"idx:{FASHION / 't10k-images-idx3-ubyte.gz'}")
    assert source.num_examples == 10000
    images = read_idx_reference(FASHION / "t10k-images-idx3-ubyte.gz", 16).reshape(10000, 28, 28, 1)
    labels = read_idx_reference(FASHION / "t10k-labels-idx1-ubyte.gz", 8)
    data = make_dataset(source, image_size=28, channels=1, global_batch_size=16, seed=11, dtype="uint8")
    batch = next(iter(data))
    positions = batch["position"].numpy()
    index = tf.random.experimental.index_shuffle(positions, [11, 0], 9999).numpy()
    np.testing.assert_array_equal(batch["images"].numpy(), images[index])
    np.testing.assert_array_equal(batch["labels"].numpy(), labels[index])


@needs(MNIST)
def test_folder_without_train_files_falls_back_to_t10k_with_a_warning():
    with pytest.warns(UserWarning, match="using the test split t10k-images-idx3-ubyte.gz"):
        source = load_source(f"idx:{MNIST}")
    assert (source.num_examples, source.image_shape, source.num_classes) == (10000, (28, 28, 1), 10)
    np.testing.assert_array_equal(
        source.reader.items.ravel(), read_idx_reference(MNIST / "t10k-images-idx3-ubyte.gz", 16)
    )
    np.testing.assert_array_equal(source.reader.labels, read_idx_reference(MNIST / "t10k-labels-idx1-ubyte.gz", 8))


def _idx_bytes(magic, array):
    return np.array([magic, *array.shape], ">i4").tobytes() + array.astype(np.uint8).tobytes()


def test_raw_idx_file_with_labels_found_by_name(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 3, 4), dtype=np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(IMAGES_MAGIC, images))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(_idx_bytes(LABELS_MAGIC, np.array([4, 0, 2, 2, 1])))
    )
    source = load_source(f"idx:{tmp_path / 'train-images-idx3-ubyte'}")
    np.testing.assert_array_equal(source.reader.items[..., 0], images)
    np.testing.assert_array_equal(source.reader.labels, [4, 0, 2, 2, 1])
    assert source.num_classes == 5 and source.image_shape == (3, 4, 1)


@pytest.mark.parametrize(
    "content, message",
    [
        (_idx_bytes(LABELS_MAGIC, np.zeros(4)), "magic number 2049, expected 2051"),
        (_idx_bytes(IMAGES_MAGIC, np.zeros((2, 3, 3)))[:-5], "truncated or corrupt idx file"),
        (_idx_bytes(IMAGES_MAGIC, np.zeros((2, 3, 3))) + b"x", "truncated or corrupt idx file"),
        (gzip.compress(_idx_bytes(IMAGES_MAGIC, np.zeros((2, 3, 3))))[:-10], "corrupt gzip data"),
        (b"\x00\x00", "magic number 0, expected 2051"),
    ],
    ids=["labels-as-images", "truncated", "trailing-bytes", "truncated-gzip", "too-short"],
)
def test_corrupt_idx_files_raise_one_line_errors(tmp_path, content, message):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(UserInputError, match=message) as error:
        read_idx(path, IMAGES_MAGIC)
    assert "\n" not in str(error.value) and str(path) in str(error.value)
