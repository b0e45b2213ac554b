"""The example script runs as a user runs it: a fresh process, real Fashion-MNIST files, `fit` to the end."""

import pathlib
import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf

import tfattngan  # noqa: F401 - registers the GAN for keras.saving.load_model, as a user's import does
from tests.assets import FASHION
from tests.assets import needs

ROOT = pathlib.Path(__file__).resolve().parents[2]


@needs(FASHION)
def test_the_wgan_gp_example_trains_with_fit_saves_and_exports(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "wgan_gp_fashion_mnist.py"), "--data", f"idx:{FASHION}",
         "--out", str(out), "--epochs", "2", "--steps-per-epoch", "2", "--batch-size", "16"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(path.name for path in (out / "samples").iterdir()) == ["step_000002.png", "step_000004.png"]
    gan = keras.saving.load_model(out / "gan.keras", safe_mode=True)
    assert int(gan.step.numpy()) == 4 and gan.n_critic == 5  # 5 critic batches per step, as written
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 20
    served = tf.saved_model.load(str(out / "serving" / "1")).signatures["generate"]
    images = served(num_samples=tf.constant(3), seed=tf.constant(0, tf.int64))["images_uint8"].numpy()
    expected = np.round((np.asarray(gan.generate(3, seed=0)) + 1.0) * 127.5)
    assert images.shape == (3, 28, 28, 1) and np.abs(images.astype(int) - expected).max() <= 1
