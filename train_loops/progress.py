"""Progress with an ETA for long jobs (figures, sampling, a folder's first read), and what is
recorded beside their times: the machine's load, the code's commit, the compute over sittings."""

import json
import os
import sys
import time


def format_duration(seconds):
    """A duration as people read it: "35s", "4m 10s", "2h 51m"."""
    seconds = max(int(round(seconds)), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def load_average():
    """The 1-minute load average, or None where the system has none.

    Recorded beside wall times: on a loaded machine they stretch, CPU times less.
    """
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def source_commit(folder=None):
    """The git commit of `folder` (default: this code), with "+changes" if its tracked files
    have uncommitted changes; None outside a git checkout."""
    import subprocess

    here = folder or os.path.dirname(os.path.abspath(__file__))

    def git(*args):
        return subprocess.run(["git", "-C", here, *args], capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no")
                         else "")
    except (OSError, subprocess.SubprocessError, UnicodeError):
        return None


def compute_totals(wall_seconds, cpu_seconds, commits):
    """The compute of some work over all its sittings: {wall_seconds, cpu_seconds, commits}."""
    return dict(wall_seconds=round(wall_seconds, 1), cpu_seconds=round(cpu_seconds, 1),
                commits=sorted(c for c in set(commits) if c))


def add_totals(first, second):
    """The compute of two pieces of work together (each as `compute_totals`)."""
    return compute_totals(first["wall_seconds"] + second["wall_seconds"],
                          first["cpu_seconds"] + second["cpu_seconds"],
                          [*first["commits"], *second["commits"]])


def read_totals(value):
    """`value` (as read from JSON) as `compute_totals`, or None unless it is well formed."""
    try:
        return compute_totals(float(value["wall_seconds"]), float(value["cpu_seconds"]),
                              [str(c) for c in value["commits"]])
    except (TypeError, KeyError, ValueError):
        return None


class ComputeRecord:
    """The wall and CPU time a training run has taken over all its sittings, and the commits.

    A run stopped and resumed (or killed and resumed from its last checkpoint)
    spends its compute in several sittings; each sitting's own times are in
    its summary.json, and this adds them up. `<directory>/compute.json` maps
    each checkpoint's generator iteration to the totals up to that
    checkpoint, so a run resumed from checkpoint N counts the sittings that
    led to N, not the work after N that a crash lost. A run resumed from a
    checkpoint with no entry (one made before this record existed) has
    unknown totals: None.
    """

    FILE = "compute.json"

    def __init__(self, directory, start_iteration, clock=time.time, cpu_clock=time.process_time):
        self.path = os.path.join(directory, self.FILE)
        try:
            with open(self.path) as f:
                stored = json.load(f)
        except (OSError, ValueError):
            stored = {}
        # Entries that do not read as totals (a damaged or foreign file) are dropped.
        self.entries = {}
        for key, value in (stored.items() if isinstance(stored, dict) else ()):
            if str(key).isdigit() and (totals := read_totals(value)) is not None:
                self.entries[str(int(key))] = totals
        self.base = (compute_totals(0.0, 0.0, []) if start_iteration == 0
                     else self.entries.get(str(start_iteration)))
        self.commit = source_commit()
        self.clock, self.cpu_clock = clock, cpu_clock
        self.start, self.cpu_start = clock(), cpu_clock()

    def totals(self, wall_seconds=None, cpu_seconds=None):
        """The base's totals plus this sitting's (measured now unless given); None if unknown."""
        if self.base is None:
            return None
        wall = self.clock() - self.start if wall_seconds is None else wall_seconds
        cpu = self.cpu_clock() - self.cpu_start if cpu_seconds is None else cpu_seconds
        return add_totals(self.base, compute_totals(wall, cpu, [self.commit]))

    def record(self, iteration, kept_iterations):
        """Note the totals at the checkpoint of `iteration`, before it is written (so no
        checkpoint is ever without its entry); forget checkpoints no longer kept."""
        totals = self.totals()
        if totals is None:
            return
        from train_loops import files

        self.entries = {k: v for k, v in self.entries.items()
                        if int(k) in kept_iterations and int(k) != iteration}
        self.entries[str(iteration)] = totals
        os.makedirs(os.path.dirname(self.path), exist_ok=True)  # before the first checkpoint
        files.write_json(self.path, self.entries)


class Progress:
    """A progress bar on a terminal, a line every 10% otherwise (stderr, so logs stay clean).

    The ETA is the mean time of the items that took time, times the items
    left. Items marked `reused` (a resumed figure's finished parts) are
    counted done, but neither they nor the time until they were marked
    (reading them, set-up) enter that mean: counted in, they would make the
    rest of a resumed job look nearly free. Items of unequal cost take
    `weights`, one per item in the order they are done (a WGAN-GP run
    costs several GAN runs): the ETA is then the time per unit of weight
    done, times the weight left.
    """

    def __init__(self, total, description, clock=time.time, weights=None):
        self.total, self.description = max(int(total), 1), description
        if weights is not None and len(weights) != self.total:
            raise ValueError(f"{len(weights)} weights for {self.total} items")
        self.weights = None if weights is None else [float(w) for w in weights]
        self.clock = clock
        self.done, self.start, self.tty = 0, clock(), sys.stderr.isatty()
        self.timed_seconds, self.timed_weight, self.last_update = 0.0, 0.0, self.start
        self.last_decile = -1

    def weight(self, first, n):
        """The weight of items first .. first + n - 1 (1 each without weights)."""
        return float(n) if self.weights is None else sum(self.weights[first:first + n])

    def eta(self):
        """Seconds left, from the items that took time; None before the first of them."""
        if self.done == self.total:
            return 0.0
        if not self.timed_weight:
            return None
        left = self.weight(self.done, self.total - self.done)
        return self.timed_seconds / self.timed_weight * left

    def update(self, n=1, reused=False):
        n = min(n, self.total - self.done)
        now = self.clock()
        weight = self.weight(self.done, n)
        self.done += n
        if n and not reused:
            self.timed_seconds += now - self.last_update
            self.timed_weight += weight
        self.last_update = now
        fraction = self.done / self.total
        elapsed = now - self.start
        eta = self.eta()
        left = "time left unknown" if eta is None else f"~{format_duration(eta)} left"
        line = (f"{self.description}: {self.done}/{self.total} "
                f"[{format_duration(elapsed)} elapsed, {left}]")
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
