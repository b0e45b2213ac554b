import hashlib

import numpy as np
import pytest

from tfattngan.data import CLASS_NAMES
from tfattngan.data import draw_shapes
from tfattngan.data import load_source


@pytest.fixture(scope="module")
def shapes():
    return draw_shapes(num_examples=800, image_size=32)


def test_shapes_dtypes_and_balanced_classes(shapes):
    images, labels = shapes
    assert images.shape == (800, 32, 32, 3) and images.dtype == np.uint8
    assert labels.shape == (800,) and labels.dtype == np.int32
    np.testing.assert_array_equal(np.bincount(labels), [200] * len(CLASS_NAMES))
    # Classes are interleaved, not in blocks, and images differ from each other.
    assert len(set(labels[:16].tolist())) == len(CLASS_NAMES)
    assert len({image.tobytes() for image in images}) == len(images)
    assert images.min() < 40 and images.max() > 200


def test_same_arguments_give_the_same_bytes():
    first, second = draw_shapes(num_examples=64, image_size=32, seed=5), draw_shapes(64, 32, 5)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], draw_shapes(64, 32, 6)[0])
    # Pinned, so that a change of the drawing (or of NumPy's arithmetic on
    # another machine) shows: the data set must be the same everywhere.
    images, labels = draw_shapes(num_examples=8, image_size=16)
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
    assert digest == "0eed954e1e986af53644449a14bb1f17252066bd45c48f835a437d77fe5ee5f7"


def _fraction(images, transform):
    return float(np.mean([np.array_equal(image, transform(image)) for image in images]))


FLIPS = {
    "left-right": lambda image: image[:, ::-1],
    "up-down": lambda image: image[::-1],
    "half turn": lambda image: image[::-1, ::-1],
}
# Which symmetries each class has, exactly, pixel for pixel: the structure
# relates pixels on opposite sides of the image.
SYMMETRIES = {
    "mirror_blobs": {"left-right"},
    "ring": {"left-right", "up-down", "half turn"},
    "disc_pair": {"half turn"},
    "cross": {"left-right", "up-down", "half turn"},
}


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_class_symmetries_hold_exactly_and_only_where_drawn(shapes, name):
    images, labels = shapes
    members = images[labels == CLASS_NAMES.index(name)].astype(np.int16)
    for flip, transform in FLIPS.items():
        fraction = _fraction(members, transform)
        if flip in SYMMETRIES[name]:
            assert fraction == 1.0, (name, flip)
        else:
            assert fraction == 0.0, (name, flip)


def test_disc_pairs_lie_on_opposite_sides_of_the_centre(shapes):
    images, labels = shapes
    for image in images[labels == CLASS_NAMES.index("disc_pair")][:50].astype(float):
        # The pixel farthest in colour from the image's centre is on a disc.
        distance = np.linalg.norm(image - image[15:17, 15:17].mean((0, 1)), axis=-1)
        row, col = np.unravel_index(np.argmax(distance), distance.shape)
        np.testing.assert_array_equal(image[row, col], image[31 - row, 31 - col])
        assert max(abs(row - 15.5), abs(col - 15.5)) >= 5


def test_load_source_builtin_sizes():
    source = load_source("builtin:12")
    assert (source.name, source.num_examples, source.image_shape, source.num_classes) == (
        "builtin:12",
        10000,
        (12, 12, 3),
        4,
    )
    assert source.random_access and source.skipped_files == []
    images, labels = draw_shapes(image_size=12)
    np.testing.assert_array_equal(source.reader.items, images)
    np.testing.assert_array_equal(source.reader.labels, labels)
    assert load_source("builtin").name == "builtin:32"
