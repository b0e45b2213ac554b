"""Four tiny trained runs, one per generator family, each trained and exported once per session.

The families cover every layer an export must carry: self-attention with
spectral norm and batch norm (the quickstart DCGAN), a class-conditional
ResNet SAGAN with conditional batch norm and an EMA generator, the SAGAN-div
generator with instance norm and attention at four sizes, and a RAGAN
generator sampling from its image bank. Two training steps at a learning
rate of 0.01 move the weights far enough that a wrong export (training-mode
batch norm, an advanced spectral-norm `u`, ignored labels, an empty image
bank, raw instead of EMA weights) changes the images by far more than the
tolerances of the tests.
"""

import dataclasses
import io
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tfattngan.export import export_run
from tfattngan.recipes import get_recipe
from tfattngan.runs import load_generator
from tfattngan.training import train

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = dict(generator_filters=4, discriminator_filters=4, batch_size=4, steps=2, log_every=1, sample_every=1000,
            checkpoint_every=1000, regional_bank_size=4, dataset="builtin", generator_lr=0.01,
            discriminator_lr=0.01, weight_init="glorot")  # at 4 filters N(0, 0.02) weights give images of ~1e-5
FAMILIES = {
    "dcgan_self_attention": get_recipe("quickstart").replace(**TINY),
    "resnet_conditional": get_recipe("sagan-cifar10").replace(**TINY, ema_decay=0.5),
    "sagan_div_instance_norm": get_recipe("sagan-div-a-mnist").replace(**TINY, n_critic=1),
    "ragan_image_bank": get_recipe("ragan-dcgan-ra-cifar10").replace(**TINY),
}


@dataclasses.dataclass
class ExportedFamily:
    """A trained run, its Keras generator, its SavedModel and reference images."""

    name: str
    run_dir: pathlib.Path
    generator: object  # TrainedGenerator
    savedmodel: pathlib.Path
    inputs: dict  # "latent" (and "label") NumPy arrays
    keras_images: np.ndarray  # the Keras generator's images for `inputs`, inference mode

    @property
    def config(self):
        return self.generator.config

    def keras_inputs(self):
        return [self.inputs["latent"], self.inputs["label"]] if self.config.num_classes else self.inputs["latent"]


@pytest.fixture(scope="session")
def export_root(tmp_path_factory):
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="session")
def families(export_root):
    """The four families, keyed by name."""
    result = {}
    for name, config in FAMILIES.items():
        run_dir = export_root / "runs" / name
        train(config, run_dir, log_stream=io.StringIO())
        generator = load_generator(run_dir)
        inputs = {"latent": np.random.default_rng(0).normal(size=(5, config.latent_dim)).astype("float32")}
        if config.num_classes:
            inputs["label"] = np.array([0, 3, 7, 9, 3], np.int32)
        family = ExportedFamily(name, run_dir, generator, None, inputs, None)
        family.keras_images = generator.sampling_model()(family.keras_inputs(), training=False).numpy()
        family.savedmodel = pathlib.Path(export_run(run_dir, export_root / "models" / name).path)
        result[name] = family
    return result


@pytest.fixture(scope="session")
def fresh_process(families, export_root):
    """What `serving_client.py` saw in a process that never imported tfattngan, per family."""
    jobs = []
    for name, family in families.items():
        np.savez(export_root / f"{name}_inputs.npz", **family.inputs)
        jobs.append({"savedmodel": str(family.savedmodel), "inputs": str(export_root / f"{name}_inputs.npz"),
                     "output": str(export_root / f"{name}_served.npz"), "latent_dim": family.config.latent_dim})
    (export_root / "jobs.json").write_text(json.dumps(jobs))
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "export" / "serving_client.py"),
                             str(export_root / "jobs.json")], capture_output=True, text=True, timeout=600,
                            cwd=export_root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"jobs": 4, "tfattngan_imported": False}
    return {name: dict(np.load(export_root / f"{name}_served.npz")) for name in families}


@pytest.fixture(scope="session")
def determinant_savedmodel(export_root):
    """An exported model whose graph needs MatrixDeterminant, which TFLite has no builtin kernel for."""
    import keras

    from tfattngan.export import export_generator

    latent = keras.Input((4,), name="latent")
    determinant = keras.ops.expand_dims(keras.ops.det(keras.ops.reshape(latent, (-1, 2, 2))), -1)
    images = keras.layers.Reshape((2, 2, 3))(keras.layers.Dense(12, activation="tanh")(determinant))
    return export_generator(keras.Model(latent, images), export_root / "determinant" / "1")
