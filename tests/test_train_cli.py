"""train.py as a user runs it: real processes, real signals, real files."""

import csv
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np

from tests.assets import FASHION
from tests.assets import needs

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ["--set", "generator_filters=4", "--set", "discriminator_filters=4", "--set", "log_every=1",
        "--set", "sample_every=1000", "--batch-size", "8"]


def _train(*arguments, env=None, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *arguments], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=600, **kwargs)


def _losses(run_dir):
    with open(pathlib.Path(run_dir) / "losses.csv", newline="") as handle:
        return {int(row["step"]): (float(row["d_loss"]), float(row["g_loss"])) for row in csv.DictReader(handle)}


@needs(FASHION)
def test_training_on_fashion_mnist_idx_files(tmp_path):
    result = _train("--dataset", f"idx:{FASHION}", "--steps", "3", "--out", str(tmp_path), *TINY)
    assert result.returncode == 0, result.stderr
    assert "Finished at step 3" in result.stdout and str(tmp_path) in result.stdout
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["channels"] == 1 and config["dataset"] == f"idx:{FASHION}"
    assert (tmp_path / "checkpoints" / "ckpt-3.index").exists()
    assert (tmp_path / "samples" / "step_000003.png").stat().st_size > 0
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert sorted(_losses(tmp_path)) == [1, 2, 3]


def test_bad_arguments_exit_2_with_one_clear_line(tmp_path, capsys):
    from tfattngan.training.cli import main

    flat = np.zeros((10, 28), "uint8")
    np.savez(tmp_path / "flat.npz", images=flat)
    cases = [
        (["--recipe", "sagan-feat7"], "unknown recipe 'sagan-feat7'"),
        (["--dataset", str(tmp_path / "flat.npz")], "images"),
        (["--dataset", f"idx:{tmp_path / 'missing'}"], "no such file"),
        (["--set", "batch_size=lots"], "not a valid"),
        (["--steps"], "expected one argument"),
        (["--strategy", "clustered"], "unknown strategy"),
    ]
    # Two in a real process, where nothing else (no TensorFlow log line) may reach stderr: one refused before
    # TensorFlow is imported, one by the data pipeline after it; the others through main() in this process.
    for index, (arguments, expected) in enumerate(cases):
        if index < 2:
            result = _train(*arguments, "--out", str(tmp_path / "run"))
            status, stderr = result.returncode, result.stderr
        else:
            status, stderr = main([*arguments, "--out", str(tmp_path / "run")]), capsys.readouterr().err
        lines = stderr.strip().splitlines()
        assert status == 2, (arguments, stderr)
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], (arguments, lines)
    assert not (tmp_path / "run").exists()  # nothing was written for a refused command


def _wait_for(path, process, timeout=300):
    deadline = time.time() + timeout
    while not path.exists():
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        assert time.time() < deadline
        time.sleep(0.02)


def test_a_killed_run_resumes_exactly_where_its_checkpoint_left_it(tmp_path):
    arguments = ["--steps", "12", "--set", "checkpoint_every=3", *TINY]
    straight = _train(*arguments, "--out", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr
    expected = _losses(tmp_path / "straight")

    killed_dir = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *arguments, "--out", str(killed_dir)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(killed_dir / "checkpoints" / "ckpt-3.index", process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    checkpoints = sorted(int(p.stem.split("-")[1]) for p in (killed_dir / "checkpoints").glob("ckpt-*.index"))
    resumed_from = max(checkpoints)
    assert resumed_from < 12, "the process finished before it was killed"

    again = _train(*arguments, "--out", str(killed_dir))
    assert again.returncode == 0, again.stderr
    resumed = _losses(killed_dir)
    assert sorted(resumed) == list(range(1, 13))
    for step in range(resumed_from + 1, 13):
        np.testing.assert_allclose(resumed[step], expected[step], rtol=1e-5, atol=1e-6, err_msg=f"step {step}")


def test_ctrl_c_stops_cleanly_after_saving_a_checkpoint(tmp_path):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), "--steps", "100000", "--out", str(tmp_path), *TINY,
         "--set", "checkpoint_every=5"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    _wait_for(tmp_path / "checkpoints" / "ckpt-5.index", process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "Interrupted at step" in stdout and "Stopped at step" in stdout
    step = int(stdout.split("Interrupted at step ")[1].split(";")[0])
    assert (tmp_path / "checkpoints" / f"ckpt-{step}.index").exists()


def test_multi_worker_training_on_loopback_matches_one_process(tmp_path):
    import socket

    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    arguments = ["--steps", "3", *TINY, "--set", "n_critic=2"]  # the critic's loop of updates, across workers
    single = _train(*arguments, "--out", str(tmp_path / "single"), "--strategy", "default")
    assert single.returncode == 0, single.stderr
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        processes.append(subprocess.Popen(
            [sys.executable, str(ROOT / "train.py"), *arguments, "--out", str(tmp_path / "multi"),
             "--strategy", "multi-worker"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]
    assert "Finished at step 3" in outputs[0][0]
    expected, distributed = _losses(tmp_path / "single"), _losses(tmp_path / "multi")
    assert sorted(distributed) == [1, 2, 3]
    for step in (1, 2, 3):
        np.testing.assert_allclose(distributed[step], expected[step], rtol=1e-4, atol=1e-6)
