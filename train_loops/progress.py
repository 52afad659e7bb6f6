"""Progress with an ETA for long jobs (figures, sampling, a folder's first read), and the
machine's load, recorded beside their times."""

import os
import sys
import time


def load_average():
    """The 1-minute load average, or None where the system has none.

    Recorded beside wall times: on a loaded machine they stretch, CPU times less.
    """
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


class Progress:
    """A progress bar on a terminal, a line every 10% otherwise (stderr, so logs stay clean).

    The ETA is the mean time of the items that took time, times the items
    left. Items marked `reused` (a resumed figure's finished parts) are
    counted done, but neither they nor the time until they were marked
    (reading them, set-up) enter that mean: counted in, they would make the
    rest of a resumed job look nearly free.
    """

    def __init__(self, total, description, clock=time.time):
        self.total, self.description = max(int(total), 1), description
        self.clock = clock
        self.done, self.start, self.tty = 0, clock(), sys.stderr.isatty()
        self.reused, self.timed_seconds, self.last_update = 0, 0.0, self.start
        self.last_decile = -1

    def eta(self):
        """Seconds left, from the items that took time; None before the first of them."""
        timed = self.done - self.reused
        if self.done == self.total:
            return 0.0
        return self.timed_seconds / timed * (self.total - self.done) if timed else None

    def update(self, n=1, reused=False):
        n = min(n, self.total - self.done)
        now = self.clock()
        self.done += n
        if reused:
            self.reused += n
        elif n:
            self.timed_seconds += now - self.last_update
        self.last_update = now
        fraction = self.done / self.total
        elapsed = now - self.start
        eta = self.eta()
        left = "time left unknown" if eta is None else f"~{eta:.0f}s left"
        line = (f"{self.description}: {self.done}/{self.total} "
                f"[{elapsed:.0f}s elapsed, {left}]")
        if self.tty:
            bar = "#" * int(30 * fraction)
            sys.stderr.write(f"\r{bar:<30} {line}")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif int(10 * fraction) > self.last_decile:
            self.last_decile = int(10 * fraction)
            print(line, file=sys.stderr, flush=True)
        return line

    def callback(self):
        """A Keras callback that advances this progress once per `fit` step (generator iteration)."""
        import keras

        progress = self

        class Tick(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                progress.update()

        return Tick()
