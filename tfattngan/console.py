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
def quiet_tensorflow_import(log_level="3"):
    """Silences native stderr output while TensorFlow loads.

    Args:
        log_level: the `TF_CPP_MIN_LOG_LEVEL` to set when none is set
            (the command-line tools keep TensorFlow's C++ logs at errors
            and above), or `None` to leave it alone (the package's own
            import). Defaults to `"3"`.

    Example:

    >>> with quiet_tensorflow_import():
    ...     import tensorflow
    >>> tensorflow.__name__
    'tensorflow'
    """
    if log_level is not None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", log_level)
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
