#!/usr/bin/env python3
"""Time a .tflite generator on the CPU and print JSON: `python tflite/benchmark.py --help`."""

import sys

from tfattngan.console import quiet_tensorflow_import

with quiet_tensorflow_import():
    import tensorflow

    tensorflow.config.list_physical_devices()  # probes the drivers, which is noisy too

from tfattngan.export.cli import benchmark_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(benchmark_main())
