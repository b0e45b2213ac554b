"""Independent NumPy/SciPy references for the metrics, and tiny stand-in networks.

The references follow the papers' formulas directly (scipy.linalg.sqrtm for
FID, the unbiased MMD^2 with k(x, y) = (x.y/d + 1)^3 for KID, the KL form
of the Inception Score), not tensorflow-gan's code.

The tiny networks are real TensorFlow graphs with the tensor names of the
originals, small enough to run in milliseconds and to compute in NumPy:
a frozen GraphDef like `classify_image_graph_def.pb` and a SavedModel like
the TF-Hub module. `write_inception_graph` builds the whole network as the
original graph holds it, to check the converter and the frozen-graph loader.
"""

import pathlib

import keras
import numpy as np
import scipy.linalg
import tensorflow as tf

from tfattngan.metrics.inception.convert import graph_scope
from tfattngan.metrics.inception.network import inception_feature_network

TINY_FEATURES, TINY_CLASSES = 5, 7


def numpy_fid(features1, features2):
    mean1, mean2 = features1.mean(axis=0), features2.mean(axis=0)
    covariance1, covariance2 = np.cov(features1, rowvar=False), np.cov(features2, rowvar=False)
    root = scipy.linalg.sqrtm(covariance1 @ covariance2)
    return float(np.sum((mean1 - mean2) ** 2) + np.trace(covariance1 + covariance2 - 2 * root.real))


def _kernel(x, y):
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def numpy_mmd_unbiased(x, y):
    """The unbiased MMD^2 estimate: off-diagonal means within sets, full mean across."""
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = _kernel(x, x), _kernel(y, y), _kernel(x, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return within_x + within_y - 2 * k_xy.mean()


def numpy_inception_score(logits, splits):
    scores = []
    for part in np.array_split(logits.astype(np.float64), splits):
        p = np.exp(part - part.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        marginal = p.mean(axis=0, keepdims=True)
        scores.append(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))
    return float(np.mean(scores)), float(np.std(scores))


def mean_colour_model():
    """A feature 'network': the mean of each channel of the 299x299 input."""
    return keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()], name="mean_colour")


def tiny_parameters():
    rng = np.random.default_rng(11)
    kernel = rng.normal(size=(3, TINY_FEATURES)).astype(np.float32)
    weights = rng.normal(0.0, 5.0, size=(TINY_FEATURES, TINY_CLASSES)).astype(np.float32)
    biases = rng.normal(size=TINY_CLASSES).astype(np.float32)
    return kernel, weights, biases


def _graph_input():
    """As in `classify_image_graph_def.pb`: a batch-1 input resized to 299x299 and scaled into `Mul`."""
    image = tf.compat.v1.placeholder(tf.float32, [1, None, None, 3], name="ExpandDims")
    resized = tf.compat.v1.image.resize_bilinear(image, [299, 299], name="ResizeBilinear")
    return tf.multiply(tf.subtract(resized, 128.0, name="Sub"), 1 / 128.0, name="Mul")


def _graph_classifier(pool, weights, biases):
    """As in the original: `pool_3/_reshape` to a hard-coded `[1, D]`, `softmax/logits/MatMul`, a bias, a softmax."""
    flat = tf.reshape(pool, [1, weights.shape[0]], name="pool_3/_reshape")
    matmul = tf.matmul(flat, tf.constant(weights, name="softmax/weights"), name="softmax/logits/MatMul")
    logits = tf.nn.bias_add(matmul, tf.constant(biases, name="softmax/biases"), name="softmax/logits")
    tf.nn.softmax(logits, name="softmax")


def write_tiny_inception_graph(path, include_pool=True):
    """A frozen GraphDef with the original graph's names, from `ExpandDims` to `softmax`.

    As in `classify_image_graph_def.pb`, with `pool_3` `[1, 1, 1, D]` here
    the spatial mean of a ReLU 1x1 convolution.
    """
    kernel, weights, biases = tiny_parameters()
    graph = tf.Graph()
    with graph.as_default():
        conv = tf.nn.relu(tf.nn.conv2d(_graph_input(), kernel[None, None], 1, "VALID", name="conv/Conv2D"), name="conv")
        pool = tf.nn.avg_pool2d(conv, 299, 1, "VALID", name="pool_3" if include_pool else "pool_4")
        _graph_classifier(pool, weights, biases)
    pathlib.Path(path).write_bytes(graph.as_graph_def().SerializeToString())
    return path


def _graph_convolution(x, layer, arrays, rng, batch_norms):
    """The original's convolution SCOPE: conv2d_params (kh, kw, in, out), Conv2D, batchnorm, ReLU named SCOPE."""
    scope = graph_scope(layer.name)
    kernel = tf.constant(arrays[f"{layer.name}.weight"].transpose(2, 3, 1, 0), name=f"{scope}/conv2d_params")
    conv = tf.nn.conv2d(x, kernel, layer.strides, layer.padding.upper(), name=f"{scope}/Conv2D")
    parts = {part: tf.constant(arrays[f"{layer.name}.{key}"], name=f"{scope}/batchnorm/{part}")
             for part, key in (("moving_mean", "mean"), ("moving_variance", "var"), ("beta", "beta"))}
    # A scale the graph does not apply (scale_after_normalization is false): a converter must ignore it.
    gamma = tf.constant(rng.uniform(0.5, 2.0, kernel.shape[-1]).astype(np.float32), name=f"{scope}/batchnorm/gamma")
    norm = tf.identity(conv, name=f"{scope}/batchnorm")  # made a BatchNormWithGlobalNormalization below
    batch_norms[norm.op.name] = [conv.op.name, *(parts[p].op.name for p in ("moving_mean", "moving_variance", "beta")),
                                 gamma.op.name]
    return tf.nn.relu(norm, name=scope)


def _graph_layer(layer, inputs, arrays, rng, batch_norms):
    name = layer.name.replace(".", "/")
    if isinstance(layer, keras.layers.Conv2D):
        return _graph_convolution(inputs[0], layer, arrays, rng, batch_norms)
    if isinstance(layer, keras.layers.Concatenate):
        return tf.concat(inputs, 3, name=f"{name}/join")
    if isinstance(layer, keras.layers.GlobalAveragePooling2D):
        return tf.nn.avg_pool2d(inputs[0], inputs[0].shape[1], 1, "VALID", name="pool_3")  # [1, 1, 1, 2048]
    pool = tf.nn.max_pool2d if isinstance(layer, keras.layers.MaxPooling2D) else tf.nn.avg_pool2d
    return pool(inputs[0], layer.pool_size, layer.strides, layer.padding.upper(), name=name)


def write_inception_graph(path, arrays, classifier_weights, classifier_biases):
    """A frozen GraphDef built like `classify_image_graph_def.pb`, of the whole network with `arrays`' weights.

    `arrays` is an archive's content (`NAME.weight`, `.beta`, `.mean`,
    `.var`); the layout is the Keras port's, walked layer by layer. As in
    the original: each convolution SCOPE (`graph_scope`) has its kernel in
    the constant `SCOPE/conv2d_params` `(kh, kw, in, out)` and its batch norm
    as a `BatchNormWithGlobalNormalization` op `SCOPE/batchnorm` (epsilon
    0.001, no scale, with an unused random gamma) on constants
    `SCOPE/batchnorm/{moving_mean, moving_variance, beta, gamma}`; the
    blocks end in `BLOCK/join`; the input and the classifier
    (`classifier_weights` `[2048, 1008]`, `classifier_biases`) are those of
    `write_tiny_inception_graph`; the GraphDef's producer version is 8,
    older than the removal of that batch norm op (version 9).
    """
    network = inception_feature_network()
    rng = np.random.default_rng(8)
    batch_norms = {}
    graph = tf.Graph()
    with graph.as_default():
        tensors = {network.layers[0].name: _graph_input()}
        for layer in network.layers[1:]:
            inputs = [tensors[t._keras_history.operation.name] for t in layer._inbound_nodes[0].input_tensors]
            tensors[layer.name] = _graph_layer(layer, inputs, arrays, rng, batch_norms)
        _graph_classifier(tensors["pool_3"], classifier_weights, classifier_biases)
    graph_def = graph.as_graph_def()
    for node in graph_def.node:
        if node.name in batch_norms:
            node.op = "BatchNormWithGlobalNormalization"
            node.input[:] = batch_norms[node.name]
            node.attr["variance_epsilon"].f = 0.001
            node.attr["scale_after_normalization"].b = False
    graph_def.versions.producer = 8
    pathlib.Path(path).write_bytes(graph_def.SerializeToString())
    return path


class _TinyHubModule(tf.Module):
    def __init__(self):
        super().__init__()
        kernel, weights, _ = tiny_parameters()
        self.kernel = tf.Variable(kernel)
        self.weights = tf.Variable(weights)

    @tf.function(input_signature=[tf.TensorSpec([None, 299, 299, 3], tf.float32)])
    def __call__(self, images):
        features = tf.reduce_mean(tf.nn.relu(tf.einsum("nhwc,cd->nhwd", images, self.kernel)), axis=[1, 2])
        return {"pool_3": features[:, None, None, :], "logits": features @ self.weights, "other": images[:, :1, 0, 0]}


def write_tiny_hub_module(folder):
    """A SavedModel called like TF-GAN's hub module: images -> {'pool_3', 'logits', ...}."""
    tf.saved_model.save(_TinyHubModule(), str(folder))
    return folder


def numpy_tiny_network(images):
    """Features and logits (pool_3 times softmax/weights, no bias) of the tiny networks, in NumPy."""
    from tests.metrics.test_inception import _numpy_preprocess

    kernel, weights, _ = tiny_parameters()
    x = _numpy_preprocess(images)
    features = np.maximum(x @ kernel.astype(np.float64), 0).mean(axis=(1, 2))
    return features, features @ weights.astype(np.float64)
