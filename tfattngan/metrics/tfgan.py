"""tensorflow-gan's evaluation mathematics, loaded without the package's `__init__`.

`import tensorflow_gan` fails on TensorFlow >= 2.16: the package `__init__`
imports its estimator and training code, which subclass the removed
`tf.estimator.SessionRunHook` (upstream issue tensorflow/gan#55). The
evaluation module `tensorflow_gan.python.eval.classifier_metrics` itself
needs only TensorFlow, tensorflow-probability (which needs tf-keras) and its
sibling `eval_utils`, and works. This is the one place that loads it:
`tensorflow_gan`, `tensorflow_gan.python` and `tensorflow_gan.python.eval`
are registered in `sys.modules` as plain modules whose `__path__` is the
installed package folder, so importing the submodule finds its files
without running any package `__init__`. Where the real package was
already imported (an older TensorFlow on which it works), it is used as is.

Consequence: after `classifier_metrics()` has run, `import tensorflow_gan`
in the same process gives the plain, empty package module, not the real one.
"""

import importlib
import importlib.util
import pathlib
import sys
import types

from tfattngan.errors import UserInputError

MODULE = "tensorflow_gan.python.eval.classifier_metrics"
_PARENTS = ("tensorflow_gan", "tensorflow_gan.python", "tensorflow_gan.python.eval")


def _register_parents():
    """Puts the three parent packages in `sys.modules` as plain modules."""
    spec = importlib.util.find_spec(_PARENTS[0])  # finds the folder, runs nothing
    if spec is None or not spec.submodule_search_locations:
        raise UserInputError(
            "tensorflow-gan is not installed; FID, KID and IS use its classifier_metrics: "
            "pip install 'tensorflow-gan>=2.1' tensorflow-probability tf-keras"
        )
    folder = pathlib.Path(list(spec.submodule_search_locations)[0])
    parent = None
    for name in _PARENTS:
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [str(folder.joinpath(*name.split(".")[1:]))]
            module.__package__ = name
            sys.modules[name] = module
            if parent is not None:
                setattr(parent, name.rsplit(".", 1)[1], module)
        parent = sys.modules[name]


def classifier_metrics():
    """The module `tensorflow_gan.python.eval.classifier_metrics`.

    Loaded once per process, without running `tensorflow_gan/__init__.py`
    (see the module docstring for why and how).

    Returns:
        The module, with `frechet_classifier_distance_from_activations`,
        `kernel_classifier_distance_and_std_from_activations`,
        `classifier_score_from_logits`, `trace_sqrt_product` and the rest of
        its functions.

    Raises:
        UserInputError: tensorflow-gan is not installed.

    Example:

    >>> import numpy as np
    >>> metrics = classifier_metrics()
    >>> x = np.random.default_rng(0).normal(size=(50, 4))
    >>> abs(float(metrics.frechet_classifier_distance_from_activations(x, x))) < 1e-9
    True
    """
    if MODULE not in sys.modules:
        _register_parents()
    return importlib.import_module(MODULE)
