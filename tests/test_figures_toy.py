"""Figures 4 (critic_surfaces) and 6 (mode_collapse): --quick runs and their checks."""

import keras
import numpy as np
import tensorflow as tf

from figure_testing import run_quick
from figures import critic_surfaces, mode_collapse


class CriticSurfacesTest(tf.test.TestCase):

    def test_quick_run_writes_a_128_grid_per_panel(self):
        _, data = run_quick("critic_surfaces", self.get_temp_dir())
        settings = critic_surfaces.QUICK
        self.assertEqual(data["xs"].shape, (128,))
        self.assertAllClose(data["xs"][[0, -1]], [-3.0, 3.0])
        for dataset in settings["datasets"]:
            for method in critic_surfaces.METHODS:
                key = f"{method}_{dataset}"
                self.assertEqual(data[f"surface_{key}"].shape, (128, 128))
                self.assertTrue(np.all(np.isfinite(data[f"surface_{key}"])))
                self.assertEqual(data[f"real_{key}"].shape, (settings["plot_samples"], 2))
                self.assertEqual(data[f"grad_norms_{key}"].shape, (settings["eval_samples"],))
                self.assertEqual(data[f"history_wasserstein_{key}"].shape, (1,))
                self.assertEqual(data[f"steps_{key}"].tolist(), [settings["critic_steps"]])
            # Clipping every weight to [-0.01, 0.01] bounds the gradient far below 1
            # from the first update on.
            self.assertLess(np.mean(data[f"grad_norms_clipping_{dataset}"]), 0.1)
            # The same real and fake evaluation points for both critics.
            self.assertEqual(data[f"exact_w1_clipping_{dataset}"],
                             data[f"exact_w1_gradient_penalty_{dataset}"])

    def test_grid_rows_follow_the_vertical_axis(self):
        def first_coordinate(points, training=False):
            return points[:, 0]

        def second_coordinate(points, training=False):
            return points[:, 1]

        xs, values = critic_surfaces.critic_values(first_coordinate, 3.0, 128)
        self.assertAllClose(values, np.tile(xs, (128, 1)))  # values[i, j] = xs[j]
        xs, values = critic_surfaces.critic_values(second_coordinate, 3.0, 128)
        self.assertAllClose(values, np.tile(xs[:, None], (1, 128)))  # values[i, j] = xs[i]

    def test_measures_of_a_linear_critic_are_closed_form(self):
        # f(x) = 3 x1 + 4 x2: gradient norm 5 everywhere; with x~ = x + d the
        # W estimate E f(x) - E f(x~) is -(3 d1 + 4 d2).
        critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        critic.layers[0].set_weights([np.array([[3.0], [4.0]]), np.zeros(1)])
        real = tf.random.stateless_normal([64, 2], seed=[1, 2])
        fake = real + tf.constant([[0.5, -1.0]])
        eps = tf.random.stateless_uniform([64, 1], seed=[3, 4])
        w, norms = critic_surfaces.critic_measures(critic, real, fake, eps)
        self.assertAllClose(norms, np.full(64, 5.0), rtol=1e-5)
        self.assertAllClose(w, -(3 * 0.5 - 4 * 1.0), rtol=1e-5)


class ModeCollapseTest(tf.test.TestCase):

    def test_quick_run_curves_and_snapshots(self):
        record, data = run_quick("mode_collapse", self.get_temp_dir())
        settings = mode_collapse.QUICK
        evaluations = settings["iterations"] // settings["eval_every"] + 1
        self.assertEqual(data["iterations"].tolist(),
                         list(range(0, settings["iterations"] + 1, settings["eval_every"])))
        for dataset, modes in (("8gaussians", 8), ("25gaussians", 25)):
            self.assertEqual(data[f"centers_{dataset}"].shape, (modes, 2))
            for algorithm in settings["algorithms"]:
                key = f"{algorithm}_{dataset}"
                self.assertEqual(data[f"modes_{key}"].shape, (settings["seeds"], evaluations))
                self.assertEqual(data[f"quality_{key}"].shape, (settings["seeds"], evaluations))
                self.assertTrue(np.all((data[f"modes_{key}"] >= 0)
                                       & (data[f"modes_{key}"] <= modes)))
                self.assertTrue(np.all((data[f"quality_{key}"] >= 0)
                                       & (data[f"quality_{key}"] <= 100)))
                samples = min(settings["plot_samples"], settings["eval_samples"])
                self.assertEqual(data[f"snapshots_{key}"].shape,
                                 (len(settings["snapshots"]), samples, 2))
            # Seeded: the same seed gives the three algorithms the same initial generator.
            self.assertAllEqual(data[f"modes_gan_{dataset}"][:, 0],
                                data[f"modes_wgan_gp_{dataset}"][:, 0])
        self.assertIn("wgan_gp_captures_at_least_gan_modes_25gaussians", record["claims"])

    def test_claims_on_known_numbers(self):
        run = type("Run", (), dict(datasets=("8gaussians",), algorithms=("gan", "wgan_gp")))()
        data = {"centers_8gaussians": np.zeros((8, 2)),
                "modes_gan_8gaussians": np.array([[8, 1], [8, 2]]),
                "quality_gan_8gaussians": np.array([[0.0, 99.0], [0.0, 97.0]]),
                "modes_wgan_gp_8gaussians": np.array([[8, 8], [8, 8]]),
                "quality_wgan_gp_8gaussians": np.array([[0.0, 40.0], [0.0, 30.0]])}
        self.assertEqual(mode_collapse.claims(data, run),
                         {"gan_misses_modes_8gaussians": True,
                          "wgan_gp_captures_at_least_gan_modes_8gaussians": True,
                          "wgan_gp_captures_all_modes_8gaussians": True})
        numbers = mode_collapse.final_numbers(data, run)
        self.assertAllClose(numbers["gan", "8gaussians"], (1.5, 0.5, 98.0, 1.0))

    def test_recipes_are_the_toy_presets(self):
        self.assertEqual(mode_collapse.toy_recipe("gan"),
                         dict(optimizer="adam", learning_rate=1e-4, beta_1=0.5, beta_2=0.9,
                              n_critic=1))
        self.assertEqual(mode_collapse.toy_recipe("wgan"),
                         dict(optimizer="rmsprop", learning_rate=5e-5, beta_1=0.5,
                              beta_2=0.9, n_critic=5))
        self.assertEqual(mode_collapse.toy_recipe("wgan_gp")["n_critic"], 5)


if __name__ == "__main__":
    tf.test.main()
