"""A served generator under concurrent load: requests per second and peak memory, as JSON.

    python benchmarks/serving_load.py models/quickstart/1                   # 8 threads x 50 requests
    python benchmarks/serving_load.py models/quickstart/1 --threads 2 --requests 200 --records load.jsonl

A client with TensorFlow and NumPy only (no tfattngan), as a server process
would be: it loads the SavedModel, answers each distinct valid request once
on one thread (the reference, and the warm-up), then sends `--requests`
requests from each of `--threads` threads at once, to `generate` and
`serving_default`, valid and invalid mixed (`plan`): out-of-range
`num_samples`, a batch of `--oversize` times the export's `max_samples`
rows, NaN and inf latents. Every valid answer must equal the single-threaded
one for its seed or latent, every invalid request must get its message.

Prints one JSON object: the counts, `mismatched` (valid answers that differ
from the reference, or failed), `wrong_errors` (invalid requests without
their message), the seconds and requests per second of the concurrent
phase, and the process's peak resident memory (`ru_maxrss`) before it and
at the end. `--records PATH` writes one JSON line per request (its plan,
the SHA-256 of its answer or its error message) for tests to check.
"""

import argparse
import hashlib
import json
import os
import resource
import sys
import threading
import time

# The message of each kind of invalid request, as the export's signatures word it.
EXPECTED_ERRORS = {
    "num_samples_zero": "num_samples must be between 1 and {max_samples}",
    "num_samples_over": "num_samples must be between 1 and {max_samples}",
    "rows_over": "latent must have between 1 and {max_samples} rows",
    "nan_latent": "latent must hold finite numbers only",
    "inf_latent": "latent must hold finite numbers only",
}
SEEDS = 4  # distinct seeds (and latent draws) of the valid requests


def plan(thread, index, max_batch):
    """The request `index` of thread `thread`: `{"signature", "kind", "count", "seed"}`, one kind in ten each.

    Six in ten are valid (`generate` of 1 to `max_batch` images for one of
    `SEEDS` seeds, `serving_default` of as many rows drawn from one of them),
    four invalid.
    """
    kinds = ["generate", "generate", "generate", "serve", "serve", "serve",
             "num_samples_zero" if index // 10 % 2 == 0 else "num_samples_over", "rows_over", "nan_latent",
             "inf_latent"]
    kind = kinds[index % 10]
    signature = "generate" if kind.startswith("generate") or kind.startswith("num_samples") else "serving_default"
    return {"signature": signature, "kind": kind, "count": 1 + (thread + index) % max_batch,
            "seed": (thread * 7 + index) % SEEDS}


def inputs(request, metadata, np, tf):
    """The tensors of one planned request, for `metadata` (the export's `metadata` signature)."""
    latent_dim, max_samples, classes = metadata["latent_dim"], metadata["max_samples"], metadata["num_classes"]
    kind, count, seed = request["kind"], request["count"], request["seed"]
    if request["signature"] == "generate":
        number = {"generate": count, "num_samples_zero": 0, "num_samples_over": max_samples + 1}[kind]
        return {"num_samples": tf.constant(number, tf.int32), "seed": tf.constant(seed, tf.int64)}
    rows = request["oversize"] * max_samples if kind == "rows_over" else count
    latent = np.random.default_rng(seed).standard_normal((rows, latent_dim)).astype("float32")
    if kind == "nan_latent":
        latent[0, 0] = np.nan
    if kind == "inf_latent":
        latent[-1, -1] = np.inf
    tensors = {"latent": tf.constant(latent)}
    if classes:
        tensors["label"] = tf.constant(np.arange(rows) % classes, tf.int32)
    return tensors


def digest(outputs):
    """SHA-256 of a signature's outputs, in the order of their names."""
    sha = hashlib.sha256()
    for name in sorted(outputs):
        sha.update(name.encode())
        sha.update(outputs[name].numpy().tobytes())
    return sha.hexdigest()


def answer(signatures, request, metadata, np, tf):
    """`{"digest": ...}` or `{"error": message}` for one request."""
    try:
        return {"digest": digest(signatures[request["signature"]](**inputs(request, metadata, np, tf)))}
    except Exception as error:  # the message a client sees is the point
        return {"error": f"{type(error).__name__}: {error}"}


def peak_rss_mib():
    """This process's peak resident memory so far, MiB (`ru_maxrss` is in KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("savedmodel", help="a SavedModel version directory written by export/export_savedmodel.py")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--requests", type=int, default=50, help="requests per thread (50)")
    parser.add_argument("--max-batch", type=int, default=3, help="images of a valid request: 1 to this (3)")
    parser.add_argument("--oversize", type=int, default=8, help="rows of the oversized batch, x max_samples (8)")
    parser.add_argument("--records", help="write one JSON line per request to this file")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow logs every failed check of a request
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(args.savedmodel)
    signatures = loaded.signatures
    metadata = json.loads(signatures["metadata"]()["metadata"].numpy().decode())
    requests = [dict(plan(thread, index, args.max_batch), thread=thread, index=index, oversize=args.oversize)
                for thread in range(args.threads) for index in range(args.requests)]
    key = lambda request: (request["signature"], request["count"], request["seed"])  # noqa: E731
    references = {}
    for request in requests:  # one thread: the reference answers, and the warm-up
        if request["kind"] in ("generate", "serve") and key(request) not in references:
            references[key(request)] = answer(signatures, request, metadata, np, tf)
    rss_before = peak_rss_mib()

    results = [None] * len(requests)

    def worker(thread):
        for position in range(thread * args.requests, (thread + 1) * args.requests):
            results[position] = answer(signatures, requests[position], metadata, np, tf)

    threads = [threading.Thread(target=worker, args=(thread,)) for thread in range(args.threads)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start

    mismatched = wrong_errors = 0
    for request, result in zip(requests, results):
        if request["kind"] in ("generate", "serve"):
            mismatched += result != references[key(request)]
        else:
            wrong_errors += EXPECTED_ERRORS[request["kind"]].format(**metadata) not in result.get("error", "")
    if args.records:
        with open(args.records, "w") as handle:
            for request, result in zip(requests, results):
                handle.write(json.dumps({**request, **result}) + "\n")
    valid = sum(request["kind"] in ("generate", "serve") for request in requests)
    print(json.dumps({
        "savedmodel": args.savedmodel,
        "image_shape": metadata["image_shape"],
        "max_samples": metadata["max_samples"],
        "threads": args.threads,
        "requests": len(requests),
        "valid": valid,
        "invalid": len(requests) - valid,
        "mismatched": mismatched,
        "wrong_errors": wrong_errors,
        "seconds": round(seconds, 3),
        "requests_per_second": round(len(requests) / seconds, 1),
        "peak_rss_before_load_mib": rss_before,
        "peak_rss_mib": peak_rss_mib(),
        "peak_rss_increase_mib": round(peak_rss_mib() - rss_before, 1),
        "tensorflow": tf.__version__,
        "tfattngan_imported": any(name.split(".")[0] == "tfattngan" for name in sys.modules),
    }, indent=2))


if __name__ == "__main__":
    main()
