"""A client that knows TensorFlow and NumPy only: `python serving_client.py JOBS.json`.

Run in a fresh process by the export tests, it plays a user who received an
exported SavedModel without this package. For each job it loads the
SavedModel, calls `serving_default` twice on the job's inputs, calls
`generate` for a few seeds, provokes the input errors (counts out of range,
a narrow latent, too many latent rows, NaN and inf latents, bad labels), and
saves what it saw to the job's output `.npz`. It fails if `tfattngan` was imported.
"""

import json
import sys


def _error(call):
    try:
        call()
    except Exception as error:  # the message a user sees is the point
        return f"{type(error).__name__}: {error}"
    return "no error"


def run_job(job):
    """Runs one job: `{"savedmodel", "inputs", "output", "latent_dim"}`."""
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(job["savedmodel"])
    serve, generate = loaded.signatures["serving_default"], loaded.signatures["generate"]
    inputs = {name: tf.constant(value) for name, value in np.load(job["inputs"]).items()}
    first, second = serve(**inputs), serve(**inputs)
    seeded = {seed: generate(num_samples=tf.constant(4), seed=tf.constant(seed, tf.int64))["images_uint8"]
              for seed in (3, 4)}
    again = generate(num_samples=tf.constant(4), seed=tf.constant(3, tf.int64))["images_uint8"]
    narrow = dict(inputs, latent=tf.zeros([len(inputs["latent"]), job["latent_dim"] - 1]))
    rows = {"latent": tf.zeros([257, job["latent_dim"]])}  # one over the default max_samples
    if "label" in inputs:
        rows["label"] = tf.zeros([257], tf.int32)
    latent = inputs["latent"].numpy()
    nan, inf = latent.copy(), latent.copy()
    nan[1, 2], inf[0, 0], inf[4, 1] = np.nan, np.inf, -np.inf
    errors = {
        "too_many_rows": _error(lambda: serve(**rows)),
        "nan_latent": _error(lambda: serve(**dict(inputs, latent=tf.constant(nan)))),
        "inf_latent": _error(lambda: serve(**dict(inputs, latent=tf.constant(inf)))),
    }
    if "label" in inputs:
        errors["bad_label"] = _error(lambda: serve(**dict(inputs, label=inputs["label"] + 1000)))
    np.savez(
        job["output"],
        **errors,
        images=first["images"].numpy(), images_uint8=first["images_uint8"].numpy(),
        images_again=second["images"].numpy(),
        seed3=seeded[3].numpy(), seed3_again=again.numpy(), seed4=seeded[4].numpy(),
        too_many=_error(lambda: generate(num_samples=tf.constant(100000), seed=tf.constant(0, tf.int64))),
        too_few=_error(lambda: generate(num_samples=tf.constant(0), seed=tf.constant(0, tf.int64))),
        narrow_latent=_error(lambda: serve(**narrow)),
        inputs=sorted(serve.structured_input_signature[1]),
    )


def main(path):
    with open(path) as handle:
        jobs = json.load(handle)
    for job in jobs:
        run_job(job)
    imported = sorted(name for name in sys.modules if name.split(".")[0] == "tfattngan")
    if imported:
        raise SystemExit(f"the client imported {imported}")
    print(json.dumps({"jobs": len(jobs), "tfattngan_imported": False}))


if __name__ == "__main__":
    main(sys.argv[1])
