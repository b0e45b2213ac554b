"""Latency of a converted generator for one sample, on the CPU."""

import os
import time

import numpy as np

from tfattngan.errors import UserInputError
from tfattngan.gan import seeded_latents
from tfattngan.export.tflite_runtime import TFLiteGenerator


def benchmark_tflite(path, num_threads=None, runs=50, warmup=5):
    """Times single-sample invocations of a `.tflite` generator.

    The input is resized to batch 1 (or left at a fixed batch size) and set
    once; only `interpreter.invoke()` is timed, `runs` times after `warmup`
    untimed invocations.

    Args:
        path: a `.tflite` file written by `convert_to_tflite`.
        num_threads: CPU threads. Defaults to the number of CPU cores.
        runs: timed invocations. Defaults to `50`.
        warmup: untimed invocations first. Defaults to `5`.

    Returns:
        A JSON-ready dict: `model`, `file_bytes`, `file_mib`, `interpreter`,
        `threads`, `batch`, `warmup`, `runs`, `latency_median_ms`,
        `latency_p90_ms`, `latency_min_ms`.

    Example:

    >>> import pathlib, tempfile
    >>> from tfattngan.export import convert_to_tflite, export_generator
    >>> from tfattngan.models import dcgan_generator
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = export_generator(dcgan_generator(16, 1, latent_dim=8, filters=2), folder / "1")
    >>> _ = convert_to_tflite(folder / "1", folder / "gen.tflite")
    >>> result = benchmark_tflite(folder / "gen.tflite", num_threads=1, runs=3, warmup=1)
    >>> result["batch"], result["threads"], result["latency_median_ms"] > 0
    (1, 1, True)
    """
    if runs < 1 or warmup < 0:
        raise UserInputError(f"runs must be at least 1 and warmup at least 0, got runs={runs}, warmup={warmup}.")
    generator = TFLiteGenerator(path, num_threads)
    batch = generator.batch_size or 1
    generator.feed(seeded_latents(batch, generator.latent_dim, 0).numpy(), np.zeros(batch, np.int32))
    interpreter = generator.interpreter
    for _ in range(warmup):
        interpreter.invoke()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times.append((time.perf_counter() - start) * 1000.0)
    size = os.path.getsize(path)
    return {
        "model": str(path),
        "file_bytes": size,
        "file_mib": round(size / 2**20, 3),
        "interpreter": generator.interpreter_name,
        "threads": generator.num_threads,
        "batch": batch,
        "warmup": warmup,
        "runs": runs,
        "latency_median_ms": round(float(np.median(times)), 3),
        "latency_p90_ms": round(float(np.percentile(times, 90)), 3),
        "latency_min_ms": round(float(np.min(times)), 3),
    }
