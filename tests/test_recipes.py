import dataclasses
import json
import time

import numpy as np
import pytest

from tfattngan.errors import UserInputError
from tfattngan.layers import RegionalAttention
from tfattngan.layers import SelfAttention
from tfattngan.layers import SpectralNormalization
from tfattngan.models import trainable_parameter_count
from tfattngan.recipes import RECIPES
from tfattngan.recipes import GANConfig
from tfattngan.recipes import apply_overrides
from tfattngan.recipes import build_discriminator
from tfattngan.recipes import build_generator
from tfattngan.recipes import get_recipe
from tfattngan.recipes import validate


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_builds_with_its_shapes(name):
    config = get_recipe(name)
    assert config.recipe == name and config.source
    generator = build_generator(config)
    discriminator = build_discriminator(config)
    size, channels = config.image_size, config.channels
    assert generator.output_shape == (None, size, size, channels)
    assert discriminator.output_shape == (None, 1)
    expected_inputs = ["latent"] + (["label"] if config.num_classes else [])
    if config.generator_attention == "regional":
        expected_inputs.append("real_images")
    assert [i.name for i in generator.inputs] == expected_inputs


def test_sagan_128_has_the_parameter_count_of_the_sagan_baseline_in_biggan():
    # Brock et al. 2019 (BigGAN), Table 1, row 1: the SA-GAN baseline at
    # 128x128 (ch = 64, attention at 64x64) has 81.5M parameters, G and D.
    config = get_recipe("sagan-feat64")
    total = trainable_parameter_count(build_generator(config)) + trainable_parameter_count(
        build_discriminator(config)
    )
    assert 81.45e6 <= total < 81.55e6, total


def test_sagan_div_generator_layers_match_table_1():
    # Chen & Yamane: five 4x4 deconvolution blocks, 512@4, 256@8, 128@16,
    # 64@32, C@64, each but the last followed by IN, ReLU and attention.
    for name in ("sagan-div-a-mnist", "sagan-div-d-fashion-mnist"):
        generator = build_generator(get_recipe(name))
        blocks = [layer for layer in generator.layers if layer.name.startswith(("project", "reshape", "deconv", "sn_deconv"))]
        shapes = [tuple(layer.output.shape[1:]) for layer in blocks if layer.name != "project" and "project" not in layer.name]
        assert shapes == [(4, 4, 512), (8, 8, 256), (16, 16, 128), (32, 32, 64), (64, 64, 1)]
        attention = [layer.input.shape[1] for layer in generator.layers if isinstance(layer, SelfAttention)]
        assert attention == [4, 8, 16, 32]


@pytest.mark.parametrize(
    "variant, g_norm, g_sn, d_norm, d_sn",
    [("a", "instance", True, "instance", True), ("b", "none", True, "none", True),
     ("c", "instance", False, "instance", False), ("d", "instance", False, "none", True)],
)
def test_sagan_div_variants(variant, g_norm, g_sn, d_norm, d_sn):
    config = get_recipe(f"sagan-div-{variant}-mnist")
    assert (config.generator_norm, config.generator_spectral_norm) == (g_norm, g_sn)
    assert (config.discriminator_norm, config.discriminator_spectral_norm) == (d_norm, d_sn)
    assert (config.loss, config.penalty, config.wgan_div_k, config.wgan_div_p, config.n_critic) == (
        "wasserstein", "wgan_div", 2.0, 6.0, 5)
    assert (config.beta_1, config.beta_2, config.discriminator_lr, config.generator_lr) == (0.0, 0.9, 4e-4, 1e-4)
    discriminator = build_discriminator(config)
    assert any(isinstance(layer, SpectralNormalization) for layer in discriminator.layers) == d_sn


def test_bury_celeba_recipe():
    config = get_recipe("sagan-celeba64")
    generator, discriminator = build_generator(config), build_discriminator(config)
    for model in (generator, discriminator):
        weighted = [layer for layer in model.layers if isinstance(layer, SpectralNormalization)]
        assert len(weighted) == 5  # five layers, each spectrally normalised
        order = [layer for layer in model.layers if isinstance(layer, (SpectralNormalization, SelfAttention))]
        assert isinstance(order[3], SelfAttention)  # attention between layers 3 and 4
    assert (config.center_crop, config.image_size, config.loss, config.discriminator_loss_weight) == (
        160, 64, "non_saturating", 0.5)
    assert (config.penalty, config.beta_1, config.beta_2, config.generator_lr, config.discriminator_lr) == (
        "gradient_penalty", 0.5, 0.999, 1e-4, 4e-4)


def test_sagan_recipes_follow_the_paper():
    for size in (8, 16, 32, 64):
        config = get_recipe(f"sagan-feat{size}")
        assert config.generator_attention_sizes == (size,) == config.discriminator_attention_sizes
        assert (config.loss, config.generator_lr, config.discriminator_lr, config.beta_1, config.beta_2) == (
            "hinge", 1e-4, 4e-4, 0.0, 0.9)
        assert config.generator_spectral_norm and config.discriminator_spectral_norm and config.num_classes == 1000
    assert get_recipe("sagan-cifar10").image_size == 32


def test_sagan_imagenet128_is_the_table_2_model():
    # Table 2's SAGAN (IS 52.52, FID 18.65) is the feat64 row of Table 1.
    config = get_recipe("sagan-imagenet128")
    assert config.generator_attention_sizes == (64,) == config.discriminator_attention_sizes
    assert config.replace(recipe="x", source="") == get_recipe("sagan-feat64").replace(recipe="x", source="")
    assert "official code" in config.source and "Table 2" in config.source


RAGAN_DATA = ("cifar10", "stl10", "celeba64", "celeba128")


def test_ragan_attention_is_only_in_the_generator():
    # "the attention model is only applied in the generative network in all experiments"
    for data in RAGAN_DATA:
        for base in ("dcgan", "wgan"):
            for kind, layer_type in (("sa", SelfAttention), ("ra", RegionalAttention)):
                config = get_recipe(f"ragan-{base}-{kind}-{data}").replace(generator_filters=2, discriminator_filters=2)
                generator, discriminator = build_generator(config), build_discriminator(config)
                assert any(isinstance(layer, layer_type) for layer in generator.layers)
                assert not any(isinstance(layer, (SelfAttention, RegionalAttention)) for layer in discriminator.layers)


def test_ragan_budgets_are_the_papers():
    # "the best values after 200 K iterations training on CIFAR-10 and STL-10, and after 20 epochs training
    # on CelebA": CelebA's 202,599 images, 64 per batch, each critic update taking a fresh batch.
    for base, critic_steps in (("dcgan", 1), ("wgan", 5)):
        for data in ("cifar10", "stl10"):
            assert get_recipe(f"ragan-{base}-{data}").steps == 200000
        for data in ("celeba64", "celeba128"):
            for kind in ("", "-sa", "-ra"):
                config = get_recipe(f"ragan-{base}{kind}-{data}")
                assert config.steps * config.batch_size * critic_steps >= 20 * 202599
                assert (config.steps - 1) * config.batch_size * critic_steps < 20 * 202599
                assert config.dataset == "tfds:celeb_a:train+validation+test"


def test_dcgan_family_baselines_start_from_radfords_initialisation():
    # Radford et al. draw every weight from N(0, 0.02) and batch-norm scales from N(1, 0.02); so does the WGAN code.
    for name in ("ragan-dcgan-cifar10", "ragan-wgan-sa-cifar10", "ragan-dcgan-ra-cifar10", "sagan-div-dcgan-mnist"):
        config = get_recipe(name)
        kernels, gammas = [], []
        for model in (build_generator(config), build_discriminator(config)):
            for variable in model.trainable_variables:
                value = np.asarray(variable)
                if variable.path.endswith("gamma") and value.ndim == 1:
                    gammas.append(value)
                elif value.ndim >= 2 and value.size >= 4096:
                    kernels.append(value)
        assert len(kernels) >= 5 and gammas, name
        for kernel in kernels:
            assert abs(kernel.std() - 0.02) < 0.001 and abs(kernel.mean()) < 0.001, (name, kernel.shape, kernel.std())
        gammas = np.concatenate(gammas)
        assert abs(gammas.mean() - 1.0) < 0.005 and abs(gammas.std() - 0.02) < 0.003, (name, gammas.std())
    glorot = [np.asarray(v).std() for v in build_discriminator(get_recipe("quickstart")).trainable_variables
              if np.asarray(v).ndim == 4 and np.asarray(v).size >= 4096]
    assert glorot and all(abs(std - 0.02) > 0.003 for std in glorot)  # the statistics tell the schemes apart


def test_sagan_div_baselines_follow_their_own_papers():
    wgan_div = get_recipe("sagan-div-wgan-div-mnist")  # Wu et al.: k, p from the paper, the rest from its code
    assert (wgan_div.wgan_div_k, wgan_div.wgan_div_p, wgan_div.n_critic) == (2.0, 6.0, 4)
    assert (wgan_div.generator_lr, wgan_div.discriminator_lr, wgan_div.beta_1, wgan_div.beta_2) == (2e-4, 2e-4, 0.0, 0.9)
    assert (wgan_div.generator_norm, wgan_div.discriminator_norm, wgan_div.weight_init) == ("batch", "layer", "dcgan")
    dcgan = get_recipe("sagan-div-dcgan-fashion-mnist")  # Radford et al.
    assert (dcgan.loss, dcgan.generator_lr, dcgan.beta_1, dcgan.n_critic, dcgan.weight_init) == (
        "non_saturating", 2e-4, 0.5, 1, "dcgan")
    sngan = get_recipe("sagan-div-sngan-mnist")  # Miyato et al.
    assert (sngan.loss, sngan.discriminator_spectral_norm, sngan.generator_spectral_norm) == ("hinge", True, False)
    # "The number of training epochs are 10,000 epochs": 60,000 images, 64 a batch, a batch per critic update.
    for config, critic_steps in ((wgan_div, 4), (dcgan, 1), (get_recipe("sagan-div-d-mnist"), 5)):
        assert config.steps == -(-10000 * 60000 // (64 * critic_steps))


def test_ragan_table_has_both_baselines_with_both_attentions_on_every_data_set():
    for data in ("cifar10", "stl10", "celeba64", "celeba128"):
        for base in ("dcgan", "wgan"):
            plain = get_recipe(f"ragan-{base}-{data}")
            assert plain.generator_attention == "none"
            assert get_recipe(f"ragan-{base}-sa-{data}").generator_attention == "self"
            regional = get_recipe(f"ragan-{base}-ra-{data}")
            assert regional.generator_attention == "regional" and regional.discriminator_attention_sizes == ()
    assert get_recipe("ragan-wgan-cifar10").weight_clip == 0.01


def test_overrides_are_typed_and_checked():
    config = apply_overrides(get_recipe("quickstart"), ["batch_size=8", "ema_decay=none", "generator_spectral_norm=true",
                                                       "discriminator_attention_sizes=8,16", "generator_lr=3e-4"])
    assert (config.batch_size, config.ema_decay, config.generator_spectral_norm) == (8, None, True)
    assert config.discriminator_attention_sizes == (8, 16) and config.generator_lr == 3e-4
    with pytest.raises(UserInputError, match="batch_sise"):
        apply_overrides(config, ["batch_sise=3"])
    with pytest.raises(UserInputError, match="not a valid"):
        apply_overrides(config, ["batch_size=many"])
    with pytest.raises(UserInputError, match="loss"):
        apply_overrides(config, ["loss=hinges"])
    with pytest.raises(UserInputError, match="Did you mean quickstart"):
        get_recipe("quickstar")


def test_config_round_trips_through_json_dicts():
    config = get_recipe("sagan-div-d-mnist")
    assert GANConfig.from_dict(config.to_dict()) == config
    with pytest.raises(UserInputError, match="unknown config fields"):
        GANConfig.from_dict({**config.to_dict(), "colour": "red"})
    assert np.isclose(config.to_dict()["generator_lr"], 1e-4)


def test_docs_recipes_table_matches_the_recipes():
    import pathlib

    text = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "recipes.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): [cell.strip() for cell in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| `")}
    assert set(rows) == set(RECIPES)
    for name, config in RECIPES.items():
        optimiser = f"Adam ({config.beta_1:g}, {config.beta_2:g})" if config.optimizer == "adam" else "RMSprop"
        loss = config.loss + ("" if config.penalty == "none" else f" + {config.penalty}")
        loss += f", clip {config.weight_clip:g}" if config.weight_clip else ""
        expected = [f"`{config.dataset}`", f"{config.steps:,}", str(config.batch_size), str(config.n_critic),
                    f"{config.generator_lr:g} / {config.discriminator_lr:g}", optimiser, loss, config.weight_init]
        assert rows[name] == expected, name


# One bad value for every field a user can get wrong (the free-text ones are checked when the data are opened),
# each with the extra --set values it needs; run through the command line, where nothing may be built first.
BAD_VALUES = [
    ("image_size", "33", []),
    ("image_size", "48", ["architecture=resnet"]),
    ("channels", "2", []),
    ("center_crop", "0", []),
    ("num_classes", "-1", []),
    ("architecture", "vgg", []),
    ("latent_dim", "0", []),
    ("generator_filters", "0", []),
    ("generator_filters", "1", ["attention_value_channels=half"]),
    ("discriminator_filters", "-3", []),
    ("generator_norm", "group", []),
    ("discriminator_norm", "x", []),
    ("generator_spectral_norm", "maybe", []),
    ("discriminator_spectral_norm", "2", []),
    ("generator_attention", "cross", []),
    ("generator_attention_sizes", "7", []),
    ("generator_attention_sizes", "4", ["architecture=resnet"]),
    ("discriminator_attention_sizes", "32", []),
    ("attention_value_channels", "quarter", []),
    ("attention_query_block_size", "0", []),
    ("regional_num_regions", "0", []),
    ("regional_bank_size", "0", []),
    ("weight_init", "he", []),
    ("loss", "l2", []),
    ("discriminator_loss_weight", "0", []),
    ("penalty", "dragan", []),
    ("penalty_weight", "-1", []),
    ("wgan_div_k", "0", []),
    ("wgan_div_p", "1", []),
    ("weight_clip", "-0.01", []),
    ("optimizer", "sgd", []),
    ("generator_lr", "nan", []),
    ("generator_lr", "-1e-4", []),
    ("discriminator_lr", "inf", []),
    ("beta_1", "1", []),
    ("beta_2", "-0.1", []),
    ("n_critic", "0", []),
    ("batch_size", "0", []),
    ("steps", "3000000000", []),
    ("ema_decay", "2", []),
    ("ema_decay", "nan", []),
    ("ema_start", "-1", []),
    ("mixed_precision", "fast", []),
    ("jit_compile", "often", []),
    ("seed", "-1", []),
    ("log_every", "0", []),
    ("sample_every", "0", []),
    ("checkpoint_every", "0", []),
    ("keep_checkpoints", "0", []),
    ("eval_every", "-5", []),
    ("eval_samples", "1", []),
]


def test_every_field_out_of_range_fails_on_the_command_line_before_anything_is_built(tmp_path, capsys):
    from tfattngan.recipes import FREE_TEXT
    from tfattngan.training.cli import main

    fields = {field.name for field in dataclasses.fields(GANConfig)}
    assert {name for name, _, _ in BAD_VALUES} == fields - set(FREE_TEXT)
    out = tmp_path / "run"
    started = time.perf_counter()
    for name, value, extra in BAD_VALUES:
        argv = ["--out", str(out)] + [part for assignment in extra for part in ("--set", assignment)]
        assert main(argv + ["--set", f"{name}={value}"]) == 2, (name, value)
        stdout, stderr = capsys.readouterr()
        lines = stderr.strip().splitlines()
        assert stdout == "" and len(lines) == 1 and lines[0].startswith("error: "), (name, value, stderr)
        assert f"{name}=" in lines[0] and (f"--set {name}=" in lines[0] or f"--set '{name}=" in lines[0]), lines[0]
        if (name, value) in {("image_size", "33"), ("ema_decay", "2"), ("generator_lr", "nan")}:
            assert f"{name}={value} is out of range" in lines[0], lines[0]
    assert not out.exists()
    assert time.perf_counter() - started < 30  # no network was built, no data loaded
    assert "must be a number in [0, 1)" in validate_message(GANConfig(ema_decay=2.0))
    assert "one of 32, 64, 128 for architecture=resnet" in validate_message(GANConfig(architecture="resnet",
                                                                                      image_size=16))


def validate_message(config):
    with pytest.raises(UserInputError) as error:
        validate(config)
    return str(error.value)


def test_every_recipe_and_its_json_round_trip_validate():
    for name, config in RECIPES.items():
        assert validate(config) is config, name
        assert validate(GANConfig.from_dict(json.loads(json.dumps(config.to_dict())))) == config
    saved = {**get_recipe("quickstart").to_dict(), "steps": "many", "mixed_precision": 1}
    assert "steps='many' has the wrong type" in validate_message(GANConfig.from_dict(saved))
