import keras
import numpy as np
import pytest
import tensorflow as tf

from tfattngan.data import load_source
from tfattngan.layers import RegionalAttention
from tfattngan.layers import SpectralNormalization
from tfattngan.recipes import RECIPES
from tfattngan.recipes import get_recipe
from tfattngan.training.loop import resolve_config
from tfattngan.training.trainer import GANTrainer


def _tiny(name, **changes):
    """A recipe at its own image size but with very few filters and a small batch."""
    config = get_recipe(name).replace(generator_filters=2, discriminator_filters=2, batch_size=4, seed=7,
                                      regional_bank_size=4, center_crop=None, **changes)
    source = load_source(f"builtin:{config.image_size}")
    return resolve_config(config, source), source


def _weights(trainer):
    models = [trainer.generator.training, trainer.discriminator]
    return [np.array(w) for model in models for w in model.weights]


def _run(config, source, strategy, steps):
    trainer = GANTrainer(config, strategy)
    iterator = iter(trainer.distributed_dataset(source))
    losses = [{k: float(v) for k, v in trainer.train_step(iterator).items()} for _ in range(steps)]
    return trainer, losses


def _unique_configs():
    """One recipe per distinct network family, loss and optimiser set-up.

    Recipes that differ only in data set, image size or attention position
    share one (the smallest); every recipe's build and shapes are checked
    in tests/test_recipes.py.
    """
    ignored = ("recipe", "source", "dataset", "image_size", "center_crop", "generator_attention_sizes",
               "discriminator_attention_sizes", "steps")
    chosen = {}
    for name, config in sorted(RECIPES.items(), key=lambda item: (item[1].image_size, item[0])):
        key = tuple(sorted((k, str(v)) for k, v in config.to_dict().items() if k not in ignored))
        chosen.setdefault(key, name)
    return sorted(chosen.values())


@pytest.mark.parametrize("name", _unique_configs())
def test_one_training_step_of_every_recipe_is_finite_and_changes_the_weights(name):
    config, source = _tiny(name)
    trainer = GANTrainer(config)
    before = _weights(trainer)
    iterator = iter(trainer.distributed_dataset(source))
    metrics = {k: float(v) for k, v in trainer.train_step(iterator).items()}
    assert all(np.isfinite(v) for v in metrics.values()), metrics
    after = _weights(trainer)
    generator_count = len(trainer.generator.training.weights)
    assert any(not np.array_equal(a, b) for a, b in zip(before[:generator_count], after[:generator_count]))
    assert any(not np.array_equal(a, b) for a, b in zip(before[generator_count:], after[generator_count:]))
    assert int(trainer.step) == 1


@pytest.mark.parametrize("name", ["quickstart", "sagan-celeba64", "sagan-cifar10", "sagan-div-d-mnist",
                                  "ragan-dcgan-ra-cifar10"])
def test_mirrored_strategy_and_default_strategy_agree(name, two_replica_strategy):
    config, source = _tiny(name)
    single, single_losses = _run(config, source, tf.distribute.get_strategy(), 3)
    mirrored, mirrored_losses = _run(config, source, two_replica_strategy, 3)
    assert mirrored.strategy.num_replicas_in_sync == 2
    for a, b in zip(single_losses, mirrored_losses):
        for key in a:
            np.testing.assert_allclose(b[key], a[key], rtol=1e-4, atol=1e-6, err_msg=key)
    for a, b in zip(_weights(single), _weights(mirrored)):
        scale = max(float(np.max(np.abs(a))), 1e-6)
        assert float(np.max(np.abs(a - b))) <= 1e-4 * scale


def _power_iteration(kernel, u, transposed=False):
    if transposed:  # Conv2DTranspose kernels are (kh, kw, out, in): one u entry per output unit
        kernel = kernel.swapaxes(-1, -2)
    matrix = kernel.reshape(-1, kernel.shape[-1]).astype("float64")
    v = u @ matrix.T
    v /= np.linalg.norm(v)
    u = v @ matrix
    return u / np.linalg.norm(u)


def test_spectral_norm_advances_once_per_network_update():
    config, source = _tiny("quickstart", n_critic=1)
    trainer = GANTrainer(config)
    layer = [l for l in trainer.discriminator.layers if isinstance(l, SpectralNormalization)][0]
    kernel, u = np.array(layer.layer.kernel), np.array(layer.u)
    trainer.train_step(iter(trainer.distributed_dataset(source)))
    # One advance on the real pass; the fake, penalty and generator passes hold it.
    np.testing.assert_allclose(np.asarray(layer.u), _power_iteration(kernel, u), atol=1e-5)


def test_every_spectral_norm_of_the_ragan_generator_advances_once_per_step():
    # The deep attention encoder E runs on the real images and on their regions; its u must still move once.
    config, source = _tiny("ragan-dcgan-ra-cifar10", generator_spectral_norm=True, n_critic=2)
    trainer = GANTrainer(config)
    layers = [layer for layer in trainer.generator.training._flatten_layers(include_self=False)
              if isinstance(layer, SpectralNormalization)]
    regional = [layer for layer in trainer.generator.training.layers if isinstance(layer, RegionalAttention)][0]
    encoder = [layer for layer in layers if any(layer is conv for conv in regional.encoder)]
    assert len(encoder) == 2 and len(layers) >= 9
    before = [(np.array(layer.layer.kernel), np.array(layer.u)) for layer in layers]
    trainer.train_step(iter(trainer.distributed_dataset(source)))
    for layer, (kernel, u) in zip(layers, before):
        transposed = isinstance(layer.layer, keras.layers.Conv2DTranspose)
        np.testing.assert_allclose(np.asarray(layer.u), _power_iteration(kernel, u, transposed), atol=1e-5,
                                   err_msg=layer.name)


def test_samples_encode_the_bank_with_each_generators_current_weights():
    config, source = _tiny("ragan-dcgan-ra-cifar10", ema_decay=0.5, generator_lr=0.05)
    trainer = GANTrainer(config)
    bank = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    assert trainer.fill_banks(bank) == 2  # the generator and its EMA copy
    iterator = iter(trainer.distributed_dataset(source))
    for _ in range(2):
        trainer.train_step(iterator)
    latents, _ = trainer.fixed_latents(8)
    encoders = []
    for use_ema, models in ((False, trainer.generator), (True, trainer.ema_generator)):
        layer = [layer for layer in models.training.layers if isinstance(layer, RegionalAttention)][0]
        # Weights changed after the bank was filled, as after any step: samples must follow them.
        layer.lambdas.assign(np.ones(layer.num_regions, "float32"))
        encoders.append(np.array(layer.encoder[0].kernel))
        samples = np.asarray(trainer.sample(latents, use_ema=use_ema))
        candidates = np.stack([
            np.asarray(models.training([latents, tf.constant(np.repeat(bank[j:j + 1], 8, axis=0))], training=False))
            for j in range(4)])
        distances = np.abs(candidates - samples[None]).max(axis=(2, 3, 4))
        assert np.all(distances.min(axis=0) < 1e-5), (use_ema, distances)
        assert np.abs(candidates[0] - candidates[1]).max() > 1e-3  # the bank images make a difference
    assert np.abs(encoders[0] - encoders[1]).max() > 1e-4  # the EMA encoder is not the raw one


def test_wgan_weight_clipping_bounds_every_critic_weight():
    # Arjovsky et al. clamp every critic parameter, batch-norm scales and offsets and attention included.
    config, source = _tiny("ragan-wgan-cifar10", discriminator_attention_sizes=(8,), discriminator_lr=1.0, n_critic=2)
    trainer = GANTrainer(config)
    variables = trainer.discriminator.trainable_variables
    assert any(v.path.endswith("gamma") and len(v.shape) == 0 for v in variables)  # the attention's gamma
    assert any(v.path.endswith("beta") for v in variables) and any(v.path.endswith("gamma") for v in variables)
    trainer.train_step(iter(trainer.distributed_dataset(source)))
    largest = {v.path: float(np.abs(np.asarray(v)).max()) for v in variables}
    assert all(value <= 0.01 + 1e-7 for value in largest.values()), largest
    assert sum(np.isclose(value, 0.01) for value in largest.values()) >= len(largest) // 2  # the bound binds


def test_ema_follows_its_formula():
    config, source = _tiny("quickstart", ema_decay=0.9, ema_start=1)
    trainer = GANTrainer(config)
    iterator = iter(trainer.distributed_dataset(source))
    trainer.train_step(iterator)  # step 0 < ema_start: the average copies the weights
    weights = [np.array(w) for w in trainer.generator.training.weights]
    np.testing.assert_array_equal(weights[0], np.asarray(trainer.ema_generator.training.weights[0]))
    previous = [np.array(w) for w in trainer.ema_generator.training.weights]
    trainer.train_step(iterator)
    for average, before, weight in zip(trainer.ema_generator.training.weights, previous,
                                       trainer.generator.training.weights):
        expected = 0.9 * before + 0.1 * np.asarray(weight) if weight.trainable else np.asarray(weight)
        np.testing.assert_allclose(np.asarray(average), expected, rtol=1e-5, atol=1e-7)


def test_identical_runs_are_identical_and_seeds_matter():
    config, source = _tiny("quickstart")
    _, first = _run(config, source, None, 2)
    _, again = _run(config, source, None, 2)
    _, other = _run(config.replace(seed=8), source, None, 2)
    assert first == again
    assert first != other


def test_mixed_precision_and_xla_steps_are_finite():
    for changes in ({"mixed_precision": True}, {"jit_compile": True}):
        config, source = _tiny("quickstart", **changes)
        _, losses = _run(config, source, None, 2)
        assert all(np.isfinite(v) for step in losses for v in step.values()), (changes, losses)
