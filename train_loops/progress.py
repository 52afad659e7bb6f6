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
    """A progress bar on a terminal, a line every 10% otherwise (stderr, so logs stay clean)."""

    def __init__(self, total, description):
        self.total, self.description = max(int(total), 1), description
        self.done, self.start, self.tty = 0, time.time(), sys.stderr.isatty()
        self.last_decile = -1

    def update(self, n=1):
        self.done = min(self.done + n, self.total)
        fraction = self.done / self.total
        elapsed = time.time() - self.start
        eta = elapsed / fraction - elapsed if fraction else 0.0
        line = (f"{self.description}: {self.done}/{self.total} "
                f"[{elapsed:.0f}s elapsed, ~{eta:.0f}s left]")
        if self.tty:
            bar = "#" * int(30 * fraction)
            sys.stderr.write(f"\r{bar:<30} {line}")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif int(10 * fraction) > self.last_decile:
            self.last_decile = int(10 * fraction)
            print(line, file=sys.stderr, flush=True)

    def callback(self):
        """A Keras callback that advances this progress once per `fit` step (generator iteration)."""
        import keras

        progress = self

        class Tick(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                progress.update()

        return Tick()
