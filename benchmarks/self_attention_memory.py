"""Peak memory and time of SelfAttention, full map against blocks of queries, in every mode.

A mode is what is computed: `forward` (the layer's output), `backward` (its
gradient with respect to the weights, as a generator or discriminator update
does) or `double-backward` (the gradient with respect to the weights of a
penalty on the gradient with respect to the input, as the WGAN-GP, WGAN-div
and R1 penalties do through a discriminator with attention); each runs
eagerly or inside a `tf.function`.

Each measurement runs in a fresh process, so the peak resident memory it
reports (ru_maxrss, less the process's peak before the pass) belongs to that
pass alone. Prints one JSON object per measurement on stderr as it goes and
the list of all of them on stdout.

Example:
    python benchmarks/self_attention_memory.py --sizes 64 --batch 2 --channels 64
    python benchmarks/self_attention_memory.py --sizes 64 --blocks 1024 --modes double-backward --executions eager
"""

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

MODES = ("forward", "backward", "double-backward")
EXECUTIONS = ("eager", "function")

CHILD = r"""
import json, os, resource, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
from tfattngan.layers import SelfAttention

size, batch, channels = (int(a) for a in sys.argv[1:4])
block = None if sys.argv[4] == "None" else int(sys.argv[4])
mode, execution = sys.argv[5], sys.argv[6]
layer = SelfAttention(query_block_size=block)
x = tf.constant(np.random.default_rng(0).normal(size=(batch, size, size, channels)).astype("float32"))
layer(x[:1, :8, :8])  # build on a small map
layer.gamma.assign(0.5)

def forward(x):
    return tf.reduce_sum(tf.square(layer(x, training=True)))

def backward(x):
    with tf.GradientTape() as tape:
        loss = forward(x)
    return loss, tape.gradient(loss, layer.trainable_variables)

def double_backward(x):
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            inner.watch(x)
            loss = forward(x)
        penalty = tf.reduce_sum(tf.square(inner.gradient(loss, x)))
    return penalty, outer.gradient(penalty, layer.trainable_variables)

step = {"forward": forward, "backward": backward, "double-backward": double_backward}[mode]
if execution == "function":
    step = tf.function(step)

def run():
    result = step(x)
    float(result[0] if isinstance(result, tuple) else result)

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
run()
first = time.perf_counter() - start
start = time.perf_counter()
run()
second = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"first_call_s": round(first, 3), "step_s": round(second, 3),
                  "peak_rss_increase_mib": round((peak - before) / 1024, 1)}))
"""


def measure(size, batch, channels, block, mode, execution):
    """One measurement in a fresh process, as a dict (with `error` if it failed).

    Example:
        measure(64, 2, 64, 1024, "backward", "eager")["peak_rss_increase_mib"]
    """
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(size), str(batch), str(channels), str(block), mode, execution],
        capture_output=True, text=True,
    )
    record = {"feature_map": f"{size}x{size}", "positions": size * size, "batch": batch,
              "channels": channels, "query_block_size": block, "mode": mode, "execution": execution,
              "full_map_mib": round(batch * (size * size) ** 2 * 4 / 2**20, 1)}
    if result.returncode != 0:
        record["error"] = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
    else:
        record.update(json.loads(result.stdout.strip().splitlines()[-1]))
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--blocks", nargs="+", default=["None", "1024"],
                        help="query_block_size values to compare; None is the full map (default: None 1024)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--executions", nargs="+", choices=EXECUTIONS, default=list(EXECUTIONS))
    parser.add_argument("--jobs", type=int, default=1,
                        help="measurements run at once (memory is per process; times are only comparable with 1)")
    args = parser.parse_args()
    blocks = [None if b.lower() == "none" else int(b) for b in args.blocks]
    jobs = [(size, args.batch, args.channels, block, mode, execution)
            for size in args.sizes for mode in args.modes for execution in args.executions for block in blocks]

    def run(job):
        record = measure(*job)
        print(json.dumps(record), file=sys.stderr, flush=True)
        return record

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        records = list(pool.map(run, jobs))
    print(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
