"""The paper recipes as typed configs: one place, one name each.

A recipe is a named `GANConfig`. `get_recipe(name)` returns it,
`apply_overrides(config, ["field=value", ...])` changes fields by name (the
command line's `--set`), `build_generator(config)` and
`build_discriminator(config)` build its networks and `build_gan(config)` the
compiled `tfattngan.GAN` that trains them.

Example:

>>> config = apply_overrides(get_recipe("sagan-div-d-mnist"), ["batch_size=16"])
>>> config.loss, config.penalty, config.n_critic, config.batch_size
('wasserstein', 'wgan_div', 5, 16)
"""

import dataclasses
import difflib
import typing

import keras
import tensorflow as tf

from tfattngan import losses
from tfattngan.errors import UserInputError
from tfattngan.models import dcgan_discriminator
from tfattngan.models import dcgan_generator
from tfattngan.models import resnet_discriminator
from tfattngan.models import resnet_generator
from tfattngan.models.common import NORMALIZATIONS

LOSSES = tuple(losses.LOSSES)
PENALTIES = ("none",) + tuple(losses.PENALTIES)


@dataclasses.dataclass(frozen=True)
class GANConfig:
    """Everything that defines a run: data, networks, losses, optimisation.

    Every field can be overridden by name (`apply_overrides`); the resolved
    config is written into the run directory as JSON.

    Example:

    >>> config = GANConfig(image_size=64, channels=1)
    >>> config.replace(loss="wasserstein").loss
    'wasserstein'
    """

    recipe: str = "custom"
    source: str = ""
    # data
    dataset: str = "builtin"
    image_size: int = 32
    channels: int = 3
    center_crop: typing.Optional[int] = None
    num_classes: int = 0
    # networks
    architecture: str = "dcgan"  # dcgan | resnet
    latent_dim: int = 128
    generator_filters: int = 64
    discriminator_filters: int = 64
    generator_norm: str = "batch"  # batch | instance | layer | none (dcgan)
    discriminator_norm: str = "none"  # batch | instance | layer | none (dcgan)
    generator_spectral_norm: bool = False
    discriminator_spectral_norm: bool = False
    generator_attention: str = "none"  # none | self | regional
    generator_attention_sizes: typing.Tuple[int, ...] = ()
    discriminator_attention_sizes: typing.Tuple[int, ...] = ()
    attention_value_channels: str = "full"  # full (the paper) | half (the official code, with pooling)
    attention_query_block_size: typing.Optional[int] = None
    regional_num_regions: int = 4
    regional_bank_size: int = 256  # real images a regional-attention generator samples with
    weight_init: str = "glorot"  # glorot (Keras' defaults) | dcgan (N(0, 0.02), Radford et al.), dcgan only
    # losses
    loss: str = "hinge"
    discriminator_loss_weight: float = 1.0
    penalty: str = "none"
    penalty_weight: float = 10.0
    wgan_div_k: float = 2.0
    wgan_div_p: float = 6.0
    weight_clip: typing.Optional[float] = None
    # optimisation
    optimizer: str = "adam"  # adam | rmsprop
    generator_lr: float = 1e-4
    discriminator_lr: float = 4e-4
    beta_1: float = 0.0
    beta_2: float = 0.9
    n_critic: int = 1
    batch_size: int = 64
    steps: int = 100000
    ema_decay: typing.Optional[float] = None
    ema_start: int = 0
    mixed_precision: bool = False
    jit_compile: bool = False
    seed: int = 0
    # bookkeeping
    log_every: int = 10
    sample_every: int = 500
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    eval_every: int = 0  # steps between FID evaluations; 0: none
    eval_samples: int = 2000

    def replace(self, **changes):
        """A copy with some fields changed.

        Example:

        >>> GANConfig().replace(steps=5).steps
        5
        """
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """The config as a JSON-ready dict.

        Example:

        >>> GANConfig().to_dict()["loss"]
        'hinge'
        """
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values):
        """The config from `to_dict()` output; unknown fields are an error.

        Example:

        >>> GANConfig.from_dict(GANConfig(steps=7).to_dict()).steps
        7
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UserInputError(f"unknown config fields {unknown}; this version knows {sorted(names)}.")
        hints = typing.get_type_hints(cls)
        return cls(**{k: tuple(v) if _is_tuple(hints[k]) and v is not None else v for k, v in values.items()})


def _is_tuple(hint):
    return typing.get_origin(hint) is tuple


# ---------------------------------------------------------------------------
# Recipes
# ---------------------------------------------------------------------------

_SAGAN = "Zhang, Goodfellow, Metaxas, Odena. Self-Attention Generative Adversarial Networks, 2018"
_RAGAN = "Wang, Hu, Huang, Ruan, Chen. Regional attention generative adversarial networks. Electronics Letters, 2019"
_SAGAN_DIV = "Chen, Yamane. Enhanced Full Attention Generative Adversarial Networks (SAGAN-div). IEICE, 2023"
_BURY = "Bury. SAGAN on CelebA 64x64 (5 conv layers, batch and spectral norm, attention between layers 3 and 4), 2024"
_DCGAN = "Radford, Metz, Chintala. Unsupervised Representation Learning with DCGANs. ICLR 2016"
_WGAN = "Arjovsky, Chintala, Bottou. Wasserstein GAN. ICML 2017"
_WGAN_DIV = "Wu, Huang, Thoma, Acharya, Van Gool. Wasserstein Divergence for GANs. ECCV 2018"
_SNGAN = "Miyato, Kataoka, Koyama, Yoshida. Spectral Normalization for GANs. ICLR 2018"
_DEPARTURES = "every departure from the paper: docs/recipes.md"

# Training examples of the data sets whose papers give a budget in epochs.
_EXAMPLES = {"celeb_a": 202599, "mnist": 60000, "fashion_mnist": 60000}


def steps_for_epochs(epochs, examples, batch_size, n_critic):
    """Generator steps that make `epochs` passes over `examples` images.

    Every critic update takes a fresh batch, so one generator step uses
    `n_critic` batches (as in the WGAN reference code, whose data loader
    feeds the critic).

    Example:

    >>> steps_for_epochs(20, 202599, 64, 1)
    63313
    """
    return -(-epochs * examples // (batch_size * n_critic))


_SAGAN_TRAINING = dict(
    loss="hinge", optimizer="adam", generator_lr=1e-4, discriminator_lr=4e-4, beta_1=0.0, beta_2=0.9,
    n_critic=1, generator_spectral_norm=True, discriminator_spectral_norm=True,
    attention_value_channels="half",
)
_DCGAN_TRAINING = dict(
    loss="non_saturating", optimizer="adam", generator_lr=2e-4, discriminator_lr=2e-4, beta_1=0.5,
    beta_2=0.999, n_critic=1, generator_norm="batch", discriminator_norm="batch", latent_dim=100,
    weight_init="dcgan",
)
_WGAN_TRAINING = dict(
    loss="wasserstein", optimizer="rmsprop", generator_lr=5e-5, discriminator_lr=5e-5, n_critic=5,
    weight_clip=0.01, generator_norm="batch", discriminator_norm="batch", latent_dim=100, weight_init="dcgan",
)


def _sagan_recipes():
    recipes = {}
    for size in (8, 16, 32, 64):
        recipes[f"sagan-feat{size}"] = GANConfig(
            source=f"{_SAGAN}; Table 1 ablation: self-attention at the {size}x{size} feature maps of G and D "
            "(ImageNet 128x128, class-conditional ResNet, 1M iterations). Values C/2 with 2x2-pooled keys and "
            "values and a 1x1 output projection are the official code's, not the paper's formula "
            f"(attention_value_channels=full gives the formula); {_DEPARTURES}",
            dataset="tfds:imagenet2012", image_size=128, num_classes=1000, architecture="resnet",
            generator_attention="self", generator_attention_sizes=(size,), discriminator_attention_sizes=(size,),
            batch_size=256, steps=1000000, **_SAGAN_TRAINING,
        )
    recipes["sagan-imagenet128"] = recipes["sagan-feat64"].replace(
        source=f"{_SAGAN}; the Table 2 model (IS 52.52, FID 18.65), which is the feat64 row of Table 1: "
        "attention at 64x64 in G and D. The official code places it at 32x32 (Table 1's best FID, 18.28: "
        "sagan-feat32). Values C/2 with pooling and an output projection as in the official code; "
        f"{_DEPARTURES}"
    )
    recipes["sagan-cifar10"] = GANConfig(
        source=f"{_SAGAN}; the same recipe at 32x32 on CIFAR-10, class-conditional, BigGAN-PyTorch's CIFAR widths "
        f"(not in the paper); {_DEPARTURES}",
        dataset="tfds:cifar10", image_size=32, num_classes=10, architecture="resnet",
        generator_attention="self", generator_attention_sizes=(16,), discriminator_attention_sizes=(16,),
        batch_size=64, steps=100000, **_SAGAN_TRAINING,
    )
    return recipes


_RAGAN_DATA = {
    # name: (dataset, image size, centre crop, attention feature size, budget)
    # The paper: "the best values after 200 K iterations training on CIFAR-10 and STL-10, and after
    # 20 epochs training on CelebA" (all 202,599 images: the paper names no split).
    "cifar10": ("tfds:cifar10", 32, None, 16, ("iterations", 200000)),
    "stl10": ("tfds:stl10:unlabelled", 32, None, 16, ("iterations", 200000)),
    "celeba64": ("tfds:celeb_a:train+validation+test", 64, 160, 32, ("epochs", 20)),
    "celeba128": ("tfds:celeb_a:train+validation+test", 128, 160, 32, ("epochs", 20)),
}


def _ragan_recipes():
    recipes = {}
    for data_name, (dataset, size, crop, attention_size, (unit, budget)) in _RAGAN_DATA.items():
        for base_name, training, base_source in (("dcgan", _DCGAN_TRAINING, _DCGAN), ("wgan", _WGAN_TRAINING, _WGAN)):
            steps = budget if unit == "iterations" else steps_for_epochs(
                budget, _EXAMPLES["celeb_a"], 64, training["n_critic"])
            base = GANConfig(
                dataset=dataset, image_size=size, center_crop=crop, architecture="dcgan",
                batch_size=64, steps=steps, **training,
            )
            budget_text = f"{budget:,} iterations" if unit == "iterations" else f"{budget} epochs ({steps:,} steps)"
            recipes[f"ragan-{base_name}-{data_name}"] = base.replace(
                source=f"{_RAGAN}; baseline {base_name.upper()} ({base_source}), {budget_text}; {_DEPARTURES}"
            )
            # "the attention model is only applied in the generative network in all experiments"
            recipes[f"ragan-{base_name}-sa-{data_name}"] = base.replace(
                source=f"{_RAGAN}; baseline {base_name.upper()} + self-attention in G only, {budget_text}; "
                f"{_DEPARTURES}",
                generator_attention="self", generator_attention_sizes=(attention_size,),
            )
            recipes[f"ragan-{base_name}-ra-{data_name}"] = base.replace(
                source=f"{_RAGAN}; {base_name.upper()} + regional attention (the deep attention encoder in G), "
                f"{budget_text}; {_DEPARTURES}",
                generator_attention="regional", generator_attention_sizes=(attention_size,),
            )
    return recipes


_SAGAN_DIV_DATA = {"mnist": "tfds:mnist", "fashion-mnist": "tfds:fashion_mnist"}
# variant: (generator norm, generator SN, discriminator norm, discriminator SN)
_SAGAN_DIV_VARIANTS = {
    "a": ("instance", True, "instance", True),
    "b": ("none", True, "none", True),
    "c": ("instance", False, "instance", False),
    "d": ("instance", False, "none", True),
}
# "The number of training epochs are 10,000 epochs for MNIST and FASHION-MNIST" (Sect. 5.2); the
# authors' baseline code trains its baselines for as many.
_SAGAN_DIV_EPOCHS = 10000


def _sagan_div_recipes():
    recipes = {}
    for data_name, dataset in _SAGAN_DIV_DATA.items():
        examples = _EXAMPLES[dataset.split(":")[1]]

        def budget(n_critic):
            return steps_for_epochs(_SAGAN_DIV_EPOCHS, examples, 64, n_critic)

        common = GANConfig(dataset=dataset, image_size=64, channels=1, architecture="dcgan", latent_dim=100,
                           batch_size=64)
        for variant, (g_norm, g_sn, d_norm, d_sn) in _SAGAN_DIV_VARIANTS.items():
            recipes[f"sagan-div-{variant}-{data_name}"] = common.replace(
                source=f"{_SAGAN_DIV}; Table 3 variant {variant}" + (" (the paper's best)" if variant == "d" else "")
                + f", 10,000 epochs; {_DEPARTURES}",
                generator_norm=g_norm, generator_spectral_norm=g_sn, discriminator_norm=d_norm,
                discriminator_spectral_norm=d_sn, generator_attention="self",
                generator_attention_sizes=(4, 8, 16, 32), attention_value_channels="half", loss="wasserstein",
                penalty="wgan_div", n_critic=5, optimizer="adam", beta_1=0.0, beta_2=0.9, discriminator_lr=4e-4,
                generator_lr=1e-4, weight_init="dcgan", steps=budget(5),
            )
        recipes[f"sagan-div-dcgan-{data_name}"] = common.replace(
            source=f"{_SAGAN_DIV}; Table 2 baseline DCGAN ({_DCGAN}: its architecture, init and Adam), "
            f"10,000 epochs; {_DEPARTURES}",
            **_DCGAN_TRAINING, steps=budget(1),
        )
        recipes[f"sagan-div-wgan-div-{data_name}"] = common.replace(
            source=f"{_SAGAN_DIV}; Table 2 baseline WGAN-div ({_WGAN_DIV}: k=2, p=6 from the paper; Adam 2e-4 "
            "(0, 0.9), 4 critic steps, batch norm in G, layer norm in the critic and N(0, 0.02) init from its "
            f"official code) on the DCGAN networks, 10,000 epochs; {_DEPARTURES}",
            generator_norm="batch", discriminator_norm="layer", loss="wasserstein", penalty="wgan_div",
            wgan_div_k=2.0, wgan_div_p=6.0, n_critic=4, optimizer="adam", beta_1=0.0, beta_2=0.9,
            discriminator_lr=2e-4, generator_lr=2e-4, weight_init="dcgan", steps=budget(4),
        )
        recipes[f"sagan-div-sngan-{data_name}"] = common.replace(
            source=f"{_SAGAN_DIV}; Table 2 baseline SNGAN ({_SNGAN}: standard CNN with spectral norm in D, "
            f"hinge loss, Adam setting C: 2e-4 (0.5, 0.999), 1 critic step), 10,000 epochs; {_DEPARTURES}",
            generator_norm="batch", discriminator_norm="none", discriminator_spectral_norm=True, loss="hinge",
            optimizer="adam", generator_lr=2e-4, discriminator_lr=2e-4, beta_1=0.5, beta_2=0.999,
            steps=budget(1),
        )
    return recipes


def _other_recipes():
    return {
        "sagan-celeba64": GANConfig(
            source=f"{_BURY}; {_DEPARTURES}", dataset="tfds:celeb_a", image_size=64, center_crop=160,
            architecture="dcgan",
            latent_dim=100, generator_norm="batch", discriminator_norm="batch", generator_spectral_norm=True,
            discriminator_spectral_norm=True, generator_attention="self", generator_attention_sizes=(16,),
            discriminator_attention_sizes=(8,), loss="non_saturating", discriminator_loss_weight=0.5,
            penalty="gradient_penalty", penalty_weight=10.0, optimizer="adam", beta_1=0.5, beta_2=0.999,
            generator_lr=1e-4, discriminator_lr=4e-4, batch_size=64, steps=100000,
        ),
        "quickstart": GANConfig(
            source="tfattngan: a small SAGAN-style DCGAN (self-attention at 16x16 in G and D, spectral norm in D, "
            "hinge loss, TTUR) that learns the built-in shapes in minutes on a CPU",
            dataset="builtin", image_size=32, channels=3, architecture="dcgan", latent_dim=64,
            generator_filters=32, discriminator_filters=32, generator_norm="batch", discriminator_norm="none",
            discriminator_spectral_norm=True, generator_attention="self", generator_attention_sizes=(16,),
            discriminator_attention_sizes=(16,), loss="hinge", optimizer="adam", generator_lr=2e-4,
            discriminator_lr=4e-4, beta_1=0.5, beta_2=0.999, batch_size=64, steps=1500,
            log_every=10, sample_every=250, checkpoint_every=250,
        ),
    }


def _all_recipes():
    recipes = {}
    for group in (_sagan_recipes(), _ragan_recipes(), _sagan_div_recipes(), _other_recipes()):
        recipes.update(group)
    return {name: config.replace(recipe=name) for name, config in recipes.items()}


RECIPES = _all_recipes()


def get_recipe(name):
    """The recipe called `name`.

    Raises:
        UserInputError: no recipe has that name (with the closest names).

    Example:

    >>> get_recipe("sagan-celeba64").penalty
    'gradient_penalty'
    """
    if name not in RECIPES:
        close = difflib.get_close_matches(name, RECIPES, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UserInputError(f"unknown recipe {name!r}.{hint} `python train.py --list-recipes` lists them all.")
    return RECIPES[name]


def _parse(name, text, hint):
    optional = typing.get_origin(hint) is typing.Union
    base = next(a for a in typing.get_args(hint) if a is not type(None)) if optional else hint
    if optional and text.strip().lower() in ("none", "null", ""):
        return None
    if _is_tuple(base):
        return tuple(int(part) for part in text.split(",") if part.strip())
    if base is bool:
        if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(text)
        return text.lower() in ("true", "1", "yes")
    return base(text)


def apply_overrides(config, assignments):
    """Applies `FIELD=VALUE` strings to a config (the command line's `--set`).

    Values are parsed by the field's type: ints, floats, `true`/`false`,
    comma-separated tuples (`16,32`), and `none` for optional fields.

    Raises:
        UserInputError: an unknown field or a value of the wrong type.

    Example:

    >>> apply_overrides(GANConfig(), ["generator_attention_sizes=8,16", "ema_decay=none"]).generator_attention_sizes
    (8, 16)
    """
    hints = typing.get_type_hints(GANConfig)
    changes = {}
    for assignment in assignments:
        name, separator, text = assignment.partition("=")
        name = name.strip()
        if not separator or name not in hints:
            close = difflib.get_close_matches(name, hints, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise UserInputError(f"--set {assignment!r}: expected FIELD=VALUE with a config field.{hint}")
        try:
            changes[name] = _parse(name, text.strip(), hints[name])
        except ValueError:
            raise UserInputError(f"--set {assignment!r}: {text!r} is not a valid {hints[name]} for {name}.") from None
    return validate(config.replace(**changes))


def validate(config):
    """Checks a config's choices, returning it; raises UserInputError.

    Example:

    >>> validate(GANConfig(loss="hinge")).loss
    'hinge'
    """
    choices = {
        "architecture": ("dcgan", "resnet"), "loss": LOSSES, "penalty": PENALTIES,
        "optimizer": ("adam", "rmsprop"), "generator_attention": ("none", "self", "regional"),
        "generator_norm": NORMALIZATIONS, "discriminator_norm": NORMALIZATIONS,
        "attention_value_channels": ("full", "half"), "weight_init": ("glorot", "dcgan"),
    }
    for name, allowed in choices.items():
        if getattr(config, name) not in allowed:
            raise UserInputError(f"{name}={getattr(config, name)!r} is not one of {', '.join(allowed)}.")
    for name in ("batch_size", "steps", "n_critic", "latent_dim", "log_every", "sample_every",
                 "checkpoint_every", "keep_checkpoints", "eval_samples"):
        if getattr(config, name) < 1:
            raise UserInputError(f"{name} must be at least 1, got {getattr(config, name)}.")
    if config.eval_every < 0:
        raise UserInputError(f"eval_every must be 0 (no FID during training) or a number of steps, got {config.eval_every}.")
    if config.architecture == "resnet" and config.generator_attention == "regional":
        raise UserInputError("regional attention is built into the DCGAN architecture; use architecture=dcgan.")
    if config.weight_init == "dcgan" and config.architecture != "dcgan":
        raise UserInputError("weight_init=dcgan is Radford et al.'s scheme for architecture=dcgan; use weight_init=glorot.")
    if config.num_classes and config.architecture != "resnet":
        raise UserInputError("class-conditional models use architecture=resnet (conditional BN, projection D).")
    return config


def _attention_options(config, spectral_norm):
    half = config.attention_value_channels == "half"
    return {
        "query_block_size": config.attention_query_block_size,
        "pool_keys": half,
        "value_channels": "half" if half else None,
        "use_spectral_norm": spectral_norm,
    }


def build_generator(config):
    """The generator of a config.

    Example:

    >>> build_generator(get_recipe("quickstart")).output_shape
    (None, 32, 32, 3)
    """
    if config.architecture == "resnet":
        return resnet_generator(
            config.image_size, config.channels, config.latent_dim, config.generator_filters,
            config.num_classes, config.generator_attention_sizes, _attention_options(config, True),
        )
    return dcgan_generator(
        config.image_size, config.channels, config.latent_dim, config.generator_filters, config.generator_norm,
        config.generator_spectral_norm, config.generator_attention, config.generator_attention_sizes,
        attention_options=_attention_options(config, config.generator_spectral_norm),
        regional_options={"num_regions": config.regional_num_regions, "bank_size": config.regional_bank_size,
                          "use_spectral_norm": config.generator_spectral_norm},
        weight_init=config.weight_init,
    )


def build_discriminator(config):
    """The discriminator of a config.

    Example:

    >>> build_discriminator(get_recipe("quickstart")).output_shape
    (None, 1)
    """
    if config.architecture == "resnet":
        model = resnet_discriminator(
            config.image_size, config.channels, config.discriminator_filters, config.num_classes,
            config.discriminator_attention_sizes, _attention_options(config, True),
        )
    else:
        model = dcgan_discriminator(
            config.image_size, config.channels, config.discriminator_filters, config.discriminator_norm,
            config.discriminator_spectral_norm, config.discriminator_attention_sizes,
            attention_options=_attention_options(config, config.discriminator_spectral_norm),
            weight_init=config.weight_init,
        )
    return losses.clip_weights(model, config.weight_clip) if config.weight_clip else model


def _optimizer(config, learning_rate):
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    return keras.optimizers.Adam(learning_rate, beta_1=config.beta_1, beta_2=config.beta_2)


def penalty_options(config):
    """The keyword arguments of the config's penalty.

    Example:

    >>> penalty_options(get_recipe("sagan-div-d-mnist"))
    {'k': 2.0, 'p': 6.0}
    """
    if config.penalty == "wgan_div":
        return {"k": config.wgan_div_k, "p": config.wgan_div_p}
    return {} if config.penalty == "none" else {"weight": config.penalty_weight}


def build_gan(config):
    """The compiled `tfattngan.GAN` of a config, built in the current strategy's scope.

    Sets Keras' global dtype policy (`mixed_float16` when
    `config.mixed_precision`, else `float32`) and its random seed
    (`config.seed`) first, so that the same config builds the same weights.

    Example:

    >>> gan = build_gan(get_recipe("quickstart").replace(generator_filters=4, discriminator_filters=4))
    >>> gan.latent_dim, gan.n_critic, tuple(gan.generate(2).shape)
    (64, 1, (2, 32, 32, 3))
    """
    from tfattngan.gan import GAN

    keras.mixed_precision.set_global_policy("mixed_float16" if config.mixed_precision else "float32")
    keras.utils.set_random_seed(config.seed)
    with tf.distribute.get_strategy().scope():
        gan = GAN(build_generator(config), build_discriminator(config), latent_dim=config.latent_dim,
                  num_classes=config.num_classes, ema_decay=config.ema_decay, ema_start=config.ema_start,
                  seed=config.seed, name="gan")
        gan.compile(
            generator_optimizer=_optimizer(config, config.generator_lr),
            discriminator_optimizer=_optimizer(config, config.discriminator_lr),
            loss=config.loss, penalty=config.penalty, penalty_options=penalty_options(config),
            n_critic=config.n_critic, discriminator_loss_weight=config.discriminator_loss_weight,
            jit_compile=config.jit_compile,
        )
    return gan
