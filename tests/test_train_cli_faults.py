"""train.py against real faults: a second writer, SIGKILL, a file-size limit, one after another on one run."""

import csv
import json
import os
import re
import resource
import signal
import subprocess
import sys

from tests.test_train_cli import ROOT
from tests.test_train_cli import TINY
from tests.test_train_cli import _train
from tests.test_train_cli import _wait_for


def _steps(run_dir):
    with open(run_dir / "losses.csv", newline="") as handle:
        return [int(row["step"]) for row in csv.DictReader(handle)]


def _error_line(result):
    """The one `error:` line, which must also be the last line on stderr (TensorFlow's notes may come before)."""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr[-3000:]
    return errors[0]


def test_one_writer_per_run_a_killed_one_blocks_nothing_and_a_full_disk_is_one_error(tmp_path):
    run, checkpoints = tmp_path / "run", tmp_path / "run" / "checkpoints"
    arguments = ["--out", str(run), *TINY, "--set", "checkpoint_every=1"]
    holder = subprocess.Popen([sys.executable, str(ROOT / "train.py"), "--steps", "100000", *arguments],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(checkpoints / "ckpt-2.index", holder)
        # A second writer (with another learning rate) fails at once, naming the directory and the holder.
        second = _train("--steps", "5", *arguments, "--set", "generator_lr=0.001")
        assert holder.poll() is None, "the first run ended before the second one started"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert second.returncode == 2, second.stderr[-3000:]
    line = _error_line(second)
    assert f"run directory {run} is in use by process {holder.pid} on " in line and "train.py" in line, line
    assert "Finished" not in second.stdout
    assert json.loads((run / "config.json").read_text())["generator_lr"] != 0.001

    # The killed holder's lock is gone with it; under a file-size limit smaller than a checkpoint, the next
    # run resumes and then fails at its first checkpoint with one line, keeping the one it resumed from.
    killed_at = max(int(p.stem.split("-")[1]) for p in checkpoints.glob("ckpt-*.index"))
    before = {p.name: p.read_bytes() for p in checkpoints.iterdir() if p.is_file()}
    limit = next(checkpoints.glob(f"ckpt-{killed_at}.data-*")).stat().st_size // 2

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    limited = _train("--steps", str(killed_at + 2), *arguments, preexec_fn=limit_file_size,
                     env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert limited.returncode == 2, limited.stderr[-3000:]
    line = _error_line(limited)
    match = re.fullmatch(
        rf"error: could not write the checkpoint of step (\d+) in {re.escape(str(checkpoints))} \(File too large\); "
        rf"the last good checkpoint {re.escape(str(checkpoints))}/ckpt-(\d+) is kept; .*", line)
    assert match, line
    failed_step, kept = int(match.group(1)), int(match.group(2))
    assert failed_step == kept + 1 and kept <= killed_at
    kept_files = [name for name in before if name.startswith(f"ckpt-{kept}.")]
    assert len(kept_files) == 2 and all((checkpoints / name).read_bytes() == before[name] for name in kept_files)
    assert (checkpoints / "checkpoint").read_text().splitlines()[0] == f'model_checkpoint_path: "ckpt-{kept}"'
    assert (checkpoints / f"ckpt-{failed_step}_temp").is_dir()  # what the failed save left

    # Without the limit the run resumes from there, clears the unfinished save and finishes.
    final = _train("--steps", str(kept + 2), *arguments)
    assert final.returncode == 0, final.stderr[-3000:]
    assert f"Finished at step {kept + 2}" in final.stdout
    assert not list(checkpoints.glob("*_temp"))
    assert _steps(run) == list(range(1, kept + 3))

