"""The TF-Hub Inception module TF-GAN uses, as a feature extractor (optional `hub` extra).

`https://tfhub.dev/tensorflow/tfgan/eval/inception/1` takes `[N, 299, 299, 3]`
images in `[-1, 1]` and returns a dict whose `pool_3` holds the 2048 FID
features and `logits` the 1008 classifier logits (TF-GAN's
`classifier_fn_from_tfhub` reads the same two fields). It is loaded with
`tensorflow_hub.load`, from the handle (downloaded once into
`$TFHUB_CACHE_DIR`, so a network connection is needed the first time) or
from a folder holding the downloaded module.
"""

import pathlib

import tensorflow as tf

from tfattngan.errors import UserInputError
from tfattngan.metrics.extractor import InceptionExtractor
from tfattngan.metrics.extractor import folder_sha256
from tfattngan.metrics.extractor import text_sha256
from tfattngan.metrics.inception.preprocessing import preprocess_batch

TFGAN_INCEPTION = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"
OUTPUTS = ("pool_3", "logits")


def _flat(tensor):
    return tf.reshape(tensor, [tf.shape(tensor)[0], -1])


def hub_extractor(handle=TFGAN_INCEPTION):
    """An `InceptionExtractor` of a TF-Hub Inception module (features and logits).

    Args:
        handle: str, a TF-Hub URL or a local module folder. Defaults to
            TF-GAN's `https://tfhub.dev/tensorflow/tfgan/eval/inception/1`.

    Returns:
        An `InceptionExtractor` of kind `"tf-hub"`; its checksum is the
        SHA-256 of the folder's files for a local module, else of the
        handle (a TF-Hub handle names one immutable version).

    Raises:
        UserInputError: tensorflow-hub is not installed, or the module
            cannot be loaded (offline, wrong handle, not a module).

    Example:

    >>> import tempfile
    >>> try:
    ...     hub_extractor(tempfile.mkdtemp())  # an empty folder is no module
    ... except UserInputError as error:
    ...     print(str(error).split(" '")[0])
    cannot load the TF-Hub Inception module
    """
    try:
        import tensorflow_hub
    except ImportError:
        raise UserInputError(
            "the TF-Hub Inception module needs tensorflow-hub: pip install 'tfattngan[hub]' "
            "(or give the .npz weights or classify_image_graph_def.pb)"
        ) from None
    try:
        module = tensorflow_hub.load(handle)
    except Exception as error:  # offline (URLError), a bad handle or folder: all mean "cannot load"
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise UserInputError(
            f"cannot load the TF-Hub Inception module {handle!r} ({reason}); it needs a network connection "
            "the first time (then it is cached in $TFHUB_CACHE_DIR), or give the folder of a downloaded "
            "module, the .npz weights or classify_image_graph_def.pb"
        ) from None

    @tf.function
    def run(images):
        outputs = module(preprocess_batch(images))
        missing = [name for name in OUTPUTS if name not in outputs]
        if missing:
            raise UserInputError(f"the TF-Hub module {handle!r} gives no {missing}; give TF-GAN's Inception module")
        return _flat(outputs["pool_3"]), _flat(outputs["logits"])

    folder = pathlib.Path(handle).expanduser()
    return InceptionExtractor(
        run, kind="tf-hub", source=str(handle), has_logits=True, network=module,
        checksum=(lambda: folder_sha256(folder)) if folder.is_dir() else (lambda: text_sha256(handle)),
    )

