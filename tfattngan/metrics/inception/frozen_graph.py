"""The original frozen Inception graph `classify_image_graph_def.pb` as a feature extractor.

The graph (in `inception-2015-12-05.tgz`, which the original FID and
Inception Score code download) decodes one JPEG, resizes it and scales it
to `Mul:0` `[1, 299, 299, 3]` in `[-1, 1]`; `pool_3:0` `[1, 1, 1, 2048]`
is the FID feature, and `softmax/logits/MatMul` multiplies pool_3,
reshaped to a hard-coded `[1, 2048]`, by the 2048 x 1008 classifier
weights. The graph is loaded with `tf.compat.v1.GraphDef` and imported
inside `tf.compat.v1.wrap_function` with `Mul:0` replaced by a
`[None, 299, 299, 3]` input, so shapes are inferred afresh for any batch,
and then pruned to that input, which leaves the JPEG decoding out. Our
own preprocessing (`preprocess_images`) feeds that input, the same as for
the other networks. The logits are computed as the original Inception
Score code does: pool_3 `[N, 2048]` times the weights of
`softmax/logits/MatMul` (its hard-coded batch of 1 is thereby avoided; like
that code, no bias is added).

The graph's batch norms are `BatchNormWithGlobalNormalization` ops, which
TensorFlow removed in GraphDef version 9: a graph of that age still
imports, but no function made from it runs ("Op
BatchNormWithGlobalNormalization is not available in GraphDef version
...", the 2474 of TF 2.21). They are therefore rewritten, before import,
into the equivalent `FusedBatchNormV3` in inference mode.
"""

import pathlib

import tensorflow as tf
from google.protobuf.message import DecodeError

from tfattngan.errors import UserInputError
from tfattngan.metrics.extractor import InceptionExtractor
from tfattngan.metrics.extractor import file_sha256
from tfattngan.metrics.inception.network import INPUT_SIZE
from tfattngan.metrics.inception.preprocessing import preprocess_batch

INPUT = "Mul:0"
POOL = "pool_3:0"
LOGITS_MATMUL = "softmax/logits/MatMul"
_HOW_TO_GET = (
    "give classify_image_graph_def.pb from "
    "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
)


def read_graph_def(path):
    """The `tf.compat.v1.GraphDef` in a binary `.pb` file, or a `UserInputError`.

    Example:

    >>> try:
    ...     read_graph_def("no/such/classify_image_graph_def.pb")
    ... except UserInputError as error:
    ...     print(str(error).split(";")[0])
    no frozen Inception graph at 'no/such/classify_image_graph_def.pb'
    """
    path = pathlib.Path(path).expanduser()
    if not path.is_file():
        raise UserInputError(f"no frozen Inception graph at '{path}'; {_HOW_TO_GET}")
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(path.read_bytes())
    except DecodeError as error:
        raise UserInputError(f"{path} is not a binary GraphDef ({error}); {_HOW_TO_GET}") from None
    return graph_def


DEPRECATED_BATCH_NORM = "BatchNormWithGlobalNormalization"


def without_deprecated_batch_norm(graph_def):
    """A copy of `graph_def` whose `BatchNormWithGlobalNormalization` nodes are `FusedBatchNormV3` ones.

    Each node `NAME` with inputs `(t, mean, variance, beta, gamma)` becomes a
    `FusedBatchNormV3` of the same name in inference mode with the same
    epsilon, scale `gamma` if `scale_after_normalization` else ones
    (`NAME/unit_scale`, `OnesLike(beta)`), and offset `beta`: the same
    `(t - mean) / sqrt(variance + epsilon) * scale + beta`, in an op that
    today's TensorFlow runs. Other nodes are copied unchanged.

    Example:

    >>> graph_def = tf.compat.v1.GraphDef()
    >>> node = graph_def.node.add(name="conv/batchnorm", op=DEPRECATED_BATCH_NORM,
    ...                           input=["conv/Conv2D", "m", "v", "beta", "gamma"])
    >>> node.attr["variance_epsilon"].f, node.attr["scale_after_normalization"].b = 0.001, False
    >>> ones, fused = without_deprecated_batch_norm(graph_def).node
    >>> ones.name, ones.op, list(ones.input)
    ('conv/batchnorm/unit_scale', 'OnesLike', ['beta'])
    >>> fused.name, fused.op, list(fused.input), fused.attr["is_training"].b
    ('conv/batchnorm', 'FusedBatchNormV3', ['conv/Conv2D', 'conv/batchnorm/unit_scale', 'beta', 'm', 'v'], False)
    """
    rewritten = tf.compat.v1.GraphDef()
    rewritten.versions.CopyFrom(graph_def.versions)
    rewritten.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        if node.op != DEPRECATED_BATCH_NORM:
            rewritten.node.add().CopyFrom(node)
            continue
        t, mean, variance, beta, gamma = node.input
        dtype = node.attr["T"]
        scale = gamma
        if not node.attr["scale_after_normalization"].b:
            scale = f"{node.name}/unit_scale"
            ones = rewritten.node.add(name=scale, op="OnesLike", input=[beta], device=node.device)
            ones.attr["T"].CopyFrom(dtype)
        fused = rewritten.node.add(
            name=node.name, op="FusedBatchNormV3", input=[t, scale, beta, mean, variance], device=node.device
        )
        fused.attr["T"].CopyFrom(dtype)
        fused.attr["U"].CopyFrom(dtype)
        fused.attr["epsilon"].f = node.attr["variance_epsilon"].f
        fused.attr["is_training"].b = False
    return rewritten


def _graph_function(graph_def):
    """A concrete function `[N, 299, 299, 3]` float32 -> `(pool_3 [N, D], logits [N, L])`.

    Args:
        graph_def: a `tf.compat.v1.GraphDef` with the tensors `Mul:0` and
            `pool_3:0` and the op `softmax/logits/MatMul`.

    Returns:
        A pruned `tf.compat.v1.wrap_function` result.

    Raises:
        UserInputError: the graph lacks one of those names.
    """
    outputs = {}

    def import_graph():
        images = tf.compat.v1.placeholder(tf.float32, [None, INPUT_SIZE, INPUT_SIZE, 3], name="fid_images")
        pool, matmul = tf.compat.v1.import_graph_def(
            without_deprecated_batch_norm(graph_def), input_map={INPUT: images},
            return_elements=[POOL, LOGITS_MATMUL], name="inception",
        )
        features = tf.reshape(pool, [-1, pool.shape[-1]])
        outputs.update(images=images, features=features, logits=tf.matmul(features, matmul.inputs[1]))

    try:
        wrapped = tf.compat.v1.wrap_function(import_graph, [])
    except ValueError as error:
        raise UserInputError(
            f"the graph is not the Inception graph: it needs {INPUT}, {POOL} and {LOGITS_MATMUL} "
            f"({str(error).splitlines()[0]}); {_HOW_TO_GET}"
        ) from None
    return wrapped.prune(feeds=outputs["images"], fetches=(outputs["features"], outputs["logits"]))


def frozen_graph_extractor(path):
    """An `InceptionExtractor` of the frozen graph at `path` (features and logits).

    Args:
        path: path-like to `classify_image_graph_def.pb`.

    Returns:
        An `InceptionExtractor` of kind `"frozen-graph"`, checksum the
        file's SHA-256.

    Raises:
        UserInputError: the file is missing, not a GraphDef, or lacks the
            Inception tensors.

    Example:

    >>> import tempfile, numpy as np
    >>> graph = tf.Graph()
    >>> with graph.as_default():
    ...     x = tf.compat.v1.placeholder(tf.float32, [1, 299, 299, 3])
    ...     scaled = tf.multiply(x, 1.0, name="Mul")
    ...     pool = tf.reduce_mean(scaled, axis=[1, 2], keepdims=True, name="pool_3")
    ...     weights = tf.constant(np.eye(3, 4, dtype="float32"), name="softmax/weights")
    ...     logits = tf.matmul(tf.reshape(pool, [1, 3]), weights, name="softmax/logits/MatMul")
    >>> path = tempfile.mkdtemp() + "/tiny_graph_def.pb"
    >>> _ = open(path, "wb").write(graph.as_graph_def().SerializeToString())
    >>> features, logits = frozen_graph_extractor(path)(np.full((2, 8, 8, 3), 255, "uint8"))
    >>> features.shape, logits.shape
    ((2, 3), (2, 4))
    """
    function = _graph_function(read_graph_def(path))

    @tf.function
    def run(images):
        return function(preprocess_batch(images))

    return InceptionExtractor(
        run, kind="frozen-graph", source=str(path), checksum=lambda: file_sha256(path), has_logits=True,
        network=function,
    )
