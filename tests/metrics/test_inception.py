import keras
import numpy as np
import pytest

from tests.assets import INCEPTION_WEIGHTS as WEIGHTS
from tests.assets import REFERENCE_FEATURES
from tests.assets import require
from tfattngan.errors import UserInputError
from tfattngan.metrics import compute_inception_features
from tfattngan.metrics import inception_feature_model
from tfattngan.metrics import inception_feature_network
from tfattngan.metrics import preprocess_images
from tfattngan.metrics import resize_bilinear

# One worker runs these tests under pytest-xdist, so their shared fixtures are built once.
pytestmark = pytest.mark.xdist_group("inception")

ENV = "TFATTNGAN_INCEPTION_WEIGHTS"


@pytest.fixture(scope="module")
def model():
    return inception_feature_model(require(WEIGHTS))


@pytest.fixture(scope="module")
def reference():
    with np.load(require(REFERENCE_FEATURES)) as archive:
        return {key: archive[key] for key in archive.files}


def _numpy_resize_matrix(size_in, size_out):
    """[size_out, size_in] weights of half-pixel bilinear sampling, edges clamped."""
    source = np.clip((np.arange(size_out) + 0.5) * size_in / size_out - 0.5, 0, size_in - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, size_in - 1)
    matrix = np.zeros((size_out, size_in))
    np.add.at(matrix, (np.arange(size_out), low), 1 - (source - low))
    np.add.at(matrix, (np.arange(size_out), high), source - low)
    return matrix


def _numpy_resize(images, height, width):
    rows = _numpy_resize_matrix(images.shape[1], height)
    columns = _numpy_resize_matrix(images.shape[2], width)
    resized_rows = np.einsum("oh,nhwc->nowc", rows, images.astype("float64"))
    return np.einsum("nowc,pw->nopc", resized_rows, columns)


def _numpy_preprocess(images):
    """The README's two input paths, in NumPy."""
    if images.shape[1:3] == (299, 299):
        return images.astype("float64") / 128 - 1
    resized = _numpy_resize(images / 255.0, 299, 299)
    return np.clip(resized * (1 + 0.9921875) - 1, -1, 0.9921875)


@pytest.mark.parametrize("size", ["299", "32"])
def test_features_reproduce_reference(model, reference, size):
    images, expected = reference[f"images_{size}_uint8"], reference[f"features_{size}"]
    # batch_size 3 for 4 images: the short last batch is padded and cut off again.
    features = compute_inception_features(images, model, batch_size=3)
    assert features.shape == (4, 2048) and features.dtype == np.float64
    difference = features - expected.astype("float64")
    assert np.abs(difference).max() <= 1e-3
    assert np.linalg.norm(difference) / np.linalg.norm(expected.astype("float64")) <= 1e-4


def test_grey_images_equal_the_same_image_repeated_to_rgb(model, reference):
    grey = reference["images_32_uint8"][..., :1]
    rgb = np.repeat(grey, 3, axis=-1)
    grey_features = compute_inception_features(grey, model, batch_size=3)
    rgb_features = compute_inception_features(rgb, model, batch_size=3)
    np.testing.assert_allclose(grey_features, rgb_features, rtol=0, atol=1e-6)
    colour_features = compute_inception_features(reference["images_32_uint8"], model, batch_size=3)
    assert np.abs(rgb_features - colour_features).max() > 1e-2  # grey really is another input


@pytest.mark.parametrize("size_in, size_out", [((7, 5), (11, 3)), ((6, 9), (299, 299))])
def test_resize_equals_numpy_half_pixel_bilinear(size_in, size_out):
    images = np.random.default_rng(3).uniform(size=(2, *size_in, 3)).astype("float32")
    resized = resize_bilinear(images, size_out).numpy()
    np.testing.assert_allclose(resized, _numpy_resize(images, *size_out), rtol=0, atol=1e-5)


@pytest.mark.parametrize("size", [299, 20])
def test_preprocessing_equals_numpy_description(size):
    images = np.random.default_rng(4).integers(0, 256, (2, size, size, 3), dtype=np.uint8)
    x = preprocess_images(images).numpy()
    assert x.min() >= -1 and x.max() <= 0.9921875
    np.testing.assert_allclose(x, _numpy_preprocess(images), rtol=0, atol=1e-5)


def test_299_images_map_as_a_same_size_resize_would():
    images = np.random.default_rng(5).integers(0, 256, (2, 299, 299, 3), dtype=np.uint8)
    resized = _numpy_resize(images / 255.0, 299, 299) * (1 + 0.9921875) - 1
    np.testing.assert_allclose(preprocess_images(images).numpy(), resized, rtol=0, atol=1e-6)


def test_average_pools_do_not_count_padding(model):
    x = np.random.default_rng(6).normal(size=(1, 5, 6, 2)).astype("float32")
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    counted = np.pad(np.ones_like(x), ((0, 0), (1, 1), (1, 1), (0, 0)))
    window_sum = sum(padded[:, i : i + 5, j : j + 6] for i in range(3) for j in range(3))
    window_count = sum(counted[:, i : i + 5, j : j + 6] for i in range(3) for j in range(3))
    pooled = model.get_layer("mixed.tower_2.pool")(x).numpy()
    np.testing.assert_allclose(pooled, window_sum / window_count, rtol=0, atol=1e-6)


def test_weights_are_folded_batch_norm_of_the_archive(model):
    name = "mixed_4.tower_1.conv_2"  # a 1x7 convolution: checks the transpose
    with np.load(WEIGHTS) as archive:
        weight, beta, mean, var = (
            archive[f"{name}.{part}"].astype("float64") for part in ("weight", "beta", "mean", "var")
        )
    kernel, bias = model.get_layer(name).get_weights()
    scale = 1 / np.sqrt(var + 0.001)
    assert kernel.shape == (1, 7, 128, 128)
    for out, i, row, column in [(0, 0, 0, 0), (5, 17, 0, 6), (127, 90, 0, 3)]:
        expected = weight[out, i, row, column] * scale[out]
        np.testing.assert_allclose(kernel[row, column, i, out], expected, rtol=1e-6)
    np.testing.assert_allclose(bias, beta - mean * scale, rtol=1e-6, atol=1e-6)


def test_network_stays_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    network = inception_feature_network()
    assert network.inputs[0].dtype == "float32"
    computing = [layer for layer in network.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert {layer.compute_dtype for layer in computing} == {"float32"}
    assert network(np.zeros((1, 299, 299, 3), "float32")).dtype == "float32"


def test_weights_path_from_environment_variable(model, monkeypatch):
    monkeypatch.setenv(ENV, str(WEIGHTS))
    from_environment = inception_feature_model()
    for expected, loaded in zip(model.get_weights(), from_environment.get_weights(), strict=True):
        np.testing.assert_array_equal(loaded, expected)


def _error_message(weights_path):
    with pytest.raises(UserInputError) as error:
        inception_feature_model(weights_path)
    message = str(error.value)
    assert "\n" not in message and ENV in message and ".npz" in message and "pool_3" in message
    return message


def test_missing_weights_error_is_clear(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    assert _error_message(None).startswith("no Inception weights given")
    assert _error_message(tmp_path / "absent.npz").startswith("no Inception weights at")
    monkeypatch.setenv(ENV, str(tmp_path / "absent.npz"))
    assert _error_message(None).startswith("no Inception weights at")


def test_corrupt_or_foreign_weights_file_error_is_clear(tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"not a zip archive")
    assert _error_message(corrupt).startswith("cannot read Inception weights")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, kernel=np.zeros(3, "float32"))
    assert "lacks 'conv.weight'" in _error_message(foreign)


@pytest.mark.parametrize(
    "images",
    [np.zeros((2, 8, 8, 3), "float32"), np.zeros((2, 8, 8, 4), "uint8"), np.zeros((8, 8, 3), "uint8")],
    ids=["float", "four-channels", "no-batch"],
)
def test_bad_images_are_a_clear_error(images):
    mean_colour = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    with pytest.raises(UserInputError, match=r"need uint8 images \[N, H, W, 1 or 3\]"):
        compute_inception_features(images, mean_colour)


def test_progress_line_on_stderr(capsys):
    mean_colour = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])
    images = np.random.default_rng(7).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    features = compute_inception_features(images, mean_colour, batch_size=2, progress=True)
    np.testing.assert_allclose(features, _numpy_preprocess(images).mean(axis=(1, 2)), rtol=0, atol=1e-5)
    captured = capsys.readouterr()
    assert captured.out == "" and "Inception features: 5/5 images" in captured.err
