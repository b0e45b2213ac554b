"""Generator and discriminator builders made of the package's layers.

Example:

>>> from tfattngan.models import dcgan_discriminator, dcgan_generator
>>> generator = dcgan_generator(32, 3, filters=8)
>>> dcgan_discriminator(32, 3, filters=8)(generator.outputs[0]).shape
(None, 1)
"""

from tfattngan.models.common import trainable_parameter_count
from tfattngan.models.dcgan import dcgan_discriminator
from tfattngan.models.dcgan import dcgan_generator
from tfattngan.models.resnet import resnet_discriminator
from tfattngan.models.resnet import resnet_generator

__all__ = [
    "dcgan_discriminator",
    "dcgan_generator",
    "resnet_discriminator",
    "resnet_generator",
    "trainable_parameter_count",
]
