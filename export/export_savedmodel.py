#!/usr/bin/env python3
"""Export a training run's generator as a TF Serving model version: `python export/export_savedmodel.py --help`."""

import sys

from tfattngan.console import quiet_tensorflow_import

with quiet_tensorflow_import():
    import tensorflow

    tensorflow.config.list_physical_devices()  # probes the drivers, which is noisy too

from tfattngan.export.cli import export_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(export_main())
