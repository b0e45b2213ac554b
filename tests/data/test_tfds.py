import http.server
import socket
import threading
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfattngan.data import load_source
from tfattngan.data import make_dataset
from tfattngan.data import tfds_source
from tfattngan.errors import UserInputError

NAME = "tfattngan_test_shapes"


class TfattnganTestShapes(tfds.core.GeneratorBasedBuilder):
    """A tiny real tfds data set: image `i` is filled with `10 * i`, label `i % 3`."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        features = tfds.features.FeaturesDict(
            {"image": tfds.features.Image(shape=(6, 6, 3)), "label": tfds.features.ClassLabel(num_classes=3)}
        )
        return tfds.core.DatasetInfo(builder=self, features=features)

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(20), "test": self._generate_examples(7)}

    def _generate_examples(self, count):
        for i in range(count):
            yield i, {"image": np.full((6, 6, 3), 10 * i, np.uint8), "label": i % 3}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tfds")
    tfds.disable_progress_bar()
    TfattnganTestShapes(data_dir=str(folder)).download_and_prepare()
    return str(folder)


def _ids(batches):
    return [(batch["images"].numpy()[:, 0, 0, 0] // 10).tolist() for batch in batches]


def test_prepared_data_set_loads_and_streams_one_epoch(data_dir):
    source = load_source(f"tfds:{NAME}", data_dir=data_dir)
    assert source.name == f"tfds:{NAME}:train"
    assert (source.num_examples, source.image_shape, source.num_classes) == (20, (6, 6, 3), 3)
    assert not source.random_access
    batches = list(make_dataset(source, image_size=6, channels=3, global_batch_size=4, seed=2, repeat=False,
                                dtype="uint8"))
    ids = np.concatenate(_ids(batches))
    np.testing.assert_array_equal(np.sort(ids), np.arange(20))  # every example once
    assert not np.array_equal(ids, np.arange(20))  # shuffled
    np.testing.assert_array_equal(np.concatenate([batch["labels"] for batch in batches]), ids % 3)
    np.testing.assert_array_equal(np.concatenate([batch["position"] for batch in batches]), np.arange(20))
    test_split = load_source(f"tfds:{NAME}:test[:4]", data_dir=data_dir)
    assert (test_split.name, test_split.num_examples) == (f"tfds:{NAME}:test[:4]", 4)


def test_stream_is_seeded_reshuffled_each_epoch_and_reseeded_on_resume(data_dir):
    source = load_source(f"tfds:{NAME}", data_dir=data_dir)

    def run(seed, start_batch=0):
        data = make_dataset(source, image_size=6, channels=3, global_batch_size=5, seed=seed, start_batch=start_batch,
                            dtype="uint8")
        batches = list(data.take(8))
        return np.array(_ids(batches)).ravel(), np.concatenate([batch["position"] for batch in batches])

    ids, positions = run(3)
    np.testing.assert_array_equal(run(3)[0], ids)  # deterministic
    epochs = ids.reshape(2, 20)
    assert all(sorted(epoch) == list(range(20)) for epoch in epochs)
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(run(4)[0], ids)
    resumed, resumed_positions = run(3, start_batch=4)
    np.testing.assert_array_equal(resumed_positions, positions + 20)  # positions continue
    np.testing.assert_array_equal(run(3, start_batch=4)[0], resumed)  # a seeded, reproducible reshuffle
    # Not a replay of the run's next epoch, nor of its start: a fresh shuffle.
    assert not np.array_equal(resumed[:20], epochs[1]) and not np.array_equal(resumed[:20], epochs[0])
    assert sorted(resumed[:20]) == list(range(20))


def test_unprepared_data_set_offline_fails_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "network_reachable", lambda: False)
    for name in (NAME, "mnist"):
        start = time.monotonic()
        with pytest.raises(UserInputError) as error:
            load_source(f"tfds:{name}", data_dir=str(tmp_path))
        assert time.monotonic() - start < 5
        message = str(error.value)
        assert "\n" not in message and "not prepared" in message
        assert f"tfds build {name} --data_dir {tmp_path}" in message and "idx:, npz: or folder:" in message


def test_unprepared_data_set_online_is_prepared(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "network_reachable", lambda: True)
    source = load_source(f"tfds:{NAME}:test", data_dir=str(tmp_path))
    assert source.num_examples == 7
    assert (tmp_path / NAME / "1.0.0" / "dataset_info.json").is_file()


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):  # noqa: N802 - the name http.server calls
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_network_check_needs_an_answer_and_is_time_bounded():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert tfds_source.network_reachable(f"http://127.0.0.1:{server.server_port}/", timeout=2.0)
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        start = time.monotonic()
        assert not tfds_source.network_reachable(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=0.5)
        assert time.monotonic() - start < 1.0
