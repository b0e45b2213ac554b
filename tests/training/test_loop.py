import csv
import io
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfattngan.data import load_source
from tfattngan.errors import UserInputError
from tfattngan.recipes import get_recipe
from tfattngan.training import TrainingDivergedError
from tfattngan.training import train


def _config(name="quickstart", **changes):
    settings = dict(generator_filters=4, discriminator_filters=4, batch_size=8, steps=4, log_every=1,
                    sample_every=2, checkpoint_every=2, regional_bank_size=4)
    settings.update(changes)
    return get_recipe(name).replace(**settings)


def _rows(run_dir):
    with open(run_dir / "losses.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_run_writes_its_directory_and_resumes_where_it_stopped(tmp_path):
    summary = train(_config(), tmp_path, log_stream=io.StringIO())
    assert summary.step == 4 and not summary.interrupted
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["recipe"] == "quickstart" and saved["steps"] == 4
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-4")
    for name in ("step_000000.png", "step_000002.png", "step_000004.png", "attention_step_000004.png"):
        assert (tmp_path / "samples" / name).stat().st_size > 0
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert list((tmp_path / "logs").iterdir())
    assert [int(r["step"]) for r in _rows(tmp_path)] == [1, 2, 3, 4]
    assert {"d_loss", "g_loss", "images_per_sec", "generator/attention_16/gamma"} <= set(_rows(tmp_path)[0])

    resumed = train(_config(steps=6), tmp_path, log_stream=io.StringIO())
    assert resumed.step == 6
    assert [int(r["step"]) for r in _rows(tmp_path)] == [1, 2, 3, 4, 5, 6]
    assert json.loads((tmp_path / "config.json").read_text())["steps"] == 6


def test_resuming_with_another_model_is_refused(tmp_path):
    train(_config(steps=2), tmp_path, log_stream=io.StringIO())
    with pytest.raises(UserInputError, match="loss: 'hinge' here, 'wasserstein' asked"):
        train(_config(steps=4, loss="wasserstein"), tmp_path, log_stream=io.StringIO())


def test_a_corrupt_checkpoint_is_a_clear_error(tmp_path):
    train(_config(steps=2), tmp_path, log_stream=io.StringIO())
    data = next((tmp_path / "checkpoints").glob("ckpt-2.data-*"))
    data.write_bytes(b"not a checkpoint")
    with pytest.raises(UserInputError, match="ckpt-2 could not be restored"):
        train(_config(steps=4), tmp_path, log_stream=io.StringIO())


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    train(_config(steps=2), tmp_path, log_stream=io.StringIO())
    # Resumed with absurd learning rates (which may change on resume), the weights blow up.
    config = _config(steps=10, checkpoint_every=1, generator_lr=1e30, discriminator_lr=1e30)
    with pytest.raises(TrainingDivergedError, match=r"at step \d+") as raised:
        train(config, tmp_path, log_stream=io.StringIO())
    message = str(raised.value)
    assert "last good one" in message and "ckpt-" in message
    checkpoints = sorted(int(p.name.split("-")[1].split(".")[0]) for p in (tmp_path / "checkpoints").glob("ckpt-*.index"))
    bad_step = int(message.split("at step ")[1].split(";")[0])
    assert checkpoints and max(checkpoints) < bad_step
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path / "checkpoints")))
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if np.issubdtype(np.asarray(value).dtype, np.floating):
            assert np.all(np.isfinite(value)), name


def test_a_regional_attention_run_samples_with_real_training_images(tmp_path):
    from tfattngan.layers import RegionalAttention
    from tfattngan.runs import load_generator

    source = load_source("builtin")
    config = _config("ragan-dcgan-ra-cifar10", steps=2, dataset="builtin", latent_dim=16)
    train(config, tmp_path, source=source, log_stream=io.StringIO())
    # Every weight comes from the checkpoint: two loads built from different random seeds agree.
    keras.utils.set_random_seed(1)
    generator = load_generator(tmp_path)
    keras.utils.set_random_seed(2)
    again = load_generator(tmp_path)
    for weight, other in zip(generator.gan.generator.weights, again.gan.generator.weights):
        np.testing.assert_array_equal(weight, other, err_msg=weight.path)
    layer = [layer for layer in generator.gan.generator.layers if isinstance(layer, RegionalAttention)][0]
    assert float(layer.bank_filled.numpy()) == 1.0
    bank = np.round((layer.bank_images.numpy() + 1.0) * 127.5).astype("uint8")
    training_images = {image.tobytes() for image in source.reader.items}
    assert len({image.tobytes() for image in bank}) == 4  # four different images
    assert all(image.tobytes() in training_images for image in bank)


def test_a_loaded_generator_reproduces_the_trainers_samples(tmp_path):
    from tfattngan.recipes import build_gan
    from tfattngan.runs import load_generator
    from tfattngan.training.loop import training_checkpoint

    config = _config(steps=2, ema_decay=0.5, ema_start=0)
    train(config, tmp_path, log_stream=io.StringIO())
    gan = build_gan(load_generator(tmp_path).config)
    training_checkpoint(gan).restore(tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))).expect_partial()
    for use_ema in (True, False):
        generator = load_generator(tmp_path, use_ema=use_ema)
        assert generator.step == 2 and generator.is_ema == use_ema
        np.testing.assert_allclose(generator.generate(4, seed=3), gan.generate(4, seed=3, use_ema=use_ema), atol=1e-6)
    ema, raw = (load_generator(tmp_path, use_ema=u).generate(4) for u in (True, False))
    assert float(tf.reduce_max(tf.abs(ema - raw))) > 1e-4
    with pytest.raises(UserInputError, match="not a training run"):
        load_generator(tmp_path / "samples")
