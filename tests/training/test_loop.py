import csv
import io
import json
import os
import shutil

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


def _checkpoint_numbers(folder):
    return sorted(int(p.name.split("-")[1].split(".")[0]) for p in folder.glob("ckpt-*.index"))


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint_and_its_config(tmp_path):
    train(_config(steps=2), tmp_path, log_stream=io.StringIO())
    good_config = (tmp_path / "config.json").read_text()
    # Resumed with absurd learning rates (which may change on resume), the weights blow up before the
    # next checkpoint: config.json still holds the settings of ckpt-2, so the plain command resumes with them.
    with pytest.raises(TrainingDivergedError, match=r"became .* at step \d+") as raised:
        train(_config(steps=10, checkpoint_every=100, generator_lr=1e30, discriminator_lr=1e30), tmp_path,
              log_stream=io.StringIO())
    message = str(raised.value)
    assert f"the last good checkpoint {tmp_path / 'checkpoints' / 'ckpt-2'} is kept" in message
    assert "generator_lr=1e+30" in message and "--set generator_lr=1e+29 --set discriminator_lr=1e+29" in message
    assert (tmp_path / "config.json").read_text() == good_config

    # Checkpointing every step, the weights themselves become non-finite before a save.
    config = _config(steps=10, checkpoint_every=1, generator_lr=1e30, discriminator_lr=1e30)
    with pytest.raises(TrainingDivergedError, match=r"at step \d+") as raised:
        train(config, tmp_path, log_stream=io.StringIO())
    message = str(raised.value)
    assert "last good checkpoint" in message and "ckpt-" in message
    checkpoints = _checkpoint_numbers(tmp_path / "checkpoints")
    bad_step = int(message.split("at step ")[1].split(";")[0])
    assert checkpoints and max(checkpoints) < bad_step
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path / "checkpoints")))
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if np.issubdtype(np.asarray(value).dtype, np.floating):
            assert np.all(np.isfinite(value)), name
    # config.json is the config that wrote the latest checkpoint.
    made_here = max(checkpoints) > 2
    good_lr = json.loads(good_config)["generator_lr"]
    assert json.loads((tmp_path / "config.json").read_text())["generator_lr"] == (1e30 if made_here else good_lr)


def test_damaged_checkpoints_are_set_aside_and_the_run_resumes_from_the_newest_good_one(tmp_path):
    from tfattngan.recipes import build_gan
    from tfattngan.training.loop import training_checkpoint

    checkpoints = tmp_path / "checkpoints"
    train(_config(steps=6), tmp_path, log_stream=io.StringIO())
    assert _checkpoint_numbers(checkpoints) == [2, 4, 6]
    reference = {int(r["step"]): (float(r["d_loss"]), float(r["g_loss"])) for r in _rows(tmp_path)}
    data = next(checkpoints.glob("ckpt-6.data-*"))
    flipped = bytearray(data.read_bytes())
    flipped[len(flipped) // 2] ^= 0x10
    data.write_bytes(bytes(flipped))
    (checkpoints / "ckpt-4.index").write_bytes((checkpoints / "ckpt-4.index").read_bytes()[:100])
    damaged = {path.name: path.read_bytes() for path in checkpoints.glob("ckpt-[46].*")}

    out = io.StringIO()
    summary = train(_config(steps=8), tmp_path, log_stream=out)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("Skipped checkpoint")]
    assert len(lines) == 2, out.getvalue()
    assert all(line.endswith(f"resuming from {checkpoints / 'ckpt-2'}.") for line in lines), lines
    assert "ckpt-6, " in lines[0] and "Checksum does not match" in lines[0]
    assert "ckpt-4, " in lines[1] and "sstable" in lines[1]
    # Nothing was deleted: the damaged files wait, unchanged, in skipped/.
    assert {path.name: path.read_bytes() for path in (checkpoints / "skipped").iterdir()} == damaged
    # The run went on from step 2 exactly as the first one did.
    rows = {int(r["step"]): (float(r["d_loss"]), float(r["g_loss"])) for r in _rows(tmp_path)}
    assert summary.step == 8 and sorted(rows) == list(range(1, 9))
    for step in (3, 4, 5, 6):
        np.testing.assert_allclose(rows[step], reference[step], rtol=1e-5, err_msg=f"step {step}")
    # Saving and pruning went on from the recorded good ones: the manager keeps the newest three.
    assert _checkpoint_numbers(checkpoints) == [4, 6, 8]
    state = tf.train.get_checkpoint_state(str(checkpoints))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == ["ckpt-4", "ckpt-6", "ckpt-8"]

    # A newer checkpoint with non-finite weights, which no state file names, is skipped too; and a state
    # file cut short (which TensorFlow reads as "no checkpoints", a restart from step 0) does not matter.
    gan = build_gan(_config())
    nan_checkpoint = training_checkpoint(gan)
    nan_checkpoint.restore(str(checkpoints / "ckpt-8"))
    gan.generator.weights[0].assign(gan.generator.weights[0] * np.nan)
    nan_checkpoint.write(str(checkpoints / "ckpt-10"))
    (checkpoints / "checkpoint").write_text('model_checkpoint_path: "ckpt-')
    out = io.StringIO()
    again = train(_config(steps=8), tmp_path, log_stream=out)
    assert again.step == 8 and again.checkpoint == str(checkpoints / "ckpt-8")
    assert "ckpt-10, which could not be restored (its weights are not finite)" in out.getvalue()
    assert tf.train.latest_checkpoint(str(checkpoints)) == str(checkpoints / "ckpt-8")

    # When no checkpoint restores, the run stops with a clear error and leaves every file as it is.
    for index in checkpoints.glob("ckpt-*.index"):
        index.write_bytes(b"")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(UserInputError, match=r"no checkpoint in .*checkpoints could be restored \(the newest, .*ckpt-8"):
        train(_config(steps=10), tmp_path, log_stream=io.StringIO())
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


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
    # Loading only reads: a copy holding just the config and checkpoints gains no folders.
    copy = tmp_path.parent / f"{tmp_path.name}-copy"
    shutil.copytree(tmp_path / "checkpoints", copy / "checkpoints")
    shutil.copy(tmp_path / "config.json", copy)
    assert load_generator(copy).step == 2
    assert sorted(os.listdir(copy)) == ["checkpoints", "config.json"]
    with pytest.raises(UserInputError, match="not a training run"):
        load_generator(copy / "missing")
    assert not (copy / "missing").exists()
