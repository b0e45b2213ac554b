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
import math
import typing

import keras
import tensorflow as tf

from tfattngan import losses
from tfattngan.errors import UserInputError
from tfattngan.models import dcgan
from tfattngan.models import dcgan_discriminator
from tfattngan.models import dcgan_generator
from tfattngan.models import resnet
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
    recipes["sagan-no-attention"] = recipes["sagan-feat8"].replace(
        source=f"{_SAGAN}; Table 1's \"no attention\" column: the same ResNet with spectral norm on G and D and "
        f"TTUR, without self-attention (the paper's \"SN on G/D+TTUR\" baseline); {_DEPARTURES}",
        generator_attention="none", generator_attention_sizes=(), discriminator_attention_sizes=(),
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
            "hinge loss, EMA of G) that learns the built-in shapes in under three minutes on a CPU; batch 32, "
            "2,400 steps and learning rates 5e-4 chosen by a measured sweep (README)",
            dataset="builtin", image_size=32, channels=3, architecture="dcgan", latent_dim=64,
            generator_filters=32, discriminator_filters=32, generator_norm="batch", discriminator_norm="none",
            discriminator_spectral_norm=True, generator_attention="self", generator_attention_sizes=(16,),
            discriminator_attention_sizes=(16,), loss="hinge", optimizer="adam", generator_lr=5e-4,
            discriminator_lr=5e-4, beta_1=0.5, beta_2=0.999, batch_size=32, steps=2400, ema_decay=0.99,
            log_every=10, sample_every=300, checkpoint_every=300,
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
            raise UserInputError(f"--set {assignment!r}: {text.strip()!r} is not a valid value for {name}, which "
                                 f"is {_kind(hints[name])[1]}; give --set {name}=VALUE with one.") from None
    return validate(config.replace(**changes))


INT_MAX = 2**31 - 1  # counts stay within int32, the range of TensorFlow's step and shape arithmetic
SEED_MAX = 2**32 - 1  # keras.utils.set_random_seed seeds NumPy, whose seeds are 32-bit


class Range(typing.NamedTuple):
    """The numbers a config field allows: from `low` to `high`, each end closed or open.

    Infinite ends are always open, so NaN and infinities are never in a range.

    Example:

    >>> rate = Range(0.0, low_open=True)
    >>> rate.contains(1e-4), rate.contains(0.0), rate.contains(float("nan")), rate.describe()
    (True, False, False, 'a number > 0')
    >>> Range(1, INT_MAX, integer=True).describe()
    'an integer from 1 to 2147483647'
    """

    low: float
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def contains(self, value):
        """Whether `value` lies in the range."""
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self):
        """The range in words."""
        if self.integer:
            return f"an integer from {self.low} to {self.high}"
        if self.high == math.inf:
            return f"a number {'>' if self.low_open else '>='} {self.low:g}"
        return f"a number in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"


def _counts(low):
    return Range(low, INT_MAX, integer=True)


_POSITIVE = Range(0.0, low_open=True)
_UNIT_INTERVAL = Range(0.0, 1.0, high_open=True)
# The range of every number field but `channels` (1 or 3); `image_size` must also be a size the architecture builds.
RANGES = {
    "image_size": _counts(1),
    "center_crop": _counts(1),
    "num_classes": _counts(0),
    "latent_dim": _counts(1),
    "generator_filters": _counts(1),
    "discriminator_filters": _counts(1),
    "attention_query_block_size": _counts(1),
    "regional_num_regions": _counts(1),
    "regional_bank_size": _counts(1),
    "discriminator_loss_weight": _POSITIVE,
    "penalty_weight": Range(0.0),
    "wgan_div_k": _POSITIVE,  # Wu et al.: the divergence needs k > 0 and p > 1
    "wgan_div_p": Range(1.0, low_open=True),
    "weight_clip": _POSITIVE,
    "generator_lr": _POSITIVE,
    "discriminator_lr": _POSITIVE,
    "beta_1": _UNIT_INTERVAL,
    "beta_2": _UNIT_INTERVAL,
    "n_critic": _counts(1),
    "batch_size": _counts(1),
    "steps": _counts(1),
    "ema_decay": _UNIT_INTERVAL,
    "ema_start": _counts(0),
    "seed": Range(0, SEED_MAX, integer=True),
    "log_every": _counts(1),
    "sample_every": _counts(1),
    "checkpoint_every": _counts(1),
    "keep_checkpoints": _counts(1),
    "eval_every": _counts(0),
    "eval_samples": _counts(2),  # a covariance needs 2 images
}
# The value an error suggests where the field's default is `None`.
_EXAMPLE_VALUES = {"center_crop": 160, "attention_query_block_size": 256, "weight_clip": 0.01, "ema_decay": 0.999}
CHOICES = {
    "architecture": ("dcgan", "resnet"), "loss": LOSSES, "penalty": PENALTIES,
    "optimizer": ("adam", "rmsprop"), "generator_attention": ("none", "self", "regional"),
    "generator_norm": NORMALIZATIONS, "discriminator_norm": NORMALIZATIONS,
    "attention_value_channels": ("full", "half"), "weight_init": ("glorot", "dcgan"),
}
# Any text: labels (train.py keeps the safe characters of `recipe` for runs/RECIPE), and the data spec,
# which load_source checks when it opens the data.
FREE_TEXT = ("recipe", "source", "dataset")


def _shown(value):
    """A value as `--set` writes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _bad(name, value, allowed, example):
    return UserInputError(
        f"{name}={_shown(value)} is out of range: {name} must be {allowed}; "
        f"choose one with --set {name}=VALUE, e.g. --set {name}={_shown(example)}."
    )


def _kind(hint):
    """`(base type, words for it)` of a field's type hint."""
    optional = typing.get_origin(hint) is typing.Union
    base = next(a for a in typing.get_args(hint) if a is not type(None)) if optional else hint
    words = {bool: "true or false", int: "an integer", float: "a number", str: "text"}.get(
        base, "a comma-separated list of integers")
    return base, words + (" or none" if optional else "")


def _check_type(name, value, hint):
    base, words = _kind(hint)
    if value is None and typing.get_origin(hint) is typing.Union:
        return
    if _is_tuple(base):
        fits = isinstance(value, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    elif base is float:
        fits = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif base is int:
        fits = isinstance(value, int) and not isinstance(value, bool)
    else:
        fits = isinstance(value, base)
    if not fits:
        raise UserInputError(f"{name}={value!r} has the wrong type: {name} must be {words}; "
                             f"choose one with --set {name}=VALUE.")


def _check_sizes(config):
    """`image_size`, then the attention sizes, against what the architecture builds."""
    if config.architecture == "resnet":
        if config.image_size not in resnet.IMAGE_SIZES:
            raise _bad("image_size", config.image_size, f"one of {', '.join(map(str, resnet.IMAGE_SIZES))} for "
                       "architecture=resnet", min(resnet.IMAGE_SIZES, key=lambda s: abs(s - config.image_size)))
        allowed = dict(zip(("generator", "discriminator"), resnet.block_sizes(config.image_size)))
    else:
        try:
            sizes = dcgan.feature_sizes(config.image_size)
        except ValueError:
            nearest = 2 ** max(4, round(math.log2(max(config.image_size, 1))))
            raise _bad("image_size", config.image_size, "a power of two >= 16 (16, 32, 64, 128, ...) for "
                       "architecture=dcgan", nearest) from None
        allowed = {"generator": sizes, "discriminator": sizes}
    for network, sizes in allowed.items():
        name = f"{network}_attention_sizes"
        chosen = getattr(config, name)
        if any(size not in sizes for size in chosen):
            choices = ", ".join(map(str, sorted(set(sizes))))
            raise _bad(name, chosen, f"feature-map sizes of this {config.image_size}-pixel {config.architecture} "
                       f"{network}, from {choices} (empty for none)", sizes[len(sizes) // 2])


def _check_combinations(config):
    if config.channels not in (1, 3):
        raise _bad("channels", config.channels, "1 (grey) or 3 (RGB)", 3)
    if config.attention_value_channels == "half":
        for network in ("generator", "discriminator"):
            has_attention = getattr(config, f"{network}_attention_sizes") and (
                network == "discriminator" or config.generator_attention != "none")
            if has_attention and getattr(config, f"{network}_filters") < 2:
                raise _bad(f"{network}_filters", getattr(config, f"{network}_filters"),
                           "at least 2 with attention_value_channels=half (half the channels of a layer)", 2)
    if config.architecture == "resnet" and config.generator_attention == "regional":
        raise UserInputError("regional attention is built into the DCGAN architecture; use --set architecture=dcgan.")
    if config.weight_init == "dcgan" and config.architecture != "dcgan":
        raise UserInputError(
            "weight_init=dcgan is Radford et al.'s scheme for architecture=dcgan; use --set weight_init=glorot.")
    if config.num_classes and config.architecture != "resnet":
        raise UserInputError(
            "class-conditional models use architecture=resnet (conditional BN, projection D); "
            "use --set architecture=resnet or --set num_classes=0.")


def validate(config):
    """Checks every field of a config, returning it; raises UserInputError.

    Each field's type, its range (`RANGES`) or choices (`CHOICES`), the
    image and attention sizes the architecture builds, and the combinations
    of fields that cannot work together. The first problem found is raised as
    one line naming the field, its value, what it allows and the `--set` to
    give; nothing is built.

    Example:

    >>> validate(GANConfig(loss="hinge")).loss
    'hinge'
    >>> validate(GANConfig(ema_decay=2.0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: ema_decay=2 is out of range: ema_decay must be a number in [0, 1); ...
    """
    hints = typing.get_type_hints(GANConfig)
    for field in dataclasses.fields(GANConfig):
        _check_type(field.name, getattr(config, field.name), hints[field.name])
    for name, allowed in CHOICES.items():
        if getattr(config, name) not in allowed:
            raise UserInputError(
                f"{name}={getattr(config, name)!r} is not one of {', '.join(allowed)}; "
                f"choose one with --set {name}=VALUE.")
    for name, allowed in RANGES.items():
        value = getattr(config, name)
        if value is not None and not allowed.contains(value):
            default = getattr(GANConfig, name)
            example = _EXAMPLE_VALUES.get(name, default)
            raise _bad(name, value, allowed.describe(), example)
    _check_combinations(config)
    _check_sizes(config)
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
