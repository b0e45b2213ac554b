"""tfattngan: attention GANs for Keras 3 and TensorFlow 2.

The layers live in `tfattngan.layers`, the adversarial losses and penalties
in `tfattngan.losses`.
"""

__version__ = "0.1.0"
