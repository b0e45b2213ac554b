"""`python -m tfattngan.study`: see `tfattngan.study.cli`."""

import sys

from tfattngan.study.cli import main

if __name__ == "__main__":
    sys.exit(main())
