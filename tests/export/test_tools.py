"""The command-line tools as a user runs them from a clone: real processes, real files."""

import json
import os
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


def _one_error_line(result):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_export_convert_generate_and_benchmark_from_the_command_line(families, tmp_path):
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
