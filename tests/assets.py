"""Where the tests' external assets lie, and what happens to a test whose asset is missing.

The data sets and Inception files are too large for the repository; the tests
read them from one folder, `$TFATTNGAN_TEST_ASSETS`, laid out as

    data/fashion-mnist/   the four Fashion-MNIST idx .gz files
    data/mnist/           t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz
    inception/            fid_inception_v3_weights.npz, reference_features.npz
    papers/               the papers' text (the studies' numbers are checked against it)

and, when the variable is unset, from `../shared` beside the repository.
A test that needs a missing asset (the `needs(...)` mark, or `require(...)`
in a fixture) is skipped with a reason naming the asset, the folder and how
to get it; with `TFATTNGAN_REQUIRE_TEST_ASSETS=1` (set by `.ci/run`) it fails
instead, so CI always runs it.

Example:

>>> needs(FASHION).name, needs(FASHION).args == (FASHION,)
('needs_assets', True)
"""

import os
import pathlib

import pytest

ROOT_ENV = "TFATTNGAN_TEST_ASSETS"
REQUIRE_ENV = "TFATTNGAN_REQUIRE_TEST_ASSETS"
DEFAULT_ROOT = pathlib.Path(__file__).resolve().parents[1].parent / "shared"
ROOT = pathlib.Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)

_ASSETS = {}  # path -> (what it is, the files it needs, how to get it)


def _asset(relative, what, how_to_get, files=()):
    path = ROOT / relative
    _ASSETS[path] = (what, tuple(files), how_to_get)
    return path


_IDX = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
_T10K = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
FASHION = _asset(
    "data/fashion-mnist", "the Fashion-MNIST idx files",
    "the four .gz files of https://github.com/zalandoresearch/fashion-mnist (folder data/fashion), "
    "or on Debian `apt-get install dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist)",
    files=_IDX + _T10K,
)
MNIST = _asset(
    "data/mnist", "the MNIST test-split idx files",
    "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz of MNIST (http://yann.lecun.com/exdb/mnist/), "
    "without the train files",
    files=_T10K,
)
INCEPTION_WEIGHTS = _asset(
    "inception/fid_inception_v3_weights.npz", "the FID Inception weights",
    "convert classify_image_graph_def.pb from inception-2015-12-05.tgz with "
    "`python -m tfattngan.metrics.inception.convert` (README, 'The Inception weights')",
)
REFERENCE_FEATURES = _asset(
    "inception/reference_features.npz", "the original Inception network's reference features",
    "it comes with the project's shared test assets (see their inception/README.md)",
)

PAPERS = _asset(
    "papers", "the papers' text files",
    "they come with the project's shared test assets (one .txt file per paper of docs/recipes.md)",
)


def _missing_reason(path):
    """Why the asset at `path` cannot be used, or `None` when it is there."""
    what, files, how_to_get = _ASSETS[path]
    absent = [path / name for name in files if not (path / name).is_file()] or ([] if path.exists() else [path])
    if not absent:
        return None
    return (
        f"needs {what}: no {absent[0]}; set {ROOT_ENV} to a folder holding {path.relative_to(ROOT)} "
        f"(default: ../shared beside the repository); to get it: {how_to_get}"
    )


def require(*paths):
    """Skips the running test (fails it when `$TFATTNGAN_REQUIRE_TEST_ASSETS` is set) unless every asset is there.

    Returns:
        The first path, for `model = load(require(INCEPTION_WEIGHTS))`.

    Example:

    >>> require(FASHION) == FASHION  # when the assets are there; else pytest skips or fails
    True
    """
    for path in paths:
        reason = _missing_reason(path)
        if reason is not None:
            if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
                pytest.fail(f"{reason} ({REQUIRE_ENV} is set)", pytrace=False)
            pytest.skip(reason)
    return paths[0]


def needs(*paths):
    """The mark of a test that reads these assets; `tests/conftest.py` calls `require` before its fixtures.

    Example:

    >>> needs(MNIST, FASHION).args == (MNIST, FASHION)
    True
    """
    return pytest.mark.needs_assets(*paths)
