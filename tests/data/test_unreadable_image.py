"""An image file that stops reading after its folder was checked: one error line naming it."""

import hashlib
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.metrics.references import mean_colour_model
from tfattngan.data import load_source
from tfattngan.data import make_dataset
from tfattngan.data import reported_read_failures
from tfattngan.errors import UserInputError
from tfattngan.metrics import fid

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _folder(path, count):
    path.mkdir()
    colours = np.random.default_rng(0).integers(0, 256, (count, 1, 1, 3), dtype=np.uint8)
    for index, colour in enumerate(colours):
        Image.fromarray(np.broadcast_to(colour, (16, 16, 3)).copy()).save(path / f"{index:02d}.png")
    return path


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_truncated_and_a_deleted_file_are_named_and_other_errors_pass(tmp_path):
    folder = _folder(tmp_path / "images", 6)
    source = load_source(str(folder))
    data = make_dataset(source, image_size=8, channels=3, global_batch_size=2, seed=0, dtype="uint8")
    with reported_read_failures(source):
        next(iter(data))  # reads fine while the files are as checked
    _truncate(folder / "02.png")
    (folder / "04.png").unlink()
    with pytest.raises(UserInputError) as error:
        fid(source, source, weights=mean_colour_model(), cache_dir=tmp_path / "cache")  # metrics read via tf.data
    message = str(error.value)
    assert "\n" not in message and message.startswith("image file ")
    named = {folder / "02.png": "PNG", folder / "04.png": "it was deleted"}
    first = next(path for path in named if message.startswith(f"image file {path} can no longer be read"))
    other = next(path for path in named if path != first)
    assert f"({named[first]}" in message and f"(and 1 more: {other})" in message
    assert f"it changed after {source.name} was checked" in message
    with pytest.raises(tf.errors.InvalidArgumentError, match="not about the data"):
        with reported_read_failures(load_source("builtin:16")):  # no folder: nothing to name, the error passes
            raise tf.errors.InvalidArgumentError(None, None, "not about the data")


def test_train_cli_names_an_image_truncated_mid_run_and_keeps_its_checkpoints(tmp_path):
    folder = _folder(tmp_path / "images", 16)
    run = tmp_path / "run"
    arguments = [sys.executable, str(ROOT / "train.py"), "--dataset", str(folder), "--out", str(run), "--steps",
                 "100000", "--set", "generator_filters=4", "--set", "discriminator_filters=4", "--batch-size", "4",
                 "--set", "checkpoint_every=2", "--set", "keep_checkpoints=1000", "--set", "sample_every=1000"]
    process = subprocess.Popen(arguments, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    second = run / "checkpoints" / "ckpt-4.index"  # saves are synchronous: ckpt-2 is complete by then
    deadline = time.time() + 300
    while not second.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.time() < deadline
        time.sleep(0.05)
    written = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in run.glob("checkpoints/ckpt-2*")}
    _truncate(folder / "07.png")  # every image is read each 4 steps
    _, stderr = process.communicate(timeout=300)
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert process.returncode == 2 and "Traceback" not in stderr, stderr
    assert len(errors) == 1 and errors[0].startswith(f"error: image file {folder / '07.png'} can no longer be read")
    assert written and all(hashlib.sha256(path.read_bytes()).hexdigest() == h for path, h in written.items())
