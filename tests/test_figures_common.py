"""The frame the figure scripts share: settings, outputs, resumable parts, the command line."""

import io
import json
import os
import subprocess
import sys
import tempfile
import types
from unittest import mock

import numpy as np
import tensorflow as tf

from figures import FIGURES, common
from train_loops import progress
from train_loops.progress import Progress
from command_processes import ENV, REPO


def toy_figure(calls):
    """A figure module made up here: y = scale * x for n points, each point one cached part."""
    module = types.ModuleType("figures.made_up")
    module.__file__ = "/somewhere/made_up.py"
    module.FULL = dict(n=5, scale=2.0, label="full")
    module.QUICK = dict(module.FULL, n=3)

    def compute(run):
        def point(i):
            calls.append(i)
            return {"y": np.array(i * run.scale)}

        ys = [run.cached(f"point{i}", lambda i=i: point(i))["y"] for i in range(run.n)]
        return {"x": np.arange(run.n), "y": np.array(ys)}

    def plot(data, run):
        import matplotlib.pyplot as plt

        figure, ax = plt.subplots()
        ax.plot(data["x"], data["y"])
        return figure

    module.compute, module.plot = compute, plot
    module.claims = lambda data, run: {"increasing": np.all(np.diff(data["y"]) > 0)}
    return module


class RunFigureTest(tf.test.TestCase):

    def test_writes_png_npz_and_json_record(self):
        output_dir = self.get_temp_dir()
        record = common.run_figure(toy_figure([]), output_dir, quick=True, seed=3,
                                   overrides=["scale=0.5"])
        self.assertEqual(record["settings"], dict(n=3, scale=0.5, label="full"))
        with np.load(os.path.join(output_dir, "made_up.npz")) as data:
            self.assertAllClose(data["y"], [0.0, 0.5, 1.0])
        with open(os.path.join(output_dir, "made_up.json")) as f:
            stored = json.load(f)
        self.assertEqual((stored["seed"], stored["quick"]), (3, True))
        self.assertEqual(stored["claims"], {"increasing": True})
        self.assertGreater(os.path.getsize(os.path.join(output_dir, "made_up.png")), 1000)
        # Provenance: this checkout's commit, CPU time, the load at the start and the end.
        self.assertEqual(stored["commit"], common.source_commit())
        self.assertGreaterEqual(stored["cpu_seconds"], 0.0)
        self.assertLen(stored["load_average"], 2)

    def test_source_commit_names_the_commit_and_uncommitted_changes(self):
        folder = tempfile.mkdtemp(dir=self.get_temp_dir())
        self.assertIsNone(common.source_commit(folder))  # not a git checkout
        git = lambda *args: subprocess.run(["git", "-C", folder, *args], check=True,
                                           capture_output=True, text=True).stdout.strip()
        git("init", "-q")
        with open(os.path.join(folder, "a.py"), "w") as f:
            f.write("x = 1\n")
        git("add", "a.py")
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
        commit = git("rev-parse", "--short", "HEAD")
        self.assertEqual(common.source_commit(folder), commit)
        with open(os.path.join(folder, "b.py"), "w") as f:  # untracked: still the commit
            f.write("y = 2\n")
        self.assertEqual(common.source_commit(folder), commit)
        with open(os.path.join(folder, "a.py"), "w") as f:
            f.write("x = 2\n")
        self.assertEqual(common.source_commit(folder), commit + "+changes")

    def test_cpu_seconds_count_this_process_and_its_children(self):
        before = common.cpu_seconds()
        subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
        sum(i * i for i in range(1_000_000))
        self.assertGreater(common.cpu_seconds() - before, 0.05)

    def test_parts_are_reused_only_with_the_same_settings(self):
        output_dir, calls = self.get_temp_dir(), []
        module = toy_figure(calls)
        common.run_figure(module, output_dir)
        self.assertEqual(calls, [0, 1, 2, 3, 4])
        # An interrupted run keeps its finished parts: drop one, run again.
        parts = os.path.join(output_dir, "made_up_parts")
        os.remove(os.path.join(parts, sorted(os.listdir(parts))[-1]))
        record = common.run_figure(module, output_dir)
        self.assertEqual(calls, [0, 1, 2, 3, 4, 4])
        self.assertEqual(record["parts"], {"computed": 1, "reused": 4})
        common.run_figure(module, output_dir, overrides=["scale=3"])  # other settings
        self.assertEqual(len(calls), 11)
        common.run_figure(module, output_dir, seed=1)  # another seed
        self.assertEqual(len(calls), 16)

    def test_a_setting_at_none_leaves_a_parts_identity_unchanged(self):
        # A setting added later with a None default must not orphan earlier parts.
        output_dir = self.get_temp_dir()

        def make(settings):
            run = common.FigureRun("made_up", settings, 0, False, output_dir)
            run.cached("part", lambda: {"x": np.arange(3)})
            return run.parts

        self.assertEqual(make({"scale": 2}), {"computed": 1, "reused": 0})
        self.assertEqual(make({"scale": 2, "image_size": None}), {"computed": 0, "reused": 1})
        self.assertEqual(make({"scale": 2, "image_size": 64}), {"computed": 1, "reused": 0})

    def test_the_record_sums_each_parts_compute_over_sittings(self):
        output_dir = self.get_temp_dir()
        with mock.patch("sys.stderr", new_callable=io.StringIO) as log:
            first = common.run_figure(toy_figure([]), output_dir)["parts_compute"]
        self.assertEqual(first["commits"], [common.source_commit()])
        self.assertNotIn("made at commit", log.getvalue())
        self.assertEqual(first["parts_without_record"], 0)
        # A later sitting that reuses every part counts their compute, not its own.
        parts = os.path.join(output_dir, "made_up_parts")
        records = sorted(name for name in os.listdir(parts) if name.endswith(".json"))
        self.assertLen(records, 5)
        with open(os.path.join(parts, records[0]), "w") as f:
            json.dump(dict(wall_seconds=100.0, cpu_seconds=50.0, commits=["abc"]), f)
        os.remove(os.path.join(parts, records[1]))  # a part made before parts kept a record
        others = [json.load(open(os.path.join(parts, name))) for name in records[2:]]
        with mock.patch("sys.stderr", new_callable=io.StringIO) as log:
            again = common.run_figure(toy_figure([]), output_dir)["parts_compute"]
        # The part made by other code is named in the log, with where to delete it.
        self.assertIn(f"made at commit(s) abc (this code: {common.source_commit()})",
                      log.getvalue())
        self.assertIn(parts, log.getvalue())
        self.assertEqual(again["parts_without_record"], 1)
        self.assertEqual(again["commits"], sorted(["abc", common.source_commit()]))
        self.assertAllClose(again["wall_seconds"], 100.0 + sum(o["wall_seconds"] for o in others))
        self.assertAllClose(again["cpu_seconds"], 50.0 + sum(o["cpu_seconds"] for o in others))

    def test_a_part_holding_parts_counts_their_earlier_sittings_once(self):
        run = common.FigureRun("made_up", {}, 0, False, self.get_temp_dir())
        run.cached("inner", lambda: {"y": np.zeros(1)})
        # Made in an earlier sitting that took 100 s (50 s of CPU): written by hand.
        with open(os.path.join(run.parts_dir, sorted(os.listdir(run.parts_dir))[0]), "w") as f:
            json.dump(dict(wall_seconds=100.0, cpu_seconds=50.0, commits=["abc"]), f)
        run = common.FigureRun("made_up", {}, 0, False, run.output_dir)
        inner = lambda: run.cached("inner", lambda: {"y": np.zeros(1)})
        new_inner = lambda: run.cached("new", lambda: {"y": np.ones(1)})
        ticks = iter(range(1, 100))  # every read of a clock moves it on by 1 s (CPU: 0.5 s)
        with mock.patch.object(common.time, "time", lambda: float(next(ticks))), \
                mock.patch.object(common, "cpu_seconds", lambda: 0.5 * next(ticks)):
            # outer starts (wall 1, CPU 1.0); the inner part is reused; the new one takes
            # wall 3 -> 5 and CPU 2.0 -> 3.0; outer ends at wall 7, CPU 4.0.
            run.cached("outer", lambda: {"y": inner()["y"] + new_inner()["y"]})
            inner()  # asked for again at the top: already counted
        # outer: its own 6 s (with the new part's 2 s) plus the reused part's 100 s.
        self.assertEqual((run.compute["wall_seconds"], run.compute["cpu_seconds"]),
                         (106.0, 53.0))
        self.assertEqual(run.compute["commits"], sorted({"abc", run.commit}))
        records = {name.split("-")[0]: json.load(open(os.path.join(run.parts_dir, name)))
                   for name in os.listdir(run.parts_dir) if name.endswith(".json")}
        self.assertEqual(records["new"]["wall_seconds"], 2.0)
        self.assertEqual(records["outer"]["wall_seconds"], 106.0)

    def test_compute_records_drop_what_does_not_read_as_totals(self):
        folder = self.get_temp_dir()
        path = os.path.join(folder, progress.ComputeRecord.FILE)
        good = dict(wall_seconds=5.0, cpu_seconds=3.0, commits=["a"])
        with open(path, "w") as f:
            json.dump({"10": good, "x": good, "20": "bad", "30": dict(wall_seconds=1.0)}, f)
        ticks = iter(range(100))
        clock = lambda: float(next(ticks))
        record = progress.ComputeRecord(folder, 10, clock=clock, cpu_clock=clock)
        self.assertEqual(record.entries, {"10": good})
        record.commit = "b"
        # This sitting: wall 0 -> 2, CPU 1 -> 3, on top of the checkpoint's 5 and 3.
        self.assertEqual(record.totals(), dict(wall_seconds=7.0, cpu_seconds=5.0,
                                               commits=["a", "b"]))
        record.record(15, kept_iterations={10})
        with open(path) as f:
            self.assertEqual(sorted(json.load(f)), ["10", "15"])
        self.assertIsNone(progress.ComputeRecord(folder, 30).totals())  # no good entry: unknown
        with open(path, "w") as f:
            json.dump([], f)
        self.assertEqual(progress.ComputeRecord(folder, 10).entries, {})

    def test_training_parts_are_reused_only_under_the_same_preset_values(self):
        from train_loops import gan

        run = common.FigureRun("made_up", {}, 0, True, self.get_temp_dir())
        flags = dict(iterations=2, eval_every=1, sample_every=1, hidden_units=4, batch_size=8,
                     eval_samples=50, run_eagerly="true")
        first = run.train("gan", "tiny", **flags)
        self.assertEqual(run.train("gan", "tiny", **flags), first)
        self.assertEqual(run.parts, {"computed": 1, "reused": 1})
        # Its compute, from its summary.
        with open(os.path.join(first, "summary.json")) as f:
            made = common.run_compute(json.load(f))
        self.assertEqual(made["commits"], [common.source_commit()])
        self.assertAllClose(run.compute["wall_seconds"], made["wall_seconds"])  # counted once
        # The toy preset changes under the same flags: a new run, not the old one.
        toy = gan.PRESETS["toy"]
        gan.COMMAND.presets["toy"] = dict(toy, learning_rate=2 * toy["learning_rate"])
        try:
            self.assertNotEqual(run.train("gan", "tiny", **flags), first)
        finally:
            gan.COMMAND.presets["toy"] = toy
        self.assertEqual(run.parts, {"computed": 2, "reused": 1})
        # A None added to the preset leaves a flag at none: the same run.
        gan.COMMAND.presets["toy"] = dict(toy, ema_decay=None)
        try:
            self.assertEqual(run.train("gan", "tiny", **flags), first)
        finally:
            gan.COMMAND.presets["toy"] = toy
        self.assertEqual(run.parts, {"computed": 2, "reused": 2})
        # So does a flag at None: left at its default, and out of the run's name.
        self.assertEqual(run.train("gan", "tiny", **flags, image_size=None), first)
        self.assertEqual(run.parts, {"computed": 2, "reused": 3})

    def test_a_missing_classifier_is_trained_on_data_prepared_from_the_shared_copies(self):
        # On a new machine nothing is prepared in tfds' folder: the classifier
        # must be trained from ../shared/datasets, as the training commands are.
        from data import images as image_data
        from evaluation import classifier

        run = common.FigureRun("made_up", {}, 0, False, self.get_temp_dir())
        trained = []

        def train_classifier(dataset, manual_dir=None, verbose=0):
            trained.append((dataset, manual_dir))
            return classifier.build_classifier(feature_dim=8, width=4), 0.5

        with mock.patch.object(classifier, "train_classifier", train_classifier), \
                mock.patch.object(classifier, "save_classifier"), \
                mock.patch("os.path.exists", return_value=False):
            path = run.classifier("fashion_mnist")
        self.assertEqual(path, os.path.join("classifiers", "fashion_mnist.keras"))
        self.assertEqual(trained, [("fashion_mnist", image_data.default_manual_dir("fashion_mnist"))])
        self.assertIsNotNone(trained[0][1])

    def test_bad_overrides_are_refused(self):
        module = toy_figure([])
        for override, message in (("n", "key=value"), ("bogus=1", "one of label, n, scale"),
                                  ("n=many", "n: invalid literal")):
            with self.assertRaisesRegex(common.UsageError, message):
                common.settings_for(module, quick=False, overrides=[override])

    def test_parse_value_follows_the_default_type(self):
        self.assertIs(common.parse_value("false", True), False)
        self.assertEqual(common.parse_value("7", 1), 7)
        self.assertEqual(common.parse_value("0.5,2", (1.0,)), (0.5, 2.0))
        self.assertEqual(common.parse_value("1,10,25", [1]), [1, 10, 25])
        # An optional setting (None by default): a number, none, or text.
        self.assertEqual(common.parse_value("64", None), 64)
        self.assertEqual(common.parse_value("0.5", None), 0.5)
        self.assertIsNone(common.parse_value("None", None))
        self.assertEqual(common.parse_value("mnist", None), "mnist")
        with self.assertRaises(ValueError):
            common.parse_value("maybe", True)


def figures_command(*args):
    return subprocess.run([sys.executable, "-m", "figures", *args], cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=60)


class ProgressTest(tf.test.TestCase):
    """The ETA of long work, on a made-up clock: the mean time of the items that took time."""

    def clock(self, times):
        ticks = iter(times)
        return lambda: next(ticks)

    def test_eta_is_the_mean_item_time_times_the_items_left(self):
        progress = Progress(4, "runs", clock=self.clock([0.0, 30.0, 60.0, 120.0, 120.0]))
        self.assertIn("1/4 [30s elapsed, ~1m 30s left]", progress.update())
        self.assertIn("2/4 [1m 00s elapsed, ~1m 00s left]", progress.update())
        self.assertIn("4/4 [2m 00s elapsed, ~0s left]", progress.update(2))
        self.assertIn("4/4", progress.update())  # past the end stays at the end

    def test_hours_read_as_hours(self):
        # A paper-length figure: 2 of 3 runs in 2 h 30 min leaves 1 h 15 min.
        progress = Progress(3, "runs", clock=self.clock([0.0, 9000.0]))
        self.assertIn("2/3 [2h 30m elapsed, ~1h 15m left]", progress.update(2))

    def test_reused_items_and_their_time_take_no_part_in_the_eta(self):
        # Two finished parts from an earlier sitting, read in 50 s, then one run of
        # 100 s: one more like it is left. Counting the reused parts in would say
        # ~50 s; counting their 50 s in, ~150 s.
        progress = Progress(4, "runs", clock=self.clock([0.0, 50.0, 150.0]))
        self.assertIn("2/4 [50s elapsed, time left unknown]", progress.update(2, reused=True))
        self.assertIn("3/4 [2m 30s elapsed, ~1m 40s left]", progress.update())

    def test_items_of_unequal_cost_are_weighed(self):
        # A GAN run (weight 1) took 10 s: a WGAN (3) and a WGAN-GP (5) run are left,
        # 80 s at that pace, where counting runs would say 20 s.
        progress = Progress(3, "runs", clock=self.clock([0.0, 10.0, 40.0, 90.0]),
                            weights=[1, 3, 5])
        self.assertIn("1/3 [10s elapsed, ~1m 20s left]", progress.update())
        self.assertIn("2/3 [40s elapsed, ~50s left]", progress.update())  # 40 s for 4
        self.assertIn("3/3 [1m 30s elapsed, ~0s left]", progress.update())
        # Reused items' weight is left out of the pace, as their time is.
        progress = Progress(3, "runs", clock=self.clock([0.0, 1.0, 31.0]), weights=[1, 3, 5])
        self.assertIn("1/3 [1s elapsed, time left unknown]", progress.update(reused=True))
        self.assertIn("2/3 [31s elapsed, ~50s left]", progress.update())
        with self.assertRaisesRegex(ValueError, "2 weights for 3 items"):
            Progress(3, "runs", weights=[1, 2])

    def test_figures_8_and_9_weigh_every_run(self):
        from figures import architecture_robustness, quality_vs_time

        self.assertContainsSubset(architecture_robustness.ALGORITHMS, common.ITERATION_COST)
        self.assertContainsSubset([command for _, _, command, _ in quality_vs_time.RUNS],
                                  common.ITERATION_COST)

    def test_an_iterations_cost_scales_with_its_batch(self):
        from train_loops import gan, wgan, wgan_gp

        for module in (gan, wgan, wgan_gp):  # the image presets' batches
            command = module.COMMAND
            self.assertEqual(common.PRESET_BATCH_SIZE[command.algorithm],
                             command.presets[command.image_preset]["batch_size"])
            preset = dict(command.presets["toy"], **command.presets[command.image_preset])
            self.assertEqual(common.PRESET_N_CRITIC[command.algorithm], preset["n_critic"])
        # docs/speed.md's ratios at batch 64; the DCGAN preset's batch of 128 doubles the GAN's.
        self.assertEqual(common.iteration_cost("gan"), 2.0)
        self.assertEqual(common.iteration_cost("gan", 64), 1.0)
        self.assertEqual(common.iteration_cost("wgan_gp"), 5.0)
        self.assertEqual(common.iteration_cost("wgan_gp", 32), 2.5)
        # Critic steps: WGAN-GP's 5 + 1 generator step halve to 2 + 1.
        self.assertEqual(common.iteration_cost("wgan_gp", 64, 2), 2.5)

    def test_a_figures_parts_progress_tells_reused_items_from_computed_ones(self):
        run = common.FigureRun("made_up", {}, 0, False, self.get_temp_dir())
        progress = common.PartsProgress(
            5, "runs", run.parts, clock=self.clock([0.0, 10.0, 11.0, 12.0, 42.0, 43.0]))
        self.assertIsInstance(run.progress(5, of_parts=True), common.PartsProgress)
        self.assertNotIsInstance(run.progress(5), common.PartsProgress)
        run.parts["computed"] += 1  # `cached` or `train` computed a part: 10 s
        self.assertIn("1/5 [10s elapsed, ~40s left]", progress.update())
        run.parts["reused"] += 1  # found finished: 1 s each, left out
        self.assertIn("2/5 [11s elapsed, ~30s left]", progress.update())
        run.parts["reused"] += 1
        self.assertIn("3/5 [12s elapsed, ~20s left]", progress.update())
        run.parts["computed"] += 2  # an item of two parts: 30 s
        self.assertIn("4/5 [42s elapsed, ~20s left]", progress.update())
        self.assertIn("5/5", progress.update())  # nothing computed: reused
        # Only the two computed items set the pace: 40 s for 2.
        self.assertEqual((progress.done, progress.timed_weight, progress.timed_seconds),
                         (5, 2.0, 40.0))


class FiguresCommandTest(tf.test.TestCase):

    def test_lists_every_figure_with_its_title(self):
        result = figures_command()
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        for (number, name), line in zip(FIGURES, lines):
            self.assertRegex(line, rf"^\s*{number}\s+{name}\s+Figure {number}: ")

    def test_unknown_figure_and_bad_set_are_one_line_errors(self):
        for args, message in ((["42"], "unknown figure '42'"),
                              (["--all", "1"], "not both"),
                              (["1", "2", "--set", "x=1"], "one figure")):
            result = figures_command(*args)
            self.assertEqual(result.returncode, 2)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn(message, result.stderr)

    def test_figure_modules_follow_the_protocol(self):
        import importlib

        for number, name in FIGURES:
            module = importlib.import_module(f"figures.{name}")
            self.assertTrue(module.__doc__.startswith(f"Figure {number}: "), name)
            self.assertEqual(set(module.QUICK), set(module.FULL), name)
            for function in ("compute", "plot", "claims"):
                self.assertTrue(callable(getattr(module, function)), (name, function))
