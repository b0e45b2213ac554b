"""The built-in data set: coloured shapes drawn with NumPy, no files needed.

Every image has structure that spans the whole picture, so that a GAN with
self-attention has long-range dependencies to learn, and is simple enough
for a small GAN to learn visibly within minutes on a CPU. Four classes:

0. `mirror_blobs`: pairs of soft ellipses mirrored about the vertical
   centre line (left-right symmetric, like an ink blot).
1. `ring`: a ring centred on the image, of random radius and thickness.
2. `disc_pair`: two discs of one colour and size at opposite ends of a line
   through the centre (symmetric under a half turn).
3. `cross`: a cross centred on the image with arms of random length and
   width (symmetric under left-right and up-down flips).

Each image has a smooth radial background gradient (symmetric about the
centre, so every class's symmetry holds exactly, pixel for pixel) and edges
anti-aliased over one pixel. The drawing uses only the NumPy random
generator and correctly rounded arithmetic (no transcendental functions),
so the same arguments give the same bytes on every machine.
"""

import numpy as np

CLASS_NAMES = ("mirror_blobs", "ring", "disc_pair", "cross")

_CHUNK = 512
_BLOB_PAIRS = 3


def _hsv_to_rgb(hue, saturation, value):
    """Vectorised HSV -> RGB, all in [0, 1]; `[n]` arrays give `[n, 3]`."""
    k = (np.array([5.0, 3.0, 1.0], np.float32) + hue[..., None] * 6.0) % 6.0
    ramp = np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return value[..., None] * (1.0 - saturation[..., None] * ramp)


def _vivid(rng, shape):
    """Saturated, bright colours `[*shape, 3]`."""
    return _hsv_to_rgb(
        rng.uniform(0, 1, shape).astype(np.float32),
        rng.uniform(0.55, 1.0, shape).astype(np.float32),
        rng.uniform(0.7, 1.0, shape).astype(np.float32),
    )


def _sample(label, rng, n):
    """Random parameters of `n` images of class `label`, float32 arrays."""
    uniform = lambda low, high, *shape: rng.uniform(low, high, (n, *shape)).astype(np.float32)  # noqa: E731
    if label == 0:
        return {
            "centre": np.stack([uniform(0.1, 0.65, _BLOB_PAIRS), uniform(-0.65, 0.65, _BLOB_PAIRS)], -1),
            "radii": uniform(0.1, 0.35, _BLOB_PAIRS, 2),
            "colour": _vivid(rng, (n, _BLOB_PAIRS)),
        }
    if label == 1:
        return {"radius": uniform(0.35, 0.8), "width": uniform(0.08, 0.22), "colour": _vivid(rng, (n, 1))}
    if label == 2:
        direction = rng.normal(size=(n, 2)).astype(np.float32)
        direction /= np.sqrt(np.sum(direction**2, axis=1, keepdims=True)) + np.float32(1e-6)
        return {
            "centre": direction * uniform(0.4, 0.7)[:, None],
            "radius": uniform(0.12, 0.26),
            "colour": _vivid(rng, (n, 1)),
        }
    return {
        "half_length": uniform(0.45, 0.9, 2),
        "half_width": uniform(0.06, 0.18, 2),
        "colour": _vivid(rng, (n, 1)),
    }


def _layers(label, params, x, y):
    """The shapes of class `label` as signed distances `[n, S, S]` (negative
    inside), each with a colour `[n, 3]`, painted in order."""
    if label == 0:
        for k in range(_BLOB_PAIRS):
            cx, cy = (params["centre"][:, k, i, None, None] for i in (0, 1))
            rx, ry = (params["radii"][:, k, i, None, None] for i in (0, 1))
            dy = ((y - cy) / ry) ** 2
            # The pair is painted as one shape, so it stays exactly symmetric.
            scaled = np.minimum(((x - cx) / rx) ** 2, ((x + cx) / rx) ** 2) + dy
            yield (np.sqrt(scaled) - 1.0) * np.minimum(rx, ry), params["colour"][:, k]
    elif label == 1:
        radius, width = (params[key][:, None, None] for key in ("radius", "width"))
        yield np.abs(np.sqrt(x**2 + y**2) - radius) - width / 2, params["colour"][:, 0]
    elif label == 2:
        cx, cy = (params["centre"][:, i, None, None] for i in (0, 1))
        nearest = np.minimum((x - cx) ** 2 + (y - cy) ** 2, (x + cx) ** 2 + (y + cy) ** 2)
        yield np.sqrt(nearest) - params["radius"][:, None, None], params["colour"][:, 0]
    else:
        length, width = (params[key][:, :, None, None] for key in ("half_length", "half_width"))
        horizontal = np.maximum(np.abs(x) - length[:, 0], np.abs(y) - width[:, 0])
        vertical = np.maximum(np.abs(x) - width[:, 1], np.abs(y) - length[:, 1])
        yield np.minimum(horizontal, vertical), params["colour"][:, 0]


def draw_shapes(num_examples=10000, image_size=32, seed=0):
    """Draws the built-in data set of coloured shapes.

    Args:
        num_examples: int, how many images. Defaults to `10000`.
        image_size: int, height and width in pixels. Defaults to `32`.
        seed: int, seed of the NumPy generator; the same arguments give the
            same images on every machine. Defaults to `0`.

    Returns:
        A tuple `(images, labels)`: `images` uint8 `[N, S, S, 3]`, `labels`
        int32 `[N]` with the class ids of `CLASS_NAMES`.

    Example:

    >>> images, labels = draw_shapes(num_examples=8, image_size=16)
    >>> images.shape, images.dtype, labels.shape
    ((8, 16, 16, 3), dtype('uint8'), (8,))
    >>> ring = images[labels == 1][0]
    >>> bool((ring == ring[::-1, ::-1]).all())  # a centred ring
    True
    """
    if int(num_examples) < 1 or int(image_size) < 2:
        raise ValueError(
            f"draw_shapes needs num_examples >= 1 and image_size >= 2, "
            f"got {num_examples} and {image_size}."
        )
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(num_examples) % len(CLASS_NAMES)).astype(np.int32)
    # Background: a radial gradient between two muted colours.
    inner, outer = (
        _hsv_to_rgb(
            rng.uniform(0, 1, num_examples).astype(np.float32),
            rng.uniform(0.0, 0.5, num_examples).astype(np.float32),
            rng.uniform(0.08, 0.45, num_examples).astype(np.float32),
        )
        for _ in range(2)
    )
    params = {label: _sample(label, rng, int(np.sum(labels == label))) for label in range(len(CLASS_NAMES))}
    # Pixel centres in [-1, 1], exactly antisymmetric: x[S - 1 - j] == -x[j].
    coords = (2.0 * np.arange(image_size) + 1.0 - image_size).astype(np.float32) / np.float32(image_size)
    x, y = coords[None, None, :], coords[None, :, None]
    pixel = np.float32(2.0 / image_size)
    radial = (np.sqrt(x**2 + y**2) / np.float32(np.sqrt(2.0)))[..., None]
    images = np.empty((num_examples, image_size, image_size, 3), np.uint8)
    for label, label_params in params.items():
        where = np.flatnonzero(labels == label)
        for start in range(0, len(where), _CHUNK):
            rows = where[start : start + _CHUNK]
            chunk = {key: value[start : start + _CHUNK] for key, value in label_params.items()}
            canvas = inner[rows, None, None] * (1.0 - radial) + outer[rows, None, None] * radial
            for distance, colour in _layers(label, chunk, x, y):
                # Coverage falls from 1 to 0 across one pixel at the edge.
                coverage = np.clip(0.5 - distance / pixel, 0.0, 1.0)[..., None]
                canvas = canvas * (1.0 - coverage) + colour[:, None, None] * coverage
            images[rows] = np.round(canvas * 255.0)
    return images, labels
