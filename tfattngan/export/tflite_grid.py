"""The PNG grid of `tflite/generate.py`: samples of a `.tflite` generator, tiled by `image_grid`.

A grid holds at most `MAX_GRID_PIXELS` pixels, PIL's decompression-bomb
limit (`PIL.Image.MAX_IMAGE_PIXELS`, 89,478,485): PIL, and the viewers and
tools built on it, warn about a larger PNG and refuse one over twice the
limit as a possible decompression bomb. That is 77,284 images of 32x32 (a
grid of 9,454 x 9,454 pixels, 268 MB of uint8 RGB in memory, about twice
that while it is tiled). The images are made in the generator's fixed
chunks and kept as uint8 only, so the memory of a grid grows with its
pixels, never with float images or the interpreter.
"""

from PIL import Image

from tfattngan.atomic_files import atomic_file
from tfattngan.errors import UserInputError
from tfattngan.training.pictures import grid_shape
from tfattngan.training.pictures import image_grid
from tfattngan.training.pictures import save_png
from tfattngan.write_errors import reported_write_failures

MAX_GRID_PIXELS = Image.MAX_IMAGE_PIXELS


def largest_grid_count(height, width):
    """The most images of `height x width` that one grid holds (`MAX_GRID_PIXELS`).

    Example:

    >>> largest_grid_count(32, 32)
    77284
    """
    low, high = 1, MAX_GRID_PIXELS // (height * width) + 1  # the grid pixels grow with the count
    while low < high:
        middle = (low + high + 1) // 2
        grid_height, grid_width, _ = grid_shape(middle, height, width)
        low, high = (middle, high) if grid_height * grid_width <= MAX_GRID_PIXELS else (low, middle - 1)
    return low


def check_grid_count(count, height, width):
    """`count` when a grid of that many `height x width` images fits `MAX_GRID_PIXELS`; else a `UserInputError`.

    Example:

    >>> check_grid_count(100_000, 32, 32)
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: --num-samples 100000 makes a grid of 10780 x 10746 pixels; a PNG grid holds at most 89478485 pixels (PIL's decompression-bomb limit: PIL and the viewers built on it warn about or refuse larger images), which is 77284 images of 32x32; give a smaller --num-samples, or several seeds.
    """
    grid_height, grid_width, _ = grid_shape(count, height, width)
    if grid_height * grid_width > MAX_GRID_PIXELS:
        raise UserInputError(
            f"--num-samples {count} makes a grid of {grid_width} x {grid_height} pixels; a PNG grid holds at most "
            f"{MAX_GRID_PIXELS} pixels (PIL's decompression-bomb limit: PIL and the viewers built on it warn about "
            f"or refuse larger images), which is {largest_grid_count(height, width)} images of {height}x{width}; give a smaller "
            "--num-samples, or several seeds."
        )
    return count


def write_sample_grid(generator, count, seed, path):
    """Writes `count` samples of a `TFLiteGenerator` for `seed` as one PNG grid at `path`, atomically.

    Raises:
        UserInputError: the grid would be over `MAX_GRID_PIXELS`, or
            (`WriteFailedError`) `path` cannot be written; an existing file
            there is kept.

    Example:

    >>> import pathlib, tempfile
    >>> from tfattngan.export import TFLiteGenerator, convert_to_tflite, export_generator
    >>> from tfattngan.models import dcgan_generator
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = export_generator(dcgan_generator(16, 1, latent_dim=8, filters=2), folder / "1")
    >>> _ = convert_to_tflite(folder / "1", folder / "gen.tflite")
    >>> write_sample_grid(TFLiteGenerator(folder / "gen.tflite", 1), 6, 0, folder / "grid.png")
    >>> Image.open(folder / "grid.png").size
    (56, 38)
    """
    height, width, _ = generator.image_shape
    check_grid_count(count, height, width)
    grid = image_grid(generator.sample_uint8(count, seed))
    with reported_write_failures(f"the grid {path}", "no partial file was left (a file there before is kept)"):
        with atomic_file(path) as scratch:
            save_png(grid, scratch)
