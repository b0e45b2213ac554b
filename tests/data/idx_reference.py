"""An independent reading of idx files, to check the package's idx reader against."""

import gzip

import numpy as np


def read_idx_reference(path, header_bytes):
    """An independent reading: gunzip and skip the header by its known size."""
    with gzip.open(path, "rb") as file:
        return np.frombuffer(file.read(), np.uint8, offset=header_bytes)
