"""End-to-end tests of `python -m train_loops.gan | wgan | wgan_gp`, each run a process.

The runs are forked from a process that has imported TensorFlow
(tests/command_processes.py), but for the WGAN-GP short run and one refusal
made after TensorFlow has loaded: new interpreters, the command line itself.
Every command line below runs once and a class's tests check what its runs
left behind. `setUpModule` queues all of
them, three at a time in background threads, so that both cores stay busy;
each class's `setUpClass` waits for its own runs.
"""

import concurrent.futures
import csv
import json
import math
import os
import re
import shutil
import signal
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

import command_processes
from command_processes import RUN_TIMEOUT

# A short run: 20 generator iterations of 3 x 16-unit MLPs, evaluated twice.
SHORT = ["--iterations=20", "--eval_every=10", "--hidden_units=16", "--batch_size=32",
         "--eval_samples=200", "--sample_every=10"]
OUTPUTS = {"flags.txt", "metrics.csv", "evaluation.csv", "summary.json", "samples.png",
           "samples_history.png", "generator.keras", "critic.keras"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# TensorFlow 2.21's C++ libraries log through absl before anyone calls
# absl::InitializeLog(), and such messages reach stderr whatever
# TF_CPP_MIN_LOG_LEVEL says (oneDNN and "no CUDA" notices on every import).
# They are not the program's output, so the one-line checks skip them.
_NATIVE_LOG = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] ")
_ABSL_PREAMBLE = ("WARNING: All log messages before absl::InitializeLog() is called "
                  "are written to STDERR")


def program_lines(stderr):
    """The lines of `stderr` written by the program rather than by TF's C++ logging."""
    return [line for line in stderr.splitlines()
            if line.strip() and line != _ABSL_PREAMBLE and not _NATIVE_LOG.match(line)]


def run(module, *args, fresh=False):
    """`python -m train_loops.<module> *args` to its end: a CompletedProcess (text output).

    fresh: in a new interpreter rather than forked (command_processes.run).
    """
    return command_processes.run(f"train_loops.{module}", *args, fresh=fresh)


def launch(module, *args, env=None):
    """Start `python -m train_loops.<module> *args`; a Popen-like command_processes.Process."""
    return command_processes.start(f"train_loops.{module}", *args, env=env)


_pool = None
_root = None
_jobs = {}


def setUpModule():
    global _pool, _root
    _root = tempfile.mkdtemp()
    _pool = concurrent.futures.ThreadPoolExecutor(max_workers=3)
    # Longest first: the interrupted run and the two runs of the round trip.
    for job in (InterruptTest.work, IterationsPerStepTest.work, FlagfileRoundTripTest.work,
                GanRunTest.work, WganRunTest.work, WganGpRunTest.work):
        start(job)
    for case in BadInputTest.CASES:
        start(BadInputTest.work, case)


def tearDownModule():
    _pool.shutdown(wait=True, cancel_futures=True)
    shutil.rmtree(_root, ignore_errors=True)


def start(job, *args):
    """Run job(directory, *args) in the background (once); returns its future."""
    key = (job, args)
    if key not in _jobs:
        _jobs[key] = _pool.submit(job, tempfile.mkdtemp(dir=_root), *args)
    return _jobs[key]


def result(job, *args):
    return start(job, *args).result()


def read_csv(path):
    """(header, rows) of a CSV file."""
    with open(path, newline="") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def column(header, rows, name):
    return np.array([float(row[header.index(name)]) for row in rows])


def read_json(path):
    with open(path) as f:
        return json.load(f)


class BadInputTest(tf.test.TestCase):
    """Bad command lines: one line on stderr naming the problem, exit status 2, no outputs."""

    # name: (algorithm, arguments, what the message must mention)
    CASES = {
        "unknown_dataset": ("gan", ["--dataset=10gaussians"], "--dataset"),
        "negative_learning_rate": ("wgan_gp", ["--learning_rate=-1"], "--learning_rate"),
        "zero_n_critic": ("wgan", ["--n_critic=0"], "--n_critic"),
        "zero_batch_size": ("gan", ["--batch_size=0"], "--batch_size"),
        "zero_iterations": ("wgan_gp", ["--iterations=0"], "--iterations"),
        "unknown_flag": ("wgan", ["--no_such_flag=3"], "no_such_flag"),
        "positional_argument": ("gan", ["stray_argument"], "stray_argument"),
        # Checked by the model's constructor, which runs after TF and the
        # networks are up: the runner must still answer in one line, and must
        # not have created the output folder yet.
        "negative_penalty_weight": ("wgan_gp", ["--penalty_weight=-1"], "penalty_weight"),
        "zero_clip_value": ("wgan", ["--clip_value=0"], "clip_value"),
        "unknown_generator_loss": ("gan", ["--generator_loss=bogus"], "--generator_loss"),
        "beta_1_of_one": ("gan", ["--beta_1=1"], "--beta_1"),
        # A step must end on every evaluation, checkpoint and the last iteration.
        "iterations_per_step_not_dividing": (
            "wgan_gp", ["--iterations=30", "--eval_every=10", "--iterations_per_step=4"],
            "--iterations (30), --eval_every (10)"),
        "iterations_per_step_not_a_number": ("gan", ["--iterations_per_step=many"],
                                             "--iterations_per_step"),
        "iterations_per_step_with_strategy": (
            "wgan_gp", ["--strategy=mirrored", "--iterations_per_step=2"],
            "--strategy=mirrored"),
        "iterations_per_step_with_authors_schedule": (
            "wgan", ["--authors_schedule", "--iterations_per_step=2"], "--authors_schedule"),
    }

    # From a new interpreter (the others are forked from one that has imported
    # TensorFlow): a refusal after TensorFlow has loaded, whose import output
    # the one-line check then sees too.
    FRESH = ("negative_penalty_weight",)

    @classmethod
    def work(cls, directory, case):
        algorithm, args, _ = cls.CASES[case]
        output_dir = os.path.join(directory, "out")
        return output_dir, run(algorithm, *args, f"--output_dir={output_dir}",
                               fresh=case in cls.FRESH)

    def check(self, case):
        algorithm, _, mentions = self.CASES[case]
        output_dir, outcome = result(self.work, case)
        self.assertEqual(outcome.returncode, 2, msg=outcome.stderr)
        self.assertNotIn("Traceback", outcome.stderr)
        lines = program_lines(outcome.stderr)
        self.assertLen(lines, 1, msg=outcome.stderr)
        self.assertStartsWith(lines[0], f"python -m train_loops.{algorithm}: error: ")
        self.assertIn(mentions, lines[0])
        self.assertEqual(outcome.stdout, "")
        self.assertFalse(os.path.exists(output_dir), msg=f"{output_dir} was created")

    def test_iterations_per_step_not_dividing(self):
        self.check("iterations_per_step_not_dividing")

    def test_iterations_per_step_not_a_number(self):
        self.check("iterations_per_step_not_a_number")

    def test_iterations_per_step_with_strategy(self):
        self.check("iterations_per_step_with_strategy")

    def test_iterations_per_step_with_authors_schedule(self):
        self.check("iterations_per_step_with_authors_schedule")

    def test_unknown_dataset(self):
        self.check("unknown_dataset")

    def test_negative_learning_rate(self):
        self.check("negative_learning_rate")

    def test_zero_n_critic(self):
        self.check("zero_n_critic")

    def test_zero_batch_size(self):
        self.check("zero_batch_size")

    def test_zero_iterations(self):
        self.check("zero_iterations")

    def test_unknown_flag(self):
        self.check("unknown_flag")

    def test_positional_argument(self):
        self.check("positional_argument")

    def test_negative_penalty_weight_from_model_constructor(self):
        self.check("negative_penalty_weight")

    def test_zero_clip_value_from_model_constructor(self):
        self.check("zero_clip_value")

    def test_unknown_generator_loss(self):
        self.check("unknown_generator_loss")

    def test_beta_1_of_one(self):
        self.check("beta_1_of_one")


class _ShortRun:
    """A 20-iteration run of ALGORITHM on 8gaussians; subclasses add model-specific checks."""

    ALGORITHM = None
    METRICS = None
    AVERAGE = False  # whether the toy preset keeps a moving average of G's weights
    # Without XLA, whose compile is half a short run's CPU: these runs test the
    # command's outputs. The WGAN-GP run keeps the toy default (XLA).
    EXTRA = ("--jit_compile=false",)
    FRESH = False  # a new interpreter rather than a forked process

    @classmethod
    def work(cls, directory):
        output_dir = os.path.join(directory, "run")
        return output_dir, run(cls.ALGORITHM, *SHORT, *cls.EXTRA,
                               f"--output_dir={output_dir}", fresh=cls.FRESH)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.output_dir, cls.outcome = result(cls.work)

    def path(self, name):
        return os.path.join(self.output_dir, name)

    def metrics(self):
        header, rows = read_csv(self.path("metrics.csv"))
        return header, rows, {name: column(header, rows, name) for name in self.METRICS}

    def test_exits_0_and_writes_every_output(self):
        self.assertEqual(self.outcome.returncode, 0, msg=self.outcome.stderr)
        self.assertNotIn("Traceback", self.outcome.stderr)
        self.assertContainsSubset(OUTPUTS, os.listdir(self.output_dir))

    def test_flags_txt_records_the_command_line(self):
        with open(self.path("flags.txt")) as f:
            lines = f.read().splitlines()
        self.assertContainsSubset(SHORT + [f"--output_dir={self.output_dir}"], lines)

    def test_metrics_csv_has_one_row_per_iteration(self):
        header, rows, values = self.metrics()
        self.assertEqual(header[:2], ["iteration", "seconds"])
        self.assertCountEqual(header[2:], self.METRICS)
        self.assertLen(rows, 20)
        self.assertEqual([int(row[0]) for row in rows], list(range(1, 21)))
        for name, value in values.items():
            self.assertTrue(np.all(np.isfinite(value)), msg=name)
        seconds = column(header, rows, "seconds")
        self.assertTrue(np.all(np.diff(seconds) >= 0), msg=seconds)

    def test_progress_lines_count_down_to_the_last_iteration(self):
        # Not a terminal, so no progress bar: each evaluation's line says the time left,
        # at the pace since the first fit step (10 iterations, mostly compiling) ended, to
        # the run's last iteration. At that first step there is no pace yet.
        lines = [line for line in self.outcome.stdout.splitlines()
                 if line.startswith("iteration ")]
        self.assertEqual([line.split()[1] for line in lines], ["10", "20"])
        self.assertRegex(lines[0], r"^iteration 10  \d+s  [a-z_]+ ")
        self.assertRegex(lines[1], r"^iteration 20  \d+s  ~0s left  ")

    def test_evaluation_csv_every_10_iterations(self):
        header, rows = read_csv(self.path("evaluation.csv"))
        self.assertEqual(header, ["iteration", "seconds", "modes_captured",
                                  "high_quality_percent", "reverse_kl",
                                  "high_quality_reverse_kl"]
                         + [f"share_{k}" for k in range(8)]
                         + [f"high_quality_share_{k}" for k in range(8)]
                         + [f"ema_{name}" for name in ("modes_captured", "high_quality_percent",
                                                       "reverse_kl", "high_quality_reverse_kl")
                            if self.AVERAGE])
        self.assertEqual(os.path.exists(self.path("generator_ema.keras")), self.AVERAGE)
        self.assertEqual([int(row[0]) for row in rows], [10, 20])
        for row in rows:
            self.assertBetween(int(row[2]), 0, 8)
            self.assertBetween(float(row[3]), 0.0, 100.0)
            shares = np.array(row[6:14], float)
            # Every sample has a nearest centre; the KL is that of these shares.
            self.assertAllClose(shares.sum(), 1.0, atol=1e-3)
            positive = shares[shares > 0]
            self.assertAllClose(float(row[4]), np.sum(positive * np.log(8 * positive)),
                                atol=2e-3)

    def test_saved_generators_hold_the_last_checkpoints_weights(self):
        # generator.keras holds the generator checkpointed at the last iteration,
        # generator_ema.keras the average of its weights (not another copy of it).
        reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(self.path("checkpoints")))

        def stored(key):
            return reader.get_tensor(f"{key}/.ATTRIBUTES/VARIABLE_VALUE")

        self.assertEqual(int(stored("generator_optimizer/_iterations")), 20)
        saved = {}
        for name in ("generator", "generator_ema") if self.AVERAGE else ("generator",):
            network = keras.saving.load_model(self.path(f"{name}.keras"), compile=False)
            saved[name] = [w.numpy() for w in network.weights]
            self.assertLen(saved[name], 8)  # 3 hidden ReLU layers and the linear output
        # The generator's weights, in order, are those its optimizer trains.
        for i, weight in enumerate(saved["generator"]):
            self.assertAllEqual(weight, stored(f"generator_optimizer/_trainable_variables/{i}"))
        if self.AVERAGE:
            for i, weight in enumerate(saved["generator_ema"]):
                kind = "_kernel" if i % 2 == 0 else "bias"
                self.assertAllEqual(weight, stored(
                    f"model/averaged_generator/_operations/{i // 2 + 1}/{kind}"))
            self.assertNotAllClose(np.concatenate([w.ravel() for w in saved["generator"]]),
                                   np.concatenate([w.ravel() for w in saved["generator_ema"]]))

    def test_final_w1_is_that_of_the_final_generators_samples(self):
        # summary.json's exact W1: the saved generator's samples drawn from the
        # model's stream as checkpointed at the end (nothing after the last
        # update draws from it: evaluations and snapshots have codes of their
        # own), against the first batch of the real stream with seed + 1.
        from data.toy import toy_batches  # pylint: disable=import-outside-toplevel
        from evaluation.wasserstein import wasserstein1_estimate  # pylint: disable=import-outside-toplevel
        from models import random  # pylint: disable=import-outside-toplevel

        reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(self.path("checkpoints")))
        stream = keras.random.SeedGenerator(0)
        stream.state.assign(reader.get_tensor("model/random_state/.ATTRIBUTES/VARIABLE_VALUE"))
        generator = keras.saving.load_model(self.path("generator.keras"), compile=False)
        fake = generator(random.latent((200, 2), "normal", stream)).numpy()
        real = next(iter(toy_batches("8gaussians", 200, 1))).numpy()  # --seed=0, eval_samples
        summary = read_json(self.path("summary.json"))
        self.assertAllClose(summary["wasserstein1_estimate"],
                            round(wasserstein1_estimate(real, fake), 4), atol=1e-4)

    def test_summary_json(self):
        summary = read_json(self.path("summary.json"))
        self.assertEqual(summary["algorithm"], self.ALGORITHM)
        self.assertEqual(summary["dataset"], "8gaussians")
        self.assertEqual(summary["iterations"], 20)
        self.assertIs(summary["interrupted"], False)
        self.assertEqual(summary["num_modes"], 8)
        self.assertBetween(summary["modes_captured"], 0, 8)
        self.assertLen(summary["shares"], 8)
        self.assertBetween(summary["reverse_kl"], 0.0, np.log(8) + 1e-4)
        # The final evaluation is the one logged at iteration 20, not a new one.
        _, rows = read_csv(self.path("evaluation.csv"))
        self.assertEqual(summary["modes_captured"], int(rows[-1][2]))
        # The cost beside the wall time: the process's CPU time and the machine's load.
        self.assertGreater(summary["cpu_time_seconds"], 0.0)
        self.assertLen(summary["load_average"], 2)

    def test_samples_png_is_a_png_image(self):
        from PIL import Image

        with open(self.path("samples.png"), "rb") as f:
            self.assertEqual(f.read(8), PNG_SIGNATURE)
        with Image.open(self.path("samples.png")) as image:
            image.verify()  # raises on a truncated or corrupt file
            self.assertEqual(image.format, "PNG")

    def test_snapshots_are_the_generator_on_fixed_noise(self):
        import keras

        first, last = (np.load(self.path(f"samples/{i:06d}.npz")) for i in (10, 20))
        self.assertAllEqual(first["latent"], last["latent"])
        self.assertEqual(last["samples"].shape, (1000, 2))
        generator = keras.saving.load_model(self.path("generator.keras"))
        self.assertAllClose(generator(last["latent"], training=False), last["samples"],
                            rtol=1e-5, atol=1e-6)
        self.assertNotAllClose(first["samples"], last["samples"])

    def test_generator_keras_loads_and_generates_2d_points(self):
        import keras

        generator = keras.saving.load_model(self.path("generator.keras"))
        latent_dim = generator.input_shape[-1]
        points = generator(np.random.default_rng(0).normal(size=(7, latent_dim))
                           .astype(np.float32))
        self.assertEqual(tuple(points.shape), (7, 2))
        self.assertTrue(np.all(np.isfinite(points)))


class GanRunTest(_ShortRun, tf.test.TestCase):
    ALGORITHM = "gan"
    METRICS = ("d_loss", "g_loss", "js_estimate")

    def test_js_estimate_follows_from_d_loss(self):
        _, _, values = self.metrics()
        # JSD = (log 4 - d_loss) / 2 (Goodfellow et al. 2014, Theorem 1), to 6 digits.
        self.assertAllClose(values["js_estimate"], 0.5 * (math.log(4) - values["d_loss"]),
                            rtol=1e-5, atol=1e-5)


class WganRunTest(_ShortRun, tf.test.TestCase):
    ALGORITHM = "wgan"
    # n_critic 1: the traced step a fifth as long. PyTorch's RMSProp: the toy
    # preset's (TensorFlow 1's) starts its mean square at 1 and so moves the
    # generator by less than 1e-6 in 20 iterations, and the snapshots at 10
    # and 20 would be the same.
    EXTRA = ("--jit_compile=false", "--n_critic=1", "--optimizer=rmsprop")
    METRICS = ("d_loss", "g_loss", "wasserstein", "clipped_fraction")

    def test_clipped_fraction_is_a_fraction(self):
        _, _, values = self.metrics()
        self.assertAllInRange(values["clipped_fraction"], 0.0, 1.0)

    def test_saved_critic_is_clipped(self):
        # critic.keras is the critic after its last update's clipping: every
        # weight within c = 0.01, and the He-initialised ones piled at the bound.
        critic = keras.saving.load_model(self.path("critic.keras"), compile=False)
        weights = np.concatenate([w.numpy().ravel() for w in critic.trainable_weights])
        self.assertAllInRange(weights, -0.01, 0.01)
        at_bound = np.mean(np.abs(weights) >= np.float32(0.01))
        self.assertGreater(at_bound, 0.5)
        # The last update's reported clipped fraction is that of these weights.
        _, _, values = self.metrics()
        self.assertAllClose(values["clipped_fraction"][-1], at_bound, atol=1e-5)

    def test_wasserstein_is_minus_d_loss(self):
        _, _, values = self.metrics()
        self.assertAllEqual(values["wasserstein"], -values["d_loss"])


class WganGpRunTest(_ShortRun, tf.test.TestCase):
    ALGORITHM = "wgan_gp"
    METRICS = ("d_loss", "g_loss", "wasserstein", "gradient_penalty", "grad_norm")
    AVERAGE = True
    EXTRA = ()  # the command's defaults: XLA on toy data
    FRESH = True  # `python -m train_loops.wgan_gp` itself, from a new interpreter

    def test_sample_refines_with_the_saved_critic(self):
        generator, critic = self.path("generator.keras"), self.path("critic.keras")
        output = self.path("refined.png")
        done = run("sample", f"--generator={generator}", f"--critic={critic}",
                   "--dot_steps=5", "--num_samples=50", f"--output={output}")
        self.assertEqual(done.returncode, 0, msg=done.stderr)
        self.assertIn("refined by 5 transport steps", done.stdout)
        with open(output, "rb") as f:
            self.assertEqual(f.read(8), PNG_SIGNATURE)
        # As arrays: the same codes as without refinement, each sample moved as
        # models.transport moves it with the saved critic (Tanaka 2019).
        arrays = {}
        for name, extra in (("raw", ()), ("refined", (f"--critic={critic}", "--dot_steps=5"))):
            path = self.path(f"{name}.npz")
            done = run("sample", f"--generator={generator}", *extra, "--num_samples=50",
                       "--seed=3", f"--output={path}")
            self.assertEqual(done.returncode, 0, msg=done.stderr)
            with np.load(path) as stored:
                arrays[name] = dict(stored)
        self.assertAllEqual(arrays["raw"]["latent"], arrays["refined"]["latent"])
        from models import transport  # pylint: disable=import-outside-toplevel

        saved_critic = keras.saving.load_model(critic, compile=False)
        raw = arrays["raw"]["samples"]
        expected = transport.transport(
            saved_critic, raw, transport.effective_lipschitz(saved_critic, raw, seed=3), 5)
        self.assertAllClose(arrays["refined"]["samples"], expected, rtol=1e-5, atol=1e-6)
        self.assertNotAllClose(arrays["refined"]["samples"], raw)
        refused = run("sample", f"--generator={generator}", "--dot_steps=5")
        self.assertEqual(refused.returncode, 2, msg=refused.stderr)
        self.assertEqual(len(program_lines(refused.stderr)), 1, msg=refused.stderr)
        self.assertIn("--dot_steps needs --critic", refused.stderr)

    def test_d_loss_is_penalty_minus_wasserstein(self):
        _, _, values = self.metrics()
        d_loss, penalty, wasserstein = (values[name] for name in
                                        ("d_loss", "gradient_penalty", "wasserstein"))
        # Each value is written with 6 significant digits.
        tolerance = 1e-5 * (np.abs(d_loss) + np.abs(penalty) + np.abs(wasserstein))
        np.testing.assert_array_less(np.abs(d_loss - (penalty - wasserstein)), tolerance + 1e-12)
        self.assertAllGreaterEqual(penalty, 0.0)
        self.assertAllGreaterEqual(values["grad_norm"], 0.0)


class IterationsPerStepTest(tf.test.TestCase):
    """Several generator iterations per train step change nothing but the speed.

    The same deterministic WGAN-GP run three ways: one iteration per step; the
    default (auto: 10 per step on toy data); and 7 iterations at one per step,
    then resumed to 20 with auto, which must fall back to a step size that
    divides 7 (a step must end where the run resumes). And a fourth, one
    iteration per step evaluated at every iteration: evaluations draw from
    streams of their own, so it must train exactly as the first.
    """

    ARGS = SHORT + ["--deterministic", "--n_critic=2"]

    @classmethod
    def work(cls, directory):
        dirs = {name: os.path.join(directory, name)
                for name in ("one", "auto", "resumed", "evaluated")}
        outcomes = {
            "one": run("wgan_gp", *cls.ARGS, "--iterations_per_step=1",
                       f"--output_dir={dirs['one']}"),
            "auto": run("wgan_gp", *cls.ARGS, f"--output_dir={dirs['auto']}"),
            "evaluated": run("wgan_gp", *cls.ARGS, "--iterations_per_step=1", "--eval_every=1",
                             "--sample_every=1", "--checkpoint_every=1",
                             f"--output_dir={dirs['evaluated']}"),
            "first_7": run("wgan_gp", *cls.ARGS, "--iterations=7",
                           "--iterations_per_step=1", f"--output_dir={dirs['resumed']}"),
            # An explicit value that does not divide 7 is refused in one line.
            "refused": run("wgan_gp", *cls.ARGS, "--iterations_per_step=10", "--resume",
                           f"--output_dir={dirs['resumed']}"),
        }
        outcomes["resumed"] = run("wgan_gp", *cls.ARGS, "--resume",
                                  f"--output_dir={dirs['resumed']}")
        # Killed after its last checkpoint, before its summary: resuming has
        # nothing to train and writes the outputs only.
        with open(os.path.join(dirs["resumed"], "evaluation.csv")) as f:
            outcomes["evaluations_before"] = f.read()
        os.remove(os.path.join(dirs["resumed"], "summary.json"))
        outcomes["ended"] = run("wgan_gp", *cls.ARGS, "--resume",
                                f"--output_dir={dirs['resumed']}")
        return dirs, outcomes

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dirs, cls.outcomes = result(cls.work)

    def test_runs_exit_0_and_the_bad_resume_is_refused(self):
        for name in ("one", "auto", "first_7", "resumed", "evaluated"):
            self.assertEqual(self.outcomes[name].returncode, 0,
                             msg=f"{name}: {self.outcomes[name].stderr}")
        refused = self.outcomes["refused"]
        self.assertEqual(refused.returncode, 2, msg=refused.stderr)
        self.assertIn("must divide the iteration the run resumes from (7)",
                      program_lines(refused.stderr)[-1])

    def test_resuming_a_finished_run_keeps_its_last_evaluation(self):
        self.assertEqual(self.outcomes["ended"].returncode, 0, msg=self.outcomes["ended"].stderr)
        path = os.path.join(self.dirs["resumed"], "evaluation.csv")
        with open(path) as f:
            self.assertEqual(f.read(), self.outcomes["evaluations_before"])
        header, rows = read_csv(path)
        summary = read_json(os.path.join(self.dirs["resumed"], "summary.json"))
        self.assertEqual(summary["resumed_from"], 20)
        self.assertEqual(summary["modes_captured"], int(rows[-1][header.index("modes_captured")]))
        self.assertEqual(summary["shares"],
                         [float(rows[-1][header.index(f"share_{k}")]) for k in range(8)])

    def test_every_iteration_is_logged_with_the_same_numbers(self):
        header, one = read_csv(os.path.join(self.dirs["one"], "metrics.csv"))
        self.assertEqual([int(row[0]) for row in one], list(range(1, 21)))
        for name in ("auto", "resumed"):
            other_header, other = read_csv(os.path.join(self.dirs[name], "metrics.csv"))
            self.assertEqual(other_header, header)
            self.assertEqual([int(row[0]) for row in other], list(range(1, 21)), msg=name)
            for metric in header[2:]:
                # A loop body may round differently from a lone step (the
                # last float32 digit), written with 6 significant digits.
                self.assertAllClose(column(header, one, metric),
                                    column(header, other, metric),
                                    rtol=1e-4, atol=1e-6, msg=f"{name} {metric}")

    def test_evaluating_more_often_changes_nothing_in_training(self):
        header, one = read_csv(os.path.join(self.dirs["one"], "metrics.csv"))
        _, evaluated = read_csv(os.path.join(self.dirs["evaluated"], "metrics.csv"))
        # Every iteration's losses, bit for bit (--deterministic, the same step size).
        self.assertEqual([row[2:] for row in evaluated], [row[2:] for row in one])
        eval_header, rows = read_csv(os.path.join(self.dirs["evaluated"], "evaluation.csv"))
        self.assertEqual([int(row[0]) for row in rows], list(range(1, 21)))
        # The evaluations both runs make (10 and 20) drew the same samples.
        _, one_rows = read_csv(os.path.join(self.dirs["one"], "evaluation.csv"))
        self.assertEqual([rows[9][2:], rows[19][2:]], [row[2:] for row in one_rows])
        one_final = tf.train.load_checkpoint(os.path.join(self.dirs["one"], "checkpoints"))
        evaluated_final = tf.train.load_checkpoint(
            os.path.join(self.dirs["evaluated"], "checkpoints"))
        for variable in one_final.get_variable_to_shape_map():
            if variable.startswith("model/"):
                self.assertAllEqual(one_final.get_tensor(variable),
                                    evaluated_final.get_tensor(variable), msg=variable)

    def test_evaluations_and_checkpoints_fall_on_the_same_iterations(self):
        header, one = read_csv(os.path.join(self.dirs["one"], "evaluation.csv"))
        _, auto = read_csv(os.path.join(self.dirs["auto"], "evaluation.csv"))
        self.assertEqual([row[0] for row in auto], ["10", "20"])
        for metric in ("modes_captured", "high_quality_percent"):
            self.assertAllClose(column(header, one, metric), column(header, auto, metric),
                                atol=0.05)
        for name in ("one", "auto", "resumed"):
            self.assertEqual(read_json(os.path.join(self.dirs[name],
                                                    "summary.json"))["iterations"], 20)
        final = {name: tf.train.load_checkpoint(os.path.join(self.dirs[name], "checkpoints"))
                 for name in self.dirs}
        for variable in final["one"].get_variable_to_shape_map():
            if variable.startswith("model/"):
                for name in ("auto", "resumed"):
                    self.assertAllClose(final["one"].get_tensor(variable),
                                        final[name].get_tensor(variable),
                                        rtol=1e-4, atol=1e-6, msg=f"{name} {variable}")


class FlagfileRoundTripTest(tf.test.TestCase):
    """A WGAN-GP run on swissroll with non-default flags, then again from its flags.txt."""

    # --deterministic: the rerun repeats the numbers bit for bit (without XLA).
    ARGS = SHORT + ["--dataset=swissroll", "--seed=3", "--n_critic=2",
                    "--penalty_weight=0.5", "--one_sided", "--deterministic"]

    @classmethod
    def work(cls, directory):
        first_dir = os.path.join(directory, "first")
        again_dir = os.path.join(directory, "again")
        first = run("wgan_gp", *cls.ARGS, f"--output_dir={first_dir}")
        again = run("wgan_gp", f"--flagfile={os.path.join(first_dir, 'flags.txt')}",
                    f"--output_dir={again_dir}")
        return first_dir, first, again_dir, again

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.first_dir, cls.first, cls.again_dir, cls.again = result(cls.work)

    def test_both_runs_exit_0(self):
        self.assertEqual(self.first.returncode, 0, msg=self.first.stderr)
        self.assertEqual(self.again.returncode, 0, msg=self.again.stderr)

    def test_flags_txt_holds_the_model_flags(self):
        with open(os.path.join(self.first_dir, "flags.txt")) as f:
            lines = f.read().splitlines()
        self.assertContainsSubset(self.ARGS, lines)

    def test_rerun_writes_the_same_flags_but_output_dir(self):
        def flags_of(output_dir):
            with open(os.path.join(output_dir, "flags.txt")) as f:
                return [line for line in f.read().splitlines()
                        if not line.startswith("--output_dir=")]

        self.assertEqual(flags_of(self.again_dir), flags_of(self.first_dir))
        with open(os.path.join(self.again_dir, "flags.txt")) as f:
            self.assertIn(f"--output_dir={self.again_dir}", f.read().splitlines())

    def test_rerun_reproduces_every_metric(self):
        first_header, first_rows = read_csv(os.path.join(self.first_dir, "metrics.csv"))
        again_header, again_rows = read_csv(os.path.join(self.again_dir, "metrics.csv"))
        self.assertEqual(again_header, first_header)
        self.assertLen(first_rows, 20)
        seconds = first_header.index("seconds")

        def without_seconds(rows):
            return [row[:seconds] + row[seconds + 1:] for row in rows]

        self.assertEqual(without_seconds(again_rows), without_seconds(first_rows))

    def test_swissroll_summary_has_no_mode_coverage(self):
        summary = read_json(os.path.join(self.first_dir, "summary.json"))
        self.assertEqual(summary["dataset"], "swissroll")
        self.assertEqual(summary["iterations"], 20)
        for key in ("modes_captured", "num_modes", "high_quality_percent"):
            self.assertNotIn(key, summary)
        _, rows = read_csv(os.path.join(self.first_dir, "evaluation.csv"))
        self.assertEqual([row[0] for row in rows], ["10", "20"])
        self.assertEqual([row[2:] for row in rows], [["", ""], ["", ""]])


class InterruptTest(tf.test.TestCase):
    """Ctrl-C (SIGINT) in the middle of a long GAN run on 25gaussians."""

    ITERATIONS = 100000
    ROWS_BEFORE_SIGINT = 5

    @classmethod
    def work(cls, directory):
        """Start the run, SIGINT it once metrics.csv has some rows; wait for it to end."""
        output_dir = os.path.join(directory, "run")
        metrics = os.path.join(output_dir, "metrics.csv")
        process = launch("gan", f"--iterations={cls.ITERATIONS}", "--dataset=25gaussians",
                         "--hidden_units=8", "--batch_size=16", "--eval_every=50",
                         "--eval_samples=200", "--jit_compile=false",
                         f"--output_dir={output_dir}")
        rows_seen = 0
        try:
            deadline = time.monotonic() + RUN_TIMEOUT
            while (rows_seen < cls.ROWS_BEFORE_SIGINT and process.poll() is None
                   and time.monotonic() < deadline):
                time.sleep(0.1)
                if os.path.exists(metrics):
                    with open(metrics) as f:
                        rows_seen = max(sum(1 for _ in f) - 1, 0)
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
        finally:
            if process.poll() is None:  # only after a timeout: never leave it running
                process.kill()
                process.communicate()
        return output_dir, rows_seen, process.returncode, stdout, stderr

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.output_dir, cls.rows_seen, cls.returncode, cls.stdout, cls.stderr = (
            result(cls.work))

    def summary(self):
        return read_json(os.path.join(self.output_dir, "summary.json"))

    def test_exits_130_without_traceback(self):
        self.assertGreaterEqual(self.rows_seen, self.ROWS_BEFORE_SIGINT,
                                msg="the run ended or stalled before any SIGINT")
        self.assertEqual(self.returncode, 130, msg=self.stderr)
        self.assertNotIn("Traceback", self.stderr)
        self.assertIn("interrupted", self.stdout)

    def test_summary_records_the_interruption(self):
        summary = self.summary()
        self.assertIs(summary["interrupted"], True)
        self.assertBetween(summary["iterations"], self.ROWS_BEFORE_SIGINT,
                           self.ITERATIONS - 1)

    def test_every_iteration_done_is_in_metrics_csv(self):
        _, rows = read_csv(os.path.join(self.output_dir, "metrics.csv"))
        iterations = self.summary()["iterations"]
        self.assertLen(rows, iterations)
        self.assertEqual([int(row[0]) for row in rows], list(range(1, iterations + 1)))

    def test_samples_and_generator_are_written(self):
        for name in ("samples.png", "generator.keras", "flags.txt", "evaluation.csv"):
            self.assertTrue(os.path.isfile(os.path.join(self.output_dir, name)), msg=name)
        with open(os.path.join(self.output_dir, "samples.png"), "rb") as f:
            self.assertEqual(f.read(8), PNG_SIGNATURE)

    def test_25gaussians_has_25_modes(self):
        summary = self.summary()
        self.assertEqual(summary["dataset"], "25gaussians")
        self.assertEqual(summary["num_modes"], 25)
        self.assertBetween(summary["modes_captured"], 0, 25)


if __name__ == "__main__":
    tf.test.main()
