"""Speed of one GAN training step (n_critic discriminator updates and a generator update), as JSON.

    python benchmarks/train_step.py                          # quickstart, the main job's recipe
    python benchmarks/train_step.py --recipe sagan-cifar10 --set batch_size=32 --steps 10

Times `--steps` steps of `GAN.make_train_function()` (what `fit` and train.py
run) after `--warmup` steps, on the built-in data at the recipe's size, and
counts the step's floating-point operations with TensorFlow's graph profiler
(matrix products and convolutions, forward and backward), so the figure can
be set against the machine's matrix-multiply peak. Prints one JSON object:
the median seconds per step, steps and images per second, GFLOP per step
and GFLOP/s.
"""

import argparse
import json
import os
import platform
import statistics
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="quickstart")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    from tfattngan.console import quiet_tensorflow_import

    with quiet_tensorflow_import():
        import tensorflow as tf

        from tfattngan.data import load_source
        from tfattngan.recipes import apply_overrides
        from tfattngan.recipes import build_gan
        from tfattngan.recipes import get_recipe
        from tfattngan.training.loop import distributed_dataset

        config = apply_overrides(get_recipe(args.recipe), [*args.set, "dataset=builtin"])
        source = load_source(f"builtin:{config.image_size}")
        config = config.replace(channels=source.image_shape[-1]) if config.channels != 3 else config
        gan = build_gan(config)
        iterator = iter(distributed_dataset(source, config, tf.distribute.get_strategy()))
        step = gan.make_train_function()
        options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        flops = tf.compat.v1.profiler.profile(step.get_concrete_function(iterator).graph,
                                              options=options).total_float_ops
        for _ in range(args.warmup):
            float(step(iterator)["loss"])
        times = []
        for _ in range(args.steps):
            start = time.perf_counter()
            float(step(iterator)["loss"])
            times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    images = config.batch_size * config.n_critic
    print(json.dumps({
        "recipe": config.recipe, "image_size": config.image_size, "batch_size": config.batch_size,
        "n_critic": config.n_critic, "steps": args.steps, "seconds_per_step_median": round(seconds, 4),
        "seconds_per_step_min": round(min(times), 4), "steps_per_sec": round(1.0 / seconds, 3),
        "images_per_sec": round(images / seconds, 1), "gflop_per_step": round(flops / 1e9, 3),
        "gflop_per_sec": round(flops / 1e9 / seconds, 1), "cpus": os.cpu_count(), "machine": platform.processor()
        or platform.machine(), "tensorflow": tf.__version__,
    }, indent=2))


if __name__ == "__main__":
    main()
