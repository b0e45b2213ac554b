"""The three Inception backends: the .npz Keras port, the frozen graph, the TF-Hub module."""

import hashlib
import sys

import numpy as np
import pytest

from tests.assets import INCEPTION_WEIGHTS as WEIGHTS
from tests.assets import needs
from tests.metrics.references import TINY_CLASSES
from tests.metrics.references import TINY_FEATURES
from tests.metrics.references import numpy_inception_score
from tests.metrics.references import numpy_tiny_network
from tests.metrics.references import write_tiny_hub_module
from tests.metrics.references import write_tiny_inception_graph
from tfattngan.errors import UserInputError
from tfattngan.metrics import WEIGHTS_ENV
from tfattngan.metrics import inception_score
from tfattngan.metrics import load_extractor
from tfattngan.metrics.inception.hub_module import TFGAN_INCEPTION

# One worker runs these tests under pytest-xdist, so their shared fixtures are built once.
pytestmark = pytest.mark.xdist_group("extractor_loading")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (3, 12, 10, 3), dtype=np.uint8)


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_frozen_graph_gives_pool_3_and_the_logits_of_any_batch(tmp_path, images):
    path = write_tiny_inception_graph(tmp_path / "classify_image_graph_def.pb")
    extractor = load_extractor(path)
    assert (extractor.kind, extractor.has_logits, extractor.checksum) == ("frozen-graph", True, _sha256(path))
    features, logits = extractor(images)  # a batch of 3 through a graph hard-coded to batches of 1
    assert features.shape == (3, TINY_FEATURES) and logits.shape == (3, TINY_CLASSES)
    expected_features, expected_logits = numpy_tiny_network(images)
    np.testing.assert_allclose(features, expected_features, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(logits, expected_logits, rtol=1e-4, atol=1e-5)  # pool_3 x weights, no bias


def test_inception_score_from_the_frozen_graph_equals_numpy(tmp_path, monkeypatch):
    path = write_tiny_inception_graph(tmp_path / "graph.pb")
    monkeypatch.setenv(WEIGHTS_ENV, str(path))  # weights from the environment, as users set them
    colours = np.random.default_rng(1).integers(0, 256, (12, 1, 1, 3), dtype=np.uint8)
    many = np.broadcast_to(colours, (12, 6, 6, 3))  # one colour per image: clearly different logits
    score = inception_score(many, splits=3, batch_size=5)
    _, graph_logits = load_extractor(path)(many)
    np.testing.assert_allclose(score, numpy_inception_score(graph_logits, 3), rtol=1e-7)
    expected = numpy_inception_score(numpy_tiny_network(many)[1], 3)  # float64 all the way
    assert expected[0] > 1.2 and expected[1] > 0.01
    np.testing.assert_allclose(score.mean, expected[0], rtol=1e-4)


def test_frozen_graph_errors_are_clear(tmp_path):
    with pytest.raises(UserInputError, match="no frozen Inception graph at"):
        load_extractor(tmp_path / "missing.pb")
    (tmp_path / "junk.pb").write_bytes(b"\xff\xfe not a protocol buffer")
    with pytest.raises(UserInputError, match="is not a binary GraphDef"):
        load_extractor(tmp_path / "junk.pb")
    path = write_tiny_inception_graph(tmp_path / "other.pb", include_pool=False)
    with pytest.raises(UserInputError, match="not the Inception graph: it needs Mul:0, pool_3:0"):
        load_extractor(path)


def test_hub_module_folder_gives_pool_3_and_logits(tmp_path, images):
    folder = write_tiny_hub_module(tmp_path / "inception_module")
    extractor = load_extractor(str(folder))
    assert (extractor.kind, extractor.has_logits, len(extractor.checksum)) == ("tf-hub", True, 64)
    features, logits = extractor(images)
    expected_features, expected_logits = numpy_tiny_network(images)
    np.testing.assert_allclose(features, expected_features, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(logits, expected_logits, rtol=1e-4, atol=1e-5)


def test_hub_handle_offline_is_a_clear_error():
    with pytest.raises(UserInputError, match="cannot load the TF-Hub Inception module.*network connection"):
        load_extractor(TFGAN_INCEPTION)


def test_hub_without_tensorflow_hub_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_hub", None)  # what an environment without the package sees
    with pytest.raises(UserInputError, match=r"needs tensorflow-hub: pip install 'tfattngan\[hub\]'"):
        load_extractor(str(tmp_path))


@needs(WEIGHTS)
def test_npz_weights_load_once_and_give_the_inception_score_only_with_logits(monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(WEIGHTS))
    extractor = load_extractor()
    assert load_extractor(WEIGHTS) is extractor or load_extractor(str(WEIGHTS)) is extractor
    assert load_extractor(str(WEIGHTS)) is load_extractor(str(WEIGHTS))
    assert (extractor.kind, extractor.has_logits) == ("keras", "logits.weight" in np.load(WEIGHTS).files)
    assert extractor.checksum == _sha256(WEIGHTS)
    if extractor.has_logits:
        return  # a converted archive; its Inception Score is checked in test_inception_convert.py
    with pytest.raises(UserInputError, match="the Inception Score needs classifier logits"):
        inception_score(np.zeros((2, 8, 8, 3), np.uint8), weights=extractor)


def test_no_weights_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    with pytest.raises(UserInputError, match=f"no Inception weights given; pass weights= or set {WEIGHTS_ENV}"):
        load_extractor()  # a Python caller's argument
    with pytest.raises(UserInputError, match=f"no Inception weights given; pass --weights or set {WEIGHTS_ENV}"):
        load_extractor(argument="--weights")  # a command line's flag
