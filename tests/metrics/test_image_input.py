"""Every accepted form of images, and the clear errors for the rest."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.metrics.references import mean_colour_model
from tfattngan.data import load_source
from tfattngan.errors import UserInputError
from tfattngan.metrics import fid
from tfattngan.metrics.image_input import image_stream
from tfattngan.metrics.image_input import checked_uint8

# One worker runs these tests under pytest-xdist, so their shared fixtures are built once.
pytestmark = pytest.mark.xdist_group("image_input")


def _all(stream):
    return np.concatenate(list(stream.batches))


def _rows(images):
    """Images as a sorted list of byte strings: order-free comparison of image sets."""
    return sorted(image.tobytes() for image in images)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (23, 8, 8, 3), dtype=np.uint8)


def test_uint8_float_and_tensor_arrays(images):
    stream = image_stream(images, batch_size=5)
    assert stream.total == 23
    np.testing.assert_array_equal(_all(stream), images)
    as_float = images / 127.5 - 1.0
    np.testing.assert_array_equal(_all(image_stream(as_float.astype(np.float32), batch_size=4)), images)
    np.testing.assert_array_equal(_all(image_stream(tf.constant(as_float, tf.float16), batch_size=6)), images)
    np.testing.assert_array_equal(_all(image_stream(images, num_samples=7, batch_size=5)), images[:7])
    grey = images[..., :1]
    np.testing.assert_array_equal(_all(image_stream(grey)), grey)


def test_float_mapping_is_round_to_nearest():
    values = np.array([-1.0, -0.9961, 0.0, 0.5, 1.0], np.float32).reshape(1, 1, 5, 1)
    assert checked_uint8(values).ravel().tolist() == [0, 0, 128, 191, 255]  # round((x + 1) * 127.5)


def test_datasets_of_batches_dicts_and_tuples(images):
    batches = tf.data.Dataset.from_tensor_slices(images).batch(6)
    np.testing.assert_array_equal(_all(image_stream(batches)), images)
    dicts = batches.map(lambda x: {"images": tf.cast(x, tf.float32) / 127.5 - 1.0, "labels": tf.zeros([6])})
    np.testing.assert_array_equal(_all(image_stream(dicts)), images)
    tuples = batches.map(lambda x: (x, tf.zeros([6])))
    stream = image_stream(tuples, num_samples=10)
    assert stream.total == 10
    np.testing.assert_array_equal(_all(stream), images[:10])
    endless = batches.repeat()
    np.testing.assert_array_equal(_all(image_stream(endless, num_samples=30)), np.concatenate([images, images[:7]]))


def test_data_sets_by_spec_and_source(tmp_path, images):
    np.savez(tmp_path / "set.npz", images=images)
    source = load_source(tmp_path / "set.npz")
    everything = _all(image_stream(source, batch_size=4))
    assert _rows(everything) == _rows(images)  # each image once, in a seeded random order
    assert not np.array_equal(everything, images)
    again = _all(image_stream(str(tmp_path / "set.npz"), batch_size=7))
    np.testing.assert_array_equal(again, everything)  # the order depends on the seed, not the batch size
    other_seed = _all(image_stream(source, seed=1))
    assert _rows(other_seed) == _rows(images) and not np.array_equal(other_seed, everything)
    some = _all(image_stream(source, num_samples=9))
    assert len(some) == 9 and set(_rows(some)) <= set(_rows(images))
    grey_small = _all(image_stream(source, num_samples=3, image_size=4, channels=1))
    assert grey_small.shape == (3, 4, 4, 1)


def _conditional_gan():
    """A class-conditional GAN whose images show their label (level) and their first latent (one pixel)."""
    from tfattngan import GAN

    latent, label = keras.Input((4,), name="latent"), keras.Input((), dtype="int32", name="label")
    level = keras.layers.Lambda(lambda x: tf.cast(x, "float32")[:, None, None, None] * tf.fill([1, 4, 4, 3], 0.5) - 0.5)(label)
    first = keras.layers.Lambda(lambda z: tf.pad(0.1 * tf.tanh(z[:, :1])[:, None, None, :], [[0, 0], [0, 3], [0, 3], [0, 2]]))(latent)
    generator = keras.Model([latent, label], keras.layers.Add()([level, first]))
    discriminator = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    return GAN(generator, discriminator, num_classes=3)


def test_a_gan_streams_the_images_of_generate_with_balanced_labels():
    gan = _conditional_gan()
    made = _all(image_stream(gan, num_samples=11, batch_size=4, seed=5))
    assert made.shape == (11, 4, 4, 3)
    labels = np.rint((made[:, 1, 1, 0] / 127.5 - 0.5) * 2).astype(int)  # level 0.5 * label - 0.5
    assert labels.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1]
    np.testing.assert_array_equal(made, checked_uint8(gan.generate(11, seed=5)))  # the one latent convention
    assert not np.array_equal(_all(image_stream(gan, num_samples=11, batch_size=4, seed=6)), made)
    with pytest.raises(UserInputError, match="needs num_samples"):
        image_stream(gan)


def test_keras_generator_and_function():
    generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8 * 8), keras.layers.Reshape((8, 8, 1)),
                                  keras.layers.Activation("tanh")])
    made = _all(image_stream(generator, num_samples=10, batch_size=4, seed=3))
    latents = tf.random.stateless_normal((4, 4), [3, 8])  # the third batch starts at image 8
    np.testing.assert_array_equal(made[8:], checked_uint8(generator(latents)[:2]))
    np.testing.assert_array_equal(_all(image_stream(generator, num_samples=10, batch_size=4, seed=3)), made)
    assert not np.array_equal(_all(image_stream(generator, num_samples=10, batch_size=4, seed=4)), made)
    counts = []

    def make(count):
        counts.append(count)
        return np.zeros((count, 8, 8, 3), np.uint8)

    assert len(_all(image_stream(make, num_samples=10, batch_size=4))) == 10 and counts == [4, 4, 2]


def test_multi_input_keras_models_are_refused():
    latent, label = keras.Input((4,)), keras.Input((1,))
    joined = keras.layers.Reshape((1, 5, 1))(keras.layers.Concatenate()([latent, label]))
    with pytest.raises(UserInputError, match="takes 2 inputs"):
        image_stream(keras.Model([latent, label], joined), num_samples=4)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 8, 8, 2), np.uint8), r"\[N, H, W, 1 or 3\], got uint8 \[2, 8, 8, 2\]"),
        (np.zeros((2, 1, 8, 8, 3), np.uint8), r"got uint8 \[2, 1, 8, 8, 3\]"),
        (np.zeros((8, 8, 3), np.uint8), r"got uint8 \[8, 8, 3\]"),
        (np.full((2, 8, 8, 3), "a"), "have dtype <U1"),
        (np.zeros((2, 8, 8, 3), np.int64), r"have dtype int64.*astype\('uint8'\)"),
        (np.full((2, 8, 8, 3), 255.0), r"must lie in \[-1, 1\], found \[255, 255\]"),
        (np.zeros((0, 8, 8, 3), np.uint8), "no images given"),
        ({"images": 1}, "cannot use a dict as images"),
        ("no-such-data", "unknown data 'no-such-data'"),
        (tf.data.Dataset.from_tensor_slices(np.zeros((4, 8, 8, 3), np.uint8)), r"dataset batches must be \[N, H"),
        (tf.data.Dataset.range(3).repeat(), "infinite; give num_samples"),
        (tf.data.Dataset.from_tensors({"x": np.zeros((1, 8, 8, 3))}), "without 'images'"),
    ],
    ids=["2-channels", "5-D", "3-D", "strings", "int64", "0-255-floats", "empty", "dict", "bad-spec",
         "unbatched-dataset", "infinite-dataset", "dict-without-images"],
)
def test_bad_images_are_a_clear_error(bad, message):
    with pytest.raises(UserInputError, match=message):
        _all(image_stream(bad))


def test_fid_is_the_same_for_every_form_of_the_same_images(tmp_path, images):
    model = mean_colour_model()
    other = np.random.default_rng(1).integers(0, 200, (23, 8, 8, 3), dtype=np.uint8)
    expected = fid(images, other, weights=model, batch_size=8)
    assert expected > 1e-3
    np.savez(tmp_path / "other.npz", images=other)
    served = []

    def serve_other(count):  # a generator function handing out `other` in order
        start = sum(served)
        served.append(count)
        return other[start : start + count]

    forms = [
        (images / 127.5 - 1.0, tf.data.Dataset.from_tensor_slices(other).batch(5)),
        (tf.constant(images), str(tmp_path / "other.npz")),
        (tf.data.Dataset.from_tensor_slices({"images": images}).batch(4), load_source(tmp_path / "other.npz")),
        (images, serve_other),
    ]
    for real, fake in forms:
        value = fid(real, fake, weights=model, batch_size=8, num_samples=23, cache_dir=tmp_path / "cache")
        np.testing.assert_allclose(value, expected, rtol=1e-9)
