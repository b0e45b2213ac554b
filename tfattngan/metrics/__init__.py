"""Evaluation metrics (FID, KID, IS) and the FID Inception-v3 feature network.

`fid(real, fake)`, `kid(real, fake)` and `inception_score(images)` take
images, data sets or generators; `FIDEvaluator` evaluates generators
against a reference set whose features are computed once (and cached on
disk for data sets). The mathematics is tensorflow-gan's classifier_metrics
(`tfattngan.metrics.distances`); the Inception network is the Keras port
fed by `fid_inception_v3_weights.npz`, the original frozen graph or the
TF-Hub module (`load_extractor`). The weights come from `weights=` or
`$TFATTNGAN_INCEPTION_WEIGHTS`.

Example:

>>> import numpy as np
>>> from tfattngan.metrics import FeatureStatistics, frechet_distance
>>> rng = np.random.default_rng(0)
>>> real = FeatureStatistics.from_features(rng.normal(size=(1000, 8)))
>>> fake = FeatureStatistics.from_features(rng.normal(size=(1000, 8)) + 1.0)
>>> 7.5 < frechet_distance(real, fake) < 8.5
True
"""

from tfattngan.metrics.cache import CACHE_ENV
from tfattngan.metrics.cache import FeatureCache
from tfattngan.metrics.cache import default_cache_dir
from tfattngan.metrics.distances import InceptionScore
from tfattngan.metrics.distances import KernelDistance
from tfattngan.metrics.distances import frechet_distance
from tfattngan.metrics.distances import frechet_distance_from_features
from tfattngan.metrics.distances import inception_score_from_logits
from tfattngan.metrics.distances import kernel_distance_from_features
from tfattngan.metrics.evaluator import EvaluationResult
from tfattngan.metrics.evaluator import FIDEvaluator
from tfattngan.metrics.evaluator import evaluate_features
from tfattngan.metrics.evaluator import features_of
from tfattngan.metrics.extractor_loading import IS_UNAVAILABLE
from tfattngan.metrics.extractor_loading import load_extractor
from tfattngan.metrics.extractor import InceptionExtractor
from tfattngan.metrics.features import ImageFeatures
from tfattngan.metrics.features import compute_features
from tfattngan.metrics.features import compute_inception_features
from tfattngan.metrics.metric_functions import fid
from tfattngan.metrics.metric_functions import inception_score
from tfattngan.metrics.metric_functions import kid
from tfattngan.metrics.inception.model import inception_feature_model
from tfattngan.metrics.inception.network import inception_feature_network
from tfattngan.metrics.inception.preprocessing import preprocess_images
from tfattngan.metrics.inception.preprocessing import resize_bilinear
from tfattngan.metrics.inception.weights import WEIGHTS_ENV
from tfattngan.metrics.statistics import FeatureStatistics

__all__ = [
    "CACHE_ENV",
    "EvaluationResult",
    "FIDEvaluator",
    "FeatureCache",
    "FeatureStatistics",
    "IS_UNAVAILABLE",
    "ImageFeatures",
    "InceptionExtractor",
    "InceptionScore",
    "KernelDistance",
    "WEIGHTS_ENV",
    "compute_features",
    "compute_inception_features",
    "default_cache_dir",
    "evaluate_features",
    "features_of",
    "fid",
    "frechet_distance",
    "frechet_distance_from_features",
    "inception_feature_model",
    "inception_feature_network",
    "inception_score",
    "inception_score_from_logits",
    "kernel_distance_from_features",
    "kid",
    "load_extractor",
    "preprocess_images",
    "resize_bilinear",
]
