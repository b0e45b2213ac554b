"""Training: the GAN trainer, the training loop, run directories, strategies.

Example:

>>> from tfattngan.training import make_strategy
>>> make_strategy("default").num_replicas_in_sync
1
"""

from tfattngan.training.loop import RunSummary
from tfattngan.training.loop import TrainingDivergedError
from tfattngan.training.loop import train
from tfattngan.training.saved_run import TrainedGenerator
from tfattngan.training.saved_run import load_generator
from tfattngan.training.strategies import make_strategy
from tfattngan.training.trainer import GANTrainer

__all__ = ["GANTrainer", "RunSummary", "TrainedGenerator", "TrainingDivergedError", "load_generator", "make_strategy",
           "train"]
