"""One writer per run directory: an exclusive lock that the kernel releases when its holder ends.

`RunLock` takes an `fcntl.flock` on `RUN/train.lock` and writes who holds
it (process id, host, command) into that file, so that a second writer can
say who is in the way. The kernel drops the lock when the holding process
ends in any way, SIGKILL included, so a stale file never blocks a run.
"""

import fcntl
import os
import pathlib
import shlex
import socket
import sys

from tfattngan.errors import UserInputError
from tfattngan.write_errors import reported_write_failures

LOCK_NAME = "train.lock"


def describe_this_process():
    """`process PID on HOST (COMMAND)`: what the lock file says about its holder.

    Example:

    >>> describe_this_process().startswith(f"process {os.getpid()} on ")
    True
    """
    command = shlex.join([os.path.basename(sys.executable), *sys.argv])
    if len(command) > 200:
        command = command[:197] + "..."
    return f"process {os.getpid()} on {socket.gethostname()} ({command})"


class RunLock:
    """An exclusive lock on a run directory, held while one process writes it.

    A context manager: entering takes the lock (creating the directory when
    it is missing), leaving releases it and empties the lock file.

    Args:
        run_dir: the run directory.

    Raises:
        UserInputError: on entering, when another process (or another
            `RunLock` of this one) holds the lock; the message names the
            directory and the holder.

    Example:

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with RunLock(folder):
    ...     with RunLock(folder):
    ...         pass  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: run directory ... is in use by process ...; wait for it to end (or stop it), or give another --out.
    >>> with RunLock(folder):  # released again
    ...     pass
    """

    def __init__(self, run_dir):
        self.run_dir = pathlib.Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._handle = None

    def __enter__(self):
        with reported_write_failures(f"the lock file {self.path}", "nothing was changed"):
            self.run_dir.mkdir(parents=True, exist_ok=True)
            handle = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644), "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = handle.read().strip() or "another process"
            handle.close()
            raise UserInputError(
                f"run directory {self.run_dir} is in use by {holder}; wait for it to end (or stop it), "
                "or give another --out."
            ) from None
        try:
            with reported_write_failures(f"the lock file {self.path}", "nothing was changed"):
                handle.truncate(0)
                handle.write(describe_this_process() + "\n")
                handle.flush()
        except BaseException:
            handle.close()
            raise
        self._handle = handle
        return self

    def __exit__(self, *exc_info):
        handle, self._handle = self._handle, None
        handle.truncate(0)
        handle.close()  # closing the last descriptor releases the lock
