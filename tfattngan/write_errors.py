"""Failed writes (a full disk, a read-only folder, a file-size limit) as one clear error.

Python reports them as `OSError`s with an errno; TensorFlow's file system
reports the same kernel errors as `tf.errors.OpError`s whose message holds
the system's text ("No space left on device"). `write_failure_reason`
recognises both; `reported_write_failures` turns them into a
`WriteFailedError` saying what could not be written and what is kept.
"""

import contextlib
import errno
import os
import signal
import threading

from tfattngan.errors import UserInputError

WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES, errno.EPERM)


class WriteFailedError(UserInputError):
    """A file or folder could not be written; what was written before is intact.

    Example:

    >>> str(WriteFailedError("could not write x: no space left on device; nothing else was changed"))
    'could not write x: no space left on device; nothing else was changed'
    """


def write_failure_reason(error):
    """The system's words for a failed write (`'No space left on device'`), or None for any other error.

    Example:

    >>> write_failure_reason(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    'No space left on device'
    >>> write_failure_reason(ValueError("no")) is None
    True
    """
    if isinstance(error, OSError) and error.errno in WRITE_ERRNOS:
        return os.strerror(error.errno)
    if isinstance(error, OSError) or type(error).__module__.startswith("tensorflow"):
        text = str(error)
        for number in WRITE_ERRNOS:
            if os.strerror(number) in text:
                return os.strerror(number)
    return None


@contextlib.contextmanager
def reported_write_failures(what, kept):
    """Turns a failed write inside the block into one `WriteFailedError` naming `what` and `kept`.

    Any other error passes through unchanged.

    Args:
        what: what the block writes ("checkpoint runs/x/checkpoints/ckpt-3").
        kept: what stays intact ("the previous checkpoint ckpt-2 is kept").

    Example:

    >>> with reported_write_failures("notes.txt", "nothing else was changed"):
    ...     raise OSError(errno.EROFS, os.strerror(errno.EROFS), "notes.txt")
    Traceback (most recent call last):
    ...
    tfattngan.write_errors.WriteFailedError: could not write notes.txt (Read-only file system); nothing else was changed; free space or choose a writable place and run again.
    """
    try:
        yield
    except WriteFailedError:
        raise
    except Exception as error:
        reason = write_failure_reason(error)
        if reason is None:
            raise
        raise WriteFailedError(
            f"could not write {what} ({reason}); {kept}; free space or choose a writable place and run again."
        ) from None


def report_file_size_limits():
    """Makes a write past the shell's file-size limit (`ulimit -f`) an error instead of a kill by SIGXFSZ.

    Called by the command-line tools at start; a no-op outside the main
    thread.

    Example:

    >>> report_file_size_limits()
    """
    if hasattr(signal, "SIGXFSZ") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
