"""train_loops/callbacks.py: signals stop training cleanly; CSV logs resume without gaps."""

import csv
import os
import signal

import tensorflow as tf

from train_loops.callbacks import StopOnInterrupt, truncate_csv


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


class TruncateCsvTest(tf.test.TestCase):

    def test_keeps_the_header_and_rows_up_to_the_iteration(self):
        path = os.path.join(self.get_temp_dir(), "metrics.csv")
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows([["iteration", "loss"]] + [[i, i / 10] for i in range(1, 8)])
        self.assertEqual(truncate_csv(path, 4), ["iteration", "loss"])
        with open(path, newline="") as f:
            self.assertEqual([row[0] for row in csv.reader(f)],
                             ["iteration", "1", "2", "3", "4"])
