"""Reliability of the training commands: crashes, non-finite numbers and runs on disk.

Each run is a process of its own (tests/command_processes.py), killed for real
(SIGKILL), as a crash would.
"""

import atexit
import csv
import functools
import os
import shutil
import signal
import tempfile
import threading
import time
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

from train_loops import cli

import command_processes
from test_train_loops import RUN_TIMEOUT, launch, program_lines, read_json, run

# These runs test files, processes and checkpoints, not XLA nor the critic
# schedule: without XLA's compile a tiny run costs about half the CPU
# (20-iteration toy run: 43 s of user time with it, 21 s without, on a 2-core
# AVX2 machine), and one critic update per iteration (five unrolled ones are
# traced and run otherwise) took a 30-iteration run from 18 s to 11 s.
TINY = ["--hidden_units=16", "--batch_size=32", "--eval_every=50", "--eval_samples=200",
        "--jit_compile=false", "--n_critic=1"]


def metric_rows(output_dir):
    """metrics.csv without the wall-clock column, which differs between runs."""
    with open(os.path.join(output_dir, "metrics.csv"), newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def wait_until(condition, what, timeout=120):
    """Poll `condition()` every 20 ms until it holds; TimeoutError(what) after `timeout` s."""
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def wait_for_checkpoint(output_dir, iteration):
    """Wait until the `checkpoint` index names ckpt-<iteration> as the newest.

    TensorFlow writes a checkpoint's files first and the index last (and
    atomically): a kill between the two would leave the one before newest.
    """
    folder = os.path.join(output_dir, "checkpoints")

    def named():
        state = tf.train.get_checkpoint_state(folder)
        return (state is not None
                and os.path.basename(state.model_checkpoint_path) == f"ckpt-{iteration}")

    wait_until(named, folder)


def wait_for_file(path, since=0.0):
    """Wait until `path` exists, written to after time `since` (time.time())."""
    wait_until(lambda: os.path.exists(path) and os.path.getmtime(path) > since, path)


# The unbroken run the killed ones are compared with (CrashAndResumeTest,
# KilledWritesTest, SeedTest), run once: their classes share a worker.
UNBROKEN_ARGS = ["--iterations=300", "--checkpoint_every=20", "--sample_every=20",
                 "--deterministic", *TINY]
SHARES_THE_UNBROKEN_RUN = pytest.mark.xdist_group("test_reliability.unbroken")


@functools.cache
def unbroken_run():
    """The output folder of a finished deterministic 300-iteration WGAN-GP run."""
    output_dir = os.path.join(tempfile.mkdtemp(), "unbroken")
    atexit.register(shutil.rmtree, os.path.dirname(output_dir), ignore_errors=True)
    result = run("wgan_gp", *UNBROKEN_ARGS, f"--output_dir={output_dir}")
    if result.returncode != 0:
        raise AssertionError(f"the unbroken run failed: {result.stderr}")
    return output_dir


@SHARES_THE_UNBROKEN_RUN
class CrashAndResumeTest(tf.test.TestCase):

    def test_sigkill_then_resume_ends_like_an_unbroken_run(self):
        unbroken = unbroken_run()
        crashed = os.path.join(self.get_temp_dir(), "crashed")
        args = UNBROKEN_ARGS

        process = launch("wgan_gp", *args, f"--output_dir={crashed}")
        try:
            wait_for_checkpoint(crashed, 200)
        finally:
            process.send_signal(signal.SIGKILL)  # no handler, no clean-up: a crash
            process.wait(timeout=RUN_TIMEOUT)
        self.assertEqual(process.returncode, -signal.SIGKILL)
        self.assertFalse(os.path.exists(os.path.join(crashed, "summary.json")))

        resumed = run("wgan_gp", *args, f"--output_dir={crashed}", "--resume")
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        summary = read_json(os.path.join(crashed, "summary.json"))
        self.assertGreaterEqual(summary["resumed_from"], 200)
        self.assertEqual(summary["iterations"], 300)
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


@SHARES_THE_UNBROKEN_RUN
class SeedTest(tf.test.TestCase):
    # That the same seed repeats a run is CrashAndResumeTest's and
    # KilledWritesTest's: a run started afresh and killed, then resumed, ends
    # with the unbroken run's numbers, step by step.

    def test_another_seed_gives_other_numbers(self):
        other = os.path.join(self.get_temp_dir(), "other_seed")
        result = run("wgan_gp", *UNBROKEN_ARGS, "--iterations=20", "--seed=2",
                     f"--output_dir={other}")  # the last --iterations counts
        self.assertEqual(result.returncode, 0, result.stderr)
        first_20 = metric_rows(unbroken_run())[:20]
        rows = metric_rows(other)
        self.assertLen(rows, 20)
        for mine, theirs in zip(rows, first_20):
            self.assertEqual(mine["iteration"], theirs["iteration"])
            self.assertNotEqual(mine["d_loss"], theirs["d_loss"])


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


def checkpoint_file(output_dir, iteration, kind="data-00000-of-00001"):
    return os.path.join(output_dir, "checkpoints", f"ckpt-{iteration}.{kind}")


def has_checkpoint(output_dir):
    folder = os.path.join(output_dir, "checkpoints")
    return os.path.isdir(folder) and any(name.endswith(".index") for name in os.listdir(folder))


class DamagedCheckpointTest(tf.test.TestCase):

    def test_damaged_newest_checkpoints_are_skipped_for_the_newest_intact_one(self):
        # (That a resumed run equals an unbroken one is CrashAndResumeTest's.)
        args = ["--checkpoint_every=20", *TINY]
        damaged = os.path.join(self.get_temp_dir(), "damaged")
        self.assertEqual(run("wgan_gp", "--iterations=40", *args,
                             f"--output_dir={damaged}").returncode, 0)

        def resume(iterations, resumed_from, damaged_iteration, reason):
            result = run("wgan_gp", f"--iterations={iterations}", *args, "--resume",
                         f"--output_dir={damaged}")
            self.assertEqual(result.returncode, 0, result.stderr)
            lines = program_lines(result.stderr)
            self.assertLen(lines, 1, result.stderr)
            self.assertRegex(lines[0], rf"warning: checkpoint \S+ckpt-{damaged_iteration} is "
                                       rf"unreadable \(.*{reason}.*\); resuming from "
                                       rf"ckpt-{resumed_from}$")
            summary = read_json(os.path.join(damaged, "summary.json"))
            self.assertEqual((summary["resumed_from"], summary["iterations"]),
                             (resumed_from, iterations))

        # Truncated: the newest data file cut short.
        with open(checkpoint_file(damaged, 40), "r+b") as f:
            f.truncate(100)
        resume(60, 20, 40, "Read less bytes")
        # Garbled: bytes flipped in place (TensorFlow's per-tensor CRC32C finds them).
        path = checkpoint_file(damaged, 60)
        data = bytearray(open(path, "rb").read())
        for i in np.random.default_rng(0).integers(0, len(data), 20):
            data[i] ^= 0xFF
        with open(path, "wb") as f:
            f.write(bytes(data))
        resume(80, 40, 60, "Checksum does not match")
        self.assertEqual([int(row["iteration"]) for row in metric_rows(damaged)],
                         list(range(1, 81)))
        # None intact (the newest three are kept), and the `checkpoint` index
        # emptied, which TensorFlow refuses: the index is set aside with a
        # warning, the checkpoints are found by their files, and then one
        # line and exit 2, with the logs unchanged.
        for iteration in (40, 60, 80):
            with open(checkpoint_file(damaged, iteration, "index"), "wb") as f:
                f.write(b"\0" * 64)
        open(os.path.join(damaged, "checkpoints", "checkpoint"), "w").close()
        before = metric_rows(damaged)
        refused = run("wgan_gp", "--iterations=100", *args, "--resume",
                      f"--output_dir={damaged}")
        self.assertEqual(refused.returncode, 2, refused.stderr)
        lines = program_lines(refused.stderr)
        self.assertLen(lines, 2, refused.stderr)
        self.assertIn("unreadable (ValueError); set aside as", lines[0])
        self.assertIn("no intact checkpoint", lines[1])
        self.assertIn("ckpt-80, ckpt-60, ckpt-40 unreadable", lines[1])
        self.assertEqual(before, metric_rows(damaged))


class FullDiskTest(tf.test.TestCase):

    def test_a_file_size_limit_during_a_checkpoint_is_one_line_and_the_run_resumes(self):
        # The limit is lowered (prlimit) once ckpt-100 is written, below the
        # size of a checkpoint (~3 MB with 256 units) and far above every log,
        # so that the next checkpoint's write fails with EFBIG, as on a full disk.
        import resource

        output_dir = os.path.join(self.get_temp_dir(), "limited")
        args = ["--iterations=200", "--checkpoint_every=100", "--hidden_units=256",
                "--batch_size=32", "--eval_every=100", "--eval_samples=200",
                "--jit_compile=false"]
        process = launch("wgan_gp", *args, f"--output_dir={output_dir}")
        try:
            deadline = time.time() + RUN_TIMEOUT
            while not os.path.exists(checkpoint_file(output_dir, 100, "index")):
                self.assertLess(time.time(), deadline)
                self.assertIsNone(process.poll(), "the run ended before its first checkpoint")
                time.sleep(0.01)
            resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
            _, stderr = process.communicate(timeout=RUN_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
        self.assertEqual(process.returncode, 4, stderr)
        lines = program_lines(stderr)
        self.assertLen(lines, 1, stderr)
        self.assertRegex(lines[0], r"error: cannot write \S+ckpt-200: File too large; the last "
                                   r"good checkpoint is \S+ckpt-100 \(--resume continues from it\)")
        self.assertEqual(tf.train.latest_checkpoint(os.path.join(output_dir, "checkpoints")),
                         os.path.join(output_dir, "checkpoints", "ckpt-100"))
        self.assertEqual(sorted(os.listdir(os.path.join(output_dir, "checkpoints"))),
                         ["checkpoint", "ckpt-100.data-00000-of-00001", "ckpt-100.index",
                          "compute.json"])

        resumed = run("wgan_gp", *args, "--resume", f"--output_dir={output_dir}")
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        summary = read_json(os.path.join(output_dir, "summary.json"))
        self.assertEqual((summary["resumed_from"], summary["iterations"]), (100, 200))
        self.assertEqual([int(row["iteration"]) for row in metric_rows(output_dir)],
                         list(range(1, 201)))
        # ckpt-100's entry was written with it: the totals count the sitting before.
        self.assertGreater(summary["total_cpu_time_seconds"], summary["cpu_time_seconds"])


def check_run_files(test, output_dir):
    """Every file a run has written so far is whole: each parses as its format says."""
    import json
    import zipfile

    from PIL import Image

    from train_loops import files

    for folder, _, names in os.walk(output_dir):
        for name in names:
            path = os.path.join(folder, name)
            if (".partial." in name or "tensorboard" in folder
                    or ("checkpoints" in folder and name != "compute.json")):
                continue  # not yet renamed into place; TensorFlow's own files
            if name.endswith(".csv"):
                with open(path, newline="") as f:
                    table = list(csv.reader(f))
                test.assertEqual(files.read_rows(path), table, path)  # no torn row to drop
                test.assertTrue(all(len(row) == len(table[0]) for row in table), path)
            elif name.endswith(".json"):
                with open(path) as f:
                    json.load(f)
            elif name.endswith(".npz"):
                with np.load(path) as arrays:
                    test.assertEqual(arrays["samples"].shape[1], 2, path)
            elif name.endswith(".png"):
                with Image.open(path) as image:
                    image.load()
            elif name.endswith(".keras"):
                with zipfile.ZipFile(path) as archive:
                    test.assertIsNone(archive.testzip(), path)
            elif name == "flags.txt":
                with open(path) as f:
                    test.assertTrue(f.read().endswith("\n"), path)


@SHARES_THE_UNBROKEN_RUN
class KilledWritesTest(tf.test.TestCase):

    def test_sigkill_at_random_moments_never_tears_a_file_and_resuming_ends_unbroken(self):
        args = UNBROKEN_ARGS
        unbroken = unbroken_run()
        killed = os.path.join(self.get_temp_dir(), "killed")
        rng = np.random.default_rng(0)
        kills = 0
        for attempt in range(3):
            again = "--resume" if has_checkpoint(killed) else "--overwrite"
            launched = time.time()
            process = launch("wgan_gp", *args, f"--output_dir={killed}", again)
            try:
                # This process has written its log: training has begun (a
                # resumed run's log exists before it starts).
                wait_for_file(os.path.join(killed, "metrics.csv"), since=launched)
                time.sleep(rng.uniform(0.0, 1.0))
            finally:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=RUN_TIMEOUT)
            kills += process.returncode == -signal.SIGKILL
            check_run_files(self, killed)
            if process.returncode == 0:
                break
        self.assertGreaterEqual(kills, 2)
        again = "--resume" if has_checkpoint(killed) else "--overwrite"
        finished = run("wgan_gp", *args, f"--output_dir={killed}", again)
        self.assertEqual(finished.returncode, 0, finished.stderr)
        check_run_files(self, killed)
        self.assertEqual(metric_rows(unbroken), metric_rows(killed))
        # Every checkpoint had its compute noted before it was written: the totals are known.
        summary = read_json(os.path.join(killed, "summary.json"))
        self.assertIsNotNone(summary["total_wall_time_seconds"])
        for name in ("evaluation.csv",):
            with open(os.path.join(unbroken, name), newline="") as a, \
                    open(os.path.join(killed, name), newline="") as b:
                self.assertEqual([row[:1] + row[2:] for row in csv.reader(a)],
                                 [row[:1] + row[2:] for row in csv.reader(b)])


class UnusablePathTest(tf.test.TestCase):

    def assert_refused(self, result, fragment):
        self.assertEqual(result.returncode, 2, result.stderr)
        lines = program_lines(result.stderr)
        self.assertLen(lines, 1, result.stderr)
        self.assertIn(fragment, lines[0])

    def test_each_unusable_path_is_one_line_and_exit_2_with_nothing_written(self):
        root = self.get_temp_dir()
        a_file = os.path.join(root, "a_file")
        with open(a_file, "w") as f:
            f.write("not a folder\n")
        missing = os.path.join(root, "missing.keras")
        before = sorted(os.walk(root))
        self.assert_refused(run("wgan_gp", "--output_dir=/proc/nope"),
                            "--output_dir=/proc/nope cannot be written")
        self.assert_refused(run("wgan_gp", f"--output_dir={a_file}"), "is a file, not a folder")
        self.assert_refused(run("wgan_gp", f"--output_dir={a_file}/run"), "cannot be written")
        out = os.path.join(root, "out")
        self.assert_refused(run("wgan_gp", "--dataset=mnist", f"--data_dir={a_file}",
                                f"--output_dir={out}"), f"--data_dir={a_file} is a file")
        self.assert_refused(run("wgan_gp", "--dataset=mnist", f"--classifier={missing}",
                                f"--output_dir={out}"), "no such file")
        self.assert_refused(run("sample", f"--generator={missing}"), "no such file")
        self.assert_refused(run("sample", f"--generator={a_file}", f"--output={a_file}/x.png"),
                            "its folder")
        self.assert_refused(run("evaluate", f"--generator={missing}", "--dataset=mnist",
                                f"--classifier={a_file}"), "no such file")
        self.assert_refused(run("classifier", "--dataset=mnist", f"--output={a_file}/c.keras"),
                            "its folder")
        figure = command_processes.run("figures.mode_collapse", "--quick",
                                       "--output_dir=/proc/nope")
        self.assert_refused(figure, "cannot be written")
        self.assertEqual(before, sorted(os.walk(root)))
        self.assertFalse(os.path.exists("/proc/nope"))


class PathCheckTest(tf.test.TestCase):
    """The output-folder check in process: a path it cannot even look at, and two workers
    of one multi-worker run checking the same --output_dir at the same moment (the other
    process simulated at the exact moment that once failed a CI run, then raced for real
    with threads).
    """

    def test_a_path_that_cannot_be_looked_at_is_a_usage_error(self):
        path = os.path.join(self.get_temp_dir(), "x" * 300, "run")  # a name past 255 bytes
        with self.assertRaisesRegex(cli.UsageError, "cannot be written .*too long"):
            cli.writable_folder(path, "output_dir")

    def test_a_folder_made_by_another_process_first_is_used(self):
        path = os.path.join(self.get_temp_dir(), "peer_made", "run")
        real_mkdir = os.mkdir

        def peer_first(folder, *args):
            real_mkdir(folder, *args)  # the other process wins the race ...
            raise FileExistsError(17, "File exists", folder)

        with mock.patch.object(os, "mkdir", side_effect=peer_first):
            cli.writable_folder(path, "output_dir")
        # ... so the folders are the other process's, and this check leaves them.
        self.assertEqual(os.listdir(path), [])

    def test_a_folder_removed_under_the_check_by_another_process_is_checked_again(self):
        path = os.path.join(self.get_temp_dir(), "peer_removed", "run")
        real_open = open
        opened = []

        def peer_cleans_up_first(file, *args, **kwargs):
            if not opened:  # the other process's check ends and removes the folder it made
                shutil.rmtree(os.path.dirname(path))
            opened.append(file)
            return real_open(file, *args, **kwargs)

        with mock.patch("builtins.open", side_effect=peer_cleans_up_first):
            cli.writable_folder(path, "output_dir")
        self.assertLen(opened, 2)  # the probe failed once, then was written
        self.assertFalse(os.path.exists(os.path.dirname(path)))  # nothing left behind

    def test_many_simultaneous_checks_of_one_missing_folder_all_pass(self):
        root = self.get_temp_dir()
        errors = []

        def check(path):
            try:
                cli.writable_folder(path, "output_dir")
            except Exception as error:  # pylint: disable=broad-except
                errors.append(repr(error))

        for attempt in range(100):
            path = os.path.join(root, f"race{attempt}", "multi_worker")
            threads = [threading.Thread(target=check, args=(path,)) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        self.assertEqual(errors, [])
        # Nothing but (possibly) empty folders stays: a folder another check was
        # probing when its maker removed it is left in place, empty.
        for folder, _, files in os.walk(root):
            self.assertEqual(files, [], folder)


class KilledFigureTest(tf.test.TestCase):

    def test_a_killed_quick_figure_resumes_to_the_numbers_of_an_unbroken_one(self):
        import json

        def figure(output_dir):  # two training parts: a ring row, a grid run
            return ["figures.mode_collapse", "--quick",
                    "--set", "ring_rows=gan", "--set", "grid_algorithms=wgan",
                    f"--output_dir={output_dir}"]

        unbroken, killed = (os.path.join(self.get_temp_dir(), name)
                            for name in ("unbroken", "killed"))
        done = command_processes.run(*figure(unbroken))
        self.assertEqual(done.returncode, 0, done.stderr)
        parts = os.path.join(killed, "mode_collapse_parts")

        def finished_parts():
            if not os.path.isdir(parts):
                return 0
            return sum(os.path.exists(os.path.join(parts, name, "summary.json"))
                       for name in os.listdir(parts))

        rng = np.random.default_rng(1)
        for wanted in (1,):  # killed once a part is done, inside the next one
            process = command_processes.start(*figure(killed))
            try:
                deadline = time.time() + RUN_TIMEOUT
                while finished_parts() < wanted and process.poll() is None:
                    self.assertLess(time.time(), deadline)
                    time.sleep(0.05)
                time.sleep(rng.uniform(0.0, 1.0))
            finally:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=RUN_TIMEOUT)
            self.assertEqual(process.returncode, -signal.SIGKILL)
        done = command_processes.run(*figure(killed))
        self.assertEqual(done.returncode, 0, done.stderr)
        records = []
        for output_dir in (unbroken, killed):
            with open(os.path.join(output_dir, "mode_collapse.json")) as f:
                records.append(json.load(f))
        self.assertGreater(records[1]["parts"]["reused"], 0)
        self.assertEqual(records[0]["claims"], records[1]["claims"])
        self.assertEqual(records[0]["numbers"], records[1]["numbers"])
        with np.load(os.path.join(unbroken, "mode_collapse.npz")) as a, \
                np.load(os.path.join(killed, "mode_collapse.npz")) as b:
            self.assertEqual(sorted(a.files), sorted(b.files))
            for name in a.files:
                np.testing.assert_array_equal(a[name], b[name], err_msg=name)
