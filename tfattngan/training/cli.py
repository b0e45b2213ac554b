"""The `train.py` command line: pick a recipe and data, train, report where things are."""

import argparse
import dataclasses
import os
import re
import sys

from tfattngan.cli import ArgumentParser
from tfattngan.cli import progress_stream
from tfattngan.cli import run_tool

DESCRIPTION = """Train an attention GAN from a paper recipe.

With no arguments, trains the `quickstart` recipe on the built-in shapes data
for a few minutes on a CPU and prints where the samples, curves and
checkpoint are. Running the same command again resumes the run."""

EPILOG = """data sets (--dataset):
  builtin[:SIZE]       shapes drawn by the package itself (no download); the default
  tfds:NAME[:SPLIT]    a tensorflow-datasets data set (with --data-dir)
  idx:PATH             MNIST-style idx files (a folder with train/t10k .gz files)
  npz:PATH | X.npz     an .npz file with an `images` array (and optional `labels`)
  PATH | folder:PATH   a folder of images, searched recursively

examples:
  python train.py
  python train.py --recipe sagan-div-d-fashion-mnist --dataset idx:data/fashion-mnist --steps 20000
  python train.py --recipe ragan-dcgan-ra-cifar10 --set regional_num_regions=6 --out runs/ra6
  python train.py --list-recipes"""


def build_parser():
    """The argument parser of `train.py`.

    Example:

    >>> build_parser().parse_args(["--steps", "5"]).steps
    5
    """
    parser = ArgumentParser(
        prog="python train.py", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipe", help="recipe name (default: quickstart, or the run's own when resuming)")
    parser.add_argument("--dataset", help="data set spec (default: the recipe's)")
    parser.add_argument("--data-dir", help="tensorflow-datasets data directory")
    parser.add_argument("--out", help="run directory (default: runs/RECIPE)")
    parser.add_argument("--steps", type=int, help="total generator steps to reach (a resumed run continues to it)")
    parser.add_argument("--batch-size", type=int, help="global batch size")
    parser.add_argument("--seed", type=int, help="random seed")
    parser.add_argument("--eval-every", type=int, help="compute FID every N steps and keep the best checkpoint (0: never)")
    parser.add_argument("--eval-samples", type=int, help="generated and real images per FID evaluation")
    parser.add_argument("--strategy", default="auto", help="auto, default, one-device, mirrored, multi-worker or tpu")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a config field")
    parser.add_argument("--list-recipes", action="store_true", help="list the recipes and exit")
    return parser


def list_recipes(stream=None, names=None):
    """Prints every recipe (or those in `names`): image size, loss, steps, parameter counts and source.

    The parameter counts come from building each distinct network (about
    half a minute for all recipes on a 2-core CPU). The last line points to
    docs/recipes.md, which says for every recipe what its paper specifies
    and where the recipe departs from it. Returns how many were printed.

    Example:

    >>> import io
    >>> out = io.StringIO()
    >>> list_recipes(out, names=["quickstart", "sagan-div-d-mnist"])
    2
    >>> out.getvalue().splitlines()[1].split()[:4]
    ['quickstart', '32x32', 'hinge', '2,400']
    """
    from tfattngan.models import trainable_parameter_count
    from tfattngan.recipes import RECIPES
    from tfattngan.recipes import build_discriminator
    from tfattngan.recipes import build_generator
    from tfattngan.recipes import get_recipe

    stream = stream or sys.stdout
    counts = {}
    stream.write(f"{'recipe':32s} {'size':>7s}  {'loss (+penalty)':28s} {'steps':>9s} {'G params':>11s} "
                 f"{'D params':>11s}\n")
    chosen = {name: get_recipe(name) for name in names} if names else RECIPES
    for name, config in chosen.items():
        key = {k: v for k, v in config.to_dict().items() if k not in ("recipe", "source", "dataset", "steps")}
        key = repr(sorted(key.items()))
        if key not in counts:
            counts[key] = (
                trainable_parameter_count(build_generator(config)),
                trainable_parameter_count(build_discriminator(config)),
            )
        generator_count, discriminator_count = counts[key]
        loss = config.loss + ("" if config.penalty == "none" else f" + {config.penalty}")
        size = f"{config.image_size}x{config.image_size}"
        stream.write(f"{name:32s} {size:>7s}  {loss:28s} {config.steps:>9,d} {generator_count:>11,d} "
                     f"{discriminator_count:>11,d}\n")
        stream.write(f"{'':34s}{config.dataset} | {config.source}\n")
        stream.flush()
    stream.write("What each recipe takes from its paper, and every place it departs from it: docs/recipes.md\n")
    return len(chosen)


def resolve(args):
    """The run directory and config that the arguments ask for.

    Example:

    The default run directory `runs/RECIPE` keeps only letters, digits, `_`
    and `-` of the recipe name, so it always lies inside `runs/`.

    >>> out, config = resolve(build_parser().parse_args(["--steps", "7"]))
    >>> out, config.recipe, config.steps
    ('runs/quickstart', 'quickstart', 7)
    >>> resolve(build_parser().parse_args(["--set", "recipe=../../x y"]))[0]
    'runs/x-y'
    """
    from tfattngan.recipes import apply_overrides
    from tfattngan.recipes import get_recipe
    from tfattngan.runs.directory import RunDirectory

    saved = None
    if args.out and os.path.isfile(os.path.join(args.out, "config.json")):
        saved = RunDirectory(args.out).saved_config()
    if args.recipe or saved is None:
        config = get_recipe(args.recipe or "quickstart")
    else:
        config = saved
    assignments = list(args.set)
    for flag, field in (("dataset", "dataset"), ("steps", "steps"), ("batch_size", "batch_size"), ("seed", "seed"),
                        ("eval_every", "eval_every"), ("eval_samples", "eval_samples")):
        value = getattr(args, flag)
        if value is not None:
            assignments.append(f"{field}={value}")
    config = apply_overrides(config, assignments)
    return args.out or os.path.join("runs", _directory_name(config.recipe)), config


def _directory_name(text):
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "run"


def _train(args):
    if args.list_recipes:
        list_recipes(progress_stream(args))
        from tfattngan.recipes import RECIPES

        return {name: config.to_dict() for name, config in RECIPES.items()}, None
    out, config = resolve(args)
    from tfattngan.data import load_source
    from tfattngan.training.loop import train
    from tfattngan.training.strategies import make_strategy

    # A multi-worker strategy must be made before TensorFlow runs anything.
    strategy = make_strategy(args.strategy)
    source = load_source(config.dataset, data_dir=args.data_dir)
    stream = progress_stream(args)
    print(f"Training {config.recipe} on {source.name} ({source.num_examples} images) into {out}", file=stream,
          flush=True)
    summary = train(config, out, strategy=strategy, source=source, log_stream=stream)
    return dataclasses.asdict(summary), summary.describe()


def main(argv=None):
    """Runs the command line; returns the exit status (2 for a user error).

    Example:

    >>> main(["--recipe", "no-such-recipe"])
    2
    """
    return run_tool(build_parser(), _train, argv)
