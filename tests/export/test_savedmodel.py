"""SavedModel export: what a TensorFlow-only client and saved_model_cli get, versions, atomic writes."""

import pathlib
import stat
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.export.conftest import FAMILIES
from tfattngan.errors import UserInputError
from tfattngan.export import export_generator
from tfattngan.export import export_run
from tfattngan.layers import RegionalAttention
from tfattngan.runs import load_generator
from tfattngan.pixels import to_uint8

# One worker runs these tests under pytest-xdist, so their shared fixtures are built once.
pytestmark = pytest.mark.xdist_group("export")

SAVED_MODEL_CLI = str(pathlib.Path(sys.executable).parent / "saved_model_cli")


def _saved_model_cli(*arguments):
    return subprocess.run([SAVED_MODEL_CLI, "run", "--tag_set", "serve", *arguments], capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_a_tensorflow_only_client_gets_the_keras_images_in_inference_mode(name, families, fresh_process):
    """The served images equal the Keras generator's (inference mode) to 1e-5, in a process without tfattngan.

    Calling twice gives identical images, so serving updates no state (no
    power iteration of spectral norm, no moving statistics). The Keras
    generator in training mode differs by several times the tolerance, so
    an export in training mode could not pass (for the SAGAN-div family,
    whose only training-mode difference is one more power iteration on an
    already warm `u`, by about five times).
    """
    family, served = families[name], fresh_process[name]
    assert served["images"].shape == family.keras_images.shape
    assert np.abs(served["images"] - family.keras_images).max() <= 1e-5
    np.testing.assert_array_equal(served["images_again"], served["images"])
    assert served["images_uint8"].dtype == np.uint8
    np.testing.assert_array_equal(served["images_uint8"], to_uint8(served["images"]))
    assert served["inputs"].tolist() == (["label", "latent"] if family.config.num_classes else ["latent"])
    fresh = load_generator(family.run_dir).sampling_model()  # a copy: a training-mode call changes its state
    training_mode = fresh(family.keras_inputs(), training=True).numpy()
    assert np.abs(training_mode - family.keras_images).max() > 3e-5


@pytest.mark.parametrize("name", list(FAMILIES))
def test_generate_draws_the_same_images_for_a_seed_as_trained_generator_sample(name, families, fresh_process):
    """`generate` is deterministic per seed, differs between seeds, and uses `TrainedGenerator.sample`'s latents.

    `TrainedGenerator.sample` draws its latents with its own code; the
    uint8 images may differ by one level where float rounding differs.
    """
    served, generator = fresh_process[name], families[name].generator
    np.testing.assert_array_equal(served["seed3"], served["seed3_again"])
    assert served["seed3"].shape[0] == 4
    assert np.mean(served["seed3"] != served["seed4"]) > 0.2
    expected = to_uint8(generator.generate(4, seed=3)).numpy().astype(int)
    assert np.abs(served["seed3"].astype(int) - expected).max() <= 1


def test_bad_inputs_get_messages_that_say_what_to_send(fresh_process):
    for name, served in fresh_process.items():
        latent_dim = FAMILIES[name].latent_dim
        assert "num_samples must be between 1 and 256" in str(served["too_many"]), served["too_many"]
        assert "--max-samples" in str(served["too_many"]) and "[100000]" in str(served["too_many"])
        assert "num_samples must be between 1 and 256" in str(served["too_few"]) and "[0]" in str(served["too_few"])
        narrow = str(served["narrow_latent"])
        assert f"latent must have shape [batch, {latent_dim}]" in narrow and f"[5 {latent_dim - 1}]" in narrow, narrow
        rows = str(served["too_many_rows"])
        assert "latent must have between 1 and 256 rows" in rows and f"[257 {latent_dim}]" in rows, rows
        assert "--max-samples" in rows
        for key, count in (("nan_latent", 1), ("inf_latent", 2)):
            text = str(served[key])
            assert "latent must hold finite numbers only (no NaN or inf" in text and f"values:] [{count}]" in text, text
    bad_label = str(fresh_process["resnet_conditional"]["bad_label"])
    assert "label must be class indices in [0, 10)" in bad_label and "[1000 1003 1007 1009 1003]" in bad_label


@pytest.mark.parametrize("name", list(FAMILIES))
def test_saved_model_cli_runs_the_serving_signature(name, families, tmp_path):
    """The C++ loader (the one TF Serving uses) gives the Keras images to 1e-5."""
    family = families[name]
    inputs = []
    for key, value in family.inputs.items():
        np.save(tmp_path / f"{key}.npy", value)
        inputs.append(f"{key}={tmp_path / key}.npy")
    result = _saved_model_cli("--dir", str(family.savedmodel), "--signature_def", "serving_default",
                              "--inputs", ";".join(inputs), "--outdir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-3000:]
    images = np.load(tmp_path / "out" / "images.npy")
    assert np.abs(images - family.keras_images).max() <= 1e-5
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "images_uint8.npy"), to_uint8(images))


def test_saved_model_cli_runs_generate_and_names_a_wrong_latent_width_and_nan(families, fresh_process, tmp_path):
    family = families["dcgan_self_attention"]
    result = _saved_model_cli("--dir", str(family.savedmodel), "--signature_def", "generate",
                              "--input_exprs", "num_samples=4;seed=3", "--outdir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "images_uint8.npy"), fresh_process[family.name]["seed3"])
    np.save(tmp_path / "narrow.npy", np.zeros((2, 63), "float32"))
    result = _saved_model_cli("--dir", str(family.savedmodel), "--signature_def", "serving_default",
                              "--inputs", f"latent={tmp_path / 'narrow.npy'}")
    assert result.returncode != 0
    assert "Cannot feed value of shape (2, 63) for Tensor serving_default_latent:0, which has shape (None, 64)" in (
        result.stderr), result.stderr[-2000:]
    np.save(tmp_path / "nan.npy", np.full((2, 64), np.nan, "float32"))  # the check in the graph, in the C++ loader
    result = _saved_model_cli("--dir", str(family.savedmodel), "--signature_def", "serving_default",
                              "--inputs", f"latent={tmp_path / 'nan.npy'}")
    assert result.returncode != 0
    assert "latent must hold finite numbers only (no NaN or inf" in result.stderr and "values:] [128]" in (
        result.stderr), result.stderr[-2000:]


def test_the_ema_generator_is_exported_unless_asked_otherwise(families, tmp_path):
    family = families["resnet_conditional"]
    assert family.generator.is_ema  # the fixture's export (compared above) holds the EMA weights
    raw = load_generator(family.run_dir, use_ema=False).sampling_model()(family.keras_inputs(), training=False).numpy()
    assert np.abs(raw - family.keras_images).max() > 1e-2
    export = export_run(family.run_dir, tmp_path / "raw", use_ema=False)
    assert not export.is_ema and export.version == 1
    serve = tf.saved_model.load(export.path).signatures["serving_default"]
    served = serve(**{key: tf.constant(value) for key, value in family.inputs.items()})["images"].numpy()
    assert np.abs(served - raw).max() <= 1e-5


def test_the_image_bank_travels_with_the_ragan_export(families, fresh_process):
    family = families["ragan_image_bank"]
    loaded = load_generator(family.run_dir)
    copy = loaded.sampling_model()
    layer = next(layer for layer in loaded.gan.generator.layers if isinstance(layer, RegionalAttention))
    assert np.abs(layer.bank_images.numpy()).mean() > 1e-2 and float(layer.bank_filled.numpy()) == 1.0
    layer.bank_images.assign(tf.zeros_like(layer.bank_images))
    without_bank = copy(family.inputs["latent"], training=False).numpy()
    assert np.abs(without_bank - fresh_process[family.name]["images"]).max() > 1e-3


def _snapshot(folder):
    files = (path for path in folder.rglob("*") if path.is_file())
    return {str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns) for path in files}


def test_versions_count_up_and_an_existing_one_is_never_touched(families, tmp_path):
    run, models = families["dcgan_self_attention"].run_dir, tmp_path / "gan"
    assert export_run(run, models).version == 1
    before = _snapshot(models / "1")
    assert before and "saved_model.pb" in before
    with pytest.raises(UserInputError, match="version 1 exists already .* never overwritten"):
        export_run(run, models, version=1)
    assert export_run(run, models, version=5).version == 5
    assert export_run(run, models).version == 6
    assert sorted(p.name for p in models.iterdir()) == ["1", "5", "6"]
    assert _snapshot(models / "1") == before
    (tmp_path / "plain").mkdir()  # a version is as readable as any new directory (not tempfile's 0700)
    assert stat.S_IMODE((models / "1").stat().st_mode) == stat.S_IMODE((tmp_path / "plain").stat().st_mode)


class _EagerOnly(keras.layers.Layer):
    """Scales its input by a NumPy statistic of it: runs eagerly, cannot be traced into a graph."""

    def call(self, inputs):
        return inputs * float(np.asarray(inputs).std() + 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape


def test_a_failed_export_leaves_no_version_and_no_scratch(families, tmp_path):
    models = tmp_path / "gan"
    foreign = families["resnet_conditional"].generator.checkpoint
    with pytest.raises(UserInputError, match="does not fit the run's config"):
        export_run(families["dcgan_self_attention"].run_dir, models, checkpoint=foreign)
    assert not models.exists()

    latent = keras.Input((4,), name="latent")
    model = keras.Model(latent, keras.layers.Reshape((2, 2, 3))(_EagerOnly()(keras.layers.Dense(12)(latent))))
    assert model(np.ones((1, 4), "float32")).shape == (1, 2, 2, 3)  # fine eagerly
    with pytest.raises(Exception, match="numpy|NumPy|symbolic"):
        export_generator(model, models / "1")  # fails while the version is being written
    assert list(models.iterdir()) == []


def test_each_weight_is_stored_once(families):
    """The SavedModel's checkpoint holds the generator's weights once (Keras' `track()` would store them twice)."""
    family = families["dcgan_self_attention"]
    reader = tf.train.load_checkpoint(str(family.savedmodel / "variables" / "variables"))
    shapes = reader.get_variable_to_shape_map()
    stored = sum(int(np.prod(shape)) for key, shape in shapes.items() if key != "_CHECKPOINTABLE_OBJECT_GRAPH")
    assert stored == sum(int(np.prod(weight.shape)) for weight in family.generator.sampling_model().weights)


def test_max_samples_is_checked_up_front_and_the_largest_one_still_serves(tmp_path):
    """Past int32 the bound wrapped negative and the export refused every request; the int32 maximum serves."""
    from tfattngan.models import dcgan_generator

    model = dcgan_generator(16, 1, latent_dim=8, filters=2)
    for bad in (0, 2**31, 3_000_000_000, 2.5):
        with pytest.raises(UserInputError, match=r"max_samples must be an integer from 1 to 2147483647"):
            export_generator(model, tmp_path / "bad" / "1", max_samples=bad)
    assert not (tmp_path / "bad").exists()
    loaded = tf.saved_model.load(str(export_generator(model, tmp_path / "1", max_samples=2**31 - 1)))
    images = loaded.signatures["generate"](num_samples=tf.constant(3), seed=tf.constant(0, tf.int64))["images_uint8"]
    assert images.shape == (3, 16, 16, 1)
    assert loaded.signatures["serving_default"](latent=tf.zeros([2, 8]))["images"].shape == (2, 16, 16, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"between 1 and 2147483647 .* got\] \[0\]"):
        loaded.signatures["generate"](num_samples=tf.constant(0), seed=tf.constant(0, tf.int64))
