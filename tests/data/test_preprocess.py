import numpy as np
import pytest
import tensorflow as tf

from tfattngan.data import load_source
from tfattngan.data import make_dataset
from tfattngan.data import preprocess_image
from tfattngan.errors import UserInputError

RNG = np.random.default_rng(7)
RGB = RNG.integers(0, 256, (22, 20, 3), dtype=np.uint8)
GREY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])


def _shrink_by_two(array):
    """Anti-aliased bilinear halving in NumPy: the triangle filter of width
    two input pixels, weights [1, 3, 3, 1] / 8, renormalised at the border."""
    kernel = np.array([1.0, 3.0, 3.0, 1.0]) / 8

    def along(values, axis):
        values = np.moveaxis(values, axis, 0)
        size, rows = values.shape[0], []
        for i in range(size // 2):
            taps = np.arange(2 * i - 1, 2 * i + 3)
            inside = (taps >= 0) & (taps < size)
            rows.append(np.tensordot(kernel[inside] / kernel[inside].sum(), values[taps[inside]], 1))
        return np.moveaxis(np.stack(rows), 0, axis)

    return along(along(array.astype(np.float64), 0), 1)


def _grow_by_two(array):
    """Bilinear doubling in NumPy with half-pixel centres, edges clamped."""

    def along(values, axis):
        values = np.moveaxis(values, axis, 0)
        size = values.shape[0]
        source = np.clip((np.arange(2 * size) + 0.5) / 2 - 0.5, 0, size - 1)
        low = np.floor(source).astype(int)
        high = np.minimum(low + 1, size - 1)
        weight = (source - low).reshape((-1,) + (1,) * (values.ndim - 1))
        return np.moveaxis(values[low] * (1 - weight) + values[high] * weight, 0, axis)

    return along(along(array.astype(np.float64), 0), 1)


def test_centre_crop_shrink_and_scale_equal_numpy():
    out = preprocess_image(RGB, image_size=8, channels=3, center_crop=16).numpy()
    crop = RGB[3:19, 2:18]  # offsets (22 - 16) // 2 and (20 - 16) // 2
    np.testing.assert_allclose(out, _shrink_by_two(crop) / 127.5 - 1, atol=2e-5)


def test_grow_equals_numpy_bilinear_and_uint8_rounds():
    small = RGB[:5, :6]
    out = preprocess_image(small, image_size=10, channels=3, center_crop=5).numpy()
    reference = _grow_by_two(small[:, :5])
    np.testing.assert_allclose(out, reference / 127.5 - 1, atol=2e-5)
    as_uint8 = preprocess_image(small, image_size=10, channels=3, center_crop=5, dtype="uint8").numpy()
    assert as_uint8.dtype == np.uint8
    assert np.abs(as_uint8 - reference).max() <= 0.5 + 1e-3


def test_same_size_uint8_is_exact_and_range_is_minus_one_to_one():
    same = preprocess_image(RGB, image_size=20, channels=3, center_crop=20, dtype="uint8")
    np.testing.assert_array_equal(same, RGB[1:21])
    # The anti-aliasing filter overshoots 255 by rounding; the output does not.
    for value, expected in ((255, 1.0), (0, -1.0)):
        out = preprocess_image(np.full((8, 6, 3), value, np.uint8), image_size=5, channels=3).numpy()
        np.testing.assert_allclose(out, np.full((5, 5, 3), expected), atol=1e-6)
        assert -1.0 <= out.min() and out.max() <= 1.0


@pytest.mark.parametrize(
    "stored, channels, expected",
    [
        (RGB[..., :1], 3, np.repeat(RGB[..., :1], 3, -1)),
        (RGB, 1, (RGB @ GREY_WEIGHTS)[..., None]),
        (np.concatenate([RGB, RGB[..., :1]], -1), 3, RGB),
        (np.concatenate([RGB, RGB[..., :1]], -1), 1, (RGB @ GREY_WEIGHTS)[..., None]),
        (RGB[..., :2], 1, RGB[..., :1]),
        (RGB[..., :2], 3, np.repeat(RGB[..., :1], 3, -1)),
        (RGB[..., :1], 1, RGB[..., :1]),
    ],
    ids=["grey-to-rgb", "rgb-to-grey", "rgba-to-rgb", "rgba-to-grey", "grey-alpha-to-grey", "grey-alpha-to-rgb",
         "grey-to-grey"],
)
def test_channel_conversion_static_and_dynamic(stored, channels, expected):
    # A same-size crop and "resize" are the identity: only the conversion acts.
    out = preprocess_image(stored, image_size=20, channels=channels, center_crop=20)
    np.testing.assert_allclose(out, expected[1:21] / 127.5 - 1, atol=1e-4)
    # Unknown channel count and size (a folder of mixed images) give the same.
    dynamic = tf.function(
        lambda image: preprocess_image(image, image_size=9, channels=channels, center_crop=20),
        input_signature=[tf.TensorSpec([None, None, None], tf.uint8)],
    )(stored)
    static = preprocess_image(stored, image_size=9, channels=channels, center_crop=20)
    assert dynamic.shape == static.shape == (9, 9, channels)
    np.testing.assert_allclose(dynamic, static, atol=1e-6)


def test_batched_input_equals_one_image_at_a_time():
    batch = np.stack([RGB, RGB[::-1]])
    together = preprocess_image(batch, image_size=9, channels=1, center_crop=18)
    for image, out in zip(batch, together):
        np.testing.assert_allclose(out, preprocess_image(image, image_size=9, channels=1, center_crop=18), atol=1e-6)


@pytest.fixture(scope="module")
def builtin():
    return load_source("builtin")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"channels": 2}, "channels must be 1"),
        ({"image_size": 0}, "image_size must be an integer >= 1, got 0"),
        ({"center_crop": 2.0}, "center_crop must be an integer >= 1, got 2.0"),
        ({"dtype": "float16"}, "dtype must be one of"),
        ({"center_crop": 40}, "center_crop 40 is larger than the builtin:32 images"),
        ({"global_batch_size": 0}, "global_batch_size must be an integer >= 1"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"start_batch": 1.5}, "start_batch must be an integer >= 0"),
    ],
)
def test_bad_options_raise_user_input_error(builtin, options, message):
    kwargs = {"image_size": 16, "channels": 3, "global_batch_size": 4, "seed": 0, **options}
    with pytest.raises(UserInputError, match=message):
        make_dataset(builtin, **kwargs)
