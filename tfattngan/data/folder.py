"""A folder of image files as a `DataSource`.

Every file under the folder is checked once at load with PIL: it must open,
pass `verify()`, be a format `tf.io.decode_image` reads (PNG, JPEG, GIF,
BMP, WebP) and load (JPEGs at 1/8 scale, which is enough to find
truncation). Files failing the check are skipped and counted, with one
warning naming the first few. Names starting with a dot (`.DS_Store`,
`.ipynb_checkpoints/`) are ignored. Files are kept in sorted order of
their relative paths, so indices are the same on every machine.

When more than one first-level subfolder holds images, the subfolder names,
sorted, are the classes (ids 0, 1, ...), and images directly in the folder
are skipped; otherwise the data are unlabelled.

Each file's size and modification time are kept, so that when a file
becomes unreadable later (truncated, rewritten or deleted while a run reads
the folder), `FolderReader.unreadable_files` finds it for the one-line error
of `tfattngan.data.read_errors`.
"""

import os
import pathlib
import re
import sys
import warnings

import numpy as np
import tensorflow as tf
from PIL import Image

from tfattngan.data.source import DataSource
from tfattngan.data.source import IndexedReader
from tfattngan.errors import UserInputError

DECODABLE_FORMATS = ("BMP", "GIF", "JPEG", "PNG", "WEBP")
PROGRESS_ABOVE = 2000
_NAMED_IN_WARNING = 3
_MODE_CHANNELS = {"1": 1, "L": 1, "I": 1, "I;16": 1, "LA": 2, "RGB": 3, "YCbCr": 3, "CMYK": 3, "RGBA": 4}


def inspect_image(path):
    """Checks one image file cheaply with PIL and returns its shape.

    Args:
        path: str or path of the file.

    Returns:
        `(height, width, channels)` as `tf.io.decode_image` will decode it;
        `channels` is `None` for a PIL mode without a known channel count.

    Raises:
        Exception: whatever PIL raises for an unreadable file, or
            `ValueError` for a format `tf.io.decode_image` cannot read.

    Example:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "grey.png"
    ...     Image.new("L", (5, 3)).save(path)
    ...     inspect_image(path)
    (3, 5, 1)
    """
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        if image.format not in DECODABLE_FORMATS:
            raise ValueError(f"{image.format} is not a format tf.io.decode_image reads")
        width, height = image.size
        if image.format == "GIF" or image.mode == "P":
            channels = 4 if image.format != "GIF" and "transparency" in image.info else 3
        else:
            channels = _MODE_CHANNELS.get(image.mode)
        image.draft(image.mode, (1, 1))
        image.load()
    return height, width, channels


def _progress(count, total, root):
    if total > PROGRESS_ABOVE and (count % 500 == 0 or count == total):
        sys.stderr.write(f"\rchecking images in {root}: {count}/{total}" + ("\n" if count == total else ""))
        sys.stderr.flush()


def _check_all(root, files):
    """`(good, skipped)`: `[(path, shape)]` and `[(path, reason)]`."""
    good, skipped = [], []
    for count, path in enumerate(files, 1):
        try:
            good.append((path, inspect_image(path)))
        except Exception as error:  # noqa: BLE001 - any failure means "skip this file"
            skipped.append((str(path), " ".join(str(error).split()) or type(error).__name__))
        _progress(count, len(files), root)
    return good, skipped


def _class_folder(root, file):
    """The first-level subfolder holding `file`, or `None` at the top."""
    parts = file.relative_to(root).parts
    return parts[0] if len(parts) > 1 else None


def decode_file(path):
    """Reads and decodes one image file (its first frame) into uint8 `[H, W, C]`.

    Example:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = str(pathlib.Path(folder) / "red.png")
    ...     Image.new("RGB", (2, 1), (255, 0, 0)).save(path)
    ...     decode_file(tf.constant(path)).numpy().tolist()
    [[[255, 0, 0], [255, 0, 0]]]
    """
    return tf.io.decode_image(tf.io.read_file(path), expand_animations=False)


def _stamp(path):
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def _decode_error(error):
    """The reason of a TensorFlow decode error, without its node and op annotations."""
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", error.message).strip().split("\n")[0]
    return re.sub(r"\s*\[Op:.*$", "", text).strip() or type(error).__name__


class FolderReader(IndexedReader):
    """Reads a folder's image files by index, and finds those that stopped reading since they were checked.

    Args:
        paths: NumPy array of str `[N]`, the files.
        labels: int32 NumPy array `[N]`, or `None` for unlabelled data.
        stamps: list of `(size, mtime_ns)` of each file when it was checked.

    Example:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = str(pathlib.Path(folder) / "a.png")
    ...     Image.new("RGB", (2, 2)).save(path)
    ...     reader = FolderReader(np.array([path]), None, [_stamp(path)])
    ...     before = reader.unreadable_files()
    ...     _ = pathlib.Path(path).write_bytes(b"no longer a PNG")
    ...     after = reader.unreadable_files()
    >>> before, [(pathlib.Path(path).name, reason.split(".")[0]) for path, reason in after]
    ([], [('a.png', 'Unknown image file format')])
    """

    def __init__(self, paths, labels, stamps):
        super().__init__(paths, labels, decode=decode_file)
        self.stamps = stamps

    def unreadable_files(self):
        """`[(path, reason)]` of the files that changed since they were checked and no longer decode.

        Only changed files (size or modification time) are decoded again, so
        this costs a `stat` per file.
        """
        found = []
        for path, stamp in zip(self.items, self.stamps):
            try:
                if _stamp(path) == stamp:
                    continue
                decode_file(tf.constant(path))
            except FileNotFoundError:
                found.append((str(path), "it was deleted"))
            except OSError as error:
                found.append((str(path), error.strerror or type(error).__name__))
            except tf.errors.OpError as error:
                found.append((str(path), _decode_error(error)))
        return found


def load_folder(path):
    """Loads a folder of images, with classes from its subfolders.

    Args:
        path: str or path of the folder; searched recursively.

    Returns:
        A random-access `DataSource` named `"folder:<absolute path>"`, with
        `image_shape` `None` when the images differ in size or channels and
        the files left out in `skipped_files`.

    Example:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     for name in ("cats/a.png", "cats/b.png", "dogs/c.png"):
    ...         (pathlib.Path(folder) / name).parent.mkdir(exist_ok=True)
    ...         Image.new("RGB", (4, 4)).save(pathlib.Path(folder) / name)
    ...     source = load_folder(folder)
    >>> source.num_examples, source.image_shape, source.num_classes
    (3, (4, 4, 3), 2)
    """
    root = pathlib.Path(path).expanduser().resolve()
    files = sorted(
        file
        for file in root.rglob("*")
        if file.is_file() and not any(part.startswith(".") for part in file.relative_to(root).parts)
    )
    good, skipped = _check_all(root, files)
    class_of = [_class_folder(root, file) for file, _ in good]
    class_names = sorted({name for name in class_of if name is not None})
    if len(class_names) > 1:
        skipped += [(str(file), "not in a class subfolder") for (file, _), name in zip(good, class_of) if name is None]
        good, class_of = zip(*[(item, name) for item, name in zip(good, class_of) if name is not None])
        class_ids = {name: i for i, name in enumerate(class_names)}
        labels = np.array([class_ids[name] for name in class_of], np.int32)
    else:
        labels = None
    if skipped:
        named = ", ".join(f"{file} ({reason})" for file, reason in skipped[:_NAMED_IN_WARNING])
        more = f" and {len(skipped) - _NAMED_IN_WARNING} more" if len(skipped) > _NAMED_IN_WARNING else ""
        warnings.warn(f"skipped {len(skipped)} of {len(files)} files in {root}: {named}{more}", stacklevel=3)
    if not good:
        raise UserInputError(
            f"no readable images (PNG, JPEG, GIF, BMP, WebP) in {root} ({len(files)} files, "
            f"{len(skipped)} skipped); point folder: at a folder of images."
        )
    shapes = {shape for _, shape in good}
    image_shape = shapes.pop() if len(shapes) == 1 else None
    return DataSource(
        name=f"folder:{root}",
        num_examples=len(good),
        image_shape=None if image_shape is None or None in image_shape else image_shape,
        num_classes=len(class_names) if labels is not None else 0,
        random_access=True,
        skipped_files=skipped,
        reader=FolderReader(np.array([str(file) for file, _ in good]), labels, [_stamp(file) for file, _ in good]),
    )
