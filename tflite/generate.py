#!/usr/bin/env python3
"""Sample a PNG grid from a .tflite generator with LiteRT: `python tflite/generate.py --help`."""

import sys

from tfattngan.console import quiet_tensorflow_import

with quiet_tensorflow_import():
    import tensorflow

    tensorflow.config.list_physical_devices()  # probes the drivers, which is noisy too

from tfattngan.export.cli import generate_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(generate_main())
