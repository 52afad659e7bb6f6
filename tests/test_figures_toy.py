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

    def test_quick_run_shares_and_snapshots(self):
        record, data = run_quick("mode_collapse", self.get_temp_dir())
        settings = mode_collapse.QUICK
        evaluations = settings["ring_iterations"] // settings["eval_every"]
        self.assertEqual(data["iterations_ring"].tolist(),
                         list(range(settings["eval_every"], settings["ring_iterations"] + 1,
                                    settings["eval_every"])))
        self.assertEqual(data["centers_ring"].shape, (8, 2))
        self.assertEqual(data["centers_grid"].shape, (25, 2))
        for row in settings["ring_rows"]:
            shares = data[f"shares_{row}"]
            self.assertEqual(shares.shape, (settings["ring_seeds"], evaluations, 8))
            # Every sample has a nearest mode (the CSV keeps 4 places).
            self.assertAllClose(shares.sum(-1), np.ones(shares.shape[:2]), atol=1e-3)
            self.assertEqual(data[f"snapshots_{row}"].shape,
                             (len(settings["snapshots"]), 1000, 2))
        for algorithm in settings["grid_algorithms"]:
            modes = data[f"modes_grid_{algorithm}"]
            self.assertTrue(np.all((modes >= 0) & (modes <= 25)))
        self.assertIn("gan_collapses_and_hops_in_most_seeds", record["claims"])
        self.assertEqual(record["numbers"]["ring_gan"]["final_modes"],
                         data["modes_gan"][:, -1].tolist())

    def test_the_rows_are_the_commands_presets(self):
        # The ring's rows run the metz presets, whose settings Metz et al. give.
        from train_loops import gan, wgan, wgan_gp

        metz = gan.PRESETS["metz"]
        for flag, value in dict(dataset="8gaussians_metz", toy_networks="metz", latent_dim=256,
                                batch_size=512, n_critic=1, optimizer="adam",
                                learning_rate=1e-4, beta_1=0.5, beta_2=0.999,
                                generator_loss="minimax", iterations=25000).items():
            self.assertEqual(metz[flag], value, flag)
        # The Wasserstein commands: their own toy optimizer on the same data and networks.
        for command in (wgan, wgan_gp):
            preset = command.PRESETS["metz"]
            for flag in ("dataset", "toy_networks", "latent_dim", "batch_size", "iterations"):
                self.assertEqual(preset[flag], metz[flag], flag)
            for flag, value in command.TOY.items():  # the toy optimizer and n_critic
                self.assertEqual(preset[flag], value, flag)

    def test_hopping_counts_collapsed_snapshots_and_changes_of_dominant_mode(self):
        eye = np.eye(8)
        # Snapshots: one mode, one mode, two modes 50/50, even, another mode.
        shares = np.stack([eye[0], eye[0], (eye[2] + eye[3]) / 2, np.full(8, 1 / 8), eye[5]])
        collapsed, changes = mode_collapse.hopping(shares)
        self.assertEqual(collapsed, 4)  # all but the even snapshot
        # Dominant: 0, 0, 2, 0 (argmax of a tie is the first), 5.
        self.assertEqual(changes, 3)

    def test_claims_on_known_numbers(self):
        run = type("Run", (), dict(ring_rows=("gan", "wgan_gp"), snapshots=(1, 2, 3),
                                   grid_algorithms=("gan", "wgan_gp")))()
        eye, even = np.eye(8), np.full(8, 1 / 8)
        hops = np.stack([eye[0], eye[3], eye[6]])  # one mode at a time, a new one each time
        stays = np.stack([eye[0], eye[0], eye[0]])  # collapsed, but never moves
        uneven = np.stack([even, even, np.r_[0.3, np.full(7, 0.1)]])
        data = {"iterations_ring": np.array([1, 2, 3]),
                "shares_gan": np.stack([hops, hops, stays]),
                "modes_gan": np.ones((3, 3)),
                "shares_wgan_gp": np.stack([uneven, uneven]),
                "modes_wgan_gp": np.full((2, 3), 8),
                "modes_grid_gan": np.array([[20, 22]]),
                "modes_grid_wgan_gp": np.array([[25, 25]])}
        self.assertEqual(mode_collapse.claims(data, run),
                         {"gan_collapses_and_hops_in_most_seeds": True,
                          "wgan_gp_covers_every_mode_in_every_seed": True,
                          "gan_drops_grid_modes": True,
                          "wgan_gp_keeps_more_grid_modes_than_gan": True})
        # A mode under 5 % in one seed, and a GAN that only stays: both claims fail.
        data["shares_wgan_gp"][1, -1] = np.r_[0.04, 0.36, np.full(6, 0.1)]
        data["shares_gan"] = np.stack([stays, stays, hops])
        claims = mode_collapse.claims(data, run)
        self.assertFalse(claims["wgan_gp_covers_every_mode_in_every_seed"])
        self.assertFalse(claims["gan_collapses_and_hops_in_most_seeds"])


if __name__ == "__main__":
    tf.test.main()


class LipschitzConstraintsTest(tf.test.TestCase):

    def test_quick_run_measures_every_critic_and_the_bound_holds(self):
        from figures import lipschitz_constraints as figure

        record, data = run_quick("lipschitz_constraints", self.get_temp_dir())
        settings = figure.QUICK
        for dataset in settings["datasets"]:
            for method in figure.METHODS:
                key = f"{method}_{dataset}"
                norms = figure.point_norms(data, key)
                self.assertEqual(norms["grid"].shape, (128 * 128,))
                self.assertEqual(norms["real"].shape, (settings["eval_samples"],))
                layers = data[f"history_layer_norms_{key}"]
                self.assertEqual(layers.shape, (1, settings["hidden_layers"] + 1))
                # For a ReLU MLP, ||grad f(x)|| <= prod_l sigma(W_l) at every x.
                bound = figure.lipschitz_bound(data, key)
                for kind, values in norms.items():
                    self.assertLessEqual(float(np.max(values)), bound * (1 + 1e-4),
                                         msg=f"{key} {kind}")
            # Clipped to [-0.01, 0.01]: every layer's norm is at most 0.01 * sqrt(m n).
            width = settings["hidden_units"]
            clipped = data[f"history_layer_norms_clipping_{dataset}"][-1]
            self.assertLessEqual(float(np.max(clipped)), 0.01 * width + 1e-6)
        self.assertIn(f"spectral_{settings['datasets'][0]}", record["numbers"])
