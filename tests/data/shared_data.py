"""Where the test data sets lie: ../shared/data beside the repository.

They are only read by tests, never copied into the repository, and the
package never needs them.
"""

import gzip
import pathlib

import numpy as np

SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
FASHION = SHARED_DATA / "fashion-mnist"
MNIST = SHARED_DATA / "mnist"


def read_idx_reference(path, header_bytes):
    """An independent reading: gunzip and skip the header by its known size."""
    with gzip.open(path, "rb") as file:
        return np.frombuffer(file.read(), np.uint8, offset=header_bytes)
