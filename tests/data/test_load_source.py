"""Every bad input a user can give fails at `load_source`, in one clear line."""

import io

import numpy as np
import pytest

from tfattngan.data import load_source
from tfattngan.errors import UserInputError


def _npz(**arrays):
    def write(folder):
        path = folder / "data.npz"
        np.savez(path, **arrays)
        return f"npz:{path}"

    return write


def _file(name, content):
    def write(folder):
        path = folder / name
        path.write_bytes(content)
        return f"{name.split('.')[-1]}:{path}" if name.endswith(".npz") else str(path)

    return write


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


IMAGES = np.zeros((4, 5, 5), np.uint8)
CASES = {
    "unknown scheme": (lambda folder: "cifar10", "unknown data 'cifar10'; give one of builtin"),
    "unknown scheme with colon": (lambda folder: "hdf5:/data.h5", "unknown data 'hdf5:/data.h5'"),
    "missing .npz": (lambda folder: str(folder / "nope.npz"), "(no such file or folder)"),
    "missing idx path": (lambda folder: f"idx:{folder / 'nope'}", "no such file or folder"),
    "missing npz path": (lambda folder: f"npz:{folder / 'nope.npz'}", "no such file or folder"),
    "missing folder": (lambda folder: f"folder:{folder / 'nope'}", "no such file or folder"),
    "plain file": (_file("data.csv", b"1,2"), "unknown data"),
    "idx folder without idx files": (lambda folder: f"idx:{folder}", "no train-images-idx3-ubyte"),
    "bad builtin size": (lambda folder: "builtin:3", "bad builtin size '3'"),
    "builtin size not a number": (lambda folder: "builtin:big", "bad builtin size 'big'"),
    "empty npz images": (_npz(images=np.zeros((0, 5, 5), np.uint8)), "no images"),
    "empty folder": (lambda folder: f"folder:{folder}", "no readable images"),
    "rank 2 images": (_npz(images=np.zeros((4, 28), np.uint8)), "expected [N, H, W] or [N, H, W, C]"),
    "rank 5 images": (_npz(images=np.zeros((2, 3, 4, 4, 3), np.uint8)), "shape (2, 3, 4, 4, 3)"),
    "2 channels": (_npz(images=np.zeros((4, 5, 5, 2), np.uint8)), "with C = 1, 3 or 4"),
    "5 channels": (_npz(images=np.zeros((4, 5, 5, 5), np.uint8)), "with C = 1, 3 or 4"),
    "labels length": (_npz(images=IMAGES, labels=np.arange(3)), "labels have shape (3,) but there are 4 images"),
    "float labels": (_npz(images=IMAGES, labels=np.zeros(4)), "labels must be non-negative integers"),
    "negative labels": (_npz(images=IMAGES, labels=-np.ones(4, int)), "labels must be non-negative integers"),
    "no images array": (_npz(pictures=IMAGES), "no 'images' array (found ['pictures'])"),
    "float out of range": (_npz(images=IMAGES + 300.0), "float images must lie in [0, 1], [-1, 1] or [0, 255]"),
    "nan": (_npz(images=np.full((4, 5, 5), np.nan)), "NaN or infinite"),
    "int out of range": (_npz(images=IMAGES.astype(int) - 1), "integer images must lie in 0..255"),
    "string images": (_npz(images=np.full((4, 5, 5), "a")), "images have dtype <U1"),
    "not a zip": (_file("data.npz", b"garbage bytes"), "not a readable .npz file"),
    "empty file": (_file("data.npz", b""), "not a readable .npz file"),
    "single npy": (_file("data.npz", _npy_bytes(IMAGES)), "it holds a single .npy array"),
    "bad tfds spec": (lambda folder: "tfds:", "bad tfds data ''"),
    "unknown tfds name": (lambda folder: "tfds:no_such_data_set_here", "no tensorflow-datasets data set named"),
    # refused before tensorflow-datasets is called, which would raise its own multi-line ValueError
    "tfds name with a space": (lambda folder: "tfds:fashion mnist", "bad tfds data set name 'fashion mnist': write"),
    "tfds name with ..": (lambda folder: "tfds:../mnist:train", "bad tfds data set name '../mnist'"),
    "tfds config with ..": (lambda folder: "tfds:mnist/..:1.0.0:test", "bad tfds data set name 'mnist/..:1.0.0'"),
    "tfds name with a slash": (lambda folder: "tfds:/etc/mnist", "bad tfds data set name '/etc/mnist'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_raises_one_clear_line(tmp_path, case):
    make_spec, message = CASES[case]
    spec = make_spec(tmp_path)
    with pytest.raises(UserInputError) as error:
        load_source(spec, data_dir=str(tmp_path))
    text = str(error.value)
    assert message in text
    assert "\n" not in text and len(text) < 400
