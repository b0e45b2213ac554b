"""The command lines of `export/export_savedmodel.py` and `tflite/{convert,generate,benchmark}.py`.

Each `*_main(argv)` parses its arguments, does its one job through the
library and returns the exit status: 0, or 2 after printing a user error as
one line `error: ...` on stderr.
"""

import argparse
import json
import sys

from tfattngan.console import quiet_tensorflow_import
from tfattngan.errors import UserInputError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserInputError(f"{message} (see python {self.prog} --help)")


def _run(parser, body, argv):
    """Parses `argv`, runs `body(args)`; a user error becomes one stderr line and status 2.

    The converter and the interpreter print diagnostics from native code
    (MLIR notes, delegate banners) straight to file descriptor 2; they are
    silenced while the body runs, so that a failure reads as one line.
    """
    try:
        args = parser.parse_args(argv)
        with quiet_tensorflow_import():
            body(args)
        return 0
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def export_parser():
    """The arguments of `export/export_savedmodel.py`.

    Example:

    >>> export_parser().parse_args(["runs/quickstart", "--out", "models/gan"]).max_samples
    256
    """
    from tfattngan.export.savedmodel import DEFAULT_MAX_SAMPLES

    parser = _Parser(prog="export/export_savedmodel.py",
                     description="Export a run's generator as a version of a TF Serving model (a SavedModel).")
    parser.add_argument("run_dir", help="a training run directory (train.py --out)")
    parser.add_argument("--out", required=True, help="the TF Serving model directory, e.g. models/NAME")
    parser.add_argument("--version", type=_positive, help="version number (default: one above the highest, or 1)")
    parser.add_argument("--max-samples", type=_positive, default=DEFAULT_MAX_SAMPLES,
                        help=f"largest num_samples of `generate` ({DEFAULT_MAX_SAMPLES})")
    parser.add_argument("--checkpoint", help="a checkpoint path (default: the run's latest)")
    parser.add_argument("--no-ema", action="store_true", help="export the raw weights even if the run keeps an EMA")
    return parser


def _export(args):
    from tfattngan.export.savedmodel import export_run

    result = export_run(args.run_dir, args.out, args.version, max_samples=args.max_samples,
                        checkpoint=args.checkpoint, use_ema=not args.no_ema)
    weights = "EMA" if result.is_ema else "raw"
    print(f"Exported {args.run_dir} (step {result.step}, {weights} weights, {result.checkpoint}) to {result.path} "
          f"with signatures serving_default and generate (num_samples <= {args.max_samples})", flush=True)


def export_main(argv=None):
    """`export/export_savedmodel.py RUN_DIR --out models/NAME [--version N] ...`; returns the exit status.

    Example:

    >>> export_main(["/no/such/run", "--out", "/tmp/models/gan"])
    2
    """
    return _run(export_parser(), _export, argv)


def convert_parser():
    """The arguments of `tflite/convert.py`.

    Example:

    >>> convert_parser().parse_args(["models/gan/1", "--out", "gen.tflite"]).quantize
    'none'
    """
    from tfattngan.export.tflite_convert import QUANTIZATIONS

    parser = _Parser(prog="tflite/convert.py", description="Convert an exported generator's serving_default "
                     "signature to TFLite, with builtin ops only.")
    parser.add_argument("savedmodel", help="a SavedModel version directory, e.g. models/NAME/1")
    parser.add_argument("--out", required=True, help="the .tflite file to write")
    parser.add_argument("--quantize", choices=QUANTIZATIONS, default="none", help="quantisation (none)")
    parser.add_argument("--batch-size", type=_positive, help="fix the batch size (default: open, resizable)")
    parser.add_argument("--num-classes", type=_positive, help="classes of a conditional model (int8 calibration)")
    return parser


def _convert(args):
    from tfattngan.export.tflite_convert import convert_to_tflite

    size = convert_to_tflite(args.savedmodel, args.out, args.quantize, batch_size=args.batch_size,
                             num_classes=args.num_classes)
    print(f"Wrote {args.out} ({size} bytes, {size / 2**20:.2f} MiB; quantize {args.quantize}, "
          f"batch {args.batch_size or 'open'})", flush=True)


def convert_main(argv=None):
    """`tflite/convert.py models/NAME/1 --quantize {none,float16,dynamic,int8} --out gen.tflite`.

    Example:

    >>> convert_main(["/no/such/model", "--out", "/tmp/gen.tflite"])
    2
    """
    return _run(convert_parser(), _convert, argv)


def generate_parser():
    """The arguments of `tflite/generate.py`.

    Example:

    >>> generate_parser().parse_args(["gen.tflite", "--out", "grid.png"]).num
    16
    """
    parser = _Parser(prog="tflite/generate.py",
                     description="Sample a grid of images from a .tflite generator on the CPU.")
    parser.add_argument("model", help="a .tflite file written by tflite/convert.py")
    parser.add_argument("--num", type=_positive, default=16, help="number of images (16)")
    parser.add_argument("--seed", type=int, default=0, help="latent seed, the same as the SavedModel's `generate` (0)")
    parser.add_argument("--out", required=True, help="the PNG grid to write")
    parser.add_argument("--num-classes", type=_positive, help="classes of a class-conditional model")
    parser.add_argument("--threads", type=_positive, help="CPU threads (default: all cores)")
    return parser


def _generate(args):
    from tfattngan.atomic_files import atomic_file
    from tfattngan.export.tflite_runtime import TFLiteGenerator
    from tfattngan.training.pictures import image_grid
    from tfattngan.training.pictures import save_png

    generator = TFLiteGenerator(args.model, args.threads)
    images = generator.sample(args.num, seed=args.seed, num_classes=args.num_classes)
    with atomic_file(args.out) as scratch:
        save_png(image_grid(images), scratch)
    print(f"Wrote {args.num} images (seed {args.seed}) from {args.model} to {args.out} "
          f"({generator.interpreter_name}, {generator.num_threads} threads)", flush=True)


def generate_main(argv=None):
    """`tflite/generate.py gen.tflite --num 16 --seed 0 --out grid.png`.

    Example:

    >>> generate_main(["/no/such.tflite", "--out", "/tmp/grid.png"])
    2
    """
    return _run(generate_parser(), _generate, argv)


def benchmark_parser():
    """The arguments of `tflite/benchmark.py`.

    Example:

    >>> benchmark_parser().parse_args(["gen.tflite"]).runs
    50
    """
    parser = _Parser(prog="tflite/benchmark.py",
                     description="Time one-sample generation of a .tflite generator on the CPU; prints JSON.")
    parser.add_argument("model", help="a .tflite file written by tflite/convert.py")
    parser.add_argument("--threads", type=_positive, help="CPU threads (default: all cores)")
    parser.add_argument("--runs", type=_positive, default=50, help="timed invocations (50)")
    parser.add_argument("--warmup", type=_positive, default=5, help="untimed invocations first (5)")
    return parser


def _benchmark(args):
    from tfattngan.export.tflite_benchmark import benchmark_tflite

    print(json.dumps(benchmark_tflite(args.model, args.threads, args.runs, args.warmup), indent=2), flush=True)


def benchmark_main(argv=None):
    """`tflite/benchmark.py gen.tflite [--threads N] [--runs N]`: prints a JSON object.

    Example:

    >>> benchmark_main(["/no/such.tflite"])
    2
    """
    return _run(benchmark_parser(), _benchmark, argv)
