"""TFLite conversion of the exported generators, run with the LiteRT interpreter."""

import sys

import numpy as np
import pytest

from tests.export.conftest import FAMILIES
from tfattngan.errors import UserInputError
from tfattngan.export import QUANTIZATIONS
from tfattngan.export import TFLiteGenerator
from tfattngan.export import convert_to_tflite
from tfattngan.export.tflite_grid import write_sample_grid
from tfattngan.export.tflite_runtime import CHUNK_SIZE
from tfattngan.pixels import to_uint8

# One worker runs these tests under pytest-xdist, so their shared fixtures are built once.
pytestmark = pytest.mark.xdist_group("export")

@pytest.fixture(scope="module")
def dcgan_tflite(families, tmp_path_factory):
    """The DCGAN + self-attention model in every quantisation (open batch) and in float32 with batch 2."""
    folder, savedmodel = tmp_path_factory.mktemp("tflite"), families["dcgan_self_attention"].savedmodel
    paths = {}
    for quantize in QUANTIZATIONS:
        paths[quantize] = folder / f"{quantize}.tflite"
        assert convert_to_tflite(savedmodel, paths[quantize], quantize) == paths[quantize].stat().st_size
    paths["batch2"] = folder / "batch2.tflite"
    convert_to_tflite(savedmodel, paths["batch2"], batch_size=2)
    return paths


def _float32_tflite(name, families, dcgan_tflite, folder):
    if name == "dcgan_self_attention":
        return dcgan_tflite["none"]
    family = families[name]
    path = folder / f"{name}.tflite"
    convert_to_tflite(family.savedmodel, path)  # every family converts with an open batch
    return path


@pytest.mark.parametrize("name", list(FAMILIES))
def test_float32_tflite_gives_the_keras_images(name, families, fresh_process, dcgan_tflite, tmp_path):
    """Float32 TFLite equals Keras to 1e-4, and samples a seed as the SavedModel's `generate` does."""
    family = families[name]
    generator = TFLiteGenerator(_float32_tflite(name, families, dcgan_tflite, tmp_path), num_threads=1)
    assert generator.interpreter_name == "ai_edge_litert"
    assert (generator.latent_dim, generator.batch_size) == (family.config.latent_dim, None)
    assert generator.conditional == bool(family.config.num_classes)
    assert generator.num_classes == family.config.num_classes  # from the file's metadata
    assert generator.metadata["image_shape"] == list(family.keras_images.shape[1:])
    images = generator.generate(family.inputs["latent"], family.inputs.get("label"))
    assert images.shape == family.keras_images.shape
    assert np.abs(images - family.keras_images).max() <= 1e-4
    sampled = to_uint8(generator.sample(4, seed=3)).numpy().astype(int)
    assert np.abs(sampled - fresh_process[name]["seed3"]).max() <= 1


def test_quantised_models_stay_close_to_keras_and_shrink(families, dcgan_tflite):
    """float16 within 1e-2 of Keras; dynamic-range and int8 within measured bounds on the mean.

    Measured on this tiny model (images of std ~0.05): mean |TFLite - Keras|
    float16 2e-5, dynamic 4e-4, int8 2.2e-3 (max 1.7e-4, 3.5e-3, 1e-2). The
    bounds give about 5x margin: dynamic 2e-3, int8 1e-2 on the mean. A
    conversion that skipped quantisation would pass those but not the size
    checks (float32 88 kB; float16 52 kB, dynamic and int8 36 kB measured),
    and int8 must also quantise activations, which dynamic range does not.
    """
    family = families["dcgan_self_attention"]
    errors, sizes, int8_tensors = {}, {}, {}
    for quantize in QUANTIZATIONS:
        generator = TFLiteGenerator(dcgan_tflite[quantize], num_threads=1)
        difference = np.abs(generator.generate(family.inputs["latent"]) - family.keras_images)
        errors[quantize] = (difference.max(), difference.mean())
        sizes[quantize] = dcgan_tflite[quantize].stat().st_size
        details = generator.interpreter.get_tensor_details()
        int8_tensors[quantize] = sum(detail["dtype"] == np.int8 for detail in details)
    assert errors["none"][0] <= 1e-4
    assert errors["float16"][0] <= 1e-2
    assert errors["dynamic"][1] <= 2e-3
    assert errors["int8"][1] <= 1e-2
    assert sizes["float16"] < 0.7 * sizes["none"]
    assert sizes["dynamic"] < 0.5 * sizes["none"] and sizes["int8"] < 0.5 * sizes["none"]
    assert int8_tensors["none"] == int8_tensors["float16"] == 0
    assert int8_tensors["int8"] > int8_tensors["dynamic"] > 0


def test_a_fixed_batch_model_runs_any_count_in_chunks(families, dcgan_tflite):
    family = families["dcgan_self_attention"]
    generator = TFLiteGenerator(dcgan_tflite["batch2"], num_threads=1)
    assert generator.batch_size == 2
    images = generator.generate(family.inputs["latent"])  # 5 latents: chunks of 2, 2 and a padded 1
    assert np.abs(images - family.keras_images).max() <= 1e-4


def test_an_open_batch_model_runs_a_large_count_in_chunks_and_refuses_what_a_grid_cannot_hold(
        families, fresh_process, dcgan_tflite, tmp_path):
    """150 latents run in chunks of CHUNK_SIZE: the interpreter never holds more, the images stay right."""
    family = families["dcgan_self_attention"]
    generator = TFLiteGenerator(dcgan_tflite["none"], num_threads=1)
    latents = np.concatenate([family.inputs["latent"], np.random.default_rng(1).normal(size=(145, 64))])
    images = generator.generate(latents)
    assert images.shape == (150, 32, 32, 3)
    assert np.abs(images[:5] - family.keras_images).max() <= 1e-4
    assert [tuple(d["shape"]) for d in generator.interpreter.get_input_details()] == [(CHUNK_SIZE, 64)]
    assert np.abs(images[-5:] - generator.generate(latents[-5:])).max() <= 1e-5  # the padded last chunk's rows
    uint8 = generator.sample_uint8(150, seed=3)
    assert uint8.dtype == np.uint8 and uint8.shape == (150, 32, 32, 3)
    assert np.abs(uint8[:4].astype(int) - fresh_process[family.name]["seed3"]).max() <= 1
    with pytest.raises(UserInputError, match=r"latents must be finite numbers .* got 6 non-finite values"):
        generator.generate(np.where(np.arange(64) < 2, np.nan, latents[:3]))  # rows of 2 NaN each: 6
    with pytest.raises(UserInputError, match=r"--num-samples 77285 makes a grid of 9488 x 9454 pixels; .* at most "
                                             r"89478485 pixels .* which is 77284 images of 32x32"):
        write_sample_grid(generator, 77_285, 0, tmp_path / "grid.png")  # refused before any image is made
    assert list(tmp_path.iterdir()) == []


def test_tf_lite_runs_the_model_when_litert_is_not_installed(families, dcgan_tflite, monkeypatch):
    latent = families["dcgan_self_attention"].inputs["latent"]
    expected = TFLiteGenerator(dcgan_tflite["none"], num_threads=1).generate(latent)
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # `import ai_edge_litert` now raises ImportError
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    fallback = TFLiteGenerator(dcgan_tflite["none"], num_threads=1)
    assert fallback.interpreter_name == "tf.lite"
    assert np.abs(fallback.generate(latent) - expected).max() <= 1e-6


def test_an_op_without_a_builtin_kernel_fails_the_conversion_by_name(determinant_savedmodel, tmp_path):
    with pytest.raises(UserInputError, match="no builtin kernel for: MatrixDeterminant;"):
        convert_to_tflite(determinant_savedmodel, tmp_path / "det.tflite")
    assert list(tmp_path.iterdir()) == []


def test_conversion_arguments_are_checked(families, tmp_path):
    savedmodel = families["resnet_conditional"].savedmodel
    with pytest.raises(UserInputError, match="quantize must be one of none, float16, dynamic, int8"):
        convert_to_tflite(savedmodel, tmp_path / "gen.tflite", "int4")
    with pytest.raises(UserInputError, match="is not a readable SavedModel"):
        convert_to_tflite(tmp_path, tmp_path / "gen.tflite")
    assert list(tmp_path.iterdir()) == []
    # int8 calibration of a class-conditional model takes its classes from the SavedModel's metadata.
    convert_to_tflite(savedmodel, tmp_path / "int8.tflite", "int8")
    converted = TFLiteGenerator(tmp_path / "int8.tflite", num_threads=1)
    assert converted.num_classes == families["resnet_conditional"].config.num_classes
    assert converted.sample(3, seed=0).shape[0] == 3
