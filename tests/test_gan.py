import keras
import numpy as np
import pytest
import tensorflow as tf

from tfattngan.data import load_source
from tfattngan.layers import RegionalAttention
from tfattngan.layers import SpectralNormalization
from tfattngan.recipes import RECIPES
from tfattngan.recipes import build_gan
from tfattngan.recipes import get_recipe
from tfattngan.training.loop import distributed_dataset
from tfattngan.training.loop import resolve_config


def _tiny(name, largest=None, **changes):
    """A recipe with very few filters and a small batch, at its own image size or at most `largest`.

    A smaller size keeps the recipe's networks, losses and optimisers, and
    its attention at the sizes that remain.
    """
    settings = dict(generator_filters=2, discriminator_filters=2, batch_size=4, seed=7, regional_bank_size=4,
                    center_crop=None)
    recipe = get_recipe(name)
    if largest and recipe.image_size > largest:
        settings["image_size"] = largest
        for field in ("generator_attention_sizes", "discriminator_attention_sizes"):
            sizes = getattr(recipe, field)
            settings[field] = tuple(size for size in sizes if size < largest) or ((largest // 2,) if sizes else ())
    config = recipe.replace(**{**settings, **changes})
    source = load_source(f"builtin:{config.image_size}")
    return resolve_config(config, source), source


def _weights(gan):
    return [np.array(w) for model in (gan.generator, gan.discriminator) for w in model.weights]


def _build(config, strategy=None):
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        return build_gan(config), strategy


def _iterator(gan, config, source, strategy=None):
    return iter(distributed_dataset(source, config, strategy or tf.distribute.get_strategy()))


def _run(config, source, strategy, steps):
    gan, strategy = _build(config, strategy)
    iterator, step = _iterator(gan, config, source, strategy), gan.make_train_function()
    losses = [{k: float(v) for k, v in step(iterator).items()} for _ in range(steps)]
    return gan, losses


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
    config, source = _tiny(name, largest=64)  # every recipe's own size is built in tests/test_recipes.py
    gan, _ = _build(config)
    before = _weights(gan)
    metrics = {k: float(v) for k, v in gan.make_train_function()(_iterator(gan, config, source)).items()}
    assert all(np.isfinite(v) for v in metrics.values()), metrics
    after = _weights(gan)
    generator_count = len(gan.generator.weights)
    assert any(not np.array_equal(a, b) for a, b in zip(before[:generator_count], after[:generator_count]))
    assert any(not np.array_equal(a, b) for a, b in zip(before[generator_count:], after[generator_count:]))
    assert int(gan.step) == 1


@pytest.mark.parametrize("name", ["quickstart", "sagan-celeba64", "sagan-cifar10", "sagan-div-d-mnist",
                                  "ragan-dcgan-ra-cifar10"])
def test_mirrored_strategy_and_default_strategy_agree(name, two_replica_strategy):
    config, source = _tiny(name, largest=32)
    single, single_losses = _run(config, source, tf.distribute.get_strategy(), 3)
    mirrored, mirrored_losses = _run(config, source, two_replica_strategy, 3)
    assert mirrored.distribute_strategy.num_replicas_in_sync == 2
    for step, (a, b) in enumerate(zip(single_losses, mirrored_losses)):
        for key in a:
            # WGAN-div's penalty is k * |grad D|^6: it multiplies the roundoff of the input gradient six
            # times, and Adam's first updates turn roundoff-sized gradients into whole steps, so after the
            # first step it differs by CPU kernel (1.4% at step 3 seen on one CI CPU, 1e-6 here) while every
            # loss stays within 1e-4. A replica taking the wrong rows or a wrongly scaled loss is off at step 1.
            rtol = 0.05 if key == "penalty" and step else 1e-4
            np.testing.assert_allclose(b[key], a[key], rtol=rtol, atol=1e-6, err_msg=f"{key} at step {step + 1}")
    for a, b in zip(_weights(single), _weights(mirrored)):
        scale = max(float(np.max(np.abs(a))), 1e-6)
        assert float(np.max(np.abs(a - b))) <= 1e-4 * scale


@pytest.mark.parametrize("name", ["quickstart", "sagan-cifar10", "sagan-celeba64"])
def test_xla_compiled_training_follows_the_uncompiled_run(name):
    """`jit_compile=True` (a DCGAN, a conditional ResNet, a ResNet with a gradient penalty) gives the
    uncompiled run's losses and weights over three steps, the same data and noise.

    An op without an XLA kernel fails here at the first step, as the gradient of a nearest-neighbour
    resize (the ResNet generators' upsampling) once did on CPU.
    """
    config, source = _tiny(name, largest=32)
    plain, plain_losses = _run(config, source, None, 3)
    compiled, compiled_losses = _run(config.replace(jit_compile=True), source, None, 3)
    assert compiled._compile_options["jit_compile"] and not plain._compile_options["jit_compile"]
    for step, (a, b) in enumerate(zip(plain_losses, compiled_losses)):
        for key in a:
            np.testing.assert_allclose(b[key], a[key], rtol=1e-4, atol=1e-6, err_msg=f"{key} at step {step + 1}")
    for a, b in zip(_weights(plain), _weights(compiled)):
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
    gan, _ = _build(config)
    layer = [l for l in gan.discriminator.layers if isinstance(l, SpectralNormalization)][0]
    kernel, u = np.array(layer.layer.kernel), np.array(layer.u)
    gan.make_train_function()(_iterator(gan, config, source))
    # One advance on the real pass; the fake, penalty and generator passes hold it.
    np.testing.assert_allclose(np.asarray(layer.u), _power_iteration(kernel, u), atol=1e-5)


def test_every_spectral_norm_of_the_ragan_generator_advances_once_per_step():
    # The deep attention encoder E runs on the real images and on their regions; its u must still move once.
    config, source = _tiny("ragan-dcgan-ra-cifar10", generator_spectral_norm=True, n_critic=2)
    gan, _ = _build(config)
    layers = [layer for layer in gan.generator._flatten_layers(include_self=False)
              if isinstance(layer, SpectralNormalization)]
    regional = [layer for layer in gan.generator.layers if isinstance(layer, RegionalAttention)][0]
    encoder = [layer for layer in layers if any(layer is conv for conv in regional.encoder)]
    assert len(encoder) == 2 and len(layers) >= 9
    before = [(np.array(layer.layer.kernel), np.array(layer.u)) for layer in layers]
    gan.make_train_function()(_iterator(gan, config, source))
    for layer, (kernel, u) in zip(layers, before):
        transposed = isinstance(layer.layer, keras.layers.Conv2DTranspose)
        np.testing.assert_allclose(np.asarray(layer.u), _power_iteration(kernel, u, transposed), atol=1e-5,
                                   err_msg=layer.name)


def test_samples_encode_the_bank_with_each_generators_current_weights():
    config, source = _tiny("ragan-dcgan-ra-cifar10", ema_decay=0.5, generator_lr=0.05)
    gan, _ = _build(config)
    bank = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    assert gan.fill_banks(bank) == 2  # the generator and its EMA copy
    iterator, step = _iterator(gan, config, source), gan.make_train_function()
    for _ in range(2):
        step(iterator)
    latents = tf.random.normal((8, config.latent_dim))
    encoders = []
    for use_ema, model in ((False, gan.generator), (True, gan.ema_generator)):
        layer = [layer for layer in model.layers if isinstance(layer, RegionalAttention)][0]
        # Weights changed after the bank was filled, as after any step: samples must follow them.
        layer.lambdas.assign(np.ones(layer.num_regions, "float32"))
        encoders.append(np.array(layer.encoder[0].kernel))
        samples = np.asarray(gan.sample(latents, use_ema=use_ema))
        candidates = np.stack([
            np.asarray(model([latents, tf.constant(np.repeat(bank[j:j + 1], 8, axis=0))], training=False))
            for j in range(4)])
        distances = np.abs(candidates - samples[None]).max(axis=(2, 3, 4))
        assert np.all(distances.min(axis=0) < 1e-5), (use_ema, distances)
        assert np.abs(candidates[0] - candidates[1]).max() > 1e-3  # the bank images make a difference
    assert np.abs(encoders[0] - encoders[1]).max() > 1e-4  # the EMA encoder is not the raw one


def test_wgan_weight_clipping_bounds_every_critic_weight():
    # Arjovsky et al. clamp every critic parameter, batch-norm scales and offsets and attention included.
    config, source = _tiny("ragan-wgan-cifar10", discriminator_attention_sizes=(8,), discriminator_lr=1.0, n_critic=2)
    gan, _ = _build(config)
    variables = gan.discriminator.trainable_variables
    assert any(v.path.endswith("gamma") and len(v.shape) == 0 for v in variables)  # the attention's gamma
    assert any(v.path.endswith("beta") for v in variables) and any(v.path.endswith("gamma") for v in variables)
    gan.make_train_function()(_iterator(gan, config, source))
    largest = {v.path: float(np.abs(np.asarray(v)).max()) for v in variables}
    assert all(value <= 0.01 + 1e-7 for value in largest.values()), largest
    assert sum(np.isclose(value, 0.01) for value in largest.values()) >= len(largest) // 2  # the bound binds


def test_ema_follows_its_formula():
    config, source = _tiny("quickstart", ema_decay=0.9, ema_start=1)
    gan, _ = _build(config)
    iterator, step = _iterator(gan, config, source), gan.make_train_function()
    step(iterator)  # step 0 < ema_start: the average copies the weights
    weights = [np.array(w) for w in gan.generator.weights]
    np.testing.assert_array_equal(weights[0], np.asarray(gan.ema_generator.weights[0]))
    previous = [np.array(w) for w in gan.ema_generator.weights]
    step(iterator)
    for average, before, weight in zip(gan.ema_generator.weights, previous, gan.generator.weights):
        expected = 0.9 * before + 0.1 * np.asarray(weight) if weight.trainable else np.asarray(weight)
        np.testing.assert_allclose(np.asarray(average), expected, rtol=1e-5, atol=1e-7)


def test_identical_runs_are_identical_and_seeds_matter():
    config, source = _tiny("quickstart")
    _, first = _run(config, source, None, 2)
    _, again = _run(config, source, None, 2)
    _, other = _run(config.replace(seed=8), source, None, 2)
    assert first == again
    assert first != other


# ----------------------------------------------------------------------
# A user's own Keras networks, trained with compile/fit
# ----------------------------------------------------------------------

from tfattngan import GAN  # noqa: E402
from tfattngan.layers import SelfAttention  # noqa: E402


def _functional_pair(latent_dim=8):
    """A user's Functional generator and discriminator (not built by recipes), with the package's layers."""
    latent = keras.Input((latent_dim,), name="latent")
    x = keras.layers.Dense(4 * 4 * 8)(latent)
    x = keras.layers.Reshape((4, 4, 8))(x)
    x = keras.layers.Conv2DTranspose(8, 4, strides=2, padding="same", activation="relu")(x)
    x = SelfAttention(name="attention")(x)
    images = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(x)
    generator = keras.Model(latent, images, name="my_generator")
    inputs = keras.Input((16, 16, 1))
    y = SpectralNormalization(keras.layers.Conv2D(8, 4, strides=2, padding="same"))(inputs)
    y = keras.layers.LeakyReLU(0.2)(y)
    y = SelfAttention()(y)
    y = keras.layers.Flatten()(y)
    discriminator = keras.Model(inputs, keras.layers.Dense(1)(y), name="my_discriminator")
    return generator, discriminator


@keras.saving.register_keras_serializable(package="tests")
class UserGenerator(keras.Model):
    def __init__(self, latent_dim=8, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        self.dense = keras.layers.Dense(16 * 16, activation="tanh")
        self.reshape = keras.layers.Reshape((16, 16, 1))

    def call(self, latent):
        return self.reshape(self.dense(latent))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


@keras.saving.register_keras_serializable(package="tests")
class UserDiscriminator(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(4, 4, strides=2)
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(1)

    def call(self, images):
        return self.dense(self.flatten(self.conv(images)))


def _subclassed_pair(latent_dim=8):
    generator, discriminator = UserGenerator(latent_dim), UserDiscriminator()
    generator(tf.zeros((1, latent_dim)))
    discriminator(tf.zeros((1, 16, 16, 1)))
    return generator, discriminator


def _fashion_like(count=64):
    """Real images with structure (the built-in shapes, grey, 16x16) in [-1, 1]."""
    source = load_source("builtin:16")
    images = source.reader.items[:count].astype("float32").mean(axis=-1, keepdims=True)
    images = tf.image.resize(images, (16, 16)).numpy()
    return images / 127.5 - 1.0


def _fit_pair(make_pair, strategy, steps=3, **gan_options):
    keras.utils.set_random_seed(3)
    with strategy.scope():
        generator, discriminator = make_pair()
        gan = GAN(generator, discriminator, latent_dim=8, seed=5, **gan_options)
        gan.compile(keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.9), keras.optimizers.Adam(1e-3, 0.0, 0.9),
                    loss="wasserstein", penalty="gradient_penalty", n_critic=2)
    gan.before = [np.array(w) for w in gan.generator.weights]
    dataset = tf.data.Dataset.from_tensor_slices(_fashion_like()).batch(8, drop_remainder=True).repeat()
    history = gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return gan, history


@pytest.mark.parametrize("make_pair", [_functional_pair, _subclassed_pair], ids=["functional", "subclassed"])
def test_a_users_own_networks_train_with_fit_and_two_replicas_equal_one_device(make_pair, two_replica_strategy):
    single, history = _fit_pair(make_pair, tf.distribute.get_strategy(), ema_decay=0.9)
    mirrored, mirrored_history = _fit_pair(make_pair, two_replica_strategy, ema_decay=0.9)
    assert int(single.step.numpy()) == 3 and int(mirrored.step.numpy()) == 3
    assert set(history.history) == {"d_loss", "penalty", "real_logits", "fake_logits", "g_loss", "loss"}
    assert all(np.isfinite(value) for values in history.history.values() for value in values)
    assert history.history["penalty"][-1] > 0.0
    assert any(np.abs(np.asarray(w) - b).max() > 1e-4 for w, b in zip(single.generator.weights, single.before))
    for model in ("generator", "discriminator", "ema_generator"):
        for a, b in zip(getattr(single, model).weights, getattr(mirrored, model).weights):
            a, b = np.asarray(a), np.asarray(b)
            assert float(np.max(np.abs(a - b))) <= 1e-4 * max(float(np.max(np.abs(a))), 1e-6), (model, a.shape)
    for key, values in history.history.items():
        np.testing.assert_allclose(mirrored_history.history[key], values, rtol=1e-4, atol=1e-5, err_msg=key)


def test_fit_and_the_run_loop_give_identical_weights(tmp_path):
    """train.py's loop and `GAN.fit` on the same config, seed, data and steps are the same training."""
    from tfattngan.data import make_dataset
    from tfattngan.training import train
    from tfattngan.training.loop import training_checkpoint
    import io

    config, source = _tiny("quickstart", n_critic=2, ema_decay=0.9, penalty="gradient_penalty", steps=3, sample_every=100,
                           checkpoint_every=100, log_every=100)
    train(config, tmp_path, source=source, log_stream=io.StringIO())
    looped, _ = _build(config)
    training_checkpoint(looped).restore(tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))).expect_partial()
    fitted, _ = _build(config)
    data = make_dataset(source, image_size=config.image_size, channels=config.channels,
                        global_batch_size=config.batch_size, seed=config.seed, center_crop=config.center_crop)
    fitted.fit(data, epochs=1, steps_per_epoch=3, verbose=0)
    assert int(fitted.step.numpy()) == int(looped.step.numpy()) == 3
    for model in ("generator", "discriminator", "ema_generator"):
        for a, b in zip(getattr(looped, model).weights, getattr(fitted, model).weights):
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6, atol=1e-7, err_msg=a.path)


def _bank_data(config, source, count=16):
    from tfattngan.data import make_dataset

    return make_dataset(source, image_size=config.image_size, channels=config.channels, global_batch_size=4,
                        seed=config.seed).map(lambda batch: batch["images"]).take(count // 4)


def test_a_keras_file_round_trip_generates_the_same_images_and_trains_on_identically(tmp_path):
    config, source = _tiny("ragan-dcgan-ra-cifar10", ema_decay=0.5, n_critic=2)
    gan, _ = _build(config)
    data = _bank_data(config, source).repeat()
    assert not gan.banks_filled
    gan.fit(data, epochs=1, steps_per_epoch=2, verbose=0)  # fills the banks from the data first
    np.testing.assert_array_equal(
        [layer for layer in gan.generator.layers if isinstance(layer, RegionalAttention)][0].bank_images.numpy(),
        next(iter(_bank_data(config, source)))[:config.regional_bank_size])
    gan.save(tmp_path / "run.keras")
    loaded = keras.saving.load_model(tmp_path / "run.keras", safe_mode=True)
    assert isinstance(loaded, GAN) and int(loaded.step.numpy()) == 2 and loaded.n_critic == 2
    for use_ema in (True, False):
        np.testing.assert_array_equal(loaded.generate(8, seed=3, use_ema=use_ema), gan.generate(8, seed=3, use_ema=use_ema))
    layer = [layer for layer in loaded.ema_generator.layers if isinstance(layer, RegionalAttention)][0]
    assert float(layer.bank_filled.numpy()) == 1.0
    assert int(loaded.generator_optimizer.iterations.numpy()) == int(gan.generator_optimizer.iterations.numpy()) == 2
    # One more step of each: equal if the optimiser moments, the step (noise) and every weight came back.
    gan.fit(data, epochs=1, steps_per_epoch=1, verbose=0)
    loaded.fit(data, epochs=1, steps_per_epoch=1, verbose=0)
    for model in ("generator", "discriminator", "ema_generator"):
        for a, b in zip(getattr(gan, model).weights, getattr(loaded, model).weights):
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6, atol=1e-7, err_msg=a.path)
    assert np.abs(np.asarray(gan.generate(4)) - np.asarray(loaded.generate(4))).max() < 1e-5


@pytest.mark.parametrize("name", ["sagan-celeba64", "sagan-div-d-mnist"])
def test_mixed_float16_training_follows_the_float32_run(name):
    """A gradient-penalty and a WGAN-div recipe: three mixed_float16 steps stay close to the float32 run.

    Both start from the same weights and see the same data and noise; both
    take plain SGD steps, so that the weight updates are the summed
    gradients (Adam's first steps are sign-like, and amplify any rounding).
    The mixed run starts at a loss scale of 2^6, one at which the first
    step does not overflow: from Keras' 2^15 the penalty's large gradients
    overflow float16, and dynamic loss scaling skips steps until it halves
    its way down (about nine); that search is Keras', not checked here.
    The losses and penalties of each step agree within 3 % of the step's
    largest, and the updates point the same way. (That the penalty's input
    gradient is loss-scaled against float16 underflow is checked in
    tests/test_losses.py, with a critic whose gradient does underflow.)
    """
    from tfattngan.recipes import penalty_options

    changes = dict(image_size=32, generator_attention_sizes=(16,), discriminator_attention_sizes=(16,)) \
        if name == "sagan-celeba64" else dict(image_size=32, generator_attention_sizes=(8, 16))
    config, source = _tiny(name, generator_filters=4, discriminator_filters=4, **changes)
    runs = {}
    for mixed in (False, True):
        gan, strategy = _build(config.replace(mixed_precision=mixed))
        optimizers = [keras.optimizers.SGD(1e-3) for _ in range(2)]
        if mixed:
            optimizers = [keras.optimizers.LossScaleOptimizer(o, initial_scale=2.0**6) for o in optimizers]
        gan.compile(*optimizers, loss=config.loss, penalty=config.penalty, penalty_options=penalty_options(config),
                    n_critic=config.n_critic)
        weights = gan.generator.trainable_weights + gan.discriminator.trainable_weights
        before = [np.array(w) for w in weights]
        iterator, step = _iterator(gan, config, source, strategy), gan.make_train_function()
        losses = [{k: float(v) for k, v in step(iterator).items()} for _ in range(3)]
        update = np.concatenate([(np.asarray(w) - b).ravel() for w, b in zip(weights, before)])
        runs[mixed] = losses, update, before
    (losses32, update32, before32), (losses16, update16, before16) = runs[False], runs[True]
    for a, b in zip(before32, before16):
        np.testing.assert_array_equal(a, b)  # the same start
    for step32, step16 in zip(losses32, losses16):
        scale = max(abs(step32["d_loss"]), abs(step32["g_loss"]), abs(step32["penalty"]), 1e-3)
        for key in ("d_loss", "g_loss", "penalty"):
            assert abs(step16[key] - step32[key]) <= 0.03 * scale, (key, step32, step16)
    assert losses16[0]["penalty"] > 0.0
    cosine = update32 @ update16 / (np.linalg.norm(update32) * np.linalg.norm(update16))
    assert cosine > 0.99, cosine
