"""The TF Serving model directory: `BASE/1/`, `BASE/2/`, ... one SavedModel per version.

TF Serving watches `BASE` and serves the highest numeric version; any other
entry (such as a hidden temporary directory) is ignored.
"""

import pathlib

from tfattngan.errors import UserInputError


def existing_versions(base):
    """The numeric version directories under `base`, sorted.

    Example:

    >>> import tempfile
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("1", "12", "notes", ".3.tmp-x"):
    ...     (base / name).mkdir()
    >>> existing_versions(base)
    [1, 12]
    """
    base = pathlib.Path(base)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())


def version_path(base, version=None):
    """`base/VERSION`: the given version, or one above the highest existing one (or 1).

    Raises:
        UserInputError: `base` is a file, the version is not a positive
            integer, or that version exists already.

    Example:

    >>> import tempfile
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> version_path(base).name
    '1'
    >>> (base / "4").mkdir()
    >>> version_path(base).name, version_path(base, 2).name
    ('5', '2')
    """
    base = pathlib.Path(base)
    if base.exists() and not base.is_dir():
        raise UserInputError(f"{base} is a file; --out must be a model directory (TF Serving's models/NAME).")
    versions = existing_versions(base)
    if version is None:
        version = (versions[-1] + 1) if versions else 1
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UserInputError(f"version must be a positive integer, got {version!r}.")
    path = base / str(version)
    if path.exists():
        raise UserInputError(
            f"version {version} exists already at {path} and is never overwritten; leave out --version to "
            f"write version {(versions[-1] + 1) if versions else 1}."
        )
    return path
