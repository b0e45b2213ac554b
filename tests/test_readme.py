"""The README's Python examples run as written, in order, in one namespace."""

import pathlib
import re

import numpy as np

from tests.assets import INCEPTION_WEIGHTS as WEIGHTS
from tests.assets import needs

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


@needs(WEIGHTS)
def test_readme_python_examples_run(monkeypatch, tmp_path):
    monkeypatch.setenv("TFATTNGAN_INCEPTION_WEIGHTS", str(WEIGHTS))
    monkeypatch.setenv("TFATTNGAN_FID_CACHE", str(tmp_path / "fid-cache"))
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python examples"
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert float(namespace["penalty"]) >= 0.0
    assert namespace["fake_logits"].shape == (8, 1)
    # "Your own Keras networks": fit ran with its callbacks, and every form samples the same images.
    gan, samples = namespace["gan"], np.asarray(namespace["samples"])
    assert int(gan.step.numpy()) == 20 and len(namespace["history"].history["fid"]) == 1
    workdir = pathlib.Path(namespace["workdir"])
    assert (workdir / "best.keras").is_file() and sorted(p.name for p in (workdir / "samples").iterdir()) == [
        "step_000010.png", "step_000020.png"]
    np.testing.assert_array_equal(np.asarray(namespace["same"].generate(16, seed=0)), samples)
    assert np.abs(np.asarray(namespace["on_device"]) - samples).max() <= 1e-4
