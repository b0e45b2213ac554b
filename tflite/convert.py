#!/usr/bin/env python3
"""Convert an exported generator to a .tflite file: `python tflite/convert.py --help`."""

import sys

from tfattngan.console import quiet_tensorflow_import

with quiet_tensorflow_import():
    import tensorflow

    tensorflow.config.list_physical_devices()  # probes the drivers, which is noisy too

from tfattngan.export.cli import convert_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(convert_main())
