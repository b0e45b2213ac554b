"""`results.png`: the paper's and this run's values side by side, and one strip of samples per variant."""

import pathlib

import numpy as np
from PIL import Image


def save_results_figure(results, out, path):
    """Draws the results (`collect_results`) of the study in `out` into the PNG file `path`.

    One bar chart per metric puts the paper's value beside this run's for
    every row; below, each row's `study-samples.png` strip (from its
    evaluated checkpoint) is shown under its variant's name, so that the
    variants can be compared by eye. A row without samples (failed, not
    run) says so in its place.

    Example:

    >>> import os, tempfile
    >>> from tfattngan.study.catalog import get_study
    >>> from tfattngan.study.results import collect_results
    >>> from tfattngan.study.runner import plan_rows
    >>> study, out = get_study("sagan-celeba"), tempfile.mkdtemp()
    >>> path = os.path.join(out, "results.png")
    >>> save_results_figure(collect_results(study, out, plan_rows(study, out, steps=10)), out, path)
    >>> os.path.getsize(path) > 0
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = results["rows"]
    metrics = [metric for metric in ("FID", "IS") if any(metric in row["paper"] for row in rows)]
    labels = [f"{row['variant']}\n{row['dataset']}" for row in rows]
    figure = pyplot.figure(figsize=(max(8.0, 1.3 * len(rows) * len(metrics)), 3.2 + 0.9 * len(rows)))
    grid = figure.add_gridspec(2, len(metrics), height_ratios=[3.2, 0.9 * len(rows)])
    for column, metric in enumerate(metrics):
        axis = figure.add_subplot(grid[0, column])
        positions = np.arange(len(rows))
        paper = [row["paper"].get(metric, np.nan) for row in rows]
        ours = [row["this_run"].get(metric) for row in rows]
        ours = [np.nan if value is None else value for value in ours]
        axis.bar(positions - 0.2, paper, 0.4, label="paper", color="#9aa5b1")
        axis.bar(positions + 0.2, ours, 0.4, label="this run", color="#2f6fb3")
        axis.set_xticks(positions, labels, fontsize=6, rotation=45, ha="right")
        axis.set_title(f"{metric} ({'lower' if metric == 'FID' else 'higher'} is better)", fontsize=9)
        axis.legend(fontsize=7)
    strips = grid[1, :].subgridspec(len(rows), 1, hspace=0.5)
    for index, row in enumerate(rows):
        axis = figure.add_subplot(strips[index, 0])
        strip = _samples(out, row)
        title = f"{row['variant']} ({row['dataset']})"
        if strip is None:
            axis.text(0.5, 0.5, f"{title}: {row['status']}", ha="center", va="center", fontsize=8)
        else:
            axis.imshow(strip, cmap="gray" if strip.ndim == 2 else None, vmin=0, vmax=255)
            axis.set_title(title, fontsize=7, loc="left")
        axis.set_axis_off()
    steps = sorted({row["steps"] for row in rows if row.get("steps") is not None})
    budget = f"{', '.join(f'{s:,}' for s in steps)} steps per row" if steps else "not trained yet"
    figure.suptitle(f"{results['study']}: {results['table']} of {results['paper'].split('.')[0]} ({budget})",
                    fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    pyplot.close(figure)


def _samples(out, row):
    if row.get("status") != "finished" or not row.get("samples"):
        return None
    path = pathlib.Path(out) / row["recipe"] / row["samples"]
    if not path.is_file():
        return None
    return np.asarray(Image.open(path))
