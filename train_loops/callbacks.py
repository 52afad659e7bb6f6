"""Keras callbacks the runner attaches to `fit`.

Keras counts batches from 0 in every `fit`; a resumed run starts at generator
iteration `start_iteration`, so iteration = start_iteration + batch + 1.
"""

import contextlib
import os
import signal
import time

import keras
import numpy as np
import tensorflow as tf

from train_loops import files


class IterationCallback(keras.callbacks.Callback):
    """A callback that knows the generator iteration of each batch, across resumed runs."""

    def __init__(self, start_iteration=0):
        super().__init__()
        self.start_iteration = start_iteration
        self.pace_origin = None  # (iteration, time) at the end of the sitting's first step

    def iteration(self, batch):
        return self.start_iteration + batch + 1

    def note_iteration(self, iteration, now=None):
        """Call at each iteration's end: the end of the sitting's first step starts the pace of
        `time_left`, as that step carried `tf.function`'s tracing and XLA's compiling. (A step
        of k iterations, `PerIteration`, ends at its k-th: the k arrive at once.)"""
        per_step = (self.params or {}).get("iterations_per_step", 1)
        if self.pace_origin is None and (iteration - self.start_iteration) % per_step == 0:
            self.pace_origin = (iteration, time.time() if now is None else now)

    def time_left(self, iteration, seconds, now=None):
        """Seconds until the sitting's last iteration at its pace so far, counted from the end
        of its first step (`note_iteration`); None before `fit` has said how many iterations it
        runs and at the first step's end, when there is no pace yet. (`seconds`, the time since
        the sitting began, is the pace's origin when no iteration was noted.)"""
        steps = (self.params or {}).get("steps")
        done = iteration - self.start_iteration
        stopping = getattr(self.model, "stop_training", False)  # Ctrl-C: nothing is left
        if not steps or done <= 0 or stopping:
            return None
        left = self.start_iteration + steps - iteration
        if self.pace_origin is None:
            return seconds / done * left
        first, then = self.pace_origin
        if iteration <= first:  # the first step's time is mostly compiling: no pace yet
            return None
        elapsed = (time.time() if now is None else now) - then
        return max(elapsed, 0.0) / (iteration - first) * left


class StepLogger(IterationCallback):
    """Writes every generator iteration's metrics (what train_step returned) to CSV.

    A row is on disk as soon as its iteration ends, whole (`files.append_rows`).
    A resumed run appends to the file of the run it continues.
    """

    def __init__(self, path, start_iteration=0):
        super().__init__(start_iteration)
        self.path = path

    def on_train_begin(self, logs=None):
        self.keys = None
        if self.start_iteration > 0 and os.path.exists(self.path):
            self.keys = files.drop_rows_after(self.path, self.start_iteration)[2:] or None
        elif os.path.exists(self.path):
            os.remove(self.path)  # a new run's log starts empty
        self.start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        rows = []
        if self.keys is None:
            self.keys = sorted(logs)
            rows.append(["iteration", "seconds"] + self.keys)
        rows.append([self.iteration(batch), f"{time.time() - self.start:.3f}"]
                    + [f"{float(logs[k]):.6g}" for k in self.keys])
        files.append_rows(self.path, rows)


def progress_line(iteration, seconds, logs, extra="", left=None):
    """One printed line of progress: the iteration, the time (and the time `left`, if known:
    a log of a run in the background has no progress bar) and every metric."""
    from train_loops.progress import format_duration

    metrics = "  ".join(f"{k} {float(v):.4g}" for k, v in sorted(logs.items()))
    eta = "" if left is None else f"  ~{format_duration(left)} left"
    return f"iteration {iteration}  {seconds:.0f}s{eta}  {metrics}{extra}"


class ToyEvaluation(IterationCallback):
    """Every `every` generator iterations: mode coverage of `samples` generated points.

    Coverage follows VEEGAN / PacGAN (see `evaluation.toy.mode_coverage`): modes
    captured, the high-quality percentage, the reverse KL of the per-mode
    shares to uniform (all samples, and PacGAN's high-quality ones), and the
    shares themselves, one column per mode. With a moving average of the
    generator's weights (the model's `ema_decay`), its scalar numbers follow
    as ema_*. Data without modes (`modes` None: swissroll, points without
    a modes file) get only the training metrics. Each evaluation is a row of `path` and a printed line
    (the progress report when stdout is not a terminal).

    The latent codes of the evaluation at iteration t come from a stream of
    its own, seeded by (`seed`, t), the same codes for the generator and its
    average: evaluating leaves training's random draws as they are, so a run
    trains the same whatever `every` is, and a resumed run evaluates as an
    unbroken one.
    """

    COLUMNS = ("modes_captured", "high_quality_percent")
    MIXTURE_COLUMNS = ("reverse_kl", "high_quality_reverse_kl")

    def __init__(self, model, modes, every, samples, path, start_iteration=0, seed=0):
        """`modes`: (centres [K, 2], per-coordinate std) of the data's mixture, or None."""
        super().__init__(start_iteration)
        self.gan, self.every, self.samples, self.path = model, every, samples, path
        self.seed = seed
        self.has_modes = modes is not None
        columns = list(self.COLUMNS)
        if self.has_modes:
            self.centers, self.std = modes
            modes = range(len(self.centers))
            columns += list(self.MIXTURE_COLUMNS) + [f"share_{k}" for k in modes] + [
                f"high_quality_share_{k}" for k in modes]
            if model.averaged_generator is not None:
                columns += [f"ema_{name}" for name in self.COLUMNS + self.MIXTURE_COLUMNS]
        self.columns = columns
        self.last_logs, self.last = {}, None
        self.start = time.time()
        row = files.start_evaluation_log(path, ["iteration", "seconds"] + columns,
                                         start_iteration, every)
        if row is not None:  # not evaluated again
            self.last = (start_iteration, self.read_row(row) if self.has_modes else {})

    def read_row(self, row):
        """The numbers of an evaluation.csv row (a dict), as `evaluate` returns them."""
        def number(name, kind=float):
            return None if row[name] == "" else kind(row[name])

        modes = range(len(self.centers))
        result = {name: number(name) for name in self.columns if "share_" not in name}
        for name in ("modes_captured", "ema_modes_captured"):
            if name in result:
                result[name] = int(result[name])
        return dict(result, num_modes=len(self.centers),
                    shares=[number(f"share_{k}") for k in modes],
                    high_quality_shares=[number(f"high_quality_share_{k}") for k in modes])

    def on_train_batch_end(self, batch, logs=None):
        self.last_logs = logs or {}
        iteration = self.iteration(batch)
        self.note_iteration(iteration)
        if iteration % self.every == 0:
            self.evaluate(iteration)

    def coverage(self, samples, prefix=""):
        """The mode-coverage numbers of `samples` [N, 2], their names prefixed by `prefix`."""
        from evaluation.toy import coverage_numbers

        return coverage_numbers(samples, self.centers, self.std, prefix)

    def evaluate(self, iteration):
        """Evaluate now (once per iteration); return the numbers for the summary."""
        if self.last is not None and self.last[0] == iteration:
            return self.last[1]
        seconds = time.time() - self.start
        result, row = {}, [""] * len(self.columns)
        if self.has_modes:
            from models.random import derived_stream

            def generated(averaged=False):  # the same codes for both
                stream = derived_stream(self.seed, iteration)
                return self.gan.generate(self.samples, averaged=averaged,
                                         seed_generator=stream).numpy()

            result = self.coverage(generated())
            if self.gan.averaged_generator is not None:
                result.update(self.coverage(generated(averaged=True), "ema_"))
            flat = dict(result, **{f"share_{k}": p for k, p in enumerate(result["shares"])},
                        **{f"high_quality_share_{k}": p
                           for k, p in enumerate(result["high_quality_shares"])})
            row = ["" if flat[name] is None else flat[name] for name in self.columns]
        files.append_rows(self.path, [[iteration, f"{seconds:.1f}"] + row])
        modes = (f"  modes {result['modes_captured']}/{result['num_modes']}"
                 f"  high quality {result['high_quality_percent']}%"
                 f"  reverse KL {result['reverse_kl']}" if result else "")
        if "ema_modes_captured" in result:
            modes += (f"  (EMA: {result['ema_modes_captured']}/{result['num_modes']}, "
                      f"{result['ema_high_quality_percent']}%)")
        print(progress_line(iteration, seconds, self.last_logs, modes,
                            self.time_left(iteration, seconds)), flush=True)
        self.last = (iteration, result)
        return result


class SampleGrids(IterationCallback):
    """Every `every` generator iterations: an 8 x 8 grid of samples from fixed noise.

    Written as `<directory>/<iteration>.png` and as a TensorBoard image (when a
    default summary writer is set), with a printed progress line.
    """

    def __init__(self, latent, every, directory, start_iteration=0):
        super().__init__(start_iteration)
        self.latent, self.every, self.directory = latent, every, directory
        self.last_logs = {}
        self.start = time.time()
        os.makedirs(directory, exist_ok=True)

    def on_train_batch_end(self, batch, logs=None):
        self.last_logs = logs or {}
        iteration = self.iteration(batch)
        self.note_iteration(iteration)
        if iteration % self.every == 0:
            self.write(self.model, iteration)
            seconds = time.time() - self.start
            print(progress_line(iteration, seconds, self.last_logs,
                                left=self.time_left(iteration, seconds)), flush=True)

    def write(self, model, iteration):
        """Write the grid for `iteration`; return its path."""
        from evaluation.plots import save_image_grid

        images = model.generator(self.latent, training=False).numpy()
        path = os.path.join(self.directory, f"{iteration:06d}.png")
        with files.replacing(path) as temporary:
            save_image_grid(temporary, images)
        with summary_writes():
            tf.summary.image("samples", (images[:16] + 1.0) / 2.0, step=iteration,
                             max_outputs=16)
        return path


class ToySamples(IterationCallback):
    """Every `every` generator iterations: the points the generator makes of fixed noise.

    Written as `<directory>/<iteration>.npz` (`samples`, [N, 2], and the
    `latent` codes) and `<iteration>.png` (the points over the critic's value
    surface), so a run's history can be watched and replotted: the same codes
    every time, so a generator that moves its mass from mode to mode shows it.
    """

    def __init__(self, latent, real, every, directory, title, start_iteration=0):
        super().__init__(start_iteration)
        self.latent, self.real, self.every = latent, real, every
        self.directory, self.title = directory, title

    def on_train_batch_end(self, batch, logs=None):
        if self.iteration(batch) % self.every == 0:
            self.write(self.model, self.iteration(batch))

    def write(self, model, iteration):
        """Write the points and picture of `iteration`; return the .npz path."""
        from evaluation.plots import save_toy_figure

        samples = tf.cast(model.generator(self.latent, training=False), tf.float32).numpy()
        os.makedirs(self.directory, exist_ok=True)  # not before the first snapshot
        path = os.path.join(self.directory, f"{iteration:06d}")
        with files.replacing(path + ".npz") as temporary:
            np.savez(temporary, samples=samples, latent=np.asarray(self.latent))
        with files.replacing(path + ".png") as temporary:
            save_toy_figure(temporary, model.critic, self.real, samples,
                            title=f"{self.title}, {iteration} generator iterations")
        return path + ".npz"


class TensorBoardScalars(IterationCallback):
    """Every metric train_step reports, as a TensorBoard scalar per generator iteration.

    An event file that cannot be written (a full disk) is a `files.WriteError`.
    """

    def on_train_batch_end(self, batch, logs=None):
        with summary_writes():
            for name, value in (logs or {}).items():
                tf.summary.scalar(name, float(value), step=self.iteration(batch))


@contextlib.contextmanager
def summary_writes():
    """Turns TensorFlow's error from writing a TensorBoard events file into a WriteError."""
    try:
        yield
    except tf.errors.OpError as error:
        if "events file" not in str(error):
            raise
        raise files.WriteError("the TensorBoard events file", files.reason_of(error)) from None


def all_finite(variables):
    """True when every value of every variable is finite."""
    return all(bool(tf.reduce_all(tf.math.is_finite(v))) for v in variables
               if keras.backend.is_float_dtype(v.dtype))


class NonFiniteGuard(IterationCallback):
    """Stops training at the first non-finite metric, remembering which and when.

    A non-finite weight shows up as a non-finite loss at the next iteration at
    the latest, since every weight of both networks enters a loss.
    `failure` is then a message naming the iteration and the metric.
    """

    def __init__(self, start_iteration=0):
        super().__init__(start_iteration)
        self.failure = None

    def on_train_batch_end(self, batch, logs=None):
        bad = {k: float(v) for k, v in (logs or {}).items() if not np.isfinite(float(v))}
        if bad and self.failure is None:
            name, value = sorted(bad.items())[0]
            self.failure = (f"non-finite {name} ({value}) at generator iteration "
                            f"{self.iteration(batch)}")
            self.model.stop_training = True


class Checkpoints(IterationCallback):
    """Saves `manager`'s checkpoint every `every` generator iterations, if it is sound.

    Nothing is saved once `guard` has seen a non-finite metric, nor while any
    weight is non-finite, so the latest checkpoint is always a good one. A
    save that fails (a full disk, a file-size limit) raises a
    `files.WriteError` and leaves the checkpoints before it as they were:
    TensorFlow writes a checkpoint aside and names it in the `checkpoint`
    index file only once it is complete. With a `compute_record`
    (progress.ComputeRecord), each checkpoint's totals of wall and CPU time
    over the run's sittings are noted beside it.
    """

    def __init__(self, manager, every, guard, start_iteration=0, compute_record=None):
        super().__init__(start_iteration)
        self.manager, self.every, self.guard = manager, every, guard
        self.compute_record = compute_record

    def on_train_batch_end(self, batch, logs=None):
        if self.iteration(batch) % self.every == 0:
            self.save(self.iteration(batch))

    def save(self, iteration):
        if self.guard.failure is None and all_finite(self.model.variables):
            if self.compute_record is not None:
                kept = {int(path.rsplit("-", 1)[1]) for path in self.manager.checkpoints}
                self.compute_record.record(iteration, kept)
            try:
                self.manager.save(checkpoint_number=iteration)
            except (tf.errors.OpError, OSError) as error:
                import shutil

                prefix = os.path.join(self.manager.directory, f"ckpt-{iteration}")
                shutil.rmtree(prefix + "_temp", ignore_errors=True)  # TF's unfinished files
                raise files.WriteError(prefix, files.reason_of(error)) from None


class PerIteration(keras.callbacks.Callback):
    """Shows `callbacks` one generator iteration at a time when each step runs k of them.

    With `iterations_per_step` k > 1 (see `AdversarialModel.compile`), `fit`
    calls back once per k generator iterations, with every metric a [k]
    vector. This passes each iteration on as its own batch (number
    step * k + i) with scalar metrics, so the callbacks above keep writing
    one row per iteration and numbering iterations as before. The weights
    they see are those after the step's last iteration: the runner therefore
    makes every evaluation, sample and checkpoint interval a multiple of k, so
    that each falls on a step's last iteration.
    """

    def __init__(self, callbacks, iterations_per_step):
        super().__init__()
        self.callbacks, self.k = list(callbacks), int(iterations_per_step)

    def set_model(self, model):
        super().set_model(model)
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        if params and params.get("steps"):  # the callbacks count iterations, not steps
            params = dict(params, steps=params["steps"] * self.k, iterations_per_step=self.k)
        for callback in self.callbacks:
            callback.set_params(params)

    def on_train_begin(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_batch_end(self, batch, logs=None):
        values = {name: np.asarray(value) for name, value in (logs or {}).items()}
        for i in range(self.k):
            row = {name: value[i] for name, value in values.items()}
            for callback in self.callbacks:
                callback.on_train_batch_end(batch * self.k + i, row)

    def on_train_end(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_end(logs)


class StopOnInterrupt(keras.callbacks.Callback):
    """Ctrl-C (SIGINT) or SIGTERM during `fit` stops training after the current iteration.

    A KeyboardInterrupt lands wherever Python happens to be, typically just
    after a train step has updated the weights but before the callbacks have
    logged it, so the outputs would disagree about how many iterations were
    done. Instead, the first signal only asks `fit` to stop once this step's
    callbacks have run (`interrupted` tells the runner, which then writes its
    outputs and a checkpoint); a second one acts at once, as usual.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        super().__init__()
        self.interrupted = False
        self.previous_handlers = {}

    def on_train_begin(self, logs=None):
        for number in self.SIGNALS:
            self.previous_handlers[number] = signal.signal(number, self._request_stop)

    def _request_stop(self, signum, frame):
        del signum, frame
        self.interrupted = True
        self._restore_handlers()  # a second signal acts at once

    def _restore_handlers(self):
        for number, handler in self.previous_handlers.items():
            signal.signal(number, handler)
        self.previous_handlers = {}

    def on_train_batch_end(self, batch, logs=None):
        if self.interrupted:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self._restore_handlers()
