"""What every figure script shares: its command line, output files, progress and resumable parts.

A figure module defines
  FULL      its settings (the paper's, or a documented reduction of them),
  QUICK     a small diff over FULL that runs in seconds (for the tests),
  compute(run) -> {name: array}    the numbers the figure plots,
  plot(data, run) -> matplotlib Figure,
  claims(data, run) -> {claim: bool}   the paper's claims, checked on those numbers,
and optionally numbers(data, run) -> {name: JSON-able} (what the claims rest on),
and ends with `if __name__ == "__main__": common.main(__name__)`.

`run_figure` writes <name>.png, <name>.npz (the arrays of `compute`) and
<name>.json (settings, seed, wall time, claims) into the output folder. Work
that takes long is split into parts with `FigureRun.cached` (arrays) or
`FigureRun.train` (a whole training run through `train_loops`): each part is
kept in <output_dir>/<name>_parts/ as it finishes, so an interrupted figure
picks up where it stopped when run again with the same settings.
"""

import argparse
import glob
import hashlib
import importlib
import json
import os
import sys
import time

from train_loops import files
from train_loops.progress import (Progress, add_totals, compute_totals, load_average, read_totals,
                                  source_commit)

DEFAULT_OUTPUT_DIR = os.path.join("runs", "figures")


class UsageError(ValueError):
    """Bad input on a figure's command line: one line on stderr, exit status 2."""


# A generator iteration's relative time per example of its batch, by training command, to weigh
# runs in a figure's ETA: docs/speed.md times all three at batch 64 (DCGAN networks, float32:
# 1 : 3.7 : 5.3 at 28 px, 1 : 3.0 : 5.0 at 64 px), each with its preset's critic steps.
ITERATION_COST = {"gan": 1.0, "wgan": 3.5, "wgan_gp": 5.0}
PRESET_BATCH_SIZE = {"gan": 128, "wgan": 64, "wgan_gp": 64}  # the image presets' (DCGAN 128)
PRESET_N_CRITIC = {"gan": 1, "wgan": 5, "wgan_gp": 5}


def iteration_cost(command, batch_size=None, n_critic=None):
    """A generator iteration's relative time at `batch_size` with `n_critic` critic steps
    (None: its image preset's). An estimate: it counts the generator's step as one more
    critic step, so the time scales as n_critic + 1 (WGAN's early 100-step iterations, which
    the authors' schedule keeps whatever n_critic, are not scaled)."""
    steps = (n_critic or PRESET_N_CRITIC[command]) + 1
    return (ITERATION_COST[command] * (batch_size or PRESET_BATCH_SIZE[command]) / 64
            * steps / (PRESET_N_CRITIC[command] + 1))


def fingerprint(value):
    """A short stable hash of JSON-able settings: parts made with other settings are not reused."""
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


class PartsProgress(Progress):
    """Progress over items made of a figure's parts (`FigureRun.cached`, `FigureRun.train`).

    An item took time if at least one part was computed (or resumed) since the
    previous update; otherwise all its parts were found finished, from an
    earlier sitting, and the ETA leaves it out.
    """

    def __init__(self, total, description, parts, clock=time.time, weights=None):
        super().__init__(total, description, clock=clock, weights=weights)
        self.parts, self.computed_at_last_update = parts, parts["computed"]

    def update(self, n=1, reused=None):
        if reused is None:
            reused = self.parts["computed"] == self.computed_at_last_update
        self.computed_at_last_update = self.parts["computed"]
        return super().update(n, reused=reused)


class FigureRun:
    """One run of one figure: its settings, seed and folder, and what `compute` may ask for."""

    def __init__(self, name, settings, seed, quick, output_dir):
        self.name, self.settings, self.seed = name, dict(settings), int(seed)
        self.quick, self.output_dir = quick, output_dir
        self.parts_dir = os.path.join(output_dir, f"{name}_parts")
        # Parts made by this invocation vs found on disk from an earlier one:
        # the wall time in the JSON record covers only the first kind.
        self.parts = {"computed": 0, "reused": 0}
        # Every part's own compute over all sittings (`compute_totals`): the
        # figure's whole cost, also when it was made in several. Parts that
        # hold others count once: `earlier` stacks, per part being computed,
        # the compute its inner parts took in earlier sittings.
        self.compute, self.parts_without_record = compute_totals(0.0, 0.0, []), 0
        self.earlier, self.counted, self.commit = [], set(), source_commit()

    def __getattr__(self, key):  # run.iterations reads settings["iterations"]
        settings = self.__dict__.get("settings", {})
        if key in settings:
            return settings[key]
        raise AttributeError(key)

    def progress(self, total, description=None, of_parts=False, weights=None):
        """A Progress over `total` items (of relative costs `weights`, if unequal);
        `of_parts`: a PartsProgress, items made of parts."""
        if of_parts:
            return PartsProgress(total, description or self.name, self.parts, weights=weights)
        return Progress(total, description or self.name, weights=weights)

    def log(self, message):
        print(f"{self.name}: {message}", file=sys.stderr, flush=True)

    def cached(self, key, compute_part, settings=None, **depends_on):
        """compute_part() -> {name: array}, computed once and kept in the parts folder.

        The part is reused only if the figure's settings (or only those named
        in `settings`, when the part depends on no others), seed and
        `depends_on` are those it was made with; settings at None do not count.
        """
        import numpy as np

        used = self.settings if settings is None else {k: self.settings[k] for k in settings}
        # A setting at None (its "off" or "the data's own" value) is left out, so
        # one added later with a None default keeps the parts made before it.
        used = {k: v for k, v in used.items() if v is not None}
        tag = fingerprint([used, self.seed, depends_on])
        path = os.path.join(self.parts_dir, f"{key}-{tag}.npz")
        record_path = path[:-len(".npz")] + ".json"  # its compute, beside it
        if os.path.exists(path):
            self.parts["reused"] += 1
            try:
                with open(record_path) as f:
                    self._count(path, read_totals(json.load(f)))
            except (OSError, ValueError):  # a part made before parts kept their compute
                self._count(path, None)
            with np.load(path) as stored:
                return {k: stored[k] for k in stored.files}
        self.parts["computed"] += 1
        self.earlier.append(compute_totals(0.0, 0.0, []))
        start, cpu_start = time.time(), cpu_seconds()
        try:
            part = {k: np.asarray(v) for k, v in compute_part().items()}
        finally:
            inner = self.earlier.pop()
        totals = None if inner is None else add_totals(inner, compute_totals(
            time.time() - start, cpu_seconds() - cpu_start, [self.commit]))
        os.makedirs(self.parts_dir, exist_ok=True)
        with files.replacing(path) as temporary:  # a part on disk is always a whole one
            np.savez(temporary, **part)
        if totals is not None:
            files.write_json(record_path, totals)
        self._count(path, totals, inner)
        return part

    def _count(self, part, totals, inner=None):
        """Add a part's compute over all sittings (None: unknown) to the figure's, or, for a
        part inside a part being computed, what of it that part's own clocks did not see:
        all of it if it was reused (`inner` None), its inner parts' earlier sittings if not.
        A part asked for again is not counted again."""
        if part in self.counted:
            return
        self.counted.add(part)
        if self.earlier:
            outer = self.earlier[-1]
            seen_elsewhere = totals if inner is None else inner
            if outer is not None:
                self.earlier[-1] = (None if seen_elsewhere is None
                                    else add_totals(outer, seen_elsewhere))
            return
        if totals is None:
            self.parts_without_record += 1
        else:
            self.compute = add_totals(self.compute, totals)

    def run_dir(self, algorithm, key, flag_values):
        """The parts folder of `train`'s run: named by its flags and its preset's values.

        The preset's values count as settings too: a run made under an
        earlier version of its preset is not reused.
        """
        from train_loops import runner

        command = importlib.import_module(f"train_loops.{algorithm}").COMMAND
        dataset = flag_values.get("dataset", runner.FLAGS["dataset"].default)
        preset = flag_values.get("preset") or (
            "toy" if runner.is_toy(dataset) else command.image_preset)
        # A preset's None is a flag left at none: it changes no run, and adding
        # one (to keep a default of the toy preset out) keeps the runs' names.
        values = command.presets.get(preset)
        if values is not None:
            values = {k: v for k, v in values.items() if v is not None}
        return os.path.join(self.parts_dir, f"{key}-" + fingerprint(
            [algorithm, flag_values, values]))

    def train(self, algorithm, key, **flag_values):
        """Train with `python -m train_loops.<algorithm>` (in this process) into the parts folder.

        Returns the run's folder; its summary.json, metrics.csv, samples/ etc.
        are the runner's (see train_loops/runner.py). A finished run with the
        same flags and preset values is reused, an interrupted one resumed
        from its checkpoint.
        A run that stops on non-finite numbers is a result (its summary.json
        holds the failure), not an error. Flags at None are left at their defaults.
        """
        from absl import flags

        from train_loops import cli, runner

        command = importlib.import_module(f"train_loops.{algorithm}").COMMAND
        # A flag at None is left at the command's default: not passed, and not
        # in the run's name, so a figure setting added later with a None default
        # keeps the runs made before it (as `cached` does for settings).
        flag_values = {k: v for k, v in flag_values.items() if v is not None}
        flag_values = dict(flag_values, seed=flag_values.get("seed", self.seed))
        run_dir = self.run_dir(algorithm, key, flag_values)
        summary_path = os.path.join(run_dir, "summary.json")
        if os.path.exists(summary_path):
            with open(summary_path) as f:
                summary = json.load(f)
            if "failure" in summary or (summary["iterations"] >= flag_values["iterations"]
                                        and not summary["interrupted"]):
                self.parts["reused"] += 1
                self._count(run_dir, run_compute(summary))
                return run_dir
        self.parts["computed"] += 1
        def train(again):
            argv = [f"--{k}={v}" for k, v in flag_values.items()]
            argv += [f"--output_dir={run_dir}", again]
            self.log(f"training {algorithm} {' '.join(argv)}")
            flags.FLAGS.unparse_flags()
            try:
                command.parse([command.program, *argv])
                runner.train(command)
            except SystemExit as exit_:
                # 3: stopped on non-finite numbers, a result; anything else is not.
                if exit_.code != 3:
                    raise
            finally:
                flags.FLAGS.unparse_flags()

        # A run killed before its first checkpoint was complete starts again,
        # and so does one none of whose checkpoints is intact.
        try:
            resumed = False
            if glob.glob(os.path.join(run_dir, "checkpoints", "ckpt-*.index")):
                try:
                    train("--resume")
                    resumed = True
                except cli.UsageError as error:
                    self.log(f"cannot resume ({error}); starting the run again")
            if not resumed:
                train("--overwrite")
        except cli.UsageError as error:
            raise UsageError(error) from None
        with open(summary_path) as f:
            summary = json.load(f)
        totals = run_compute(summary)
        # The sittings before this one's, which the clocks of a part holding this run missed.
        before = None if totals is None else compute_totals(
            totals["wall_seconds"] - summary["wall_time_seconds"],
            totals["cpu_seconds"] - summary["cpu_time_seconds"], totals["commits"])
        self._count(run_dir, totals, before)
        return run_dir


    def classifier(self, dataset):
        """The classifier behind classifier-FID for `dataset` (mnist or fashion_mnist).

        classifiers/<dataset>.keras, as `python -m train_loops.classifier` makes
        it, trained here first if missing (about 2.5 minutes on 2 cores). In
        --quick mode a tiny untrained classifier, kept in the parts folder,
        stands in: its numbers mean nothing, the plumbing it feeds is real.
        """
        from data import images as image_data
        from evaluation import classifier

        if self.quick:
            path = os.path.join(self.parts_dir, f"classifier-{dataset}.keras")
            if not os.path.exists(path):
                os.makedirs(self.parts_dir, exist_ok=True)
                with files.replacing(path) as temporary:
                    classifier.build_classifier(feature_dim=8, width=4).save(temporary)
            return path
        path = os.path.join("classifiers", f"{dataset}.keras")
        if not os.path.exists(path):
            self.log(f"training the {dataset} classifier for classifier-FID into {path}")
            # A few minutes of training: keras' bar shows each epoch's progress and ETA.
            # The data set is prepared from ../shared/datasets when it is not yet
            # (as the training commands do): on a new machine nothing is prepared.
            model, accuracy = classifier.train_classifier(
                dataset, manual_dir=image_data.default_manual_dir(dataset), verbose=1)
            classifier.save_classifier(model, path, dict(test_accuracy=accuracy))
            self.log(f"{dataset} classifier: test accuracy {accuracy:.4f}")
        return path


def run_compute(summary):
    """A training run's compute over all its sittings, from its summary.json; None if unknown.

    Runs made before summaries kept totals count when they ran in one sitting.
    """
    if summary.get("total_wall_time_seconds") is not None:
        return read_totals(dict(wall_seconds=summary["total_wall_time_seconds"],
                                cpu_seconds=summary.get("total_cpu_time_seconds"),
                                commits=summary.get("commits")))
    if summary.get("resumed_from") == 0:
        return read_totals(dict(wall_seconds=summary.get("wall_time_seconds"),
                                cpu_seconds=summary.get("cpu_time_seconds"), commits=[]))
    return None


def read_csv(path):
    """A CSV file with a header as {column: float array}."""
    import csv

    import numpy as np

    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {k: np.array([float(r[k]) if r[k] not in ("", None) else np.nan for r in rows])
            for k in rows[0]}


def parse_value(text, default):
    """`text` as the type of `default` (for --set key=value); for a None default, as a number
    if it reads as one."""
    if isinstance(default, bool):
        if text.lower() in ("1", "true", "yes"):
            return True
        if text.lower() in ("0", "false", "no"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if isinstance(default, (tuple, list)):
        item = default[0] if default else text
        return type(default)(parse_value(t, item) for t in text.split(",") if t)
    if default is None:  # an optional setting: a number, none, or text
        if text.lower() == "none":
            return None
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text
    return type(default)(text)


def settings_for(module, quick, overrides=()):
    """FULL or QUICK, with --set key=value overrides applied (unknown keys refused)."""
    settings = dict(module.QUICK if quick else module.FULL)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or key not in settings:
            raise UsageError(f"--set {item!r}: expected key=value with key one of "
                             f"{', '.join(sorted(settings))}")
        try:
            settings[key] = parse_value(text, settings[key])
        except ValueError as error:
            raise UsageError(f"--set {key}: {error}") from None
    return settings


def figure_name(module):
    """A figure module's name, also when it runs as __main__."""
    return os.path.splitext(os.path.basename(module.__file__))[0]


def run_figure(module, output_dir=DEFAULT_OUTPUT_DIR, quick=False, seed=0, overrides=(),
               command=None):
    """Compute, plot and write one figure; returns its JSON record (with the file paths)."""
    import matplotlib

    matplotlib.use("Agg")  # files only
    import matplotlib.pyplot as plt
    import numpy as np

    name = figure_name(module)
    settings = settings_for(module, quick, overrides)
    if seed < 0:
        raise UsageError(f"--seed must be non-negative, got {seed}")
    from train_loops import cli

    try:
        cli.writable_folder(output_dir, "output_dir")
    except cli.UsageError as error:
        raise UsageError(error) from None
    os.makedirs(output_dir, exist_ok=True)
    run = FigureRun(name, settings, seed, quick, output_dir)
    start, cpu_start, load_start = time.time(), cpu_seconds(), load_average()
    data = {k: np.asarray(v) for k, v in module.compute(run).items()}
    seconds, cpu = time.time() - start, cpu_seconds() - cpu_start
    paths = {kind: os.path.join(output_dir, f"{name}.{kind}") for kind in ("png", "npz", "json")}
    with files.replacing(paths["npz"]) as temporary:
        np.savez(temporary, **data)
    figure = module.plot(data, run)
    with files.replacing(paths["png"]) as temporary:
        figure.savefig(temporary, dpi=100, bbox_inches="tight")
    plt.close(figure)
    claims = {k: bool(v) for k, v in module.claims(data, run).items()}
    # A part's name follows the settings, not the code: say when reused parts
    # were made by other code (their commits are also in the record). `run.commit`
    # is the one this sitting's parts were tagged with.
    commit = run.commit
    older = [c for c in run.compute["commits"] if c != commit]
    if older:
        run.log(f"reused parts made at commit(s) {', '.join(older)} (this code: {commit}); "
                f"delete {run.parts_dir} to remake them with this code")
    # Provenance for the gallery: the code, and how busy the machine was (a
    # loaded machine stretches wall time; CPU time is closer to an idle run's).
    record = dict(figure=name, command=command, quick=quick, seed=seed, settings=settings,
                  commit=commit, compute_seconds=round(seconds, 1),
                  cpu_seconds=round(cpu, 1), load_average=[load_start, load_average()],
                  parts=run.parts, parts_compute=dict(
                      run.compute, parts_without_record=run.parts_without_record),
                  claims=claims, files=paths)
    if hasattr(module, "numbers"):
        record["numbers"] = module.numbers(data, run)
    files.write_json(paths["json"], record, default=str)
    return record


def cpu_seconds():
    """CPU time of this process and of its finished children (user + system), in seconds."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def argument_parser(name, description):
    parser = argparse.ArgumentParser(prog=f"python -m figures.{name}", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", default=DEFAULT_OUTPUT_DIR,
                        help="where the PNG, NPZ and JSON go (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="a setting small enough for a test (seconds, not minutes)")
    parser.add_argument("--seed", type=int, default=0, help="seeds every random draw")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one setting (repeatable); the settings are listed "
                             "in the module's FULL")
    return parser


def fail(program, error):
    """One line on stderr; exit 2 for bad input, 4 for a file that cannot be written.

    After a WriteError (a full disk) the finished parts stay: run the figure
    again once there is room.
    """
    print(f"{program}: error: {error}", file=sys.stderr)
    sys.exit(4 if isinstance(error, files.WriteError) else 2)


def main(module_name, argv=None):
    """The command line of `python -m figures.<name>`."""
    module = sys.modules[module_name]
    name = figure_name(module)
    parser = argument_parser(name, module.__doc__)
    args = parser.parse_args(argv)
    command = " ".join([f"python -m figures.{name}"] + list(sys.argv[1:] if argv is None else argv))
    try:
        record = run_figure(module, args.output_dir, args.quick, args.seed, args.set, command)
    except (UsageError, files.WriteError) as error:
        fail(parser.prog, error)
    print(json.dumps({k: record[k] for k in ("figure", "compute_seconds", "claims", "files")},
                     indent=2))
