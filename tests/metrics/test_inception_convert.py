"""The converter from the original frozen graph to the .npz weights, by a round trip through a graph built like it.

The graph is built here from the shared archive's weights and a random
classifier (`write_inception_graph`: the original's node names, its
deprecated batch norm op and GraphDef version); converted back, the archive
must hold the same arrays, and the Keras port fed by it must give the frozen
graph's features (and the reference features of the original network), its
logits and its Inception Score.
"""

import hashlib
import json
import resource

import numpy as np
import pytest

from tests.assets import INCEPTION_WEIGHTS
from tests.assets import REFERENCE_FEATURES
from tests.assets import needs
from tests.metrics.references import numpy_inception_score
from tests.metrics.references import write_inception_graph
from tests.metrics.references import write_tiny_inception_graph
from tfattngan.metrics import inception_score
from tfattngan.metrics import load_extractor
from tfattngan.metrics.inception.convert import main

# One worker runs these tests under pytest-xdist, so their shared fixtures are built once.
pytestmark = [pytest.mark.xdist_group("inception"), needs(INCEPTION_WEIGHTS, REFERENCE_FEATURES)]


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """(path of the built frozen graph, the archive's arrays it holds, its classifier weights and biases)."""
    with np.load(INCEPTION_WEIGHTS) as archive:
        arrays = {key: archive[key] for key in archive.files}
    rng = np.random.default_rng(21)
    weights = rng.normal(0.0, 0.3, (2048, 1008)).astype(np.float32)
    biases = rng.normal(size=1008).astype(np.float32)
    path = tmp_path_factory.mktemp("graph") / "classify_image_graph_def.pb"
    return write_inception_graph(path, arrays, weights, biases), arrays, weights, biases


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE_FEATURES) as archive:
        return {key: archive[key] for key in archive.files}


def _error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and lines[0].startswith("error: "), captured
    return lines[0]


def test_converted_archive_gives_the_frozen_graph_features_logits_and_score(original, reference, tmp_path, capsys):
    graph, arrays, weights, biases = original
    out = tmp_path / "fid_inception_v3_weights.npz"
    assert main([str(graph), "--out", str(out)]) == 0
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    printed = capsys.readouterr().out
    assert printed.startswith(f"Wrote {out} (378 arrays, ") and f"sha256 {digest}): FID, KID and IS" in printed
    again = tmp_path / "again.npz"
    assert main([str(graph), "--out", str(again), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["sha256"] == digest  # the same graph, the same bytes
    with np.load(out) as archive:
        converted = {key: archive[key] for key in archive.files}
    assert sorted(converted) == sorted([*arrays, "logits.weight", "logits.bias"])
    for key, array in arrays.items():  # kernels transposed back, the batch norm's gamma left out
        np.testing.assert_array_equal(converted[key], array, err_msg=key)
    np.testing.assert_array_equal(converted["logits.weight"], weights.T)
    np.testing.assert_array_equal(converted["logits.bias"], biases)

    port, frozen = load_extractor(out), load_extractor(graph)
    assert (port.kind, port.has_logits, port.checksum) == ("keras", True, digest)
    images, expected = reference["images_299_uint8"], reference["features_299"].astype(np.float64)
    port_features, port_logits = port(images)
    frozen_features, frozen_logits = frozen(images)
    for features in (port_features, frozen_features):  # both are the original network
        assert np.abs(features - expected).max() <= 1e-3
        assert np.linalg.norm(features - expected) / np.linalg.norm(expected) <= 1e-4
    np.testing.assert_allclose(port_features, frozen_features, rtol=0, atol=1e-4)
    np.testing.assert_allclose(frozen_logits, frozen_features.astype(np.float64) @ weights, rtol=0, atol=1e-3)
    np.testing.assert_allclose(port_logits, frozen_logits, rtol=0, atol=1e-3)  # logits of scale 3.5
    score = inception_score(images, weights=out, batch_size=4, splits=2)  # from the archive, end to end
    np.testing.assert_allclose(score, numpy_inception_score(frozen_logits, splits=2), rtol=1e-4)
    assert score.mean > 1.03  # 1.042 measured: the random classifier tells the four images apart a little
