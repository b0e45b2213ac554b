"""`python -m tfattngan.evaluate` on a tiny trained run and on two tiny image folders."""

import io
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.assets import FASHION
from tests.assets import INCEPTION_WEIGHTS as WEIGHTS
from tests.assets import needs
from tests.data.idx_reference import read_idx_reference
from tests.metrics.references import numpy_mmd_unbiased
from tests.metrics.references import write_tiny_inception_graph
from tfattngan.evaluate import main
from tfattngan.metrics import FeatureCache
from tfattngan.metrics import fid
from tfattngan.metrics import load_extractor

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from tfattngan.recipes import get_recipe
    from tfattngan.training import train

    run = tmp_path_factory.mktemp("run")
    config = get_recipe("quickstart").replace(generator_filters=4, discriminator_filters=4, batch_size=4, steps=1)
    train(config, run, log_stream=io.StringIO())
    return run


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("folders")
    pixels = read_idx_reference(FASHION / "t10k-images-idx3-ubyte.gz", header_bytes=16).reshape(-1, 28, 28)
    for name, part in (("a", pixels[:64]), ("b", pixels[64:128])):
        (root / name).mkdir()
        for index, image in enumerate(part):
            Image.fromarray(image).save(root / name / f"{index:03d}.png")
    return root, pixels[:128, :, :, None]


def test_run_evaluation_writes_metrics_json(run_dir, tmp_path, capsys):
    graph = write_tiny_inception_graph(tmp_path / "classify_image_graph_def.pb")  # has logits: IS is reported
    arguments = [str(run_dir), "--num-samples", "40", "--weights", str(graph), "--cache-dir", str(tmp_path / "c")]
    assert main(arguments) == 0
    values = json.loads((run_dir / "metrics.json").read_text())
    assert values["step"] == 1 and values["checkpoint"].endswith("ckpt-1") and values["dataset"] == "builtin"
    assert values["num_samples"] == values["num_generated"] == values["num_reference"] == 40
    assert values["weights"]["kind"] == "frozen-graph"
    assert values["weights"]["sha256"] == load_extractor(graph).checksum
    assert values["inception_score"] > 1.0 and values["inception_score_std"] >= 0.0
    assert values["kid_std"] is None  # one KID block of 40 images
    assert values["warnings"] == []  # 40 images, more than the tiny network's 5 feature dimensions
    output = capsys.readouterr().out
    assert f"FID      {values['fid']:.4f}" in output and f"IS       {values['inception_score']:.3f}" in output
    assert "warning" not in output
    from tfattngan.runs import load_generator

    expected = fid("builtin", load_generator(run_dir), num_samples=40, weights=graph, image_size=32, channels=3,
                   cache_dir=tmp_path / "c")
    np.testing.assert_allclose(values["fid"], expected, rtol=1e-9)  # the run's data, size and latents
    assert main(arguments + ["--dataset", "builtin:16"]) == 0  # another reference data set, resized to 32
    assert json.loads((run_dir / "metrics.json").read_text())["dataset"] == "builtin:16"
    assert main(arguments + ["--num-samples", "3", "--num-real", "40"]) == 0  # fewer than the 5 dimensions
    values = json.loads((run_dir / "metrics.json").read_text())
    assert values["num_generated"] == 3 and values["warnings"] == [
        "FID of 3 evaluated images is unreliable: fewer images than its 5 feature dimensions make a singular "
        "covariance and a strongly biased distance; use at least 5 (10000 or more is usual)"]
    assert f"warning  {values['warnings'][0]}" in capsys.readouterr().out


@needs(FASHION, WEIGHTS)
def test_folder_comparison_with_the_npz_weights(folders, tmp_path, capsys):
    root, images = folders
    cache = tmp_path / "cache"
    arguments = ["--real", str(root / "a"), "--fake", str(root / "b"), "--weights", str(WEIGHTS),
                 "--cache-dir", str(cache), "--json", str(tmp_path / "fid.json")]
    assert main(arguments) == 0
    values = json.loads((tmp_path / "fid.json").read_text())
    assert values["num_reference"] == values["num_generated"] == 64
    if "logits.weight" not in np.load(WEIGHTS).files:  # the archive without logits cannot give the Inception Score
        assert values["inception_score"] is None
        assert "unavailable (needs classifier logits" in capsys.readouterr().out
    assert 30.0 < values["fid"] < 300.0
    entries = {_folder_name(d): FeatureCache(cache).load(d) for d in _descriptions(cache)}
    assert sorted(entries) == ["a", "b"] and entries["a"].count == entries["b"].count == 64
    expected = load_extractor(WEIGHTS)(images[64:])[0]  # folder b's images, each once, through Inception
    distances = np.abs(entries["b"].features[:, None, :] - expected[None, :, :]).max(axis=-1)
    assert sorted(distances.argmin(axis=1).tolist()) == list(range(64)) and distances.min(axis=1).max() < 1e-4
    kid = numpy_mmd_unbiased(entries["a"].features.astype(float), entries["b"].features.astype(float))
    np.testing.assert_allclose(values["kid"], kid, rtol=1e-9)


def _folder_name(description):
    return pathlib.Path(description["data"].split(":", 1)[-1]).name


def _descriptions(cache):
    """The descriptions stored in the cache entries, to look them up again by key."""
    found = []
    for path in sorted(pathlib.Path(cache).glob("*.npz")):
        with np.load(path) as entry:
            found.append(json.loads(str(entry["description"])))
    return found


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["--real", "a"], "--real and --fake go together"),
        (["run", "--real", "a", "--fake", "b"], "either RUN_DIR or --real and --fake"),
        ([], "give a run directory, or --real and --fake"),
        (["run", "--num-samples", "1"], "--num-samples must be at least 2 (FID, KID and IS need 2 images of each set)"),
        (["run", "--num-samples", "many"], "invalid int value: 'many'"),
        (["--real", "a", "--fake", "b", "--dataset", "builtin"], "--dataset applies to a run only"),
        (["--real", "builtin", "--fake", "builtin:16", "--weights", "missing.npz"],
         "no Inception weights at 'missing.npz'; pass --weights or set TFATTNGAN_INCEPTION_WEIGHTS to"),
        (["--real", "no/such/folder", "--fake", "builtin", "--weights", str(WEIGHTS)], "unknown data 'no/such/folder'"),
        (["--real", "builtin", "--fake", "builtin", "--weights", "https://tfhub.dev/no/module/1"],
         "cannot load the TF-Hub Inception module"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(arguments, expected, capsys):
    assert main(arguments) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines


def test_module_entry_exits_2_with_one_line_for_a_folder_that_is_no_run(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tfattngan.evaluate", str(tmp_path), "--num-samples", "8"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path} is not a training run (no config.json); give the --out folder of train.py."
    ]
