"""The command lines of `export/export_savedmodel.py` and `tflite/{convert,generate,benchmark}.py`.

Each `*_main(argv)` parses its arguments, does its one job through the
library and returns the exit status, following `tfattngan.cli`: 0, or 2
after printing a user error as one line `error: ...` on stderr; `--json`
writes or prints the result. The converter and the interpreter print
diagnostics from native code (MLIR notes, delegate banners) straight to
file descriptor 2; they are silenced while a tool runs, so that a failure
reads as one line.
"""

import argparse
import dataclasses

from tfattngan.cli import ArgumentParser
from tfattngan.cli import positive_int
from tfattngan.cli import run_tool


def max_samples_int(text):
    """An argparse type: an integer `max_samples` (1 to `MAX_SAMPLES_LIMIT`, the int32 range).

    Example:

    >>> max_samples_int("256")
    256
    >>> max_samples_int("3000000000")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected an integer from 1 to 2147483647 (requests are counted in int32), got '3000000000'
    """
    from tfattngan.export.signatures import MAX_SAMPLES_LIMIT

    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_SAMPLES_LIMIT:
        raise argparse.ArgumentTypeError(
            f"expected an integer from 1 to {MAX_SAMPLES_LIMIT} (requests are counted in int32), got {text!r}")
    return value


def export_parser():
    """The arguments of `export/export_savedmodel.py`.

    Example:

    >>> export_parser().parse_args(["runs/quickstart", "--out", "models/gan"]).max_samples
    256
    """
    from tfattngan.export.savedmodel import DEFAULT_MAX_SAMPLES

    parser = ArgumentParser(prog="python export/export_savedmodel.py",
                     description="Export a run's generator as a version of a TF Serving model (a SavedModel).")
    parser.add_argument("run_dir", help="a training run directory (train.py --out)")
    parser.add_argument("--out", required=True, help="the TF Serving model directory, e.g. models/NAME")
    parser.add_argument("--version", type=positive_int, help="version number (default: one above the highest, or 1)")
    parser.add_argument("--max-samples", type=max_samples_int, default=DEFAULT_MAX_SAMPLES,
                        help=f"largest num_samples of `generate` and batch of `serving_default` ({DEFAULT_MAX_SAMPLES})")
    parser.add_argument("--checkpoint", help="a checkpoint path (default: the run's latest)")
    parser.add_argument("--no-ema", action="store_true", help="export the raw weights even if the run keeps an EMA")
    return parser


def _export(args):
    from tfattngan.export.savedmodel import export_run

    result = export_run(args.run_dir, args.out, args.version, max_samples=args.max_samples,
                        checkpoint=args.checkpoint, use_ema=not args.no_ema)
    weights = "EMA" if result.is_ema else "raw"
    return dataclasses.asdict(result), (
        f"Exported {args.run_dir} (step {result.step}, {weights} weights, {result.checkpoint}) to {result.path} "
        f"with signatures serving_default and generate (at most {args.max_samples} images a request) and metadata")


def export_main(argv=None):
    """`export/export_savedmodel.py RUN_DIR --out models/NAME [--version N] ...`; returns the exit status.

    Example:

    >>> export_main(["/no/such/run", "--out", "/tmp/models/gan"])
    2
    """
    return run_tool(export_parser(), _export, argv, quiet=True)


def convert_parser():
    """The arguments of `tflite/convert.py`.

    Example:

    >>> convert_parser().parse_args(["models/gan/1", "--out", "gen.tflite"]).quantize
    'none'
    """
    from tfattngan.export.tflite_convert import QUANTIZATIONS

    parser = ArgumentParser(prog="python tflite/convert.py", description="Convert an exported generator's serving_default "
                     "signature to TFLite, with builtin ops only.")
    parser.add_argument("savedmodel", help="a SavedModel version directory, e.g. models/NAME/1")
    parser.add_argument("--out", required=True, help="the .tflite file to write")
    parser.add_argument("--quantize", choices=QUANTIZATIONS, default="none", help="quantisation (none)")
    parser.add_argument("--batch-size", type=positive_int, help="fix the batch size (default: open, resizable)")
    return parser


def _convert(args):
    from tfattngan.export.tflite_convert import convert_to_tflite

    size = convert_to_tflite(args.savedmodel, args.out, args.quantize, batch_size=args.batch_size)
    result = {"path": str(args.out), "bytes": size, "quantize": args.quantize, "batch_size": args.batch_size}
    return result, (f"Wrote {args.out} ({size} bytes, {size / 2**20:.2f} MiB; quantize {args.quantize}, "
                    f"batch {args.batch_size or 'open'})")


def convert_main(argv=None):
    """`tflite/convert.py models/NAME/1 --quantize {none,float16,dynamic,int8} --out gen.tflite`.

    Example:

    >>> convert_main(["/no/such/model", "--out", "/tmp/gen.tflite"])
    2
    """
    return run_tool(convert_parser(), _convert, argv, quiet=True)


def generate_parser():
    """The arguments of `tflite/generate.py`.

    Example:

    >>> generate_parser().parse_args(["gen.tflite", "--out", "grid.png"]).num_samples
    16
    """
    parser = ArgumentParser(prog="python tflite/generate.py",
                     description="Sample a grid of images from a .tflite generator on the CPU.")
    parser.add_argument("model", help="a .tflite file written by tflite/convert.py")
    parser.add_argument("--num-samples", type=positive_int, default=16, help="number of images (16)")
    parser.add_argument("--seed", type=int, default=0, help="latent seed, the same as the SavedModel's `generate` (0)")
    parser.add_argument("--out", required=True, help="the PNG grid to write")
    parser.add_argument("--threads", type=positive_int, help="CPU threads (default: all cores)")
    return parser


def _generate(args):
    from tfattngan.export.tflite_grid import write_sample_grid
    from tfattngan.export.tflite_runtime import TFLiteGenerator

    generator = TFLiteGenerator(args.model, args.threads)
    write_sample_grid(generator, args.num_samples, args.seed, args.out)
    result = {"path": str(args.out), "num_samples": args.num_samples, "seed": args.seed,
              "interpreter": generator.interpreter_name, "threads": generator.num_threads}
    return result, (f"Wrote {args.num_samples} images (seed {args.seed}) from {args.model} to {args.out} "
                    f"({generator.interpreter_name}, {generator.num_threads} threads)")


def generate_main(argv=None):
    """`tflite/generate.py gen.tflite --num-samples 16 --seed 0 --out grid.png`.

    Example:

    >>> generate_main(["/no/such.tflite", "--out", "/tmp/grid.png"])
    2
    """
    return run_tool(generate_parser(), _generate, argv, quiet=True)


def benchmark_parser():
    """The arguments of `tflite/benchmark.py`.

    Example:

    >>> benchmark_parser().parse_args(["gen.tflite"]).runs
    50
    """
    parser = ArgumentParser(prog="python tflite/benchmark.py",
                     description="Time one-sample generation of a .tflite generator on the CPU.")
    parser.add_argument("model", help="a .tflite file written by tflite/convert.py")
    parser.add_argument("--threads", type=positive_int, help="CPU threads (default: all cores)")
    parser.add_argument("--runs", type=positive_int, default=50, help="timed invocations (50)")
    parser.add_argument("--warmup", type=positive_int, default=5, help="untimed invocations first (5)")
    return parser


def _benchmark(args):
    from tfattngan.export.tflite_benchmark import benchmark_tflite

    result = benchmark_tflite(args.model, args.threads, args.runs, args.warmup)
    return result, (f"{result['model']}: median {result['latency_median_ms']} ms, p90 {result['latency_p90_ms']} ms, "
                    f"min {result['latency_min_ms']} ms per batch of {result['batch']} ({result['interpreter']}, "
                    f"{result['threads']} threads, {result['runs']} runs)")


def benchmark_main(argv=None):
    """`tflite/benchmark.py gen.tflite [--threads N] [--runs N] [--json -]`.

    Example:

    >>> benchmark_main(["/no/such.tflite"])
    2
    """
    return run_tool(benchmark_parser(), _benchmark, argv, quiet=True)
