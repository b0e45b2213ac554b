"""The Inception networks the metrics run: the FID Inception-v3 port (its layout, weights, preprocessing and
traced call), the original frozen graph, and TF-Hub's module.

Example:

>>> from tfattngan.metrics.inception.network import inception_feature_network
>>> inception_feature_network().output_shape
(None, 2048)
"""
