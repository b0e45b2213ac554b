"""Peak memory and time of one SelfAttention forward+backward pass, full vs. blocks.

Each configuration runs in a fresh process, so the peak resident memory it
reports (ru_maxrss, less the process's memory before the pass) belongs to
that pass alone. Prints one JSON object per configuration and a summary list.

Example:
    python benchmarks/self_attention_memory.py --sizes 32 64 --batch 2 --channels 64
"""

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, os, resource, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
from tfattngan.layers import SelfAttention

size, batch, channels, block = (int(a) if a != "None" else None for a in sys.argv[1:5])
layer = SelfAttention(query_block_size=block)
x = tf.constant(np.random.default_rng(0).normal(size=(batch, size, size, channels)).astype("float32"))
layer(x[:1, :8, :8])  # build on a small map
layer.gamma.assign(0.5)

@tf.function
def step(x):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(x, training=True)))
    return loss, tape.gradient(loss, layer.trainable_variables)

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
loss, _ = step(x)
float(loss)
first = time.perf_counter() - start
start = time.perf_counter()
loss, _ = step(x)
float(loss)
second = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"first_call_s": round(first, 3), "step_s": round(second, 3),
                  "peak_rss_increase_mib": round((peak - before) / 1024, 1)}))
"""


def measure(size, batch, channels, block):
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(size), str(batch), str(channels), str(block)],
        capture_output=True, text=True,
    )
    record = {"feature_map": f"{size}x{size}", "positions": size * size, "batch": batch,
              "channels": channels, "query_block_size": block,
              "full_map_mib": round(batch * (size * size) ** 2 * 4 / 2**20, 1)}
    if result.returncode != 0:
        record["error"] = (result.stderr.strip().splitlines() or ["killed"])[-1]
    else:
        record.update(json.loads(result.stdout.strip().splitlines()[-1]))
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--block", type=int, default=1024)
    args = parser.parse_args()
    records = []
    for size in args.sizes:
        for block in (None, args.block):
            record = measure(size, args.batch, args.channels, block)
            print(json.dumps(record), file=sys.stderr)
            records.append(record)
    print(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
