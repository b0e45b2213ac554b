"""The on-disk reference feature cache and `FIDEvaluator`'s use of it."""

import numpy as np
import pytest

from tests.metrics.references import mean_colour_model
from tests.metrics.references import numpy_fid
from tfattngan.metrics import CACHE_ENV
from tfattngan.metrics import FeatureCache
from tfattngan.metrics import FIDEvaluator
from tfattngan.metrics import InceptionExtractor
from tfattngan.metrics import default_cache_dir
from tfattngan.metrics import features_of
from tfattngan.metrics import load_extractor


class CountingExtractor(InceptionExtractor):
    """The mean-colour network, counting the images it is given."""

    def __init__(self, checksum="a" * 64):
        inner = load_extractor(mean_colour_model())
        super().__init__(inner.function, kind="custom", source="counting", checksum=checksum, has_logits=False,
                         network=inner.network)
        self.images = 0

    def __call__(self, images):
        self.images += len(images)
        return super().__call__(images)


@pytest.fixture()
def data(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (40, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "data.npz", images=images)
    return str(tmp_path / "data.npz")


def _entries(folder):
    return sorted(path.name for path in folder.iterdir())


def test_the_cache_is_hit_the_second_time(tmp_path, data):
    extractor = CountingExtractor()
    cache = FeatureCache(tmp_path / "cache")
    first = features_of(data, extractor, cache=cache, num_samples=30, batch_size=8)
    assert extractor.images == 32 and (cache.misses, cache.hits) == (1, 0)  # 4 batches of 8, the last padded
    entries = _entries(tmp_path / "cache")
    assert len(entries) == 1 and entries[0].endswith(".npz") and not entries[0].startswith(".tmp")
    second = features_of(data, extractor, cache=FeatureCache(tmp_path / "cache"), num_samples=30, batch_size=8)
    assert extractor.images == 32  # nothing computed: read from disk
    assert second.count == first.count == 30
    np.testing.assert_array_equal(second.statistics.mean, first.statistics.mean)
    np.testing.assert_array_equal(second.statistics.scatter, first.statistics.scatter)
    np.testing.assert_array_equal(second.features, first.features)
    different_batch = features_of(data, extractor, cache=cache, num_samples=30, batch_size=5)
    assert extractor.images == 32 and different_batch.count == 30  # the batch size is not part of the key


@pytest.mark.parametrize(
    "change",
    [{"image_size": 6}, {"channels": 1}, {"num_samples": 31}, {"seed": 1}, {"center_crop": 6}, {"checksum": "b" * 64}],
    ids=["image-size", "channels", "count", "seed", "crop", "weights-checksum"],
)
def test_the_key_changes_with_what_the_features_depend_on(tmp_path, data, change):
    cache = FeatureCache(tmp_path / "cache")
    options = {"num_samples": 30}
    features_of(data, CountingExtractor(), cache=cache, **options)
    extractor = CountingExtractor(change.pop("checksum", "a" * 64))
    features_of(data, extractor, cache=cache, **{**options, **change})
    assert extractor.images > 0 and len(_entries(tmp_path / "cache")) == 2


def test_changed_data_is_a_new_entry(tmp_path, data):
    cache = FeatureCache(tmp_path / "cache")
    features_of(data, CountingExtractor(), cache=cache)
    np.savez(data, images=np.zeros((40, 8, 8, 3), np.uint8))  # the same path, new content
    extractor = CountingExtractor()
    assert features_of(data, extractor, cache=cache).statistics.mean.max() < -0.99
    assert extractor.images > 0 and len(_entries(tmp_path / "cache")) == 2


def test_a_corrupt_entry_is_computed_again(tmp_path, data):
    cache = FeatureCache(tmp_path / "cache")
    expected = features_of(data, CountingExtractor(), cache=cache)
    (entry,) = (tmp_path / "cache").iterdir()
    entry.write_bytes(entry.read_bytes()[:100])  # e.g. a disk that filled up
    extractor = CountingExtractor()
    again = features_of(data, extractor, cache=cache)
    assert extractor.images > 0
    np.testing.assert_allclose(again.statistics.mean, expected.statistics.mean, rtol=1e-12)
    assert features_of(data, extractor, cache=FeatureCache(tmp_path / "cache")).count == 40  # rewritten whole


def test_cache_folder_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere" and FeatureCache().directory == tmp_path / "elsewhere"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "tfattngan" / "fid_stats"


def test_evaluator_computes_the_reference_once(tmp_path, data):
    extractor = CountingExtractor()
    evaluator = FIDEvaluator(data, num_samples=24, weights=extractor, batch_size=8, cache_dir=tmp_path / "cache")
    reference_images = extractor.images
    assert reference_images == 0  # nothing before it is needed
    fakes = np.random.default_rng(1).integers(0, 128, (24, 8, 8, 3), dtype=np.uint8)
    first = evaluator.fid(fakes)
    assert extractor.images == 48  # 24 reference + 24 generated
    assert evaluator.fid(fakes) == first and extractor.images == 72  # only the generated again
    reference = evaluator.reference_features.features.astype(np.float64)
    expected_fakes = load_extractor(mean_colour_model())(fakes)[0].astype(np.float64)
    np.testing.assert_allclose(first, numpy_fid(reference, expected_fakes), rtol=1e-6)
    again = FIDEvaluator(data, num_samples=24, weights=extractor, batch_size=8, cache_dir=tmp_path / "cache")
    assert again.reference_statistics.count == 24 and extractor.images == 72  # read from the cache
