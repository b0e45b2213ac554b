"""How many images the metrics need, checked before any feature is computed.

Every metric needs at least 2 images of each set: FID a covariance, KID an
unbiased block estimate (which leaves out each image's kernel with itself),
IS a split of more than one image. `require_images` refuses fewer from the
counts known before reading (`image_count`); `kid_block_problem` says when
the KID blocks cannot be filled. FID of fewer images than feature
dimensions (2048 for Inception's pool_3) is a number, but its covariance is
singular (rank at most N - 1 < D) and the distance strongly biased:
`fid_warnings` says so, in the printed output and in metrics.json. KID is
unbiased at any size (only its spread grows), and IS does not use the
features, so neither has that warning.
"""

from tfattngan.errors import UserInputError

MIN_IMAGES = 2
KID_BLOCK_SIZE = 1024  # tensorflow-gan's default block of the KID estimator
MAX_KID_FEATURES = 10000  # feature vectors kept per image set for KID (float32: 80 MB at 10000)


def require_images(counts, kid_block_size=None):
    """Raises `UserInputError` when a set has fewer than `MIN_IMAGES` images.

    Args:
        counts: dict from a set's name (`"reference"`, `"generated"`) to its
            image count, or to `None` when only reading tells (then the
            metric itself refuses it after reading).
        kid_block_size: int, KID's `max_block_size`, to also refuse two sets
            whose KID features (at most `MAX_KID_FEATURES` of each) cannot
            fill its blocks (`kid_block_problem`); `None` for no KID.
            Defaults to `None`.

    Example:

    >>> require_images({"reference": 100, "generated": None})
    >>> require_images({"reference": 5000, "generated": 4}, kid_block_size=1024)
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: KID of 5000 and 4 features in blocks of at most 1024 needs at least 10 of each; \
use more images or a larger max_block_size
    >>> require_images({"reference": 100, "generated": 1})
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: 1 generated image is too few: FID, KID and IS need at least 2 images of each \
set (and FID thousands); use more images.
    """
    for name, count in counts.items():
        if count is not None and count < MIN_IMAGES:
            noun = "image is" if count == 1 else "images are"
            raise UserInputError(
                f"{count} {name} {noun} too few: FID, KID and IS need at least {MIN_IMAGES} images of each set "
                "(and FID thousands); use more images."
            )
    if kid_block_size is not None and None not in counts.values():
        problem = kid_block_problem(*(min(count, MAX_KID_FEATURES) for count in counts.values()), kid_block_size)
        if problem is not None:
            raise UserInputError(problem)


def kid_block_problem(count1, count2, max_block_size):
    """Why two sets of `count1` and `count2` features cannot fill KID's blocks, or `None` when they can.

    The estimator cuts both sets into `ceil(max(count1, count2) / max_block_size)`
    blocks, and each block needs 2 features of each set.

    Example:

    >>> kid_block_problem(5, 300, 100)
    'KID of 5 and 300 features in blocks of at most 100 needs at least 6 of each; use more images or a larger max_block_size'
    >>> kid_block_problem(2, 2, 1024) is None
    True
    """
    blocks = -(-max(count1, count2) // max_block_size)
    if min(count1, count2) >= MIN_IMAGES * blocks:
        return None
    return (
        f"KID of {count1} and {count2} features in blocks of at most {max_block_size} needs at least "
        f"{MIN_IMAGES * blocks} of each; use more images or a larger max_block_size"
    )


def fid_warnings(counts, dim):
    """The warnings for sets with fewer images than the `dim` feature dimensions.

    Args:
        counts: dict from a set's name to its image count.
        dim: int, the feature dimensions (2048 for Inception's pool_3).

    Returns:
        A list of one-line warnings, empty when every set is large enough.

    Example:

    >>> fid_warnings({"reference": 5000, "generated": 5}, 2048)  # doctest: +ELLIPSIS
    ['FID of 5 generated images is unreliable: fewer images than its 2048 feature dimensions make a singular ...']
    """
    return [
        f"FID of {count} {name} images is unreliable: fewer images than its {dim} feature dimensions make a "
        f"singular covariance and a strongly biased distance; use at least {dim} (10000 or more is usual)"
        for name, count in counts.items()
        if count < dim
    ]
