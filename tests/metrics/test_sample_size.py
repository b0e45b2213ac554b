"""Too few images: refused before any feature is computed; an FID of fewer images than dimensions warns."""

import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.metrics.references import TINY_FEATURES
from tests.metrics.references import write_tiny_inception_graph
from tests.metrics.test_cache import CountingExtractor
from tfattngan.errors import UserInputError
from tfattngan.evaluate import main
from tfattngan.metrics import FIDEvaluator
from tfattngan.metrics import fid
from tfattngan.metrics import inception_score
from tfattngan.metrics import kid


def _images(count, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, 8, 8, 3), dtype=np.uint8)


def _folder(path, count, seed):
    path.mkdir()
    for index, image in enumerate(_images(count, seed)):
        Image.fromarray(image).save(path / f"{index:02d}.png")
    return str(path)


def test_metrics_refuse_fewer_than_two_images_before_computing_features():
    counting = CountingExtractor()
    for call, message in (
        (lambda: fid(_images(20), _images(1), weights=counting), "1 fake image is too few"),
        (lambda: fid(_images(1), lambda count: _images(count), num_samples=5, weights=counting), "1 real image"),
        (lambda: kid(_images(20), _images(0), weights=counting), "0 fake images are too few"),
        # 300 features in blocks of 100 make 3 blocks, each needing 2 of the 5
        (lambda: kid(_images(300), _images(5), weights=counting, max_block_size=100), "needs at least 6 of each"),
        (lambda: inception_score(_images(1), weights=counting), "1 evaluated image is too few"),
        (lambda: FIDEvaluator(_images(20), num_samples=1, num_reference=20, weights=counting), "1 generated image is too few"),
        (lambda: FIDEvaluator(_images(1), num_samples=10, weights=counting), "1 reference image is too few"),
    ):
        with pytest.raises(UserInputError, match=message):
            call()
        assert counting.images == 0, message
    # A dataset's count is known only by reading it: refused after that, with the same kind of error.
    with pytest.raises(UserInputError, match="at least 2"):
        fid(_images(20), tf.data.Dataset.from_tensor_slices(_images(1)).batch(4), weights=counting)
    assert counting.images == 2 * 32  # one batch (padded to 32) of each set, then the covariance refuses


def test_fid_of_fewer_images_than_feature_dimensions_warns(tmp_path):
    graph = write_tiny_inception_graph(tmp_path / "classify_image_graph_def.pb")  # 5 feature dimensions
    few = TINY_FEATURES - 2
    with pytest.warns(UserWarning, match=f"FID of {few} fake images is unreliable: fewer images than its "
                                         f"{TINY_FEATURES} feature dimensions") as record:
        value = fid(_images(20), _images(few, seed=1), weights=graph)
    assert len([warning for warning in record if "unreliable" in str(warning.message)]) == 1 and np.isfinite(value)
    evaluator = FIDEvaluator(_images(20), num_samples=few, num_reference=20, weights=graph)
    result = evaluator.evaluate(lambda count: _images(count, seed=2))
    assert result.warnings == [f"FID of {few} evaluated images is unreliable: fewer images than its {TINY_FEATURES} "
                               f"feature dimensions make a singular covariance and a strongly biased distance; "
                               f"use at least {TINY_FEATURES} (10000 or more is usual)"]
    assert FIDEvaluator(_images(20), num_samples=TINY_FEATURES, weights=graph).evaluate(_images).warnings == []


def test_evaluate_command_refuses_one_image_and_reports_the_warning(tmp_path, capsys):
    graph = write_tiny_inception_graph(tmp_path / "classify_image_graph_def.pb")
    many, one, few = (_folder(tmp_path / name, count, seed) for name, count, seed in
                      (("many", 20, 0), ("one", 1, 1), ("few", 3, 2)))
    cache = tmp_path / "cache"
    common = ["--weights", str(graph), "--cache-dir", str(cache)]
    assert main(["--real", one, "--fake", many] + common) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip().splitlines() == [
        "error: 1 real image is too few: FID, KID and IS need at least 2 images of each set (and FID thousands); "
        "use more images."]
    assert not cache.exists()  # refused before any feature was computed (or cached)
    assert main(["--real", many, "--fake", many, "--num-samples", "1"] + common) == 2
    assert "--num-samples must be at least 2" in capsys.readouterr().err

    assert main(["--real", many, "--fake", few, "--json", str(tmp_path / "fid.json")] + common) == 0
    values = json.loads((tmp_path / "fid.json").read_text())
    assert (values["num_reference"], values["num_generated"]) == (20, 3) and np.isfinite(values["fid"])
    assert len(values["warnings"]) == 1 and values["warnings"][0].startswith("FID of 3 evaluated images is unreliable")
    assert f"warning  {values['warnings'][0]}" in capsys.readouterr().out.splitlines()
