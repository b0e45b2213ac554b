import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfattngan import GAN
from tfattngan.training.callbacks import AttentionMaps
from tfattngan.training.callbacks import FIDCheckpoint
from tfattngan.training.callbacks import SampleGrid
from tfattngan.training.callbacks import TrainingCurves


def _gan(init=0):
    keras.utils.set_random_seed(init)
    from tfattngan.layers import SelfAttention

    latent = keras.Input((8,))
    x = keras.layers.Reshape((2, 2, 8), name="reshape")(keras.layers.Dense(32, name="project")(latent))
    x = keras.layers.UpSampling2D(4, name="upsample")(x)
    x = SelfAttention(name="attention")(x)
    images = keras.layers.Conv2D(1, 3, padding="same", activation="tanh", name="to_image")(x)
    generator = keras.Model(latent, images, name="generator")
    discriminator = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, strides=2, name="conv"),
                                      keras.layers.Flatten(name="flatten"), keras.layers.Dense(1, name="logit")],
                                     name="discriminator")
    gan = GAN(generator, discriminator, seed=0)
    gan.compile(keras.optimizers.Adam(2e-3, 0.5), keras.optimizers.Adam(2e-3, 0.5), loss="non_saturating")
    return gan


def _data(count=32):
    """Bright discs on black, 8x8: what the generator should learn."""
    rows, columns = np.mgrid[:8, :8]
    centres = np.random.default_rng(0).integers(2, 6, (count, 2))
    discs = ((rows - centres[:, :1, None]) ** 2 + (columns - centres[:, 1:, None]) ** 2) <= 4
    return discs[..., None].astype("float32") * 2.0 - 1.0


def _mean_intensity():
    """A cheap feature network for the FID callback: the image's mean and spread, as two features."""
    inputs = keras.Input((299, 299, 3))
    mean = keras.layers.GlobalAveragePooling2D()(inputs)
    spread = keras.layers.GlobalMaxPooling2D()(inputs)
    return keras.Model(inputs, keras.layers.Concatenate()([mean, spread]))


def test_grids_maps_and_curves_are_written_by_step(tmp_path):
    gan = _gan()
    dataset = tf.data.Dataset.from_tensor_slices(_data()).batch(8)
    callbacks = [SampleGrid(tmp_path, count=9), AttentionMaps(tmp_path, count=2), TrainingCurves(tmp_path),
                 keras.callbacks.TensorBoard(str(tmp_path / "tensorboard"))]
    gan.fit(dataset, epochs=2, verbose=0, callbacks=callbacks)
    grid = np.asarray(Image.open(tmp_path / "step_000008.png"))
    # Three by three 8x8 images with 2 pixels of padding: 3 * (8 + 2) + 2 = 32, and the pixels of generate().
    assert grid.shape[:2] == (32, 32)
    expected = np.round((np.asarray(gan.generate(9)) + 1.0) * 127.5).astype(int)
    assert np.abs(grid[2:10, 2:10].reshape(8, 8, -1)[..., 0] - expected[0, ..., 0]).max() <= 1
    assert (tmp_path / "step_000004.png").is_file() and (tmp_path / "attention_step_000008.png").is_file()
    rows = (tmp_path / "losses.csv").read_text().splitlines()
    assert rows[0].split(",")[:2] == ["step", "d_loss"] and len(rows) == 1 + 8
    assert any(column.endswith("/gamma") for column in rows[0].split(","))
    assert (tmp_path / "curves.png").stat().st_size > 0
    events = list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))
    tags = {value.tag for path in events for event in tf.compat.v1.train.summary_iterator(str(path))
            for value in event.summary.value}
    assert {"epoch_d_loss", "epoch_g_loss"} <= tags, tags  # Keras' own callback logs the GAN's values


def test_the_best_fid_checkpoint_survives_a_worse_later_fid(tmp_path):
    gan = _gan()
    reference = (_data(64) + 1.0) * 127.5
    best = tmp_path / "best" / "gan.keras"
    options = dict(num_samples=32, weights=_mean_intensity(), cache_dir=str(tmp_path / "cache"))
    dataset = tf.data.Dataset.from_tensor_slices(_data()).batch(8).repeat()
    history = gan.fit(dataset, epochs=2, steps_per_epoch=20, verbose=0,
                      callbacks=[FIDCheckpoint(reference.astype("uint8"), best, **options)])
    fids = history.history["fid"]
    record = json.loads((tmp_path / "best" / "gan.keras.json").read_text())
    assert record["fid"] == pytest.approx(min(fids)) and record["step"] == 20 * (1 + int(np.argmin(fids)))
    saved = best.read_bytes()
    kept = keras.saving.load_model(best)
    # Ruin the generator: a later, worse FID must leave the best model and its record as they were.
    for weight in gan.generator.trainable_weights:
        weight.assign(tf.zeros_like(weight))
    worse = FIDCheckpoint(reference.astype("uint8"), best, **options)  # a new run: the record is read back
    assert worse.best == record
    history = gan.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0, callbacks=[worse])
    assert history.history["fid"][0] > record["fid"]
    assert best.read_bytes() == saved and json.loads((tmp_path / "best" / "gan.keras.json").read_text()) == record
    assert int(kept.step.numpy()) == record["step"]


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("interrupted")


def test_backup_and_restore_resumes_an_interrupted_fit_exactly(tmp_path):
    dataset = tf.data.Dataset.from_tensor_slices(_data()).batch(8)
    uninterrupted = _gan()
    uninterrupted.fit(dataset, epochs=4, verbose=0)
    gan = _gan()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    with pytest.raises(RuntimeError, match="interrupted"):
        gan.fit(dataset, epochs=4, verbose=0, callbacks=[backup, _Interrupt()])
    resumed = _gan(init=1)  # other initial weights: everything must come from the backup
    resumed.fit(dataset, epochs=4, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))])
    assert int(resumed.step.numpy()) == int(uninterrupted.step.numpy()) == 16
    for model in ("generator", "discriminator"):
        for a, b in zip(getattr(uninterrupted, model).weights, getattr(resumed, model).weights):
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6, err_msg=a.path)
