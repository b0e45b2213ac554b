"""A data file that stops reading during a run: one `UserInputError` naming it, not a TensorFlow traceback.

`tf.data` decodes images inside the graph, so a file truncated, rewritten or
deleted after `load_source` checked it fails deep in an iterator with an
error that never names it (`Invalid PNG. Failed to initialize decoder.`).
`reported_read_failures(source)` catches TensorFlow errors and `OSError`s
around the code that reads `source` and, when the source's reader finds
files that no longer read (`FolderReader.unreadable_files`), raises one line
naming them; any other error passes unchanged.
"""

import contextlib

import tensorflow as tf

from tfattngan.errors import UserInputError

_NAMED = 3


@contextlib.contextmanager
def reported_read_failures(source):
    """Turns a TensorFlow error or `OSError` of unreadable files of `source` into one `UserInputError` naming them.

    Args:
        source: the `DataSource` read inside the block; only readers with
            `unreadable_files()` (folders) are checked.

    Raises:
        UserInputError: a TensorFlow error or `OSError` was raised and files
            of `source` no longer read; the one the error names comes first.

    Example:

    >>> import pathlib, tempfile
    >>> from PIL import Image
    >>> from tfattngan.data import load_source, make_dataset
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("a.png", "b.png"):
    ...     Image.new("RGB", (4, 4)).save(folder / name)
    >>> source = load_source(str(folder))
    >>> (folder / "b.png").unlink()  # after the folder was checked
    >>> try:
    ...     with reported_read_failures(source):
    ...         _ = list(make_dataset(source, image_size=4, channels=3, global_batch_size=2, seed=0, repeat=False))
    ... except UserInputError as error:
    ...     print(str(error).replace(str(folder), "FOLDER").split(";")[0])
    image file FOLDER/b.png can no longer be read (it was deleted)
    """
    try:
        yield
    except (tf.errors.OpError, OSError) as error:
        find = getattr(source.reader, "unreadable_files", None)
        found = find() if find is not None else []
        if not found:
            raise
        found.sort(key=lambda item: item[0] not in str(error))  # the file the error names, if any, first
        (path, reason), others = found[0], [other for other, _ in found[1:]]
        more = ""
        if others:
            more = f" (and {len(others)} more: {', '.join(others[:_NAMED])}{', ...' if len(others) > _NAMED else ''})"
        raise UserInputError(
            f"image file {path} can no longer be read ({reason}){more}; it changed after "
            f"{source.name} was checked. Restore it, or delete it (a folder is checked again when it is opened), "
            "and run again."
        ) from None
