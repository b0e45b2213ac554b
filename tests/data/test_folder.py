import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfattngan.data import folder as folder_module
from tfattngan.data import load_source
from tfattngan.data import make_dataset
from tfattngan.errors import UserInputError

# One flat colour per image, so every decoded image tells which file it was.
COLOURS = {
    "cats/a.png": (200, 10, 10),
    "cats/b.bmp": (10, 200, 10),
    "cats/deep/c.gif": (0, 0, 255),
    "dogs/d.png": (250, 250, 0),
    "dogs/e.jpg": (128, 128, 128),
}


def _write_images(root, names=COLOURS, size=(6, 5)):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, COLOURS.get(name, (1, 2, 3))).save(path)


def _write_bad_files(root):
    png = root / "cats" / "whole.png"
    Image.new("RGB", (6, 5), (9, 9, 9)).save(png)
    data = png.read_bytes()
    png.unlink()
    (root / "cats" / "truncated.png").write_bytes(data[: len(data) // 2])
    photo = root / "dogs" / "photo.jpg"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(photo)
    photo.write_bytes(photo.read_bytes()[:-100])  # opens and verifies, but fails to decode
    (root / "dogs" / "random.jpg").write_bytes(np.random.default_rng(0).bytes(300))
    (root / "dogs" / "notes.txt").write_text("not an image")
    (root / "dogs" / "empty.png").write_bytes(b"")
    Image.new("RGB", (6, 5)).save(root / "dogs" / "picture.tiff")
    (root / ".hidden.png").write_bytes(b"ignored, not even counted")


def test_labels_from_subfolders_and_bad_files_skipped_with_one_warning(tmp_path):
    _write_images(tmp_path)
    _write_bad_files(tmp_path)
    with pytest.warns(UserWarning) as record:
        source = load_source(f"folder:{tmp_path}")
    assert len(record) == 1
    message = str(record[0].message)
    assert "\n" not in message
    assert message.startswith(f"skipped 6 of 11 files in {tmp_path.resolve()}: ") and message.endswith("and 3 more")
    skipped = {path.rsplit("/", 1)[1]: reason for path, reason in source.skipped_files}
    assert sorted(skipped) == ["empty.png", "notes.txt", "photo.jpg", "picture.tiff", "random.jpg", "truncated.png"]
    assert "truncated" in skipped["truncated.png"].lower() and "truncated" in skipped["photo.jpg"].lower()
    assert "TIFF" in skipped["picture.tiff"]
    # The first few by sorted path (cats/ before dogs/) are named.
    named = [name for name in ("truncated.png", "empty.png", "notes.txt") if name in message]
    assert named == ["truncated.png", "empty.png", "notes.txt"]
    assert (source.num_examples, source.image_shape, source.num_classes) == (5, (5, 6, 3), 2)
    assert source.name == f"folder:{tmp_path.resolve()}"

    # Each example decodes to its file's colour, with its folder's label.
    data = make_dataset(source, image_size=5, channels=3, global_batch_size=5, seed=0, repeat=False, dtype="uint8")
    batch = next(iter(data))
    seen = set()
    for image, label in zip(batch["images"].numpy(), batch["labels"].numpy()):
        name = min(COLOURS, key=lambda key: np.abs(image[0, 0].astype(int) - COLOURS[key]).sum())
        tolerance = 3 if name.endswith(".jpg") else 0
        assert np.abs(image.astype(int) - np.array(COLOURS[name])).max() <= tolerance
        assert label == ("cats", "dogs").index(name.split("/")[0])
        seen.add(name)
    assert seen == set(COLOURS)


def test_one_subfolder_or_flat_folder_is_unlabelled(tmp_path):
    _write_images(tmp_path / "flat", ["a.png", "b.png"])
    _write_images(tmp_path / "one", ["only/a.png", "only/b.png", "only/c.png"])
    for name, count in (("flat", 2), ("one", 3)):
        source = load_source(str(tmp_path / name))  # a folder needs no scheme
        assert (source.num_examples, source.num_classes) == (count, 0)
        batch = next(iter(make_dataset(source, image_size=4, channels=1, global_batch_size=2, seed=0)))
        assert sorted(batch) == ["images", "position"]


def test_images_outside_class_folders_are_skipped(tmp_path):
    _write_images(tmp_path, ["cats/a.png", "dogs/b.png", "stray.png"])
    with pytest.warns(UserWarning, match=r"skipped 1 of 3 files .*stray.png \(not in a class subfolder\)"):
        source = load_source(f"folder:{tmp_path}")
    assert (source.num_examples, source.num_classes) == (2, 2)


def test_mixed_sizes_and_modes_are_resized_and_converted(tmp_path):
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 256, (12, 10), dtype=np.uint8)
    rgba = rng.integers(0, 256, (7, 9, 4), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "a.png")
    Image.fromarray(rgba).save(tmp_path / "b.png")
    source = load_source(f"folder:{tmp_path}")
    assert source.image_shape is None and source.num_examples == 2
    data = make_dataset(source, image_size=8, channels=3, global_batch_size=2, seed=0, repeat=False)
    batch = next(iter(data))
    expected = {
        "a": tf.image.resize(np.repeat(grey[..., None], 3, -1).astype(np.float32), (8, 8), antialias=True),
        "b": tf.image.resize(rgba[..., :3].astype(np.float32), (8, 8), antialias=True),
    }
    got = sorted(batch["images"].numpy(), key=lambda image: float(image.std(-1).mean()))  # grey first
    for image, key in zip(got, ("a", "b")):
        np.testing.assert_allclose(image, np.clip(expected[key].numpy(), 0, 255) / 127.5 - 1, atol=1e-5)


def test_progress_counter_for_many_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(folder_module, "PROGRESS_ABOVE", 3)
    _write_images(tmp_path, [f"{i}.png" for i in range(5)])
    load_source(f"folder:{tmp_path}")
    assert f"checking images in {tmp_path.resolve()}: 5/5\n" in capsys.readouterr().err
    monkeypatch.setattr(folder_module, "PROGRESS_ABOVE", 5)
    load_source(f"folder:{tmp_path}")
    assert capsys.readouterr().err == ""


def test_folder_without_images_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.warns(UserWarning, match="notes.txt"), pytest.raises(UserInputError, match="no readable images"):
        load_source(f"folder:{tmp_path}")
