"""Figures 3 (vanishing_gradients) and 5 (gradient_norms): --quick runs and closed-form checks."""

import os

import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from figures import gradient_norms, vanishing_gradients
from figures.common import FigureRun, UsageError
from models.networks import toy_mlp
from figure_testing import run_quick


class VanishingGradientsTest(tf.test.TestCase):

    def test_quick(self):
        settings = vanishing_gradients.QUICK
        # A stage measured before the measurement had codes of its own, kept in
        # the folder under its old fingerprint, is not reused (its stand-in here
        # would fail the checks below).
        old = FigureRun("vanishing_gradients", settings, 0, True, self.get_temp_dir())
        old.cached("measure-stage0", lambda: dict(minimax=np.full(3, -1.0)),
                   **vanishing_gradients._up_to_stage(old, 0))
        with tfds.testing.mock_data(num_examples=32):  # never the real MNIST
            record, data = run_quick("vanishing_gradients", self.get_temp_dir())
        stages = len(settings["stages"])
        points = settings["discriminator_steps"] // settings["measure_every"] + 1
        self.assertAllEqual(data["steps"], settings["measure_every"] * np.arange(points))
        self.assertAllEqual(data["stages"], settings["stages"])
        for key in ("minimax", "neg_log_d", "wgan", "accuracy"):
            self.assertEqual(data[key].shape, (stages, points), key)
            self.assertTrue(np.all(np.isfinite(data[key])), key)
        for key in ("minimax", "neg_log_d", "wgan"):
            self.assertTrue(np.all(data[key] > 0), key)
        self.assertAllInRange(data["accuracy"], 0.0, 1.0)
        self.assertEqual(data["samples"].shape, (stages, settings["sample_images"], 28, 28, 1))
        self.assertAllInRange(data["samples"], -1.0, 1.0)  # tanh
        self.assertLen(record["claims"], 6)
        # A stage's parts do not depend on the stages after it: the first stage
        # alone is all reused from the full run's parts.
        run = FigureRun("vanishing_gradients", dict(settings, stages=settings["stages"][:1]),
                        0, True, self.get_temp_dir())
        with tfds.testing.mock_data(num_examples=32):
            first = vanishing_gradients.compute(run)
        self.assertEqual(run.parts["computed"], 0)
        self.assertAllEqual(first["minimax"], data["minimax"][:1])

    def test_measurement_resumes_from_segments(self):
        # The discriminator steps run in resumable segments: the measurements do
        # not depend on the segment length, and a stage whose last segments were
        # lost (a sitting that ended) resumes from the state the kept one ended in.
        # The whole stage runs eagerly, the segments as tf.function: they agree.
        settings = dict(vanishing_gradients.QUICK, discriminator_steps=6)  # 3 measurement chunks
        stage = 1

        def measure(folder, segment_chunks):
            eager = segment_chunks == 3
            run = FigureRun("vanishing_gradients", dict(settings, run_eagerly=eager), 0, True,
                            os.path.join(self.get_temp_dir(), folder))
            keras.utils.set_random_seed(7)
            generator = [v.numpy() for v in vanishing_gradients._generator(run).variables]
            data = vanishing_gradients._measure_stage(run, stage, generator, segment_chunks)
            return data, run

        with tfds.testing.mock_data(num_examples=32):
            whole, _ = measure("whole", segment_chunks=3)
            segmented, run = measure("segmented", segment_chunks=1)
            self.assertEqual(run.parts, {"computed": 3, "reused": 0})
            kept = sorted(os.listdir(run.parts_dir))
            self.assertLen([name for name in kept if name.endswith(".npz")], 3)
            for name in kept:
                if "-chunks0-" not in name:  # lose all but the first segment
                    os.remove(os.path.join(run.parts_dir, name))
            resumed, run = measure("segmented", segment_chunks=1)
            self.assertEqual(run.parts, {"computed": 2, "reused": 1})
        self.assertAllEqual(whole["steps"], [0, 2, 4, 6])
        for key in ("minimax", "neg_log_d", "wgan", "accuracy"):
            self.assertAllClose(segmented[key], whole[key], rtol=1e-5, atol=0, msg=key)
            self.assertAllEqual(resumed[key], segmented[key], msg=key)
        # The stage did train: the discriminator's gradient norms moved.
        self.assertNotAllClose(whole["minimax"][0], whole["minimax"][-1])

    def test_measuring_does_not_change_the_training(self):
        # Measured every step or every other step, the stage trains on the same
        # batches and codes, and the measurements they share (steps 0, 2, 4) agree.
        def measure(every):
            settings = dict(vanishing_gradients.QUICK, discriminator_steps=4, measure_every=every)
            run = FigureRun("vanishing_gradients", settings, 0, True,
                            os.path.join(self.get_temp_dir(), f"every{every}"))
            keras.utils.set_random_seed(7)
            generator = [v.numpy() for v in vanishing_gradients._generator(run).variables]
            return vanishing_gradients._measure_stage(run, 0, generator)

        with tfds.testing.mock_data(num_examples=32):
            every_step, every_other = measure(1), measure(2)
        self.assertAllEqual(every_step["steps"], [0, 1, 2, 3, 4])
        self.assertAllEqual(every_other["steps"], [0, 2, 4])
        for key in ("minimax", "neg_log_d", "wgan", "accuracy"):
            self.assertAllClose(every_step[key][::2], every_other[key], rtol=1e-5, atol=0,
                                msg=key)
        self.assertNotAllClose(every_step["minimax"][0], every_step["minimax"][-1])

    def test_gan_pieces_cut_each_stage_from_its_start(self):
        pieces = vanishing_gradients._gan_pieces([468, 4680, 11700], 1000)
        self.assertEqual(pieces[:3], [(0, 0, 468), (1, 468, 1468), (1, 1468, 2468)])
        self.assertEqual([end for _, _, end in pieces if end in (468, 4680, 11700)],
                         [468, 4680, 11700])
        self.assertEqual([k for k, _, _ in pieces], [0] + [1] * 5 + [2] * 8)
        for (_, _, end), (_, start, _) in zip(pieces, pieces[1:]):
            self.assertEqual(start, end)  # contiguous
        self.assertLessEqual(max(end - start for _, start, end in pieces), 1000)

    def test_gan_training_resumes_from_pieces(self):
        # The GAN trains in resumable pieces: a sitting that ended mid-stage (its
        # last pieces lost) resumes from the state the kept one ended in, and ends
        # with the unbroken run's states.
        settings = dict(vanishing_gradients.QUICK, stages=(1, 3))  # pieces end at 1, 2, 3

        def train(folder):
            run = FigureRun("vanishing_gradients", settings, 0, True,
                            os.path.join(self.get_temp_dir(), folder))
            return vanishing_gradients._train_gan_stages(run, piece=1), run

        with tfds.testing.mock_data(num_examples=32):
            unbroken, run = train("pieces")
            self.assertEqual(run.parts, {"computed": 3, "reused": 0})
            kept = sorted(os.listdir(run.parts_dir))
            self.assertLen([name for name in kept if name.endswith(".npz")], 3)
            self.assertLen([name for name in kept if name.startswith("gan-stage0-")
                            and name.endswith(".npz")], 1)  # a whole stage: its old name
            for name in kept:
                if not name.startswith("gan-stage0-"):  # lose all but the first piece
                    os.remove(os.path.join(run.parts_dir, name))
            resumed, run = train("pieces")
            self.assertEqual(run.parts, {"computed": 2, "reused": 1})
        self.assertLen(unbroken, 2)  # one state per stage
        for stage in range(2):
            for unbroken_value, resumed_value in zip(unbroken[stage], resumed[stage]):
                self.assertAllEqual(resumed_value, unbroken_value)
        # The GAN did train between the stages.
        self.assertNotAllClose(unbroken[0][0], unbroken[1][0])

    def test_image_size_64_gives_the_papers_networks(self):
        # --set image_size=64: MNIST resized to 64 px, and the DCGAN of the paper's
        # 64 px images (4 stride-2 layers each way: 4x4 -> 64x64).
        run = FigureRun("vanishing_gradients", dict(vanishing_gradients.QUICK, image_size=64),
                        0, True, self.get_temp_dir())
        self.assertEqual(vanishing_gradients._image_shape(run), (64, 64, 1))
        generator = vanishing_gradients._generator(run)
        discriminator = vanishing_gradients._discriminator(run)
        strided = [layer for layer in discriminator.layers
                   if isinstance(layer, keras.layers.Conv2D) and layer.strides == (2, 2)]
        self.assertLen(strided, 4)
        self.assertEqual(tuple(generator.output.shape), (None, 64, 64, 1))
        with tfds.testing.mock_data(num_examples=16):
            real = next(iter(vanishing_gradients._real_batches(run, 0)))
        self.assertEqual(real.shape, (run.batch_size, 64, 64, 1))
        self.assertAllInRange(real, -1.0, 1.0)

    def test_the_fresh_discriminator_can_leave_out_batchnorm(self):
        run = FigureRun("vanishing_gradients", dict(vanishing_gradients.QUICK,
                                                    fresh_discriminator="no_bn"),
                        0, True, self.get_temp_dir())

        def layer_kinds(model):
            return [type(layer).__name__ for layer in model.layers]

        with_bn = layer_kinds(vanishing_gradients._discriminator(run))
        without = layer_kinds(vanishing_gradients._discriminator(run, run.fresh_discriminator))
        self.assertIn("BatchNormalization", with_bn)
        self.assertNotIn("BatchNormalization", without)
        # Otherwise the same network: the same layers once BatchNorm is taken out.
        self.assertEqual(without, [k for k in with_bn if k != "BatchNormalization"])
        bad = FigureRun("vanishing_gradients", dict(vanishing_gradients.QUICK,
                                                    fresh_discriminator="layer"),
                        0, True, self.get_temp_dir())
        with self.assertRaisesRegex(UsageError, "fresh_discriminator must be none or no_bn"):
            vanishing_gradients.compute(bad)

    def test_claims_direction(self):
        # Synthetic curves with the paper's shapes: the claims hold; flat ones: they do not.
        steps = np.arange(0, 310, 10)
        decay = 10.0 ** (-steps / 60.0)  # five orders of magnitude over 300 steps
        rng = np.random.default_rng(0)
        growth = 10.0 ** (steps / 300.0 + rng.normal(0, 0.02, steps.size) * steps / 60.0)
        paper = dict(steps=steps, minimax=np.stack([decay, decay]),
                     neg_log_d=np.stack([growth, growth]), wgan=np.ones((2, steps.size)))
        self.assertAllClose(vanishing_gradients.ratios(paper, "minimax"),
                            [10.0 ** (-(290 - 10) / 60.0)] * 2, rtol=1e-6)
        run = FigureRun("vanishing_gradients", vanishing_gradients.FULL, 0, False, "")
        self.assertTrue(all(vanishing_gradients.claims(paper, run).values()))
        flat = dict(paper, minimax=np.ones((2, steps.size)), neg_log_d=np.stack([decay, decay]),
                    wgan=np.stack([decay, decay]))
        self.assertFalse(any(vanishing_gradients.claims(flat, run).values()))


class GradientNormsTest(tf.test.TestCase):

    def test_quick(self):
        record, data = run_quick("gradient_norms", self.get_temp_dir())
        settings = gradient_norms.QUICK
        layers, clips = settings["hidden_layers"], settings["clip_values"]
        self.assertAllEqual(data["layers"], np.arange(1, layers + 1))
        self.assertEqual(data["norms"].shape, (len(clips) + 1, layers))
        self.assertTrue(np.all(np.isfinite(data["norms"])))
        self.assertEqual(data["weight_range"].shape, (len(clips) + 1, 2))
        for c, (low, high) in zip(clips, data["weight_range"]):
            # Clipped weights all lie in [-c, c].
            self.assertGreaterEqual(low, -np.float32(c))
            self.assertLessEqual(high, np.float32(c))
        # The fraction at +-c is reported; c = 0.001 is far below the He-uniform
        # initial weights, so almost all of them sit at the bound.
        fractions = data["fraction_at_extremes"]
        self.assertEqual(fractions.shape, (len(clips) + 1,))
        self.assertAllInRange(fractions, 0.0, 1.0)
        self.assertGreater(fractions[clips.index(0.001)], 0.5)
        units = settings["hidden_units"]
        kernel_entries = 2 * units + (layers - 1) * units * units + units
        for key in ("clip", "gp"):
            self.assertEqual(data[f"{key}_histogram"].shape, (settings["histogram_bins"],))
            self.assertEqual(data[f"{key}_edges"].shape, (settings["histogram_bins"] + 1,))
            self.assertEqual(data[f"{key}_histogram"].sum(), kernel_entries)
        self.assertLen(record["claims"], 5)

    def test_activation_gradient_norms_closed_form(self):
        # Every kernel entry w > 0, zero biases, positive inputs: every ReLU is
        # linear, df/dh_l = w^(L-l+1) n^(L-l) per unit (n units), and the loss
        # E[f(fake)] - E[f(real)] over 2 x `batch` samples has, at layer l, the
        # norm sqrt(2 / batch) * sqrt(n) * w^(L-l+1) n^(L-l): it explodes toward
        # the input when w * n > 1 and vanishes when w * n < 1.
        layers, units, batch = 4, 8, 5
        real = tf.random.uniform([batch, 2], 0.1, 1.0, seed=1)
        fake = tf.random.uniform([batch, 2], 0.1, 1.0, seed=2)
        for w in (0.5, 0.05):
            critic = toy_mlp(2, 1, units, layers)
            for layer in critic.layers:
                if hasattr(layer, "kernel"):
                    layer.kernel.assign(tf.fill(layer.kernel.shape, w))
            norms = gradient_norms.activation_gradient_norms(critic, real, fake).numpy()
            depth = layers - np.arange(1, layers + 1)  # layers after layer l
            expected = np.sqrt(2 / batch) * np.sqrt(units) * w ** (depth + 1) * units ** depth
            self.assertAllClose(norms, expected, rtol=1e-5)
        keras.backend.clear_session()

    def test_claims_direction(self):
        run = FigureRun("gradient_norms", gradient_norms.FULL, 0, False, "")
        layers = np.arange(1, 13)
        paper = dict(norms=np.stack([10.0 ** (-0.2 * layers), 10.0 ** (0.3 * layers),
                                     10.0 ** (0.5 * layers), np.ones(12)]),
                     fraction_at_extremes=np.array([0.3, 0.9, 0.99, 0.0001]))
        self.assertTrue(all(gradient_norms.claims(paper, run).values()))
        opposite = dict(norms=np.stack([10.0 ** (0.3 * layers), np.ones(12),
                                        10.0 ** (-0.5 * layers), 10.0 ** (0.2 * layers)]),
                        fraction_at_extremes=np.array([0.3, 0.1, 0.99, 0.2]))
        self.assertFalse(any(gradient_norms.claims(opposite, run).values()))


if __name__ == "__main__":
    tf.test.main()
