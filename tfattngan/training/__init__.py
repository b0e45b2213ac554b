"""Training: the run loop around a `tfattngan.GAN`, its callbacks and strategies.

Example:

>>> from tfattngan.training import make_strategy
>>> make_strategy("default").num_replicas_in_sync
1
"""

from tfattngan.training.loop import RunSummary
from tfattngan.training.loop import TrainingDivergedError
from tfattngan.training.loop import train
from tfattngan.training.strategies import make_strategy

__all__ = ["RunSummary", "TrainingDivergedError", "make_strategy", "train"]
