"""Figures 8 (architecture robustness) and 10 (critic overfitting): quick runs on mock data."""

import json
import os
from unittest import mock

import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from figures import architecture_robustness, critic_overfitting
from figures.common import FigureRun
from figure_testing import run_quick


def quick_run(module):
    settings = dict(module.QUICK)
    return FigureRun(module.__name__.split(".")[-1], settings, 0, True, "/nonexistent")


class ArchitectureRobustnessTest(tf.test.TestCase):

    def test_quick_trains_every_cell_and_plots_its_grid_and_fid(self):
        output_dir = self.get_temp_dir()
        with tfds.testing.mock_data(num_examples=32):
            record, data = run_quick("architecture_robustness", output_dir)
        quick = architecture_robustness.QUICK
        cells = (len(quick["algorithms"]), len(quick["architectures"]))
        side = 8 * (28 + 2) + 2  # the runner's 8 x 8 grid with 2-pixel borders
        self.assertEqual(data["grids"].shape, cells + (side, side))
        self.assertTrue(np.all(data["has_grid"]))
        self.assertFalse(np.any(data["failed"]))
        self.assertAllEqual(data["iterations"], np.full(cells, quick["iterations"]))
        self.assertTrue(np.all(np.isfinite(data["fid"])) and np.all(data["fid"] >= 0))
        self.assertAllInRange(data["score"], 1.0, 10.0)
        self.assertGreater(data["grids"].std(), 0)  # real pictures, not blank panels
        self.assertIn("FID(WGAN-GP, mlp) < FID(GAN, mlp)", record["claims"])

    def test_image_size_reaches_every_cells_run_only_when_set(self):
        module = architecture_robustness
        for image_size, expected in ((None, None), (64, 64)):
            run = FigureRun("architecture_robustness", dict(module.FULL, image_size=image_size),
                            0, False, "/x")
            with mock.patch.object(run, "train") as train:
                module.train_cell(run, "wgan", "dcgan_no_bn", "mnist.keras")
            (algorithm, key), flags = train.call_args
            self.assertEqual((algorithm, key, flags["architecture"]),
                             ("wgan", "wgan-dcgan_no_bn", "dcgan_no_bn"))
            # Left out at None: the 28 px cells keep the names of the parts made before.
            self.assertEqual(flags.get("image_size"), expected)

    def test_a_failed_run_is_shown_as_failed_and_counts_as_worst(self):
        run_dir = os.path.join(self.get_temp_dir(), "failed_run")
        os.makedirs(os.path.join(run_dir, "samples"))
        with open(os.path.join(run_dir, "summary.json"), "w") as f:
            json.dump({"iterations": 7, "failure": "non-finite d_loss"}, f)
        with open(os.path.join(run_dir, "metrics.csv"), "w") as f:
            f.write("iteration,seconds,d_loss\n7,1.5,nan\n")
        grid = np.arange(242 * 242, dtype=np.uint8).reshape(242, 242)
        Image.fromarray(grid).save(os.path.join(run_dir, "samples", "000005.png"))
        image, fid, score, failed, iterations, grid_iteration, seconds = (
            architecture_robustness.read_cell(run_dir))
        self.assertAllEqual(image, grid)
        self.assertTrue(failed)
        self.assertEqual((fid, iterations, grid_iteration, seconds), (np.inf, 7, 5, 1.5))

        run = FigureRun("architecture_robustness", architecture_robustness.FULL, 0, False, "/x")
        data = {"fid": np.array([[5.0, np.inf, 40.0], [6.0, 9.0, 8.0], [7.0, 8.0, 50.0]]),
                "score": np.full((3, 3), 5.0), "failed": np.zeros((3, 3), bool),
                "has_grid": np.ones((3, 3), bool), "grids": np.zeros((3, 3, 8, 8), np.uint8),
                "iterations": np.full((3, 3), 10), "grid_iteration": np.full((3, 3), 10)}
        data["failed"][0, 1] = True
        claims = architecture_robustness.claims(data, run)
        self.assertTrue(claims["FID(WGAN-GP, dcgan_no_bn) < FID(GAN, dcgan_no_bn)"])
        self.assertTrue(claims["FID(WGAN, dcgan_no_bn) < FID(GAN, dcgan_no_bn)"])
        self.assertFalse(claims["FID(WGAN-GP, mlp) < FID(GAN, mlp)"])  # 50 > 40
        self.assertTrue(claims["FID(WGAN, mlp) < FID(GAN, mlp)"])
        self.assertTrue(claims["FID(GAN, mlp) > FID(GAN, dcgan) (GAN degrades)"])
        figure = architecture_robustness.plot(data, run)
        self.assertIn("FAILED", figure.axes[1].get_title())
        self.assertIn("classifier-FID 5.0", figure.axes[0].get_title())


class CriticOverfittingTest(tf.test.TestCase):

    def test_quick_evaluates_train_and_validation_every_interval(self):
        with tfds.testing.mock_data(num_examples=24):
            record, data = run_quick("critic_overfitting", self.get_temp_dir())
        quick = critic_overfitting.QUICK
        points = quick["iterations"] // quick["eval_every"] + 1  # and one before training
        for key in ("train_negative_loss", "validation_negative_loss", "train_penalty",
                    "validation_penalty"):
            self.assertEqual(data[key].shape, (points,))
            self.assertTrue(np.all(np.isfinite(data[key])), key)
        self.assertAllEqual(data["iteration"], np.arange(points) * quick["eval_every"])
        self.assertTrue(np.all(data["train_penalty"] >= 0))
        self.assertLen(record["claims"], 4)

    def test_critic_terms_of_a_linear_critic_are_closed_form(self):
        # f(x) = w.x + b: E f(real) - E f(fake) = w.(mean real - mean fake), and
        # the gradient is w everywhere, so the penalty is lambda (||w|| - 1)^2.
        rng = np.random.default_rng(0)
        critic = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                                   keras.layers.Dense(1)])
        w = rng.normal(size=(16, 1)).astype(np.float32)
        critic.layers[-1].set_weights([w, np.array([0.3], np.float32)])
        real = rng.normal(size=(10, 4, 4, 1)).astype(np.float32)
        fake = rng.normal(size=(10, 4, 4, 1)).astype(np.float32) + 1.0
        epsilon = rng.uniform(size=(10, 1, 1, 1)).astype(np.float32)
        wasserstein, penalty = critic_overfitting.critic_terms(critic, real, fake, epsilon,
                                                               10.0, batch_size=3)
        expected = float((real.reshape(10, -1).mean(0) - fake.reshape(10, -1).mean(0)) @ w[:, 0])
        self.assertAllClose(wasserstein, expected, rtol=1e-5)
        self.assertAllClose(penalty, 10.0 * (np.linalg.norm(w) - 1.0) ** 2, rtol=1e-5)

    def test_claims_read_a_growing_gap_as_overfitting(self):
        run = quick_run(critic_overfitting)
        iterations = np.arange(11.0)
        data = {"iteration": iterations, "train_negative_loss": 1.0 + 0.1 * iterations,
                "validation_negative_loss": 1.0 - 0.1 * iterations,
                "train_penalty": np.zeros(11), "validation_penalty": np.zeros(11)}
        self.assertTrue(all(critic_overfitting.claims(data, run).values()))
        data["train_negative_loss"], data["validation_negative_loss"] = (
            data["validation_negative_loss"], data["train_negative_loss"])
        self.assertFalse(any(critic_overfitting.claims(data, run).values()))
