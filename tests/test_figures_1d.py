"""Figures 0-2 (the 1-D GAN game, EM vs JS, discriminator vs critic) in --quick mode."""

import numpy as np
import tensorflow as tf

from figures import discriminator_vs_critic, em_vs_js, gan_game_1d
from figure_testing import run_quick


class GanGame1dTest(tf.test.TestCase):

    def test_quick_run_plots_four_stages_and_a_history(self):
        record, data = run_quick("gan_game_1d", self.get_temp_dir())
        quick = gan_game_1d.QUICK
        stages, points, bins = len(quick["snapshots"]), quick["grid_points"], quick["bins"]
        # D is recorded on grid_points points and drawn where the samples are.
        shown = data["x"].shape[0]
        self.assertBetween(shown, 10, points)
        self.assertEqual(data["discriminator"].shape, (stages, shown))
        self.assertEqual(data["generator_density"].shape, (stages, bins))
        self.assertEqual(data["bin_edges"].shape, (bins + 1,))
        self.assertAllEqual(data["snapshot_iterations"], quick["snapshots"])
        evaluations = quick["iterations"] // quick["eval_every"] + 1
        self.assertAllEqual(data["history_iteration"],
                            np.arange(evaluations) * quick["eval_every"])
        self.assertEqual(data["history_w1"].shape, (evaluations,))
        # D is a probability; the data density is the normal density N(2, 0.5^2).
        self.assertAllInRange(data["discriminator"], 0.0, 1.0)
        self.assertNear(np.max(data["data_density"]), 1 / (0.5 * np.sqrt(2 * np.pi)), 1e-2)
        # The histograms are densities: they integrate to the share of samples in range.
        mass = np.sum(data["generator_density"] * np.diff(data["bin_edges"]), axis=1)
        self.assertAllInRange(mass, 0.0, 1.0 + 1e-6)
        self.assertEqual(set(record["claims"]), {
            "final_d_within_0.4_0.6_over_data_bulk", "final_w1_below_10pct_of_initial",
            "final_w1_below_0.1_data_std"})

    def test_one_dimensional_wasserstein_distance_is_exact(self):
        x = np.random.default_rng(0).standard_normal(1000)
        self.assertNear(gan_game_1d.wasserstein1_1d(x, x + 0.3), 0.3, 1e-9)
        self.assertNear(gan_game_1d.wasserstein1_1d(x, x[::-1]), 0.0, 1e-12)


    def test_optimizer_setting(self):
        # The authors' code: plain SGD with momentum; the default: Adam; else one clear error.
        from figures.common import FigureRun, UsageError

        def run(**settings):
            return FigureRun("gan_game_1d", dict(gan_game_1d.FULL, **settings), 0, False, "")

        sgd = gan_game_1d.optimizer(run(optimizer="sgd", learning_rate=0.025, momentum=0.5))
        self.assertEqual(type(sgd).__name__, "SGD")
        self.assertNear(float(sgd.learning_rate), 0.025, 1e-9)
        self.assertNear(float(sgd.momentum), 0.5, 1e-9)
        adam = gan_game_1d.optimizer(run())
        self.assertEqual((type(adam).__name__, adam.beta_1, adam.beta_2), ("Adam", 0.5, 0.9))
        with self.assertRaisesRegex(UsageError, "sgd or adam"):
            gan_game_1d.optimizer(run(optimizer="rmsprop"))


class EmVsJsTest(tf.test.TestCase):

    def test_closed_forms_are_exact(self):
        theta = np.array([-1.0, -0.5, 0.0, 0.25, 1.0])
        forms = em_vs_js.closed_forms(theta)
        self.assertAllEqual(forms["w"], [1.0, 0.5, 0.0, 0.25, 1.0])
        self.assertAllEqual(forms["js"], [np.log(2)] * 2 + [0.0] + [np.log(2)] * 2)
        self.assertAllEqual(forms["kl"], [np.inf] * 2 + [0.0] + [np.inf] * 2)
        self.assertAllEqual(forms["tv"], [1.0, 1.0, 0.0, 1.0, 1.0])

    def test_quick_run_stores_closed_forms_and_estimates(self):
        record, data = run_quick("em_vs_js", self.get_temp_dir())
        quick = em_vs_js.QUICK
        theta = data["theta"]
        self.assertEqual(theta.shape, (quick["closed_form_points"],))
        self.assertIn(0.0, theta)
        self.assertAllClose(data["w_closed_form"], np.abs(theta))
        self.assertTrue(np.all(np.isinf(data["kl_closed_form"][theta != 0])))
        self.assertEqual(data["kl_closed_form"][theta == 0], 0.0)
        self.assertTrue(record["claims"]["closed_form_js_is_log2_off_zero_and_0_at_zero"])
        self.assertAllClose(data["estimate_theta"], [-1.0, 0.0, 1.0])
        for kind in ("w", "js"):
            self.assertEqual(data[f"{kind}_estimate"].shape, (quick["estimate_points"],))
            self.assertTrue(np.all(np.isfinite(data[f"{kind}_estimate"])))
        # Even 100 steps of a small critic see the line at theta = 1 farther than itself.
        self.assertGreater(data["w_estimate"][2], data["w_estimate"][1] + 0.2)
        # A JS estimate from a discriminator's loss lies in [-log 2, log 2]-ish bounds:
        # the loss of sigmoid cross-entropy is >= 0, so the estimate is <= log 2.
        self.assertAllLessEqual(data["js_estimate"], np.log(2) + 1e-6)


class DiscriminatorVsCriticTest(tf.test.TestCase):

    def test_quick_run_plots_both_networks_over_the_densities(self):
        record, data = run_quick("discriminator_vs_critic", self.get_temp_dir())
        quick = discriminator_vs_critic.QUICK
        points = quick["grid_points"]
        for name in ("x", "real_density", "fake_density", "discriminator_values",
                     "discriminator_slopes", "critic_values", "critic_slopes"):
            self.assertEqual(data[name].shape, (points,), name)
        self.assertAllInRange(data["discriminator_values"], 0.0, 1.0)
        # Directions a short training already gives: D higher on real than on fake,
        # the critic higher on the real side (x < 0) than on the fake side.
        self.assertGreater(data["discriminator_on_real"], data["discriminator_on_fake"])
        self.assertGreater(data["critic_values"][0], data["critic_values"][-1])
        self.assertEqual(len(record["claims"]), 4)
        # Weight clipping kept every critic weight in [-c, c]: |f'| <= prod of layer bounds.
        c, width = quick["clip_value"], quick["hidden_units"]
        bound = c * (width * c) ** quick["hidden_layers"]
        self.assertAllLessEqual(np.abs(data["critic_slopes"]), bound * (1 + 1e-5))

    def test_r_squared_of_a_line_is_one(self):
        x = np.linspace(-2, 2, 50)
        self.assertNear(discriminator_vs_critic.r_squared(x, 3 * x - 1), 1.0, 1e-12)
        self.assertLess(discriminator_vs_critic.r_squared(x, x ** 2), 0.1)


if __name__ == "__main__":
    tf.test.main()
