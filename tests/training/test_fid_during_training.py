import csv
import io
import json

import pytest
import tensorflow as tf

from tests.assets import INCEPTION_WEIGHTS as WEIGHTS
from tests.assets import require
from tfattngan.errors import UserInputError
from tfattngan.recipes import get_recipe
from tfattngan.runs import load_generator
from tfattngan.training import train


@pytest.fixture
def inception_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("TFATTNGAN_INCEPTION_WEIGHTS", str(require(WEIGHTS)))
    monkeypatch.setenv("TFATTNGAN_FID_CACHE", str(tmp_path / "fid-cache"))


def _fid_rows(run_dir):
    with open(run_dir / "losses.csv", newline="") as handle:
        return {int(row["step"]): row for row in csv.DictReader(handle) if row.get("fid")}


def test_fid_falls_during_a_short_quickstart_run_and_the_best_checkpoint_is_kept(tmp_path, inception_weights):
    run = tmp_path / "run"
    config = get_recipe("quickstart").replace(steps=100, eval_every=100, eval_samples=64, batch_size=32,
                                              keep_checkpoints=1, sample_every=100, checkpoint_every=50)
    summary = train(config, run, log_stream=io.StringIO())
    rows = _fid_rows(run)
    assert sorted(rows) == [0, 100]
    first, last = float(rows[0]["fid"]), float(rows[100]["fid"])
    assert last < first - 10.0, (first, last)  # measured: 415 at step 0, 334 at step 100
    best = json.loads((run / "checkpoints" / "best" / "best.json").read_text())
    assert best["step"] == 100 and best["fid"] == pytest.approx(last, rel=1e-5)
    assert summary.best_fid == pytest.approx(last, rel=1e-5)
    assert load_generator(run, checkpoint="best").step == 100

    # A later evaluation that is worse than the best keeps the best checkpoint as it is.
    best["fid"] = 0.0
    (run / "checkpoints" / "best" / "best.json").write_text(json.dumps(best))
    kept = {path.name: path.read_bytes() for path in (run / "checkpoints" / "best").glob("best-*")}
    train(config.replace(steps=102, eval_every=2), run, log_stream=io.StringIO())
    assert float(_fid_rows(run)[102]["best_fid"]) == 0.0
    assert {path.name: path.read_bytes() for path in (run / "checkpoints" / "best").glob("best-*")} == kept
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-102")


def test_fid_during_training_without_weights_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.delenv("TFATTNGAN_INCEPTION_WEIGHTS", raising=False)
    config = get_recipe("quickstart").replace(generator_filters=4, discriminator_filters=4, steps=2, eval_every=1)
    with pytest.raises(UserInputError, match="TFATTNGAN_INCEPTION_WEIGHTS"):
        train(config, tmp_path, log_stream=io.StringIO())
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")) is None
