"""Evaluation metrics and the FID Inception-v3 feature network.

Example:

>>> import numpy as np
>>> from tfattngan.metrics import preprocess_images
>>> tuple(preprocess_images(np.zeros((1, 32, 32, 3), "uint8")).shape)
(1, 299, 299, 3)
"""

from tfattngan.metrics.inception import compute_inception_features
from tfattngan.metrics.inception import inception_feature_model
from tfattngan.metrics.inception_network import inception_feature_network
from tfattngan.metrics.inception_preprocessing import preprocess_images
from tfattngan.metrics.inception_preprocessing import resize_bilinear

__all__ = [
    "compute_inception_features",
    "inception_feature_model",
    "inception_feature_network",
    "preprocess_images",
    "resize_bilinear",
]
