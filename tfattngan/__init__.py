"""tfattngan: attention GANs for Keras 3 and TensorFlow 2.

`tfattngan.GAN` trains any Keras generator against any Keras discriminator
with `compile` and `fit`; the layers live in `tfattngan.layers`, the
adversarial losses and penalties in `tfattngan.losses`, the paper recipes in
`tfattngan.recipes`.
"""

from tfattngan.console import quiet_tensorflow_import

# Importing the package registers its Keras classes (GAN, the layers), so that keras.saving.load_model
# finds them; TensorFlow's load-time banner (oneDNN, CUDA probing) is kept off stderr, so that the
# command-line tools' first line is their own.
with quiet_tensorflow_import(log_level=None):
    from tfattngan.gan import GAN
    from tfattngan.gan import cycled_labels
    from tfattngan.gan import seeded_latents

__version__ = "0.1.0"
__all__ = ["GAN", "cycled_labels", "seeded_latents"]
