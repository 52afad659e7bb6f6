"""Image runs through the runner: presets, a few real steps on mock data, exact resume."""

import csv
import json
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from absl import flags

from flag_testing import build, parse
from train_loops import gan, progress, runner, wgan, wgan_gp
from train_loops.tasks import make_task

FLAGS = flags.FLAGS
COMMANDS = {"gan": gan.COMMAND, "wgan": wgan.COMMAND, "wgan_gp": wgan_gp.COMMAND}


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def metric_rows(output_dir):
    """metrics.csv without the wall-clock column, which differs between runs."""
    return [{k: v for k, v in row.items() if k != "seconds"}
            for row in rows(os.path.join(output_dir, "metrics.csv"))]


class PresetTest(tf.test.TestCase):
    """Each preset builds the recipe of its paper (../shared/reference/papers.md)."""

    def tearDown(self):
        FLAGS.unparse_flags()
        super().tearDown()

    def assert_adam(self, optimizer, learning_rate, beta_1, beta_2):
        self.assertIsInstance(optimizer, keras.optimizers.Adam)
        self.assertAllClose(optimizer.learning_rate, learning_rate)
        self.assertAllClose([optimizer.beta_1, optimizer.beta_2], [beta_1, beta_2])

    def test_dcgan(self):
        model = build(gan.COMMAND, "--preset=dcgan", "--dataset=cifar10")
        self.assertEqual(FLAGS.batch_size, 128)
        self.assertEqual(model.n_critic, 1)
        self.assertEqual(model.latent_shape, (100,))
        self.assertEqual(model.latent_distribution, "uniform")
        self.assertEqual(model.generator.name, "dcgan_generator")
        self.assertEqual(model.critic.name, "dcgan_discriminator")
        for optimizer in (model.generator_optimizer, model.critic_optimizer):
            self.assert_adam(optimizer, 2e-4, 0.5, 0.999)

    def test_wgan(self):
        model = build(wgan.COMMAND, "--preset=wgan", "--dataset=cifar10")
        self.assertEqual(FLAGS.batch_size, 64)
        self.assertEqual((model.n_critic, model.clip_value), (5, 0.01))
        self.assertTrue(model.authors_schedule)
        self.assertEqual(model.critic.name, "dcgan_discriminator")  # the paper's critic
        for optimizer in (model.generator_optimizer, model.critic_optimizer):
            # The WGAN authors' PyTorch RMSprop, not TensorFlow 1's (the toy preset's).
            self.assertIs(type(optimizer), keras.optimizers.RMSprop)
            self.assertAllClose((optimizer.learning_rate, optimizer.rho, optimizer.epsilon),
                                (5e-5, 0.99, 1e-16))

    def test_wgan_gp(self):
        model = build(wgan_gp.COMMAND, "--preset=wgan_gp", "--dataset=cifar10")
        self.assertEqual(FLAGS.batch_size, 64)
        self.assertEqual((model.n_critic, model.penalty_weight), (5, 10.0))
        self.assertEqual(model.critic.name, "wgan_gp_dcgan_critic")  # no BatchNorm
        self.assertFalse(any(isinstance(layer, keras.layers.BatchNormalization)
                             for layer in model.critic.layers))
        for optimizer in (model.generator_optimizer, model.critic_optimizer):
            self.assert_adam(optimizer, 1e-4, 0.0, 0.9)  # Algorithm 1

    def test_wgan_gp_mnist(self):
        model = build(wgan_gp.COMMAND, "--preset=wgan_gp_mnist")
        self.assertEqual((FLAGS.dataset, FLAGS.batch_size), ("mnist", 50))
        self.assertEqual(model.generator.name, "wgan_gp_mnist_generator")
        self.assertEqual(model.critic.name, "wgan_gp_mnist_critic")

    def test_wgan_gp_resnet_decays_linearly_to_zero(self):
        model = build(wgan_gp.COMMAND, "--preset=wgan_gp_resnet")
        self.assertEqual((FLAGS.dataset, FLAGS.iterations), ("cifar10", 100000))
        self.assertEqual(model.generator.name, "wgan_gp_resnet_generator")
        schedule = model.generator_optimizer._learning_rate
        self.assertAllClose([schedule(0), schedule(50000), schedule(100000)],
                            [2e-4, 1e-4, 0.0])
        # The critic takes n_critic steps per generator iteration: the same
        # decay per generator iteration needs 5 x as many of its own steps.
        critic_schedule = model.critic_optimizer._learning_rate
        self.assertAllClose(critic_schedule(250000), 1e-4)
        self.assert_adam(model.critic_optimizer, critic_schedule(0), 0.0, 0.9)

    def test_toy_512_decay_is_the_toy_recipe_wider_and_decayed(self):
        model = build(wgan_gp.COMMAND, "--preset=toy_512_decay", "--dataset=25gaussians")
        self.assertEqual((model.n_critic, model.penalty_weight), (5, 0.1))  # gan_toy.py's
        widths = {layer.units for network in (model.generator, model.critic)
                  for layer in network.layers if isinstance(layer, keras.layers.Dense)}
        self.assertEqual(widths, {512, 2, 1})  # hidden layers, generator out, critic out
        self.assertEqual((FLAGS.iterations, FLAGS.dot_steps, FLAGS.ema_decay),
                         (25000, 100, 0.999))
        schedule = model.generator_optimizer._learning_rate
        self.assertAllClose([schedule(0), schedule(12500), schedule(25000)],
                            [1e-4, 5e-5, 0.0])
        self.assertAllClose(model.critic_optimizer._learning_rate(5 * 12500), 5e-5)
        self.assert_adam(model.critic_optimizer, 1e-4, 0.5, 0.9)
        with self.assertRaisesRegex(runner.UsageError, "is for toy data"):
            build(wgan_gp.COMMAND, "--preset=toy_512_decay", "--dataset=mnist")

    def test_explicit_flags_override_the_preset(self):
        model = build(wgan_gp.COMMAND, "--preset=wgan_gp", "--dataset=mnist",
                      "--batch_size=32", "--penalty_weight=5", "--learning_rate=3e-4")
        self.assertEqual(FLAGS.batch_size, 32)
        self.assertEqual(model.penalty_weight, 5.0)
        self.assertAllClose(model.generator_optimizer.learning_rate, 3e-4)
        self.assertAllClose(model.generator_optimizer.beta_1, 0.0)  # still the preset's

    def test_image_data_without_preset_gets_the_commands_image_preset(self):
        parse(wgan_gp.COMMAND, "--dataset=fashion_mnist")
        self.assertEqual((FLAGS.preset, FLAGS.penalty_weight), ("wgan_gp", 10.0))
        parse(wgan_gp.COMMAND)
        self.assertEqual((FLAGS.preset, FLAGS.penalty_weight), ("toy", 0.1))

    def test_the_toy_defaults_and_the_weight_average_of_each_preset(self):
        parse(wgan_gp.COMMAND)  # the main command: 10,000 iterations, a weight average
        self.assertEqual((FLAGS.preset, FLAGS.iterations, FLAGS.ema_decay), ("toy", 10000, 0.999))
        for preset in ("metz", "wgan_gp", "wgan_gp_mnist", "wgan_gp_resnet"):
            parse(wgan_gp.COMMAND, f"--preset={preset}")  # the papers' settings: none
            self.assertIsNone(FLAGS.ema_decay, preset)
        # Parsed after WGAN-GP in one process (as a figure does), the other
        # commands keep their own defaults, not the WGAN-GP toy preset's.
        for command in (gan.COMMAND, wgan.COMMAND):
            parse(command)
            self.assertEqual((FLAGS.preset, FLAGS.iterations, FLAGS.ema_decay),
                             ("toy", 10000, None))
        self.assertEqual(FLAGS.optimizer, "rmsprop_tf1")  # WGAN's own, as gan_toy.py runs it
        parse(wgan.COMMAND, "--preset=wgan", "--dataset=mnist")
        self.assertEqual(FLAGS.optimizer, "rmsprop")  # the WGAN authors' PyTorch code
        self.assertIsNone(build(wgan_gp.COMMAND, "--ema_decay=0").averaged_generator)
        with self.assertRaisesRegex(runner.UsageError, "--ema_decay must be in \\[0, 1\\)"):
            build(wgan_gp.COMMAND, "--ema_decay=1")

    def test_presets_and_architectures_must_fit_the_data(self):
        for args, message in (
                (["--preset=wgan_gp", "--dataset=8gaussians"], "is for image data"),
                (["--preset=toy", "--dataset=mnist"], "is for toy data"),
                (["--preset=wgan_gp_resnet", "--dataset=mnist"], "makes \\(32, 32, 3\\)"),
                (["--preset=wgan_gp_mnist", "--dataset=cifar10"], "makes \\(28, 28, 1\\)"),
                (["--preset=wgan_gp", "--dataset=mnist", "--image_size=30"],
                 "image side 30 cannot be made")):
            with self.assertRaisesRegex(runner.UsageError, message):
                build(wgan_gp.COMMAND, *args)

    def test_presets_of_other_commands_are_refused(self):
        with self.assertRaisesRegex(runner.UsageError, "--preset must be one of"):
            parse(gan.COMMAND, "--preset=wgan_gp")


class MockImageTrainingTest(tf.test.TestCase):
    """A few real training steps of each algorithm on mock MNIST and CIFAR-10."""

    def tearDown(self):
        FLAGS.unparse_flags()
        super().tearDown()

    def run_command(self, command, *args):
        # --classifier=: no image metrics, whatever classifiers/ holds here.
        parse(command, "--iterations=4", "--batch_size=8", "--dim=8", "--n_critic=2",
              "--sample_every=2", "--checkpoint_every=2", "--classifier=", *args)
        runner.train(command)

    def test_every_algorithm_trains_on_mock_mnist_and_cifar10(self):
        for dataset, shape in (("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))):
            with tfds.testing.mock_data(num_examples=32):
                for name, command in COMMANDS.items():
                    output_dir = os.path.join(self.get_temp_dir(), f"{name}-{dataset}")
                    extra = ["--authors_schedule=false"] if name == "wgan" else []
                    self.run_command(command, f"--dataset={dataset}",
                                     f"--output_dir={output_dir}", *extra)
                    metrics = rows(os.path.join(output_dir, "metrics.csv"))
                    self.assertEqual([int(r["iteration"]) for r in metrics], [1, 2, 3, 4])
                    for row in metrics:
                        for key, value in row.items():
                            self.assertTrue(np.isfinite(float(value)), f"{name} {key}")
                    summary = json.load(open(os.path.join(output_dir, "summary.json")))
                    self.assertEqual(summary["iterations"], 4)
                    for step in (2, 4):
                        self.assertTrue(os.path.exists(os.path.join(
                            output_dir, "samples", f"{step:06d}.png")))
                    generator = keras.saving.load_model(
                        os.path.join(output_dir, "generator.keras"))
                    self.assertEqual(generator.output_shape[1:], shape)
                    # The last grid is the saved generator on the run's fixed codes: at
                    # most a rounding flip (one level) in under 1 % of the pixels (here:
                    # none), where other codes (seed + 2) change 12-55 % of them even
                    # this early.
                    largest, changed = self.grid_difference(output_dir, generator, 4)
                    self.assertLessEqual(largest, 1)
                    self.assertLess(changed, 0.01)

    @staticmethod
    def grid_difference(output_dir, generator, iteration):
        """(largest difference, share of pixels that differ) between
        samples/<iteration>.png and the grid of `generator` on the run's fixed
        codes (seed + 1, as tasks.fixed_latent)."""
        from PIL import Image

        from evaluation.plots import save_image_grid
        from models import random

        latent = random.latent((64,) + tuple(generator.input_shape[1:]),
                               FLAGS.latent_distribution,
                               keras.random.SeedGenerator(FLAGS.seed + 1))
        expected = os.path.join(output_dir, "expected.png")
        save_image_grid(expected, generator(latent, training=False).numpy())
        written = os.path.join(output_dir, "samples", f"{iteration:06d}.png")
        pixels = [np.asarray(Image.open(p), np.int16) for p in (written, expected)]
        difference = np.abs(pixels[0] - pixels[1])
        return int(difference.max()), float(np.mean(difference > 0))

    def test_classifier_metrics_during_training(self):
        from evaluation.classifier import build_classifier

        classifier = os.path.join(self.get_temp_dir(), "tiny_classifier.keras")
        keras.utils.set_random_seed(0)
        build_classifier(feature_dim=8, width=4).save(classifier)
        output_dir = os.path.join(self.get_temp_dir(), "metrics")
        with tfds.testing.mock_data(num_examples=32):
            self.run_command(wgan_gp.COMMAND, "--dataset=mnist", f"--classifier={classifier}",
                             "--eval_every=2", "--eval_samples=16",
                             f"--output_dir={output_dir}")
        table = rows(os.path.join(output_dir, "image_metrics.csv"))
        self.assertEqual([r["iteration"] for r in table], ["2", "4"])
        for row in table:
            self.assertGreater(float(row["fid"]), 0.0)
            self.assertAllInRange(float(row["is"]), 1.0, 10.0)
        summary = json.load(open(os.path.join(output_dir, "summary.json")))
        self.assertAllClose(summary["classifier_fid"], float(table[-1]["fid"]), rtol=1e-5)

    def test_wgan_authors_schedule_on_images(self):
        # 100 critic updates in each of the first iterations: each one consumes a batch.
        output_dir = os.path.join(self.get_temp_dir(), "schedule")
        with tfds.testing.mock_data(num_examples=32):
            self.run_command(wgan.COMMAND, "--preset=wgan", "--dataset=mnist",
                             "--iterations=2", f"--output_dir={output_dir}")
        checkpoint = tf.train.load_checkpoint(os.path.join(output_dir, "checkpoints"))
        self.assertEqual(checkpoint.get_tensor(
            "critic_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"), 200)


class ResumeTest(tf.test.TestCase):

    def tearDown(self):
        FLAGS.unparse_flags()
        super().tearDown()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The 20-iteration run both resume tests compare with, run once.
        cls.unbroken_dir = tempfile.mkdtemp()
        cls.addClassCleanup(shutil.rmtree, cls.unbroken_dir, ignore_errors=True)  # even if it fails
        try:
            cls.toy_run(cls.unbroken_dir, 20)
        finally:
            FLAGS.unparse_flags()

    @staticmethod
    def toy_run(output_dir, iterations, *args):
        # --deterministic: op determinism, the documented way to have a resumed
        # run repeat an unbroken one bit for bit (it runs without XLA, whose
        # compile was two thirds of a 20-iteration run's CPU: 33 s -> 11 s).
        # One iteration per step: the 13-iteration run below would otherwise
        # take steps of 1 and the 20-iteration one steps of 5, and without XLA
        # a loop of 5 can differ from 5 single steps in the last digit.
        parse(wgan_gp.COMMAND, f"--iterations={iterations}", "--hidden_units=16",
              "--eval_every=5", "--checkpoint_every=5", "--deterministic",
              "--iterations_per_step=1", f"--output_dir={output_dir}", *args)
        runner.train(wgan_gp.COMMAND)

    def test_op_determinism_ends_with_the_run(self):
        # Left on, it would turn XLA off for every later test in this process.
        self.assertFalse(runner.op_determinism())

    def test_resumed_run_equals_an_unbroken_one(self):
        unbroken = self.unbroken_dir
        broken = os.path.join(self.get_temp_dir(), "broken")
        self.toy_run(broken, 10)
        self.toy_run(broken, 20, "--resume")
        self.assertEqual(metric_rows(unbroken), metric_rows(broken))
        summary = json.load(open(os.path.join(broken, "summary.json")))
        self.assertEqual((summary["iterations"], summary["resumed_from"]), (20, 10))
        # A run resumed from a checkpoint whose sittings were not recorded: totals unknown.
        os.remove(os.path.join(broken, "checkpoints", "compute.json"))
        self.toy_run(broken, 25, "--resume")
        summary = json.load(open(os.path.join(broken, "summary.json")))
        self.assertEqual((summary["total_wall_time_seconds"], summary["commits"]), (None, None))

    def test_rows_logged_after_the_checkpoint_are_replaced_on_resume(self):
        # As after a crash (kill -9): the logs run past the last checkpoint.
        unbroken = self.unbroken_dir
        crashed = os.path.join(self.get_temp_dir(), "crashed")
        self.toy_run(crashed, 13, "--checkpoint_every=5")
        os.remove(os.path.join(crashed, "checkpoints", "ckpt-13.index"))  # lost in the crash
        with open(os.path.join(crashed, "checkpoints", "checkpoint"), "w") as f:
            f.write('model_checkpoint_path: "ckpt-10"\n')
        with open(os.path.join(crashed, "checkpoints", "compute.json")) as f:
            before_crash = json.load(f)["10"]  # the totals when ckpt-10 was written
        self.toy_run(crashed, 20, "--resume")
        self.assertEqual(metric_rows(unbroken), metric_rows(crashed))
        # The totals count the sittings up to ckpt-10 and this one, not the work lost after 10.
        summary = json.load(open(os.path.join(crashed, "summary.json")))
        for kind in ("wall", "cpu"):
            self.assertAllClose(summary[f"total_{kind}_time_seconds"],
                                before_crash[f"{kind}_seconds"] + summary[f"{kind}_time_seconds"],
                                atol=0.11)
        self.assertEqual(summary["commits"], [progress.source_commit()])
        with open(os.path.join(crashed, "checkpoints", "compute.json")) as f:
            noted = {int(k) for k in json.load(f)}
        kept = {int(p.rsplit("-", 1)[1]) for p in tf.train.get_checkpoint_state(
            os.path.join(crashed, "checkpoints")).all_model_checkpoint_paths}
        # Entries follow the checkpoints kept: the lost ckpt-13's is gone; one entry may
        # outlive the checkpoint the last save retired (each is written before its checkpoint).
        self.assertNotIn(13, noted)
        self.assertContainsSubset(kept, noted)
        self.assertLessEqual(len(noted), len(kept) + 1)
        self.assertEqual([r["iteration"] for r in rows(os.path.join(crashed, "evaluation.csv"))],
                         ["5", "10", "15", "20"])

    def test_restore_brings_back_step_counts_and_optimizer_state(self):
        output_dir = os.path.join(self.get_temp_dir(), "state")
        self.toy_run(output_dir, 10)
        parse(wgan_gp.COMMAND, "--iterations=10", "--hidden_units=16",
              f"--output_dir={output_dir}")
        saved = tf.train.load_checkpoint(os.path.join(output_dir, "checkpoints"))
        model = runner.build_model(wgan_gp.COMMAND, make_task(FLAGS, "wgan_gp"))
        checkpoint = tf.train.Checkpoint(model=model,
                                         generator_optimizer=model.generator_optimizer,
                                         critic_optimizer=model.critic_optimizer)
        manager = tf.train.CheckpointManager(
            checkpoint, os.path.join(output_dir, "checkpoints"), max_to_keep=2)
        self.assertEqual(runner.restore(checkpoint, manager, model, wgan_gp.COMMAND.program), 10)
        self.assertEqual(int(model.critic_optimizer.iterations), 50)
        names = saved.get_variable_to_shape_map()
        optimizer_slots = [n for n in names if n.startswith("critic_optimizer/_variables")]
        self.assertNotEmpty(optimizer_slots)
        for name in optimizer_slots:
            index = int(name.split("/")[2])
            self.assertAllEqual(model.critic_optimizer.variables[index].numpy(),
                                saved.get_tensor(name))

    def test_resume_without_checkpoint_is_a_usage_error(self):
        with self.assertRaisesRegex(runner.UsageError, "no checkpoint"):
            self.toy_run(os.path.join(self.get_temp_dir(), "empty"), 10, "--resume")
        self.assertFalse(runner.op_determinism())  # turned off on the way out too
