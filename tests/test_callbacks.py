"""train_loops/callbacks.py: signals stop training cleanly; CSV logs resume without gaps."""

import csv
import os
import signal

import tensorflow as tf

from data.toy import mode_centers, mode_std
from train_loops.callbacks import (IterationCallback, PerIteration, StopOnInterrupt, ToyEvaluation,
                                   progress_line)
from train_loops.progress import format_duration

EIGHT_MODES = (mode_centers("8gaussians"), mode_std("8gaussians"))


class _Model:
    stop_training = False


class StopOnInterruptTest(tf.test.TestCase):

    def test_sigint_and_sigterm_stop_after_the_current_step(self):
        for number in (signal.SIGINT, signal.SIGTERM):
            before = signal.getsignal(number)
            callback = StopOnInterrupt()
            callback.set_model(_Model())
            callback.on_train_begin()
            os.kill(os.getpid(), number)  # handled: no exception, no exit
            self.assertTrue(callback.interrupted)
            self.assertFalse(callback.model.stop_training)  # the step finishes first
            callback.on_train_batch_end(0)
            self.assertTrue(callback.model.stop_training)
            callback.on_train_end()
            self.assertIs(signal.getsignal(number), before)  # handlers given back


class TimeLeftTest(tf.test.TestCase):
    """The progress lines of a run without a terminal say how long is left."""

    def test_durations_read_as_hours_minutes_seconds(self):
        self.assertEqual([format_duration(s) for s in (0, 35, 250, 3600, 10260, 10289.6)],
                         ["0s", "35s", "4m 10s", "1h 00m", "2h 51m", "2h 51m"])

    def test_time_left_is_the_sittings_pace_times_the_iterations_left(self):
        # Resumed at 100, running to 500: 100 iterations in 50 s leave 300 at 0.5 s.
        callback = IterationCallback(start_iteration=100)
        self.assertIsNone(callback.time_left(200, 50.0))  # before fit says how many
        callback.set_params({"epochs": 1, "steps": 400})
        self.assertEqual(callback.time_left(200, 50.0), 150.0)
        self.assertEqual(callback.time_left(500, 200.0), 0.0)
        self.assertIsNone(callback.time_left(100, 0.0))  # nothing done yet
        callback.set_model(_Model())
        callback.model.stop_training = True  # Ctrl-C: the run ends here
        self.assertIsNone(callback.time_left(200, 50.0))

    def test_the_pace_leaves_out_the_first_steps_compiling(self):
        # Resumed at 100, running to 500; the first step (to 101) took 30 s of tracing and
        # compiling, then 100 iterations 50 s: 0.5 s each for the 299 left, not 80 s / 101.
        callback = IterationCallback(start_iteration=100)
        callback.set_params({"epochs": 1, "steps": 400})
        callback.note_iteration(101, now=1030.0)
        callback.note_iteration(150, now=1050.0)  # only the first counts
        self.assertEqual(callback.pace_origin, (101, 1030.0))
        self.assertIsNone(callback.time_left(101, 30.0, now=1030.0))  # no pace yet
        self.assertEqual(callback.time_left(201, 80.0, now=1080.0), 0.5 * 299)

    def test_several_iterations_per_step_are_counted_as_iterations(self):
        inner = IterationCallback()
        PerIteration([inner], iterations_per_step=10).set_params({"epochs": 1, "steps": 40})
        self.assertEqual(inner.params["steps"], 400)
        self.assertEqual(inner.time_left(100, 25.0), 75.0)
        # The first step's 10 iterations arrive together: its last starts the pace.
        for iteration in range(1, 11):
            inner.note_iteration(iteration, now=20.0)
        self.assertEqual(inner.pace_origin, (10, 20.0))
        self.assertIsNone(inner.time_left(10, 20.0, now=20.0))
        self.assertEqual(inner.time_left(110, 25.0, now=25.0), 0.05 * 290)

    def test_progress_line(self):
        self.assertEqual(progress_line(200, 50.2, {"g_loss": 1.5, "d_loss": -0.25}, left=150.0),
                         "iteration 200  50s  ~2m 30s left  d_loss -0.25  g_loss 1.5")
        self.assertEqual(progress_line(200, 50.2, {"d_loss": 2}, "  modes 8/8"),
                         "iteration 200  50s  d_loss 2  modes 8/8")


class ToyEvaluationResumeTest(tf.test.TestCase):
    """Resuming keeps the scheduled evaluations and drops an interrupted run's final one."""

    class _Gan:
        averaged_generator = None

    def write_log(self, iterations):
        """An evaluation.csv with rows at `iterations`, as a run on 8gaussians writes it."""
        path = os.path.join(self.get_temp_dir(), "evaluation.csv")
        if os.path.exists(path):
            os.remove(path)
        evaluation = ToyEvaluation(self._Gan(), EIGHT_MODES, 10, 100, path)
        shares = [0.125] * 8
        with open(path, "a", newline="") as f:
            for i in iterations:
                csv.writer(f).writerow([i, 1.0, 8, 50.0, 0.0, 0.0] + shares + shares)
        return path, evaluation.columns

    def rows(self, path):
        with open(path, newline="") as f:
            return [int(row["iteration"]) for row in csv.DictReader(f)]

    def test_an_interrupted_runs_final_evaluation_is_dropped(self):
        # Stopped by Ctrl-C at 27: the checkpoint is at 27, and so is the last row.
        path, _ = self.write_log([10, 20, 27])
        resumed = ToyEvaluation(self._Gan(), EIGHT_MODES, 10, 100, path, start_iteration=27)
        self.assertEqual(self.rows(path), [10, 20])
        self.assertIsNone(resumed.last)

    def test_the_scheduled_evaluation_at_the_checkpoint_stands(self):
        path, _ = self.write_log([10, 20, 30])
        resumed = ToyEvaluation(self._Gan(), EIGHT_MODES, 10, 100, path, start_iteration=20)
        self.assertEqual(self.rows(path), [10, 20])
        # Not drawn again: the row's numbers are the evaluation of iteration 20.
        self.assertEqual(resumed.evaluate(20)["modes_captured"], 8)
        self.assertEqual(resumed.evaluate(20)["shares"], [0.125] * 8)
        self.assertEqual(self.rows(path), [10, 20])

    def test_without_modes_the_scheduled_row_is_not_written_twice(self):
        # swissroll: rows hold the iteration and the time only.
        path = os.path.join(self.get_temp_dir(), "evaluation.csv")
        ToyEvaluation(self._Gan(), None, 10, 100, path)
        with open(path, "a", newline="") as f:
            csv.writer(f).writerows([[10, 1.0], [20, 2.0]])
        resumed = ToyEvaluation(self._Gan(), None, 10, 100, path, start_iteration=20)
        self.assertEqual(resumed.evaluate(20), {})
        self.assertEqual(self.rows(path), [10, 20])
