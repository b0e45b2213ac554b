"""tfattngan: attention GANs for Keras 3 and TensorFlow 2.

`tfattngan.GAN` trains any Keras generator against any Keras discriminator
with `compile` and `fit`; the layers live in `tfattngan.layers`, the
adversarial losses and penalties in `tfattngan.losses`, the paper recipes in
`tfattngan.recipes`.
"""

__version__ = "0.1.0"
__all__ = ["GAN", "cycled_labels", "seeded_latents"]


def __getattr__(name):
    # Imported on first use: the command-line tools import the package before they load TensorFlow quietly.
    if name in __all__:
        from tfattngan import gan

        return getattr(gan, name)
    raise AttributeError(f"module 'tfattngan' has no attribute {name!r}")
