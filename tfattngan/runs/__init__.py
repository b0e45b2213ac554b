"""A training run's directory and what evaluation and export load from it.

Example:

>>> from tfattngan.runs import RunDirectory
>>> RunDirectory("runs/example").checkpoint_dir.name
'checkpoints'
"""

from tfattngan.runs.directory import RunDirectory
from tfattngan.runs.trained import TrainedGenerator
from tfattngan.runs.trained import load_generator

__all__ = ["RunDirectory", "TrainedGenerator", "load_generator"]
