"""Atomic writes: a directory or file appears complete under its name, or not at all.

Both helpers write into a hidden temporary sibling of the destination (same
directory, so the same file system) and rename it into place at the end. If
the writing fails, the temporary copy is removed and the destination is left
as it was. The temporary names are unique, and what is created gets the
usual permissions (the umask's), unlike `tempfile`'s private 0700/0600.
"""

import contextlib
import os
import pathlib
import shutil
import uuid

from tfattngan.errors import UserInputError


@contextlib.contextmanager
def atomic_directory(path):
    """Yields a temporary directory that becomes `path` when the block succeeds.

    `path` must not exist: a directory is never replaced. The temporary
    directory is a hidden sibling (`.NAME.tmp-XXXX`), which TF Serving does
    not take for a model version.

    Raises:
        UserInputError: `path` exists already (before or when renaming).

    Example:

    >>> import tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_directory(root / "1") as scratch:
    ...     _ = (scratch / "saved_model.pb").write_bytes(b"...")
    >>> sorted(p.name for p in root.iterdir()), (root / "1" / "saved_model.pb").exists()
    (['1'], True)
    """
    path = pathlib.Path(path)
    if path.exists():
        raise UserInputError(f"{path} exists already and is never overwritten; choose another name or version.")
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:12]}"
    scratch.mkdir()
    try:
        yield scratch
        try:
            # rename fails on an existing non-empty directory; the check above covers the rest.
            os.rename(scratch, path)
        except OSError:
            raise UserInputError(
                f"{path} appeared while it was being written (another export?); it was left as it is."
            ) from None
    finally:
        if scratch.exists():
            shutil.rmtree(scratch)


@contextlib.contextmanager
def atomic_file(path):
    """Yields a temporary file path to write; it replaces `path` when the block succeeds.

    The temporary name keeps the destination's suffix, so writers that pick
    a format by extension (PIL) still do.

    Example:

    >>> import tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "model.tflite"
    >>> with atomic_file(target) as scratch:
    ...     _ = scratch.write_bytes(b"TFL3")
    >>> target.read_bytes(), [p.name for p in target.parent.iterdir()]
    (b'TFL3', ['model.tflite'])
    """
    path = pathlib.Path(path)
    if path.is_dir():
        raise UserInputError(f"{path} is a directory; give a file name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.parent / f".tmp-{uuid.uuid4().hex[:12]}-{path.name}"
    try:
        yield scratch
        os.replace(scratch, path)
    finally:
        if scratch.exists():
            scratch.unlink()


def write_text_atomically(path, text):
    """Writes `text` to `path` through `atomic_file`.

    Example:

    >>> import tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "config.json"
    >>> write_text_atomically(target, "{}\\n")
    >>> target.read_text()
    '{}\\n'
    """
    with atomic_file(path) as scratch:
        scratch.write_text(text)
