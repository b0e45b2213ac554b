"""WGAN-GP with self-attention on Fashion-MNIST, written with Keras `fit`.

Your own Functional generator and critic, with tfattngan's layers, trained
by `tfattngan.GAN`: five critic updates per generator update, a gradient
penalty of 10, Adam(1e-4, 0.0, 0.9), an EMA of the generator. At the end it
saves the GAN as a `.keras` file and exports the generator for TF Serving.

    python examples/wgan_gp_fashion_mnist.py --out runs/fashion-wgan-gp
    python examples/wgan_gp_fashion_mnist.py --data idx:../shared/data/fashion-mnist --epochs 1

`--data` takes any data set spec of `tfattngan.data.load_source`; the
default, `tfds:fashion_mnist`, is downloaded by tensorflow-datasets.
"""

import argparse
import pathlib

import keras
import tensorflow as tf

import tfattngan
from tfattngan.data import load_source
from tfattngan.data import make_dataset
from tfattngan.export import export_generator
from tfattngan.layers import SelfAttention
from tfattngan.training.callbacks import SampleGrid
from tfattngan.training.callbacks import TrainingCurves

LATENT_DIM = 128


def make_generator():
    """latent [128] -> 7x7x256 -> 14x14x128 -> self-attention -> 28x28x1 in [-1, 1]."""
    latent = keras.Input((LATENT_DIM,), name="latent")
    x = keras.layers.Dense(7 * 7 * 256, use_bias=False)(latent)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(keras.layers.Reshape((7, 7, 256))(x))
    x = keras.layers.Conv2DTranspose(128, 4, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    x = SelfAttention(name="attention")(x)  # every 14x14 position attends to all 196
    images = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model(latent, images, name="generator")


def make_critic():
    """28x28x1 -> 14x14x64 -> self-attention -> 7x7x128 -> one score (no batch norm under a gradient penalty)."""
    images = keras.Input((28, 28, 1))
    x = keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(64, 4, strides=2, padding="same")(images))
    x = SelfAttention(name="attention")(x)
    x = keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(128, 4, strides=2, padding="same")(x))
    x = keras.layers.LayerNormalization()(x)
    score = keras.layers.Dense(1)(keras.layers.Flatten()(x))
    return keras.Model(images, score, name="critic")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="tfds:fashion_mnist", help="data set spec (default tfds:fashion_mnist)")
    parser.add_argument("--out", default="runs/fashion-wgan-gp", help="output folder")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--steps-per-epoch", type=int, default=500, help="generator steps per epoch")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)

    # Images in [-1, 1], shuffled and batched; the GAN draws the latents and noise itself.
    source = load_source(args.data)
    images = make_dataset(source, image_size=28, channels=1, global_batch_size=args.batch_size, seed=0)
    images = images.map(lambda batch: batch["images"], num_parallel_calls=tf.data.AUTOTUNE)

    strategy = tf.distribute.MirroredStrategy() if len(tf.config.list_logical_devices("GPU")) > 1 \
        else tf.distribute.get_strategy()
    with strategy.scope():
        gan = tfattngan.GAN(make_generator(), make_critic(), ema_decay=0.999)
        gan.compile(
            generator_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9),
            discriminator_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9),
            loss="wasserstein", penalty="gradient_penalty", penalty_options={"weight": 10.0}, n_critic=5,
        )
    gan.fit(images, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, callbacks=[
        SampleGrid(out / "samples"),
        TrainingCurves(out),
        keras.callbacks.BackupAndRestore(str(out / "backup")),
        keras.callbacks.TerminateOnNaN(),
    ])
    gan.save(out / "gan.keras")
    export_generator(gan, out / "serving" / "1")
    print(f"Wrote {out / 'gan.keras'}, {out / 'serving' / '1'} and the sample grids in {out / 'samples'}")


if __name__ == "__main__":
    main()
