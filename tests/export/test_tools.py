"""The command-line tools as a user runs them from a clone: real processes, real files."""

import json
import os
import resource
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.export.conftest import ROOT
from tfattngan.export.cli import benchmark_main
from tfattngan.export.cli import export_main
from tfattngan.export.cli import generate_main
from tfattngan.training.pictures import image_grid

# One worker runs these tests under pytest-xdist, so their shared fixtures are built once.
pytestmark = pytest.mark.xdist_group("export")


def _tool(script, *arguments):
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, arguments)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


def _limited_tool(limit, script, *arguments):
    """The tool started in a child process whose files cannot grow past `limit` bytes (RLIMIT_FSIZE)."""
    return subprocess.Popen([sys.executable, str(ROOT / script), *map(str, arguments)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))


def _files(folder):
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _one_error_line(result):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_export_convert_generate_and_benchmark_from_the_command_line(families, capfd, tmp_path):
    run, models = families["dcgan_self_attention"].run_dir, tmp_path / "gan"
    tflite, grid = tmp_path / "gen.tflite", tmp_path / "grid.png"

    result = _tool("export/export_savedmodel.py", run, "--out", models, "--max-samples", 8)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"to {models / '1'} " in result.stdout and (models / "1" / "saved_model.pb").is_file()
    generate = tf.saved_model.load(str(models / "1")).signatures["generate"]
    try:
        generate(num_samples=tf.constant(9), seed=tf.constant(0, tf.int64))
        raise AssertionError("--max-samples 8 did not limit generate")
    except tf.errors.InvalidArgumentError as error:
        assert "num_samples must be between 1 and 8" in str(error)

    result = _tool("tflite/convert.py", models / "1", "--out", tflite)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"({tflite.stat().st_size} bytes" in result.stdout
    (tmp_path / "plain.txt").write_text("")  # as readable as any new file (not tempfile's 0600)
    assert stat.S_IMODE(tflite.stat().st_mode) == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)

    result = _tool("tflite/generate.py", tflite, "--num-samples", 6, "--seed", 3, "--out", grid)
    assert result.returncode == 0, result.stderr[-2000:]
    served = generate(num_samples=tf.constant(6), seed=tf.constant(3, tf.int64))["images_uint8"].numpy()
    picture = np.asarray(Image.open(grid)).astype(int)
    assert picture.shape == image_grid(served).shape
    assert np.abs(picture - image_grid(served)).max() <= 1  # the same latents as `generate`; float rounding aside
    other = generate(num_samples=tf.constant(6), seed=tf.constant(4, tf.int64))["images_uint8"].numpy()
    assert np.abs(picture - image_grid(other)).max() > 1
    capfd.readouterr()
    assert generate_main([str(tflite), "--num-samples", "100000", "--out", str(grid)]) == 2  # once a bare RuntimeError
    line, = capfd.readouterr().err.strip().splitlines()[-1:]
    assert line.startswith("error: --num-samples 100000 makes a grid of ") and "77284 images of 32x32" in line, line
    assert np.array_equal(np.asarray(Image.open(grid)), picture.astype(np.uint8))

    result = _tool("tflite/benchmark.py", tflite, "--threads", 1, "--runs", 5, "--json", "-")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)  # --json -: the JSON object alone on stdout
    assert report["file_bytes"] == tflite.stat().st_size
    assert report["file_mib"] == round(report["file_bytes"] / 2**20, 3)
    assert (report["interpreter"], report["threads"], report["batch"], report["runs"]) == ("ai_edge_litert", 1, 1, 5)
    assert 0 < report["latency_min_ms"] <= report["latency_median_ms"] <= report["latency_p90_ms"]


def test_a_conversion_error_is_one_line_with_status_2(determinant_savedmodel, tmp_path):
    """The converter prints MLIR diagnostics from native code; the tool shows only its own line."""
    line = _one_error_line(_tool("tflite/convert.py", determinant_savedmodel, "--out", tmp_path / "det.tflite"))
    assert "no builtin kernel for: MatrixDeterminant" in line
    assert not (tmp_path / "det.tflite").exists()


def test_user_errors_of_the_other_tools_say_what_to_give(families, capfd, tmp_path):
    run, models = families["dcgan_self_attention"].run_dir, tmp_path / "gan"
    (models / "1").mkdir(parents=True)
    not_a_model = tmp_path / "notes.tflite"
    not_a_model.write_text("not a flatbuffer")
    assert export_main([str(run), "--out", str(models), "--version", "1"]) == 2
    assert generate_main([str(not_a_model), "--out", str(tmp_path / "grid.png")]) == 2
    assert benchmark_main([str(tmp_path / "missing.tflite")]) == 2
    assert benchmark_main([str(not_a_model), "--runs", "0"]) == 2
    lines = capfd.readouterr().err.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("error: ") for line in lines), lines
    assert "version 1 exists already" in lines[0] and "leave out --version to write version 2" in lines[0]
    assert "is not a TFLite model" in lines[1] and "tflite/convert.py" in lines[1]
    assert "missing.tflite does not exist" in lines[2]
    assert "--runs: expected a positive integer, got '0'" in lines[3]
    assert sorted(os.listdir(tmp_path)) == ["gan", "notes.tflite"] and os.listdir(models / "1") == []


def test_a_file_size_limit_fails_each_writing_tool_in_one_line_and_keeps_what_was_there(families, tmp_path):
    """Export, convert and generate past RLIMIT_FSIZE (the kernel refuses the write, as on a full disk).

    Each tool exits 2 with one line naming what it could not write; the
    version, the .tflite file and the grid written before are unchanged and
    no temporary file or folder remains.
    """
    family = families["dcgan_self_attention"]
    models = tmp_path / "gan"
    shutil.copytree(family.savedmodel, models / "1")
    tflite, grid = tmp_path / "gen.tflite", tmp_path / "grid.png"
    assert _tool("tflite/convert.py", models / "1", "--out", tflite).returncode == 0
    grid.write_bytes(b"the grid of an earlier run")
    before = _files(tmp_path)
    limit = 4096  # the SavedModel's files, the 90 kB .tflite file and a 16-image grid are all larger
    jobs = {  # at once: each job is mostly TensorFlow's start-up
        "export": _limited_tool(limit, "export/export_savedmodel.py", family.run_dir, "--out", models),
        "convert": _limited_tool(limit, "tflite/convert.py", models / "1", "--out", tflite, "--quantize", "float16"),
        "generate": _limited_tool(limit, "tflite/generate.py", tflite, "--out", grid),
    }
    lines = {}
    for name, job in jobs.items():
        stdout, stderr = job.communicate(timeout=600)
        lines[name] = _one_error_line(subprocess.CompletedProcess(job.args, job.returncode, stdout, stderr))
    assert lines["export"].startswith(f"error: could not write the SavedModel {models / '2'} (File too large); "
                                      f"no partial export was left (other versions in {models} are untouched)")
    assert lines["convert"].startswith(f"error: could not write the TFLite file {tflite} (File too large); "
                                       "no partial file was left (a file there before is kept)")
    assert lines["generate"].startswith(f"error: could not write the grid {grid} (File too large); ")
    assert _files(tmp_path) == before  # nothing changed, nothing added (no .2.tmp-* folder, no .tmp-* file)
    assert sorted(path.name for path in tmp_path.rglob(".*")) == []
