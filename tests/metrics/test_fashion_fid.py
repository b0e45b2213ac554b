"""FID and KID with the real Inception network on Fashion-MNIST (100 images a set, to stay fast)."""

import numpy as np
import pytest

from tests.assets import FASHION
from tests.assets import INCEPTION_WEIGHTS as WEIGHTS
from tests.assets import needs
from tests.data.idx_reference import read_idx_reference
from tests.metrics.references import numpy_mmd_unbiased
from tfattngan.metrics import FIDEvaluator
from tfattngan.metrics import evaluate_features
from tfattngan.metrics.inception.weights import has_logits

# One worker runs these tests under pytest-xdist, so their shared fixtures are built once.
pytestmark = [pytest.mark.xdist_group("fashion_fid"), needs(FASHION, WEIGHTS)]

COUNT = 100


def _fashion(prefix):
    pixels = read_idx_reference(FASHION / f"{prefix}-images-idx3-ubyte.gz", header_bytes=16)
    return pixels.reshape(-1, 28, 28, 1)[:COUNT]


@pytest.fixture(scope="module")
def evaluated():
    """(reference features, {name: (features, EvaluationResult)}) for the train and noisy test sets."""
    test, train = _fashion("t10k"), _fashion("train")
    noise = np.random.default_rng(0).normal(0.0, 0.5, test.shape)
    noisy = np.clip(test / 127.5 - 1.0 + noise, -1.0, 1.0)  # strong noise, in [-1, 1] units
    evaluator = FIDEvaluator(test, num_samples=COUNT, weights=WEIGHTS, batch_size=50)
    results = {}
    for name, images in (("train", train), ("noisy", noisy)):
        features = evaluator.generated_features(images)
        results[name] = features, evaluate_features(evaluator.reference_features, features, evaluator.extractor)
    return evaluator.reference_features, results


def test_fid_and_kid_separate_real_data_from_noisy_data(evaluated):
    _, results = evaluated
    train, noisy = results["train"][1], results["noisy"][1]
    assert train.num_reference == train.num_generated == COUNT
    assert 10.0 < train.fid < 150.0  # two samples of one distribution: the small-sample bias (94 measured)
    assert noisy.fid > 200.0 and noisy.fid > 2.0 * train.fid  # 279 measured
    assert abs(train.kid) < 0.01 and noisy.kid > 0.1
    assert (train.inception_score is not None) == has_logits(WEIGHTS)  # IS only from an archive with the logits


def test_kid_of_inception_features_equals_the_mmd_formula(evaluated):
    reference, results = evaluated
    assert reference.features.shape == (COUNT, 2048)
    for features, result in results.values():
        expected = numpy_mmd_unbiased(reference.features.astype(np.float64), features.features.astype(np.float64))
        np.testing.assert_allclose(result.kid, expected, rtol=1e-9)
