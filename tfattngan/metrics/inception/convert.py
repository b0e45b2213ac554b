"""`classify_image_graph_def.pb` to the `.npz` weights: `python -m tfattngan.metrics.inception.convert`.

The original frozen graph (in `inception-2015-12-05.tgz`) holds each
convolution `SCOPE` of the network as the constant `SCOPE/conv2d_params`
`(kh, kw, in, out)`, followed by the batch norm `SCOPE/batchnorm` (epsilon
0.001, no scale) with the constants `SCOPE/batchnorm/beta`,
`SCOPE/batchnorm/moving_mean` and `SCOPE/batchnorm/moving_variance`; its
classifier multiplies pool_3 by `softmax/weights` `(2048, 1008)` (the second
input of `softmax/logits/MatMul`) and adds `softmax/biases`. The converter
reads these constants (the graph is never run) into the archive that
`inception_feature_model` loads: per convolution `NAME.weight` `(out, in,
kh, kw)`, `NAME.beta`, `NAME.mean`, `NAME.var`, keyed by the Keras layer
name (`graph_scope` gives its `SCOPE`), and `logits.weight` `(1008, 2048)`
with `logits.bias`, so that the Inception Score works from the archive too.
"""

import functools
import hashlib
import re
import sys
import zipfile

import keras
import numpy as np
import tensorflow as tf

from tfattngan.atomic_files import atomic_file
from tfattngan.cli import ArgumentParser
from tfattngan.cli import run_tool
from tfattngan.console import quiet_tensorflow_import
from tfattngan.errors import UserInputError
from tfattngan.metrics.inception.frozen_graph import read_graph_def
from tfattngan.metrics.inception.network import CLASSES
from tfattngan.metrics.inception.network import inception_feature_network
from tfattngan.write_errors import reported_write_failures

PROG = "python -m tfattngan.metrics.inception.convert"
BLOCKS_WITH_FLAT_NAMES = ("mixed_9", "mixed_10")  # their archive keys join the graph's scopes with "_"
CLASSIFIER_MATMUL, CLASSIFIER_BIASES = "softmax/logits/MatMul", "softmax/biases"
_NOT_INCEPTION = (
    "is not the Inception graph classify_image_graph_def.pb of "
    "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
)


def graph_scope(layer_name):
    """The original graph's scope of the convolution that the Keras port names `layer_name`.

    Example:

    >>> graph_scope("conv_4"), graph_scope("mixed_4.tower_1.conv_2")
    ('conv_4', 'mixed_4/tower_1/conv_2')
    >>> graph_scope("mixed_9.tower_1_mixed_conv_1"), graph_scope("mixed_10.tower_2_conv")
    ('mixed_9/tower_1/mixed/conv_1', 'mixed_10/tower_2/conv')
    """
    block, _, rest = layer_name.partition(".")
    if block not in BLOCKS_WITH_FLAT_NAMES:
        return layer_name.replace(".", "/")
    tower = re.fullmatch(r"(tower(?:_\d)?)_(mixed_)?(conv(?:_\d)?)", rest)
    if tower is None:
        return f"{block}/{rest}"
    parts = [tower[1], "mixed"] if tower[2] else [tower[1]]
    return "/".join([block, *parts, tower[3]])


class _Constants:
    """The `Const` nodes of a GraphDef as float32 arrays, by node name."""

    def __init__(self, graph_def, source):
        self.nodes = {node.name: node for node in graph_def.node}
        self.source = source

    def node(self, name):
        if name not in self.nodes:
            raise UserInputError(f"{self.source} {_NOT_INCEPTION}: it has no node {name!r}")
        return self.nodes[name]

    def array(self, name):
        node = self.node(name.split(":")[0])
        if node.op != "Const":
            raise UserInputError(f"{self.source} {_NOT_INCEPTION}: {node.name!r} is a {node.op}, not a constant")
        return tf.make_ndarray(node.attr["value"].tensor).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _convolution_shapes():
    """`(layer name, kernel shape)` of every convolution of the Keras port, in its order (built once)."""
    layers = inception_feature_network().layers
    return tuple((layer.name, tuple(layer.kernel.shape)) for layer in layers if isinstance(layer, keras.layers.Conv2D))


def _convolution_arrays(constants, name, kernel_shape):
    scope = graph_scope(name)
    kernel = constants.array(f"{scope}/conv2d_params")
    if kernel.shape != tuple(kernel_shape):
        raise UserInputError(
            f"{constants.source} {_NOT_INCEPTION}: {scope}/conv2d_params has shape {kernel.shape}, "
            f"expected {tuple(kernel_shape)}"
        )
    norm = constants.node(f"{scope}/batchnorm")
    epsilon, scaled = norm.attr["variance_epsilon"].f, norm.attr["scale_after_normalization"].b
    if scaled or not np.isclose(epsilon, 0.001):
        raise UserInputError(
            f"{constants.source} {_NOT_INCEPTION}: {norm.name} has variance_epsilon {epsilon:g} and "
            f"scale_after_normalization {scaled}, expected 0.001 and False"
        )
    return {
        f"{name}.weight": kernel.transpose(3, 2, 0, 1),  # (kh, kw, in, out) -> (out, in, kh, kw)
        f"{name}.beta": constants.array(f"{scope}/batchnorm/beta"),
        f"{name}.mean": constants.array(f"{scope}/batchnorm/moving_mean"),
        f"{name}.var": constants.array(f"{scope}/batchnorm/moving_variance"),
    }


def inception_arrays(graph_def, source="the graph"):
    """The archive's arrays (see the module docstring) read out of the original graph's constants.

    Args:
        graph_def: the `tf.compat.v1.GraphDef` of `classify_image_graph_def.pb`.
        source: str naming the graph in errors. Defaults to `"the graph"`.

    Returns:
        A dict of float32 arrays: four per convolution of
        `inception_feature_network()`, then `logits.weight` and `logits.bias`.

    Raises:
        UserInputError: a constant is missing or has another shape, or a
            batch norm is not the graph's (epsilon 0.001, no scale).

    Example:

    >>> try:
    ...     inception_arrays(tf.compat.v1.GraphDef(), "empty.pb")
    ... except UserInputError as error:
    ...     print(str(error).split(": ")[-1])
    it has no node 'conv/conv2d_params'
    """
    constants = _Constants(graph_def, source)
    arrays = {}
    for name, kernel_shape in _convolution_shapes():
        arrays.update(_convolution_arrays(constants, name, kernel_shape))
    weights = constants.array(constants.node(CLASSIFIER_MATMUL).input[1])
    biases = constants.array(CLASSIFIER_BIASES)
    if weights.shape != (2048, CLASSES) or biases.shape != (CLASSES,):
        raise UserInputError(
            f"{source} {_NOT_INCEPTION}: its classifier is {weights.shape} + {biases.shape}, "
            f"expected (2048, {CLASSES}) + ({CLASSES},)"
        )
    arrays["logits.weight"], arrays["logits.bias"] = weights.T, biases
    return arrays


def write_archive(path, arrays):
    """`np.savez(path, **arrays)` with fixed member times, so that the same arrays give the same bytes.

    (`np.savez` stamps each member with the current time, which would make
    every conversion's SHA-256, the weights' identity in metrics.json and in
    the feature cache, differ.)

    Example:

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("a.npz", "b.npz"):
    ...     write_archive(folder / name, {"conv.beta": np.arange(3, dtype="float32")})
    >>> (folder / "a.npz").read_bytes() == (folder / "b.npz").read_bytes(), np.load(folder / "a.npz")["conv.beta"]
    (True, array([0., 1., 2.], dtype=float32))
    """
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            member = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(member, "w", force_zip64=True) as file:
                np.lib.format.write_array(file, np.ascontiguousarray(array), allow_pickle=False)


def convert_frozen_graph(graph_path, out_path):
    """Writes the `.npz` weights archive of `classify_image_graph_def.pb` to `out_path`, atomically.

    Args:
        graph_path: path-like to `classify_image_graph_def.pb`.
        out_path: path-like of the archive to write (replaced if it exists).

    Returns:
        A dict: `path`, `bytes`, `sha256` and `arrays` (their number). The
        same graph always gives the same bytes (see `write_archive`).

    Raises:
        UserInputError: the graph is missing or not the Inception graph, or
            the archive cannot be written (`WriteFailedError`; nothing is
            left at `out_path` then, an older file there is kept).

    Example:

    >>> try:
    ...     convert_frozen_graph("no/such/classify_image_graph_def.pb", "weights.npz")
    ... except UserInputError as error:
    ...     print(str(error).split(";")[0])
    no frozen Inception graph at 'no/such/classify_image_graph_def.pb'
    """
    arrays = inception_arrays(read_graph_def(graph_path), source=str(graph_path))
    with reported_write_failures(f"the Inception weights {out_path}", f"nothing at {out_path} was changed"):
        with atomic_file(out_path) as scratch:
            write_archive(scratch, arrays)
            content = scratch.read_bytes()
    return {"path": str(out_path), "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest(),
            "arrays": len(arrays)}


def build_parser():
    """The converter's arguments.

    Example:

    >>> build_parser().parse_args(["classify_image_graph_def.pb", "--out", "weights.npz"]).out
    'weights.npz'
    """
    parser = ArgumentParser(
        prog=PROG,
        description="Convert the original frozen Inception graph classify_image_graph_def.pb (in "
        "inception-2015-12-05.tgz) to the .npz weights of the Keras port, with its classifier logits "
        "(FID, KID and IS).",
    )
    parser.add_argument("graph", help="classify_image_graph_def.pb")
    parser.add_argument("--out", required=True, help="the .npz archive to write, e.g. fid_inception_v3_weights.npz")
    return parser


def _convert(args):
    result = convert_frozen_graph(args.graph, args.out)
    return result, (f"Wrote {result['path']} ({result['arrays']} arrays, {result['bytes'] / 2**20:.1f} MiB, "
                    f"sha256 {result['sha256']}): FID, KID and IS")


def main(argv=None):
    """`python -m tfattngan.metrics.inception.convert classify_image_graph_def.pb --out weights.npz`.

    Example:

    >>> main(["no/such/classify_image_graph_def.pb", "--out", "weights.npz"])
    2
    """
    return run_tool(build_parser(), _convert, argv)


if __name__ == "__main__":
    with quiet_tensorflow_import():
        tf.config.list_physical_devices()  # probes the drivers, which is noisy
    sys.exit(main())
