"""The tensorflow-gan loader: if `import tensorflow_gan` stays broken and this breaks too, FID breaks."""

import sys

import numpy as np
import tensorflow as tf

from tests.metrics.references import numpy_fid
from tests.metrics.references import numpy_mmd_unbiased
from tfattngan.metrics.tfgan import MODULE
from tfattngan.metrics.tfgan import classifier_metrics


def test_classifier_metrics_loads_without_running_the_package_init():
    metrics = classifier_metrics()
    assert metrics.__name__ == MODULE and classifier_metrics() is metrics
    # The package __init__ would have imported these (and failed on TF >= 2.16).
    for name in ("tensorflow_gan.python.train", "tensorflow_gan.python.estimator", "tensorflow_gan.python.losses"):
        assert name not in sys.modules
    assert sys.modules["tensorflow_gan.python.eval"].classifier_metrics is metrics
    for name in ("frechet_classifier_distance_from_activations", "kernel_classifier_distance_and_std_from_activations",
                 "classifier_score_from_logits", "trace_sqrt_product"):
        assert callable(getattr(metrics, name)), name


def test_loaded_functions_compute_fid_and_kid_like_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 6)), rng.normal(1.0, 1.5, size=(150, 6))
    metrics = classifier_metrics()
    fid = float(metrics.frechet_classifier_distance_from_activations(tf.constant(a), tf.constant(b)))
    np.testing.assert_allclose(fid, numpy_fid(a, b), rtol=1e-9)
    kid, _ = metrics.kernel_classifier_distance_and_std_from_activations(tf.constant(a), tf.constant(b))
    np.testing.assert_allclose(float(kid), numpy_mmd_unbiased(a, b), rtol=1e-9)
