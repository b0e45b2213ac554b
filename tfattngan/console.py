"""Quiet start-up for the command-line tools.

TensorFlow's C++ runtime prints several lines (oneDNN, CUDA drivers) while
it loads, before its logging settings are read, so `TF_CPP_MIN_LOG_LEVEL`
cannot hide them. The command-line tools load TensorFlow inside
`quiet_tensorflow_import()`, which sends file descriptor 2 to /dev/null for
that moment only; Python exceptions raised meanwhile still print, because
they are printed after the descriptor is restored.
"""

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_tensorflow_import():
    """Silences native stderr output while TensorFlow loads.

    Example:

    >>> with quiet_tensorflow_import():
    ...     import tensorflow
    >>> tensorflow.__name__
    'tensorflow'
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
