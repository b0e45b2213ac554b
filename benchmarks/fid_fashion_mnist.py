"""FID and KID on Fashion-MNIST: test vs train, and test vs test with strong noise.

Computes the Inception features of `--num` Fashion-MNIST test images,
`--num` train images and the same test images with Gaussian noise of
`--sigma` (in [-1, 1] units, clipped), each with its time and images/s,
then FID and KID (with its standard error) of (test, train) and
(test, noisy test). Prints one JSON object. Nothing is cached: every
feature is computed.

Example:
    python benchmarks/fid_fashion_mnist.py --num 200 --weights ../shared/inception/fid_inception_v3_weights.npz
"""

import argparse
import json
import os
import pathlib
import platform
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "fashion-mnist"


def _images(folder, prefix, num, seed):
    from tfattngan.data.idx import IMAGES_MAGIC
    from tfattngan.data.idx import read_idx

    import numpy as np

    images = read_idx(pathlib.Path(folder) / f"{prefix}-images-idx3-ubyte.gz", IMAGES_MAGIC)[..., None]
    if num > len(images):
        raise SystemExit(f"--num {num} is more than the {len(images)} {prefix} images")
    return images[np.sort(np.random.default_rng(seed).permutation(len(images))[:num])]


def _timed_features(name, images, extractor, batch_size):
    from tfattngan.metrics import compute_features

    started = time.perf_counter()
    features = compute_features(images, extractor, batch_size=batch_size, label=f"{name} features")
    seconds = time.perf_counter() - started
    return features, {"count": features.count, "seconds": round(seconds, 1),
                      "images_per_s": round(features.count / seconds, 1)}


def _distances(real, fake, max_block_size):
    from tfattngan.metrics import frechet_distance
    from tfattngan.metrics import kernel_distance_from_features

    started = time.perf_counter()
    fid = frechet_distance(real.statistics, fake.statistics)
    kid = kernel_distance_from_features(real.features, fake.features, max_block_size=max_block_size)
    kid_std = None if kid.std != kid.std else round(kid.std, 5)  # NaN: a single KID block
    return {"fid": round(fid, 3), "kid": round(kid.mean, 5), "kid_std": kid_std,
            "seconds": round(time.perf_counter() - started, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder with the Fashion-MNIST idx .gz files")
    parser.add_argument("--weights", help="Inception weights (default: $TFATTNGAN_INCEPTION_WEIGHTS)")
    parser.add_argument("--num", type=int, default=10000, help="images of each set (default 10000)")
    parser.add_argument("--sigma", type=float, default=0.5, help="noise standard deviation in [-1, 1] units")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-block-size", type=int, default=1024, help="KID block size (default 1024)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from tfattngan.console import quiet_tensorflow_import

    with quiet_tensorflow_import():
        import numpy as np

        from tfattngan.metrics import load_extractor

    extractor = load_extractor(args.weights)
    test = _images(args.data, "t10k", args.num, args.seed)
    train = _images(args.data, "train", args.num, args.seed)
    noise = np.random.default_rng(args.seed + 1).normal(0.0, args.sigma, test.shape)
    noisy = np.clip(test / 127.5 - 1.0 + noise, -1.0, 1.0).astype(np.float32)

    test_features, test_time = _timed_features("test", test, extractor, args.batch_size)
    train_features, train_time = _timed_features("train", train, extractor, args.batch_size)
    noisy_features, noisy_time = _timed_features("noisy test", noisy, extractor, args.batch_size)
    print(json.dumps({
        "benchmark": "fid_fashion_mnist",
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count()},
        "weights": extractor.describe(),
        "num": args.num,
        "sigma": args.sigma,
        "features": {"test": test_time, "train": train_time, "noisy_test": noisy_time},
        "test_vs_train": _distances(test_features, train_features, args.max_block_size),
        "test_vs_noisy_test": _distances(test_features, noisy_features, args.max_block_size),
    }, indent=2))


if __name__ == "__main__":
    main()
