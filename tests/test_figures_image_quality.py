"""Figures 7 and 9 (image runs compared by classifier-FID), --quick on mock Fashion-MNIST."""

import os
from unittest import mock

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from figure_testing import run_quick
from figures import quality_vs_time, wasserstein_tracks_quality
from figures.common import FigureRun


class HelpersTest(tf.test.TestCase):

    def test_median_filter_and_spearman(self):
        values = np.array([0.0, 10.0, 1.0, 2.0, -5.0, 3.0])
        self.assertAllClose(wasserstein_tracks_quality.median_filter(values, 3),
                            [0.0, 1.0, 2.0, 1.0, 2.0, 3.0])
        # A window longer than the series shrinks to it (odd).
        self.assertLen(wasserstein_tracks_quality.median_filter(values, 101), 6)
        self.assertAllClose(wasserstein_tracks_quality.spearman([1, 2, 3, 4], [2, 4, 8, 16]), 1.0)
        self.assertAllClose(wasserstein_tracks_quality.spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1.0)
        self.assertTrue(np.isnan(wasserstein_tracks_quality.spearman([1, 1, 1], [1, 2, 3])))

    def test_curve_limits_hold_the_filtered_curve_and_levels_not_raw_spikes(self):
        limits = wasserstein_tracks_quality.curve_limits
        self.assertAllClose(limits(np.array([0.2, 0.6, 0.4])), (0.16, 0.64))
        self.assertAllClose(limits(np.array([0.2, 0.4]), np.log(2.0)),
                            (0.2 - 0.1 * (np.log(2.0) - 0.2), np.log(2.0) * 1.1 - 0.02))
        self.assertAllClose(limits(np.array([0.3, 0.3])), (-0.2, 0.8))  # flat: +-0.5

    def test_wall_clock_and_early_fid(self):
        images = dict(seconds=np.array([12.0, 25.0, 40.0]), eval_seconds=np.array([2.0, 3.0, 5.0]))
        seconds = quality_vs_time.training_seconds(images)
        self.assertAllClose(seconds, [10.0, 20.0, 30.0])
        fid = np.array([9.0, 5.0, 3.0])
        self.assertEqual(quality_vs_time.fid_at(seconds, fid, 25.0), 5.0)
        self.assertTrue(np.isnan(quality_vs_time.fid_at(seconds, fid, 5.0)))
        self.assertEqual(quality_vs_time.final_fid(fid), 4.0)


class QuickFiguresTest(tf.test.TestCase):

    def test_wasserstein_tracks_quality(self):
        with tfds.testing.mock_data(num_examples=64):
            record, data = run_quick("wasserstein_tracks_quality", self.get_temp_dir())
        for name in ("wgan", "gan", "gan_k5"):
            self.assertAllEqual(data[f"{name}_iteration"], [1, 2])
            self.assertEqual(data[f"{name}_filtered"].shape, (2,))
            self.assertAllEqual(data[f"{name}_eval_iteration"], [2])
            self.assertEqual(data[f"{name}_fid"].shape, (1,))
            self.assertTrue(np.all(data[f"{name}_fid"] > 0))
        # The JS estimate is (log 4 - loss) / 2 with a non-negative loss: at most log 2.
        for name in ("gan", "gan_k5"):
            self.assertTrue(np.all(data[f"{name}_estimate"] <= np.log(2.0) + 1e-6))
        self.assertCountEqual(record["claims"], [
            "wgan_estimate_tracks_fid_spearman_above_0.5", "gan_js_tracks_fid_less_than_wgan",
            "gan_js_stays_near_log2", "gan_k5_js_tracks_fid_less_than_wgan",
            "gan_k5_js_stays_near_log2"])
        # Each GAN ran with its own discriminator steps per generator iteration.
        parts = os.path.join(self.get_temp_dir(), "wasserstein_tracks_quality_parts")
        for name, steps in (("gan", 1), ("gan_k5", 5)):
            [run_dir] = [d for d in os.listdir(parts) if d.startswith(f"{name}-")]
            with open(os.path.join(parts, run_dir, "flags.txt")) as f:
                self.assertIn(f"--n_critic={steps}\n", f.read())

    def test_image_size_reaches_every_run(self):
        # --set image_size=64: all three runs at the paper's resolution; at None
        # the flag is left out (FigureRun.train drops it), so the 28 px runs keep
        # the parts made before the setting existed.
        module = wasserstein_tracks_quality
        for image_size in (None, 64):
            run = FigureRun("wasserstein_tracks_quality",
                            dict(module.FULL, image_size=image_size), 0, False, "/x")
            with mock.patch.object(run, "classifier", return_value="fashion_mnist.keras"):
                for batch_size in (run.wgan_batch_size, run.gan_batch_size):
                    self.assertEqual(module.train_flags(run, batch_size)["image_size"], image_size)

    def test_quality_vs_time(self):
        with tfds.testing.mock_data(num_examples=64):
            record, data = run_quick("quality_vs_time", self.get_temp_dir())
        for name, *_ in quality_vs_time.RUNS:
            self.assertAllEqual(data[f"{name}_iteration"], [2])
            self.assertEqual(data[f"{name}_fid"].shape, (1,))
            self.assertGreater(data[f"{name}_seconds"][0], 0.0)
        self.assertEqual(data["early_fid"].shape, (4,))
        self.assertCountEqual(record["claims"], [
            "gp_adam_ends_below_clipping", "gp_rmsprop_ends_below_clipping",
            "dcgan_fastest_per_second_early"])


if __name__ == "__main__":
    tf.test.main()
