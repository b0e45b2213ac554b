#!/usr/bin/env python3
"""Train an attention GAN from a paper recipe: `python train.py --help`."""

import sys

from tfattngan.console import quiet_tensorflow_import

with quiet_tensorflow_import():
    import tensorflow

    tensorflow.config.list_physical_devices()  # probes the drivers, which is noisy too

from tfattngan.training.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
