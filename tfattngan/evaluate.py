"""FID, KID and IS from the command line: `python -m tfattngan.evaluate --help`.

Two forms:

* `python -m tfattngan.evaluate RUN_DIR --num-samples 10000` samples a
  training run's generator (its latest checkpoint, EMA weights where kept)
  and compares it with the run's data set (`--dataset` to choose another),
  writing RUN_DIR/metrics.json and printing a table;
* `python -m tfattngan.evaluate --real A --fake B` compares two image
  folders or data set specs, as pytorch-fid does.

The reference features of a data set are cached on disk
(`tfattngan.metrics.cache`), so the second evaluation against the same data
costs only the generated images. A mistake on the command line, a missing
file, a bad run or fewer than 2 images of a set prints one line
`error: ...` on stderr and exits with status 2, before any features are
computed. An FID of fewer images than feature dimensions (2048) is reported
with a warning, in the table and in the JSON's `warnings` list.
"""

import argparse
import datetime
import json
import pathlib
import sys
import time

from tfattngan.atomic_files import write_text_atomically
from tfattngan.cli import ArgumentParser
from tfattngan.cli import run_tool
from tfattngan.console import quiet_tensorflow_import
from tfattngan.errors import UserInputError

PROG = "python -m tfattngan.evaluate"
EPILOG = """weights (--weights, else $TFATTNGAN_INCEPTION_WEIGHTS):
  fid_inception_v3_weights.npz   the FID Inception network as NumPy arrays (FID, KID; IS when converted
                                 from the graph: python -m tfattngan.metrics.inception.convert)
  classify_image_graph_def.pb    the original frozen Inception graph (FID, KID, IS)
  https://tfhub.dev/tensorflow/tfgan/eval/inception/1 (or the folder of the downloaded module)
                                 TF-GAN's module (FID, KID, IS; needs pip install 'tfattngan[hub]')

examples:
  python -m tfattngan.evaluate runs/quickstart --num-samples 10000
  python -m tfattngan.evaluate runs/sagan-div --dataset idx:data/fashion-mnist --weights fid_inception_v3_weights.npz
  python -m tfattngan.evaluate --real data/celeba_64 --fake samples/ --json fid.json"""


def build_parser():
    """The argument parser of `python -m tfattngan.evaluate`.

    Example:

    >>> build_parser().parse_args(["runs/x", "--num-samples", "64"]).num_samples
    64
    """
    parser = ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n")[0], epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", nargs="?", help="a training run directory (train.py --out)")
    parser.add_argument("--real", help="reference images: a folder or data set spec (with --fake)")
    parser.add_argument("--fake", help="images to evaluate: a folder or data set spec (with --real)")
    parser.add_argument("--num-samples", type=int, help="images to generate (run; default 10000) or the most "
                        "images to read of each set (--real/--fake; default all)")
    parser.add_argument("--num-real", type=int, help="reference images of a run's data set (default: --num-samples)")
    parser.add_argument("--dataset", help="the run's reference data set spec (default: the run's config.dataset)")
    parser.add_argument("--data-dir", help="tensorflow-datasets data directory")
    parser.add_argument("--checkpoint", help='a checkpoint of the run, or "best" for its best-FID one (default: its latest)')
    parser.add_argument("--no-ema", action="store_true", help="use the raw generator weights, not the EMA ones")
    parser.add_argument("--image-size", type=int, help="size to read --real/--fake images at (default: their own)")
    parser.add_argument("--weights", help="Inception weights: .npz, .pb or TF-Hub handle (see below)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per Inception call (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data order and latents (default 0)")
    parser.add_argument("--cache-dir", help="feature cache folder (default: $TFATTNGAN_FID_CACHE or "
                        "~/.cache/tfattngan/fid_stats)")
    return parser


def _check_arguments(args):
    pair = args.real is not None or args.fake is not None
    if pair and args.run_dir:
        raise UserInputError(f"give either RUN_DIR or --real and --fake, not both (see {PROG} --help)")
    if pair and (args.real is None or args.fake is None):
        raise UserInputError("--real and --fake go together; give both")
    if not pair and not args.run_dir:
        raise UserInputError(f"give a run directory, or --real and --fake (see {PROG} --help)")
    run_only = ("dataset", "checkpoint", "num_real")
    for name in run_only if pair else ("image_size",):
        if getattr(args, name) is not None:
            flag = "--" + name.replace("_", "-")
            raise UserInputError(f"{flag} applies to {'a run' if pair else '--real/--fake'} only")
    with quiet_tensorflow_import():
        from tfattngan.metrics.sample_size import MIN_IMAGES
    for name, least in (("num_samples", MIN_IMAGES), ("num_real", MIN_IMAGES), ("image_size", 1), ("batch_size", 1)):
        value = getattr(args, name)
        if value is not None and value < least:
            why = " (FID, KID and IS need 2 images of each set)" if least == MIN_IMAGES else ""
            raise UserInputError(f"--{name.replace('_', '-')} must be at least {least}{why}, got {value}")
    return pair


def _format(value, std=None, digits=4):
    if value is None:
        return "null"
    text = f"{value:.{digits}f}"
    if std is not None:
        text += " ± " + ("n/a (one KID block)" if std != std else f"{std:.{digits}f}")
    return text


def format_table(values, unavailable):
    """The printed table of a metrics dict (as written to JSON).

    Example:

    >>> print(format_table({"fid": 12.5, "kid": 0.01, "kid_std": 0.002, "inception_score": None,
    ...                     "inception_score_std": None, "num_reference": 10, "num_generated": 10,
    ...                     "weights": {"kind": "keras", "source": "w.npz", "sha256": "ab" * 32},
    ...                     "warnings": ["FID of 10 images is unreliable"]}, "needs logits"))
    metric   value
    FID      12.5000
    KID      0.0100 ± 0.0020
    IS       unavailable (needs logits)
    images   10 reference, 10 evaluated
    weights  keras w.npz (sha256 abababababab...)
    warning  FID of 10 images is unreliable
    """
    score = values["inception_score"]
    kid_std = values["kid_std"]
    rows = [
        ("metric", "value"),
        ("FID", _format(values["fid"])),
        ("KID", _format(values["kid"], float("nan") if kid_std is None else kid_std)),
        ("IS", f"unavailable ({unavailable})" if score is None else _format(score, values["inception_score_std"], 3)),
        ("images", f"{values['num_reference']} reference, {values['num_generated']} evaluated"),
        ("weights", "{kind} {source} (sha256 {sha256:.12s}...)".format(**values["weights"])),
    ] + [("warning", warning) for warning in values.get("warnings", [])]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:{width}s}  {value}" for name, value in rows)


def _evaluate_run(args):
    from tfattngan.metrics import FIDEvaluator
    from tfattngan.metrics import load_extractor
    from tfattngan.runs.trained import load_generator

    generator = load_generator(args.run_dir, checkpoint=args.checkpoint, use_ema=not args.no_ema)
    config = generator.config
    dataset = args.dataset or config.dataset
    num_samples = args.num_samples or 10000
    evaluator = FIDEvaluator(
        dataset, num_samples, image_size=config.image_size, channels=config.channels,
        center_crop=config.center_crop, num_reference=args.num_real,
        weights=load_extractor(args.weights, argument="--weights"),
        batch_size=args.batch_size, seed=args.seed, cache_dir=args.cache_dir, data_dir=args.data_dir,
    )
    result = evaluator.evaluate(generator)
    header = {
        "run_dir": str(args.run_dir),
        "step": generator.step,
        "checkpoint": generator.checkpoint,
        "ema": generator.is_ema,
        "dataset": dataset,
        "num_samples": num_samples,
    }
    return header, result, pathlib.Path(args.run_dir) / "metrics.json"


def _evaluate_pair(args):
    from tfattngan.data import load_source
    from tfattngan.metrics import FeatureCache
    from tfattngan.metrics import evaluate_features
    from tfattngan.metrics import features_of
    from tfattngan.metrics import load_extractor
    from tfattngan.metrics.image_input import image_count
    from tfattngan.metrics.sample_size import KID_BLOCK_SIZE
    from tfattngan.metrics.sample_size import require_images

    sources = [load_source(spec, data_dir=args.data_dir) for spec in (args.real, args.fake)]  # fail fast
    require_images({name: image_count(source, args.num_samples) for name, source in zip(("real", "fake"), sources)},
                   kid_block_size=KID_BLOCK_SIZE)
    extractor = load_extractor(args.weights, argument="--weights")
    cache = FeatureCache(args.cache_dir)
    options = dict(num_samples=args.num_samples, batch_size=args.batch_size, seed=args.seed,
                   image_size=args.image_size)
    real, fake = (features_of(source, extractor, cache=cache, label=f"{name} features", **options)
                  for source, name in zip(sources, ("Real", "Fake")))
    header = {"real": args.real, "fake": args.fake}
    return header, evaluate_features(real, fake, extractor), None


def _evaluate(args):
    pair = _check_arguments(args)
    with quiet_tensorflow_import():
        from tfattngan.metrics import IS_UNAVAILABLE
    started = time.perf_counter()
    header, result, metrics_json = (_evaluate_pair if pair else _evaluate_run)(args)
    values = {
        **header,
        **result.as_dict(),
        "seconds": round(time.perf_counter() - started, 1),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    summary = format_table(values, IS_UNAVAILABLE)
    if metrics_json is not None:
        write_text_atomically(metrics_json, json.dumps(values, indent=2) + "\n")
        summary += f"\nwrote {metrics_json}"
    return values, summary


def main(argv=None):
    """Runs the command line; returns the exit status (2 for a user error).

    A run's results always go to RUN_DIR/metrics.json as well.

    Example:

    >>> main(["--real", "a"])
    2
    """
    return run_tool(build_parser(), _evaluate, argv)


if __name__ == "__main__":
    with quiet_tensorflow_import():
        import tensorflow

        tensorflow.config.list_physical_devices()  # probes the drivers, which is noisy too
    sys.exit(main())
