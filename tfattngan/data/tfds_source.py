"""A tensorflow-datasets data set as a streamed `DataSource`.

`tfds.load` on a data set that is not prepared tries to download it and,
offline, retries for minutes before failing. Here an unprepared data set
is prepared only when the download server answers a quick request;
otherwise the error comes at once and says how to prepare it elsewhere.
tensorflow-datasets (and `importlib_resources`, which it needs) are imported
only when a `tfds:` source is loaded.
"""

import re
import threading
import urllib.error
import urllib.request

import tensorflow as tf

from tfattngan.data.source import DataSource
from tfattngan.errors import UserInputError

DOWNLOAD_URL = "https://storage.googleapis.com/"
SHUFFLE_BUFFER = 10000
# NAME[/CONFIG][:VERSION][:SPLIT]; a split may itself hold ":" ("train[:10%]").
_SPEC = re.compile(r"^(?P<name>[^:]+?(?::\d+\.\d+\.\d+)?)(?::(?P<split>.+))?$")
# NAME[/CONFIG][:VERSION] as tensorflow-datasets writes them (its naming._NAME_REG without namespaces and
# builder arguments); a config's dots only separate words, so no "." or ".." path part gets through.
_NAME = re.compile(r"^[A-Za-z]\w*(/[\w+-]+(\.[\w+-]+)*)?(:\d+\.\d+\.\d+)?$", re.ASCII)


def network_reachable(url=DOWNLOAD_URL, timeout=3.0):
    """Whether `url` answers an HTTP(S) request within `timeout` seconds.

    Any HTTP answer counts, even an error status; no answer, a failed name
    lookup or a failed TLS handshake (a proxy that cannot reach the server)
    does not. The request runs in a daemon thread, so nothing, not even a
    slow name lookup, makes the test take longer than `timeout`.

    Args:
        url: str. Defaults to the tensorflow-datasets download server,
            `"https://storage.googleapis.com/"`.
        timeout: float, seconds. Defaults to `3.0`.

    Returns:
        bool.

    Example:

    >>> network_reachable("http://localhost:1/", timeout=0.5)  # a closed port
    False
    """
    answered = []

    def request():
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
            answered.append(True)
        except urllib.error.HTTPError:
            answered.append(True)
        except (OSError, ValueError):
            pass

    thread = threading.Thread(target=request, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answered)


def parse_tfds_spec(spec):
    """Splits `"NAME[:SPLIT]"` into `(name, split)`; the split defaults to `"train"`.

    `NAME` may carry a config and a version, as in tensorflow-datasets
    (`"celeb_a"`, `"cifar10:3.0.2"`, `"mnist/config:1.0.0"`); a name that
    tensorflow-datasets would not accept (spaces, `..`, other characters)
    is refused here, before tensorflow-datasets is called.

    Example:

    >>> parse_tfds_spec("mnist"), parse_tfds_spec("cifar10:3.0.2:test[:10%]")
    (('mnist', 'train'), ('cifar10:3.0.2', 'test[:10%]'))
    >>> parse_tfds_spec("../mnist")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: bad tfds data set name '../mnist': ...
    """
    match = _SPEC.match(spec)
    if match is None:
        raise UserInputError(f"bad tfds data {spec!r}; write tfds:NAME or tfds:NAME:SPLIT, e.g. tfds:mnist:train.")
    if not _NAME.match(match["name"]):
        raise UserInputError(
            f"bad tfds data set name {match['name']!r}: write tfds:NAME[/CONFIG][:VERSION][:SPLIT] with a NAME of "
            "letters, digits and _ starting with a letter, e.g. tfds:mnist or tfds:celeb_a:train "
            "(names: https://www.tensorflow.org/datasets/catalog)."
        )
    return match["name"], match["split"] or "train"


def _import_tfds():
    try:
        import importlib_resources  # noqa: F401 - tensorflow-datasets needs it when it loads data
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise UserInputError(
            f"tfds: data needs tensorflow-datasets ({error}); "
            f"pip install tensorflow-datasets importlib_resources."
        ) from None
    return tfds


class _TfdsReader:
    """Streams the examples of one split of a prepared tfds builder.

    Args:
        builder: a prepared `tfds.core.DatasetBuilder`.
        split: str, the split, in tensorflow-datasets' split syntax.
        image_key: str, the top-level `Image` feature.
        label_key: str or `None`, the top-level `ClassLabel` feature.
        num_examples: int, the examples in the split.
    """

    def __init__(self, builder, split, image_key, label_key, num_examples):
        self.builder = builder
        self.split = split
        self.image_key = image_key
        self.label_key = label_key
        self.num_examples = num_examples

    def stream(self, seed, input_context, repeat):
        """Returns a shuffled `tf.data.Dataset` of example dicts.

        Files and examples are shuffled with `seed` (encoded images go
        through a buffer of `SHUFFLE_BUFFER`, decoded after it), each epoch
        anew; with an `input_context` every input pipeline takes its own
        shard of the examples.

        Args:
            seed: int, the shuffle seed.
            input_context: `tf.distribute.InputContext` or `None`.
            repeat: bool, repeat for ever rather than one epoch.

        Returns:
            A `tf.data.Dataset` of `{"image": uint8 [H, W, C], "label": ...}`.
        """
        tfds = _import_tfds()
        data = self.builder.as_dataset(
            split=self.split,
            shuffle_files=True,
            decoders={self.image_key: tfds.decode.SkipDecoding()},
            read_config=tfds.ReadConfig(shuffle_seed=seed),
        )
        if input_context is not None:
            data = data.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        data = data.shuffle(min(self.num_examples, SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
        if repeat:
            data = data.repeat()
        image_feature = self.builder.info.features[self.image_key]

        def decode(example):
            decoded = {"image": image_feature.decode_example(example[self.image_key])}
            if self.label_key is not None:
                decoded["label"] = example[self.label_key]
            return decoded

        return data.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _feature_key(features, kind, preferred):
    keys = [key for key, feature in features.items() if isinstance(feature, kind)]
    return preferred if preferred in keys else (keys[0] if keys else None)


def load_tfds(spec, data_dir=None):
    """Opens a tensorflow-datasets data set, preparing it only when online.

    Args:
        spec: str, `"NAME"` or `"NAME:SPLIT"` (see `parse_tfds_spec`).
        data_dir: str or `None`, the tensorflow-datasets data folder.
            Defaults to `None` (tensorflow-datasets' default,
            `~/tensorflow_datasets` or `$TFDS_DATA_DIR`).

    Returns:
        A streamed `DataSource` named `"tfds:NAME:SPLIT"`.

    Example:

    >>> load_tfds("no_such_data_set:train")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: no tensorflow-datasets data set named 'no_such_data_set'; see ...
    """
    name, split = parse_tfds_spec(spec)
    tfds = _import_tfds()
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise UserInputError(
            f"no tensorflow-datasets data set named {name!r}; see "
            f"https://www.tensorflow.org/datasets/catalog, or use idx:, npz: or folder: data."
        ) from None
    if not builder.is_prepared():
        if not network_reachable():
            root = data_dir or tfds.core.constants.DATA_DIR
            raise UserInputError(
                f"tfds data set {name!r} is not prepared in {root} and {DOWNLOAD_URL} cannot be "
                f"reached; on a connected machine run `tfds build {name} --data_dir {root}` and copy "
                f"{root} here, or use idx:, npz: or folder: data."
            )
        builder.download_and_prepare()
    features = builder.info.features
    image_key = _feature_key(features, tfds.features.Image, "image")
    if image_key is None:
        raise UserInputError(f"tfds data set {name!r} has no top-level Image feature; choose an image data set.")
    label_key = _feature_key(features, tfds.features.ClassLabel, "label")
    try:
        num_examples = builder.info.splits[split].num_examples
    except (KeyError, ValueError, AssertionError) as error:
        raise UserInputError(
            f"tfds data set {name!r} has no split {split!r} ({error}); "
            f"choose one of {sorted(builder.info.splits)}."
        ) from None
    if num_examples == 0:
        raise UserInputError(f"split {split!r} of tfds data set {name!r} is empty; choose another split.")
    shape = features[image_key].shape
    return DataSource(
        name=f"tfds:{name}:{split}",
        num_examples=num_examples,
        image_shape=None if None in shape else tuple(shape),
        num_classes=0 if label_key is None else features[label_key].num_classes,
        random_access=False,
        reader=_TfdsReader(builder, split, image_key, label_key, num_examples),
    )
