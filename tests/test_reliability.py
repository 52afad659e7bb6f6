"""Reliability of the training commands: crashes, non-finite numbers and runs on disk.

Subprocess tests: the processes are killed for real (SIGKILL), as a crash would.
"""

import csv
import os
import signal
import subprocess
import time

import numpy as np
import tensorflow as tf

from test_train_loops import ENV, REPO, RUN_TIMEOUT, command, program_lines, read_json, run

TINY = ["--hidden_units=16", "--batch_size=32", "--eval_every=50", "--eval_samples=200"]


def metric_rows(output_dir):
    """metrics.csv without the wall-clock column, which differs between runs."""
    with open(os.path.join(output_dir, "metrics.csv"), newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def wait_for_file(path, timeout=120):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        if time.time() > deadline:
            raise TimeoutError(path)
        time.sleep(0.2)


class CrashAndResumeTest(tf.test.TestCase):

    def test_sigkill_then_resume_ends_like_an_unbroken_run(self):
        unbroken = os.path.join(self.get_temp_dir(), "unbroken")
        crashed = os.path.join(self.get_temp_dir(), "crashed")
        args = ["--iterations=400", "--checkpoint_every=100", "--deterministic", *TINY]
        self.assertEqual(run("wgan_gp", *args, f"--output_dir={unbroken}").returncode, 0)

        process = subprocess.Popen(command("wgan_gp", *args, f"--output_dir={crashed}"),
                                   cwd=REPO, env=ENV, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            wait_for_file(os.path.join(crashed, "checkpoints", "ckpt-200.index"))
        finally:
            process.send_signal(signal.SIGKILL)  # no handler, no clean-up: a crash
            process.wait(timeout=RUN_TIMEOUT)
        self.assertEqual(process.returncode, -signal.SIGKILL)
        self.assertFalse(os.path.exists(os.path.join(crashed, "summary.json")))

        resumed = run("wgan_gp", *args, f"--output_dir={crashed}", "--resume")
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        summary = read_json(os.path.join(crashed, "summary.json"))
        self.assertGreaterEqual(summary["resumed_from"], 200)
        self.assertEqual(summary["iterations"], 400)
        # Every step's numbers, and so the final weights' trajectory, match.
        self.assertEqual(metric_rows(unbroken), metric_rows(crashed))
        final = tf.train.load_checkpoint(os.path.join(unbroken, "checkpoints"))
        again = tf.train.load_checkpoint(os.path.join(crashed, "checkpoints"))
        for name in final.get_variable_to_shape_map():
            if name.startswith("model/"):
                self.assertAllEqual(final.get_tensor(name), again.get_tensor(name), msg=name)


class NonFiniteTest(tf.test.TestCase):

    def test_nan_stops_training_names_the_step_and_keeps_the_good_checkpoint(self):
        output_dir = os.path.join(self.get_temp_dir(), "nan")
        # A learning rate of 1e30 sends the weights to overflow within a few steps.
        result = run("wgan_gp", "--iterations=200", "--checkpoint_every=1",
                     "--learning_rate=1e30", *TINY, f"--output_dir={output_dir}")
        self.assertEqual(result.returncode, 3, result.stderr)
        lines = program_lines(result.stderr)
        self.assertLen(lines, 1)
        self.assertRegex(lines[0], r"error: non-finite \w+ \((nan|inf|-inf)\) at generator "
                                   r"iteration \d+; training stopped")
        failed_at = int(lines[0].split("generator iteration ")[1].split(";")[0])
        summary = read_json(os.path.join(output_dir, "summary.json"))
        self.assertIn(f"iteration {failed_at}", summary["failure"])
        self.assertFalse(os.path.exists(os.path.join(output_dir, "generator.keras")))
        checkpoints = tf.train.get_checkpoint_state(os.path.join(output_dir, "checkpoints"))
        if checkpoints is not None:  # every checkpoint left holds finite numbers only
            for path in checkpoints.all_model_checkpoint_paths:
                self.assertLess(int(path.rsplit("-", 1)[1]), failed_at)
                reader = tf.train.load_checkpoint(path)
                for name, dtype in reader.get_variable_to_dtype_map().items():
                    if dtype.is_floating:
                        self.assertTrue(np.all(np.isfinite(reader.get_tensor(name))), name)


class RunOnDiskTest(tf.test.TestCase):

    def test_an_existing_run_is_left_alone_unless_resumed_or_overwritten(self):
        output_dir = os.path.join(self.get_temp_dir(), "run")
        self.assertEqual(run("gan", "--iterations=10", *TINY,
                             f"--output_dir={output_dir}").returncode, 0)
        before = {name: os.path.getmtime(os.path.join(output_dir, name))
                  for name in os.listdir(output_dir)}

        refused = run("gan", "--iterations=10", *TINY, f"--output_dir={output_dir}")
        self.assertEqual(refused.returncode, 2)
        self.assertLen(program_lines(refused.stderr), 1)
        self.assertIn("already holds a run", refused.stderr)
        self.assertEqual(before, {name: os.path.getmtime(os.path.join(output_dir, name))
                                  for name in os.listdir(output_dir)})

        both = run("gan", "--resume", "--overwrite", f"--output_dir={output_dir}")
        self.assertEqual(both.returncode, 2)

        replaced = run("gan", "--iterations=5", *TINY, "--overwrite",
                       f"--output_dir={output_dir}")
        self.assertEqual(replaced.returncode, 0, replaced.stderr)
        self.assertEqual(read_json(os.path.join(output_dir, "summary.json"))["iterations"], 5)
        self.assertLen(metric_rows(output_dir), 5)

    def test_truncated_or_foreign_checkpoints_are_refused_in_one_line(self):
        output_dir = os.path.join(self.get_temp_dir(), "ckpt")
        self.assertEqual(run("wgan", "--iterations=10", *TINY,
                             f"--output_dir={output_dir}").returncode, 0)
        # Another model: wider networks than the checkpoint's.
        foreign = run("wgan", "--iterations=20", *TINY, "--hidden_units=32", "--resume",
                      f"--output_dir={output_dir}")
        self.assertEqual(foreign.returncode, 2)
        self.assertLen(program_lines(foreign.stderr), 1)
        self.assertIn("does not match this model", foreign.stderr)
        # A truncated data file.
        checkpoints = os.path.join(output_dir, "checkpoints")
        data = [f for f in os.listdir(checkpoints) if ".data-" in f][-1]
        with open(os.path.join(checkpoints, data), "r+b") as f:
            f.truncate(os.path.getsize(f.name) // 2)
        truncated = run("wgan", "--iterations=20", *TINY, "--resume",
                        f"--output_dir={output_dir}")
        self.assertEqual(truncated.returncode, 2)
        self.assertLen(program_lines(truncated.stderr), 1)
        self.assertNotIn("Traceback", truncated.stderr)


class SeedTest(tf.test.TestCase):

    def test_deterministic_runs_repeat_and_seeds_differ(self):
        runs = {}
        for name, seed in (("a", 1), ("b", 1), ("c", 2)):
            output_dir = os.path.join(self.get_temp_dir(), f"seed_{name}")
            result = run("wgan_gp", "--iterations=30", "--deterministic", f"--seed={seed}",
                         *TINY, f"--output_dir={output_dir}")
            self.assertEqual(result.returncode, 0, result.stderr)
            runs[name] = metric_rows(output_dir)
        self.assertEqual(runs["a"], runs["b"])
        self.assertNotEqual(runs["a"], runs["c"])


class CrashWhileSavingTest(tf.test.TestCase):

    def test_a_half_written_checkpoint_is_never_the_latest(self):
        # TF writes a checkpoint's files first and then rewrites the index file
        # `checkpoint` (atomically); a crash in between leaves files the index
        # does not name. Simulate one: files of a ckpt-15 that never finished.
        output_dir = os.path.join(self.get_temp_dir(), "half")
        self.assertEqual(run("wgan", "--iterations=10", "--checkpoint_every=5", *TINY,
                             f"--output_dir={output_dir}").returncode, 0)
        checkpoints = os.path.join(output_dir, "checkpoints")
        for name in ("ckpt-15.index", "ckpt-15.data-00000-of-00001"):
            with open(os.path.join(checkpoints, name), "wb") as f:
                f.write(b"\0" * 100)  # cut off mid-write
        resumed = run("wgan", "--iterations=20", "--checkpoint_every=5", *TINY, "--resume",
                      f"--output_dir={output_dir}")
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        summary = read_json(os.path.join(output_dir, "summary.json"))
        self.assertEqual((summary["resumed_from"], summary["iterations"]), (10, 20))


class TrainingBadInputTest(tf.test.TestCase):

    def assert_one_line_exit_2(self, result, *fragments):
        self.assertEqual(result.returncode, 2, result.stderr)
        lines = program_lines(result.stderr)
        self.assertLen(lines, 1)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def test_unavailable_dataset_and_unknown_preset(self):
        empty = self.get_temp_dir()
        output_dir = os.path.join(empty, "never_created")
        self.assert_one_line_exit_2(
            run("wgan_gp", "--dataset=cifar10", f"--data_dir={empty}",
                f"--output_dir={output_dir}"),
            "cifar10", "--manual_dir")
        self.assert_one_line_exit_2(run("gan", "--preset=wgan_gp"), "--preset")
        self.assertFalse(os.path.exists(output_dir))
