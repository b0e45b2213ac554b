"""A one-line progress display for long loops."""

import sys
import time


class ProgressLine:
    """Shows `step/total`, named values, throughput and ETA on one line.

    On a terminal the line is redrawn in place; otherwise (CI logs, files) a
    full line is printed at most every `interval` seconds, and at the end.

    Args:
        total: the step the loop runs to.
        start: the step it starts from. Defaults to `0`.
        interval: seconds between lines when not on a terminal. Defaults to
            `30`.
        stream: where to write. Defaults to `sys.stdout`.

    Example:

    >>> import io
    >>> out = io.StringIO()
    >>> progress = ProgressLine(total=10, stream=out)
    >>> progress.update(10, {"d_loss": 1.25}, images=640)
    >>> "step 10/10" in out.getvalue() and "d_loss 1.250" in out.getvalue()
    True
    """

    def __init__(self, total, start=0, interval=30.0, stream=None):
        self.total = total
        self.start_step = start
        self.interval = interval
        self.stream = stream or sys.stdout
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.perf_counter()
        self.last_print = 0.0
        self.images = 0

    def update(self, step, values, images=0):
        """Records that `step` is done, having seen `images` more images."""
        self.images += images
        now = time.perf_counter()
        elapsed = max(now - self.started, 1e-9)
        rate = (step - self.start_step) / elapsed
        remaining = (self.total - step) / rate if rate > 0 else float("inf")
        parts = [f"step {step}/{self.total}"]
        parts += [f"{name} {value:.3f}" for name, value in values.items()]
        parts.append(f"{self.images / elapsed:.0f} img/s")
        if remaining != float("inf"):
            parts.append(f"ETA {int(remaining) // 60}:{int(remaining) % 60:02d}")
        line = " | ".join(parts)
        done = step >= self.total
        if self.interactive:
            self.stream.write("\r" + line.ljust(110) + ("\n" if done else ""))
            self.stream.flush()
        elif done or now - self.last_print >= self.interval:
            self.stream.write(line + "\n")
            self.stream.flush()
            self.last_print = now

    def finish(self):
        """Ends an interactive line that did not reach the total."""
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
