import numpy as np
import pytest

from tfattngan.data import load_source
from tfattngan.data import make_dataset

RNG = np.random.default_rng(3)
UINT8 = RNG.integers(0, 256, (6, 5, 4, 3), dtype=np.uint8)


def _save(tmp_path, **arrays):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path


def test_uint8_images_and_labels_round_trip(tmp_path):
    path = _save(tmp_path, images=UINT8, labels=np.array([0, 3, 1, 1, 0, 2], np.int64))
    for spec in (f"npz:{path}", str(path)):  # the scheme is optional for .npz paths
        source = load_source(spec)
        assert source.name == f"npz:{path.resolve()}"
        assert (source.num_examples, source.image_shape, source.num_classes) == (6, (5, 4, 3), 4)
        np.testing.assert_array_equal(source.reader.items, UINT8)
        np.testing.assert_array_equal(source.reader.labels, [0, 3, 1, 1, 0, 2])


@pytest.mark.parametrize(
    "images, expected",
    [
        (UINT8[..., 0], UINT8[..., :1]),
        (UINT8 / 255.0, UINT8),
        (UINT8.astype(np.float32) / 127.5 - 1.0, UINT8),
        (UINT8 + np.where(UINT8 < 255, 0.3, 0.0), UINT8),
        (UINT8.astype(np.int64), UINT8),
    ],
    ids=["grey-NHW", "float-0-1", "float-minus1-1", "float-0-255", "int64"],
)
def test_conversion_rule(tmp_path, images, expected):
    source = load_source(f"npz:{_save(tmp_path, images=images)}")
    assert source.num_classes == 0 and source.reader.labels is None
    np.testing.assert_array_equal(source.reader.items, expected)


def test_rgba_images_lose_alpha(tmp_path):
    rgba = RNG.integers(0, 256, (4, 3, 3, 4), dtype=np.uint8)
    source = load_source(f"npz:{_save(tmp_path, images=rgba)}")
    assert source.image_shape == (3, 3, 4)
    batch = next(iter(make_dataset(source, image_size=3, channels=3, global_batch_size=4, seed=0, dtype="uint8")))
    # One epoch in one batch: a permutation of the stored images, alpha dropped.
    got = sorted(image.tobytes() for image in batch["images"].numpy())
    assert got == sorted(stored[..., :3].tobytes() for stored in rgba)
