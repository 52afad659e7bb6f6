"""The training commands' flags, in process: each refusal names its flag, and what the
accepted flags resolve to (auto iterations per step, the critic's own rate, the GAN's loss).

The one-line, exit-status-2 form of a refusal is tested on real command lines in
test_train_loops.BadInputTest; these are the refusals and choices behind it.
"""

import tensorflow as tf
from absl import flags

from flag_testing import build, parse
from models import losses
from train_loops import gan, runner, wgan, wgan_gp

FLAGS = flags.FLAGS


class FlagCheckTest(tf.test.TestCase):

    def tearDown(self):
        FLAGS.unparse_flags()
        super().tearDown()

    # (command, arguments, what the message must mention)
    REFUSED = (
        (wgan_gp, ["--dot_steps=-1"], "--dot_steps must be 0 or more"),
        (wgan_gp, ["--critic_learning_rate=0"], "--critic_learning_rate must be positive"),
        (wgan_gp, ["--dataset=mnist", "--preset=wgan_gp", "--image_size=0"],
         "--image_size must be positive"),
        (gan, ["--beta_2=1"], "--beta_2 must be in [0, 1)"),
        (wgan_gp, ["--ema_decay=-0.5"], "--ema_decay must be in [0, 1)"),
        (gan, ["--seed=-1"], "--seed must be non-negative"),
        (wgan_gp, ["--deterministic", "--jit_compile=true"], "--deterministic"),
        (wgan_gp, ["--cpu_devices=2"], "--cpu_devices is for --strategy=mirrored"),
        (wgan_gp, ["--strategy=mirrored", "--jit_compile=true"], "--jit_compile=true"),
        (wgan_gp, ["--strategy=mirrored", "--run_eagerly"], "--run_eagerly"),
        (wgan, ["--strategy=mirrored", "--authors_schedule"], "--authors_schedule"),
        (wgan_gp, ["--critic_normalization=layer"], "--critic_normalization=layer"),
    )

    def test_each_bad_value_is_refused_naming_its_flag(self):
        for command, args, message in self.REFUSED:
            with self.subTest(args=args):
                parse(command.COMMAND, *args)
                with self.assertRaises(runner.UsageError) as refused:
                    runner.check_flags()
                self.assertIn(message, str(refused.exception))

    def test_their_neighbours_are_accepted(self):
        # The bounds themselves: each refusal above is of the bad side only.
        for command, args in ((wgan_gp, ["--dot_steps=0"]), (gan, ["--beta_2=0"]),
                              (wgan_gp, ["--ema_decay=0"]), (gan, ["--seed=0"]),
                              (wgan_gp, ["--deterministic", "--jit_compile=false"]),
                              (wgan_gp, ["--strategy=mirrored", "--cpu_devices=2"]),
                              (wgan_gp, ["--critic_normalization=spectral"])):
            with self.subTest(args=args):
                parse(command.COMMAND, *args)
                runner.check_flags()

    def test_auto_iterations_per_step(self):
        # Toy data: the largest k <= 10 dividing the length and every interval
        # (a step must end on each evaluation, sample and checkpoint).
        cases = (
            (["--iterations=20", "--eval_every=10", "--sample_every=10",
              "--checkpoint_every=10"], None, 10),
            (["--iterations=20", "--eval_every=10", "--sample_every=10",
              "--checkpoint_every=4"], None, 2),
            (["--iterations=21", "--eval_every=7", "--sample_every=7",
              "--checkpoint_every=7"], None, 7),
            # One iteration per step wherever a step cannot hold several.
            (["--dataset=mnist", "--preset=wgan_gp", "--iterations=20", "--eval_every=10",
              "--sample_every=10", "--checkpoint_every=10"], None, 1),
            (["--iterations=20", "--eval_every=10", "--sample_every=10",
              "--checkpoint_every=10", "--run_eagerly"], None, 1),
            (["--iterations=20", "--eval_every=10", "--sample_every=10",
              "--checkpoint_every=10"], "a strategy", 1),  # only whether there is one counts
        )
        for args, strategy, expected in cases:
            with self.subTest(args=args, strategy=strategy):
                parse(wgan_gp.COMMAND, *args)
                self.assertEqual(runner.iterations_per_step(strategy), expected)
        parse(wgan.COMMAND, "--iterations=20", "--eval_every=10", "--sample_every=10",
              "--checkpoint_every=10", "--authors_schedule")
        self.assertEqual(runner.iterations_per_step(), 1)  # its critic count varies
        parse(wgan_gp.COMMAND, "--iterations=20", "--eval_every=10", "--sample_every=10",
              "--checkpoint_every=10", "--iterations_per_step=5")
        self.assertEqual(runner.iterations_per_step(), 5)  # given, not chosen

    def test_the_critic_gets_its_own_rate(self):
        model = build(wgan_gp.COMMAND, "--learning_rate=1e-4", "--critic_learning_rate=3e-4")
        self.assertAllClose(float(model.generator_optimizer.learning_rate), 1e-4)
        self.assertAllClose(float(model.critic_optimizer.learning_rate), 3e-4)
        model = build(wgan_gp.COMMAND, "--learning_rate=2e-4")  # unset: the generator's
        self.assertAllClose(float(model.critic_optimizer.learning_rate), 2e-4)

    def test_the_gan_takes_the_generator_loss_asked_for(self):
        for name, loss in (("minimax", losses.gan_minimax_generator_loss),
                           ("non_saturating", losses.gan_non_saturating_generator_loss)):
            model = build(gan.COMMAND, f"--generator_loss={name}")
            self.assertIs(model.generator_loss, loss)


if __name__ == "__main__":
    tf.test.main()
