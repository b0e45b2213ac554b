"""The record of a run: a CSV of logged values, TensorBoard summaries, a curves plot."""

import csv
import io
import os

import numpy as np
import tensorflow as tf

from tfattngan.atomic_files import atomic_file


class TrainingLog:
    """Writes logged values to `losses.csv` and TensorBoard, and plots them.

    On resume from step `resume_step`, rows logged after that step (by a
    run that stopped before its next checkpoint) are dropped so that the
    CSV continues without duplicates, and so is a last row cut short.

    Args:
        csv_path: the CSV file.
        log_dir: the TensorBoard directory, or None for no summaries.
        resume_step: the step the run continues from. Defaults to `0`.

    Example:

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> log = TrainingLog(os.path.join(folder, "losses.csv"), None)
    >>> log.scalars(10, {"d_loss": 1.5, "g_loss": 0.5})
    >>> log.scalars(20, {"d_loss": 1.0, "g_loss": 0.75, "fid": 80.0})
    >>> log.read()["fid"].tolist()
    [nan, 80.0]
    >>> with open(log.csv_path, "a") as handle:
    ...     _ = handle.write("3")  # a row cut short
    >>> TrainingLog(log.csv_path, None, resume_step=20).read()["step"].tolist()
    [10.0, 20.0]
    """

    def __init__(self, csv_path, log_dir, resume_step=0):
        self.csv_path = str(csv_path)
        self.writer = tf.summary.create_file_writer(str(log_dir)) if log_dir else None
        self.rows, self.columns = self._load(resume_step)
        if os.path.exists(self.csv_path):
            self._rewrite()

    def _load(self, resume_step):
        if not os.path.exists(self.csv_path):
            return [], ["step"]
        with open(self.csv_path, newline="") as handle:
            text = handle.read()
        # A row cut short (by a kill or a full disk while appending) ends without a newline: drop it.
        reader = csv.DictReader(io.StringIO(text[: text.rfind("\n") + 1]))
        columns = list(reader.fieldnames or ["step"])
        rows = [row for row in reader if int(row["step"]) <= resume_step]
        return rows, columns

    def _rewrite(self):
        with atomic_file(self.csv_path) as scratch, open(scratch, "w", newline="") as handle:
            writer = csv.DictWriter(handle, self.columns, restval="")
            writer.writeheader()
            writer.writerows(self.rows)

    def scalars(self, step, values):
        """Logs named scalars at `step` to the CSV and TensorBoard."""
        row = {"step": str(int(step)), **{name: f"{float(value):.6g}" for name, value in values.items()}}
        new_columns = [name for name in values if name not in self.columns]
        self.rows.append(row)
        if new_columns or not os.path.exists(self.csv_path):
            self.columns += new_columns
            self._rewrite()
        else:
            with open(self.csv_path, "a", newline="") as handle:
                csv.DictWriter(handle, self.columns, restval="").writerow(row)
        if self.writer is not None:
            with self.writer.as_default(step=int(step)):
                for name, value in values.items():
                    tf.summary.scalar(name, float(value))

    def image(self, step, name, image):
        """Logs one uint8 `[H, W, C]` image to TensorBoard."""
        if self.writer is not None:
            with self.writer.as_default(step=int(step)):
                tf.summary.image(name, np.asarray(image)[None])

    def flush(self):
        """Flushes TensorBoard summaries to disk."""
        if self.writer is not None:
            self.writer.flush()

    def read(self):
        """The logged values as a dict of column -> float array (NaN where missing)."""
        return {
            column: np.array([float(row.get(column) or "nan") for row in self.rows])
            for column in self.columns
        }

    def plot(self, path):
        """Plots the training curves to a PNG: losses, logits, attention weights, FID.

        One panel per group present in the log (like Fig. 3 of RAGAN: the
        discriminator and generator losses against the step).

        Example:

        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> log = TrainingLog(os.path.join(folder, "losses.csv"), None)
        >>> for step in (10, 20): log.scalars(step, {"d_loss": 1.0 / step, "g_loss": 0.1 * step})
        >>> log.plot(os.path.join(folder, "curves.png"))
        >>> os.path.getsize(os.path.join(folder, "curves.png")) > 0
        True
        """
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot

        values = self.read()
        if len(self.rows) == 0:
            return
        groups = [
            ("losses", [c for c in ("d_loss", "g_loss", "penalty") if c in values]),
            ("discriminator logits", [c for c in ("real_logits", "fake_logits") if c in values]),
            ("attention weights", [c for c in values if c.startswith(("generator/", "discriminator/"))]),
            ("FID", [c for c in values if c.startswith("fid")]),
        ]
        groups = [(title, columns) for title, columns in groups if columns]
        figure, axes = pyplot.subplots(len(groups), 1, figsize=(8, 2.6 * len(groups)), sharex=True, squeeze=False)
        steps = values["step"]
        for axis, (title, columns) in zip(axes[:, 0], groups):
            for column in columns:
                present = ~np.isnan(values[column])
                axis.plot(steps[present], values[column][present], label=column, marker="o" if title == "FID" else None)
            axis.set_title(title, fontsize=10)
            axis.legend(fontsize=7, loc="best")
            axis.grid(alpha=0.3)
        axes[-1, 0].set_xlabel("generator step")
        figure.tight_layout()
        with atomic_file(path) as scratch:
            figure.savefig(scratch, dpi=100)
        pyplot.close(figure)
