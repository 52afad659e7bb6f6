"""Keras callbacks the runner attaches to `fit`: per-step CSV, periodic evaluation, Ctrl-C."""

import csv
import signal
import time

import keras

from data.toy import mode_centers, mode_std
from evaluation.toy import mode_coverage


class StepLogger(keras.callbacks.Callback):
    """Writes every generator iteration's metrics (what train_step returned) to CSV."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_train_begin(self, logs=None):
        self.file = open(self.path, "w", newline="")
        self.writer = None
        self.start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.writer is None:
            self.keys = sorted(logs)
            self.writer = csv.writer(self.file)
            self.writer.writerow(["iteration", "seconds"] + self.keys)
        self.writer.writerow([batch + 1, f"{time.time() - self.start:.3f}"]
                             + [f"{float(logs[k]):.6g}" for k in self.keys])
        self.file.flush()  # an interrupted run keeps every row

    def on_train_end(self, logs=None):
        self.file.close()


class ToyEvaluation(keras.callbacks.Callback):
    """Every `every` generator iterations: mode coverage of `samples` generated points.

    Coverage follows VEEGAN / PacGAN (see `evaluation.toy.mode_coverage`);
    swissroll has no modes, so only the training metrics are reported for it.
    Each evaluation is a row of `path` and a printed line (the progress report
    when stdout is not a terminal).
    """

    def __init__(self, model, dataset, every, samples, path):
        super().__init__()
        self.gan, self.every, self.samples, self.path = model, every, samples, path
        self.has_modes = dataset != "swissroll"
        if self.has_modes:
            self.centers, self.std = mode_centers(dataset), mode_std(dataset)
        self.last_logs, self.last = {}, None
        self.start = time.time()
        with open(path, "w", newline="") as f:
            csv.writer(f).writerow(["iteration", "seconds", "modes_captured",
                                    "high_quality_percent"])

    def on_train_batch_end(self, batch, logs=None):
        self.last_logs = logs or {}
        if (batch + 1) % self.every == 0:
            self.evaluate(batch + 1)

    def evaluate(self, iteration):
        """Evaluate now (once per iteration); return the numbers for the summary."""
        if self.last is not None and self.last[0] == iteration:
            return self.last[1]
        seconds = time.time() - self.start
        result = {}
        if self.has_modes:
            coverage = mode_coverage(self.gan.generate(self.samples).numpy(),
                                     self.centers, self.std)
            result = dict(modes_captured=coverage.modes_captured,
                          num_modes=coverage.num_modes,
                          high_quality_percent=round(100 * coverage.high_quality_fraction, 1))
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow([iteration, f"{seconds:.1f}",
                                    result.get("modes_captured", ""),
                                    result.get("high_quality_percent", "")])
        metrics = "  ".join(f"{k} {float(v):.4g}" for k, v in sorted(self.last_logs.items()))
        modes = (f"  modes {result['modes_captured']}/{result['num_modes']}"
                 f"  high quality {result['high_quality_percent']}%" if result else "")
        print(f"iteration {iteration}  {seconds:.0f}s  {metrics}{modes}", flush=True)
        self.last = (iteration, result)
        return result


class StopOnInterrupt(keras.callbacks.Callback):
    """Ctrl-C during `fit` stops training cleanly after the current generator iteration.

    A KeyboardInterrupt lands wherever Python happens to be, typically just
    after a train step has updated the weights but before the callbacks have
    logged it, so the outputs would disagree about how many iterations were
    done. Instead, the first SIGINT only asks `fit` to stop once this step's
    callbacks have run (`interrupted` tells the runner); a second one raises
    KeyboardInterrupt at once, as usual.
    """

    def __init__(self):
        super().__init__()
        self.interrupted = False
        self.previous_handler = None

    def on_train_begin(self, logs=None):
        self.previous_handler = signal.signal(signal.SIGINT, self._request_stop)

    def _request_stop(self, signum, frame):
        del signum, frame
        self.interrupted = True
        self._restore_handler()  # a second Ctrl-C interrupts at once

    def _restore_handler(self):
        if self.previous_handler is not None:
            signal.signal(signal.SIGINT, self.previous_handler)
            self.previous_handler = None

    def on_train_batch_end(self, batch, logs=None):
        if self.interrupted:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self._restore_handler()
