"""A one-line progress display for long loops."""

import sys
import time


class ProgressLine:
    """Shows `step/total`, named values, throughput and ETA on one line.

    On a terminal the line is redrawn in place; otherwise (CI logs, files) a
    full line is printed at most every `interval` seconds, and at the end.
    The first update of a run includes tracing the training step, which can
    take longer than hundreds of steps: that line says how long the tracing
    took, and the throughput and ETA are measured from the steps after it.

    Args:
        total: the step the loop runs to.
        interval: seconds between lines when not on a terminal. Defaults to
            `30`.
        stream: where to write. Defaults to `sys.stdout`.
        clock: a function returning seconds. Defaults to
            `time.perf_counter`.

    Example:

    >>> import io
    >>> out, now = io.StringIO(), [0.0]
    >>> progress = ProgressLine(total=100, interval=0, stream=out, clock=lambda: now[0])
    >>> now[0] = 90.0; progress.update(1, {"d_loss": 1.25}, images=64)   # tracing took 90 s
    >>> now[0] = 91.0; progress.update(3, {"d_loss": 1.0}, images=128)   # then 2 steps/s
    >>> print(out.getvalue(), end="")
    step 1/100 | d_loss 1.250 | tracing took 1:30
    step 3/100 | d_loss 1.000 | 128 img/s | ETA 0:48
    """

    def __init__(self, total, interval=30.0, stream=None, clock=time.perf_counter):
        self.total = total
        self.interval = interval
        self.stream = stream or sys.stdout
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.clock = clock
        self.started = clock()
        self.last_print = float("-inf")
        self.measured_from = None  # (time, step) at the end of the first, tracing, update
        self.images = 0

    def update(self, step, values, images=0):
        """Records that `step` is done, having seen `images` more images."""
        now = self.clock()
        parts = [f"step {step}/{self.total}"]
        parts += [f"{name} {value:.3f}" for name, value in values.items()]
        if self.measured_from is None:
            self.measured_from = (now, step)
            parts.append(f"tracing took {_minutes(now - self.started)}")
        else:
            self.images += images
            elapsed = max(now - self.measured_from[0], 1e-9)
            rate = (step - self.measured_from[1]) / elapsed
            parts.append(f"{self.images / elapsed:.0f} img/s")
            if rate > 0:
                parts.append(f"ETA {_minutes((self.total - step) / rate)}")
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


def _minutes(seconds):
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"
