"""Pictures of a run: sample grids and maps of where self-attention looks."""

import math

import numpy as np
from PIL import Image

from tfattngan.pixels import to_uint8


def grid_shape(count, height, width, columns=None, padding=2):
    """`(grid height, grid width, columns)` of `image_grid` for `count` images of `height x width`.

    Example:

    >>> grid_shape(6, 4, 4, columns=3)
    (14, 20, 3)
    """
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    return rows * (height + padding) + padding, columns * (width + padding) + padding, columns


def image_grid(images, columns=None, padding=2):
    """Tiles `[N, H, W, C]` images (float in [-1, 1] or uint8) into one uint8 image.

    Args:
        images: the images; 1-channel images give a grey grid.
        columns: images per row. Defaults to `ceil(sqrt(N))`.
        padding: pixels between images. Defaults to `2`.

    Returns:
        uint8 array `[rows * (H + p) + p, columns * (W + p) + p, C]`.

    Example:

    >>> image_grid(np.zeros((6, 4, 4, 3), "uint8"), columns=3).shape
    (14, 20, 3)
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = to_uint8(images).numpy()
    count, height, width, channels = images.shape
    grid_height, grid_width, columns = grid_shape(count, height, width, columns, padding)
    grid = np.full((grid_height, grid_width, channels), 255, np.uint8)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = padding + row * (height + padding), padding + column * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_png(image, path):
    """Saves a uint8 `[H, W, C]` image (C = 1 or 3) as PNG.

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "grid.png")
    >>> save_png(np.zeros((4, 4, 1), "uint8"), path)
    >>> Image.open(path).size
    (4, 4)
    """
    image = np.asarray(image)
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)


def query_points(height, width, count=4):
    """`count` query positions (row, column) spread over a `height x width` map.

    Example:

    >>> query_points(16, 16)
    [(4, 4), (4, 12), (12, 4), (12, 12)]
    """
    side = math.ceil(math.sqrt(count))
    points = []
    for index in range(count):
        row, column = divmod(index, side)
        points.append((int((row + 0.5) * height / side), int((column + 0.5) * width / side)))
    return points


def save_attention_maps(images, attention, path, queries=4):
    """Saves, per sample, the image with query points and each query's attention map.

    Like Figure 1 of the SAGAN paper: for a few query positions of the
    attention layer's feature map, the heat map of the attention weights
    over all keys, upsampled to the image.

    Args:
        images: `[B, S, S, C]` generated images in [-1, 1].
        attention: `[B, N_queries, N_keys]` maps of one layer.
        path: where to save the PNG.
        queries: query points per sample. Defaults to `4`.

    Example:

    >>> import os, tempfile
    >>> maps = np.full((2, 64, 16), 1 / 16, "float32")
    >>> path = os.path.join(tempfile.mkdtemp(), "attention.png")
    >>> save_attention_maps(np.zeros((2, 16, 16, 3), "float32"), maps, path)
    >>> os.path.getsize(path) > 0
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    images, attention = np.asarray(images, "float32"), np.asarray(attention, "float32")
    count, size = images.shape[0], images.shape[1]
    query_side = int(round(math.sqrt(attention.shape[1])))
    key_side = int(round(math.sqrt(attention.shape[2])))
    points = query_points(query_side, query_side, queries)
    colours = pyplot.cm.tab10(np.arange(len(points)))
    figure, axes = pyplot.subplots(count, len(points) + 1, figsize=(1.6 * (len(points) + 1), 1.6 * count), squeeze=False)
    scale = size / query_side
    for row in range(count):
        picture = to_uint8(images[row]).numpy()
        picture = picture[..., 0] if picture.shape[-1] == 1 else picture
        axes[row, 0].imshow(picture, cmap="gray" if picture.ndim == 2 else None)
        for index, (query_row, query_column) in enumerate(points):
            axes[row, 0].scatter([(query_column + 0.5) * scale - 0.5], [(query_row + 0.5) * scale - 0.5],
                                 s=30, color=colours[index], edgecolors="white")
            weights = attention[row, query_row * query_side + query_column].reshape(key_side, key_side)
            axes[row, index + 1].imshow(picture, cmap="gray" if picture.ndim == 2 else None)
            axes[row, index + 1].imshow(weights, cmap="magma", alpha=0.75,
                                        extent=(-0.5, size - 0.5, size - 0.5, -0.5), interpolation="bilinear")
            axes[row, index + 1].scatter([(query_column + 0.5) * scale - 0.5], [(query_row + 0.5) * scale - 0.5],
                                         s=30, color=colours[index], edgecolors="white")
    for axis in axes.ravel():
        axis.set_axis_off()
    axes[0, 0].set_title("sample", fontsize=8)
    for index in range(len(points)):
        axes[0, index + 1].set_title(f"query {index + 1}", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
