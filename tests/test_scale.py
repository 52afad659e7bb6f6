"""Mixed precision and tf.distribute: the same training, in 16 bits or on several replicas.

Mixed precision runs in this process, each test under its own dtype policy,
restored afterwards. The distribution tests need two logical CPU devices,
which TensorFlow only creates before it initialises its devices: they run in
a process of their own (`DISTRIBUTED_SCRIPT`, forked before TensorFlow initialises:
tests/command_processes.py), which prints its measurements as JSON.
"""

import contextlib
import json
import math
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from data.toy import toy_batches
from models import GAN, WGAN, WGANGP, losses
from models.networks import toy_critic, toy_generator
import command_processes
from test_train_loops import program_lines, run

RUN_TIMEOUT = 600


@contextlib.contextmanager
def dtype_policy(name):
    """Keras' global dtype policy set to `name` inside, and put back afterwards."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build(name, hidden_units=16):
    """A small toy model under the current policy (as tests/test_models.py builds them)."""
    keras.utils.set_random_seed(0)
    generator, critic = toy_generator(hidden_units=hidden_units), toy_critic(
        hidden_units=hidden_units)
    if name == "gan":
        model = GAN(generator, critic, seed=0)
    elif name == "wgan":
        model = WGAN(generator, critic, n_critic=2, seed=0)
    else:
        model = WGANGP(generator, critic, n_critic=2, penalty_weight=10.0, seed=0)
    optimizer = keras.optimizers.RMSprop if name == "wgan" else keras.optimizers.Adam
    model.compile(optimizer(1e-3), optimizer(1e-3))
    return model


def linear_critic(kernel):
    """D(x) = x @ K1 @ K2 ...: bias-free Dense layers with the kernels in `kernel`."""
    layers = [keras.layers.Dense(np.shape(matrix)[1], use_bias=False) for matrix in kernel]
    critic = keras.Sequential([keras.Input((np.shape(kernel[0])[0],))] + layers)
    for layer, matrix in zip(layers, kernel):
        layer.kernel.assign(np.asarray(matrix, np.float32))
    return critic


class MixedPrecisionTest(tf.test.TestCase):
    """16-bit compute, float32 weights, scores, losses and penalty; float16 loss scaling."""

    def tearDown(self):
        # No test may leave its policy behind for the rest of the suite.
        self.assertEqual(keras.config.dtype_policy().name, "float32")
        super().tearDown()

    def test_short_training_stays_finite_in_16_bits(self):
        policies = ["mixed_float16", "mixed_bfloat16"]
        for policy, name in [(p, n) for p in policies for n in ("gan", "wgan", "wgan_gp")]:
            with self.subTest(policy=policy, model=name), dtype_policy(policy):
                model = build(name)
                data = model.critic_batches(toy_batches("8gaussians", 32, 0))
                history = model.fit(data, epochs=1, steps_per_epoch=4, verbose=0).history
                for metric, values in history.items():
                    self.assertTrue(np.all(np.isfinite(values)), msg=metric)
                half = policy.split("_")[1]
                self.assertEqual(model.generator.layers[1].compute_dtype, half)
                self.assertEqual(model.critic.layers[1].compute_dtype, half)
                for variable in model.critic.trainable_variables:
                    self.assertEqual(variable.dtype, "float32")
                self.assertEqual(model.score(tf.zeros([3, 2])).dtype, tf.float32)
                self.assertEqual(model.generate(3).dtype, tf.float32)
                scaled = isinstance(model.critic_optimizer, keras.optimizers.LossScaleOptimizer)
                self.assertEqual(scaled, half == "float16")
                # Skipped steps still count: 4 generator iterations consumed 4
                # stacks of real batches, whatever the loss scale did.
                self.assertEqual(int(model.generator_optimizer.iterations.numpy()), 4)
                self.assertEqual(int(model.critic_optimizer.iterations.numpy()),
                                 4 * model.n_critic)
                if name == "wgan":
                    # Clipping holds on the float32 master weights.
                    for variable in model.critic.trainable_variables:
                        self.assertLessEqual(np.abs(variable.numpy()).max(),
                                             model.clip_value)

    def test_a_generator_trained_in_16_bits_hands_out_float32(self):
        # Its own call, not only model.generate: a saved generator is what
        # users load, and NumPy, PIL and PyTorch cannot take bfloat16.
        from models.networks import metz_generator
        from train_loops.tasks import image_networks

        for policy in ("mixed_float16", "mixed_bfloat16"):
            with self.subTest(policy=policy), dtype_policy(policy):
                keras.utils.set_random_seed(0)
                generators = {
                    "toy": (toy_generator(hidden_units=8), (4, 2)),
                    "metz": (metz_generator(latent_dim=8), (4, 8)),
                    "dcgan": (image_networks("dcgan", (32, 32, 1), 8, 4, True, None)[0],
                              (4, 8)),
                    "mlp": (image_networks("mlp", (28, 28, 1), 8, 4, True, None)[0], (4, 8)),
                }
                for name, (generator, latent_shape) in generators.items():
                    half = policy.split("_")[1]
                    self.assertEqual(generator.layers[1].compute_dtype, half, msg=name)
                    latent = tf.random.stateless_normal(latent_shape, [1, 2])
                    self.assertEqual(generator(latent).dtype, tf.float32, msg=name)
                    path = os.path.join(self.get_temp_dir(), f"{policy}-{name}.keras")
                    generator.save(path)
                    loaded = keras.saving.load_model(path)
                    self.assertEqual(loaded(latent).dtype, tf.float32, msg=name)
                    self.assertAllClose(loaded(latent), generator(latent))

    def test_penalty_of_linear_critic_is_its_closed_form(self):
        # D(x) = w.x has gradient w everywhere: penalty lambda * (||w|| - 1)^2.
        x_hat = tf.random.stateless_normal([16, 2], [3, 4])
        for w in ([3.0, 4.0], [0.6, 0.8], [0.3, 0.4]):
            with self.subTest(w=w), dtype_policy("mixed_float16"):
                critic = linear_critic([np.reshape(w, [2, 1])])
                self.assertEqual(critic.layers[0].compute_dtype, "float16")
                # A loss scale the dynamic scaling settles on (2**15 times 4
                # overflows float16: non-finite, that step would be skipped).
                penalty, norms = losses.gradient_penalty(critic, x_hat, scale=2.0 ** 10)
                self.assertEqual(penalty.dtype, tf.float32)
                expected = (math.hypot(*w) - 1.0) ** 2
                # float16 holds w to 2**-11 relative: the norm to about 1e-3.
                self.assertAllClose(norms, np.full(16, math.hypot(*w)), rtol=2e-3)
                self.assertAllClose(10.0 * penalty, 10.0 * expected, rtol=5e-3, atol=1e-4)

    def test_inner_gradient_is_scaled_against_underflow(self):
        """A linear critic whose input gradient passes through 1e-8 on its way back.

        D(x) = c * b * (a . x) with a = (1e4, 1e4), b = c = 1e-4: every weight
        and activation is a normal float16, and the input gradient is
        a * b * c = 1e-4 per input. The float16 backward pass forms b * c =
        1e-8 first, below float16's smallest subnormal (6e-8): unscaled, it
        flushes to zero and so does the whole gradient. Scaled by 2**15 before
        the float16 backward pass and unscaled in float32, the norm is the
        true sqrt(2) * 1e-4.
        """
        x_hat = tf.ones([4, 2])
        expected = math.sqrt(2.0) * 1e-4
        with dtype_policy("mixed_float16"):
            critic = linear_critic([np.full([2, 1], 1e4), np.full([1, 1], 1e-4),
                                    np.full([1, 1], 1e-4)])
            _, unscaled = losses.gradient_penalty(critic, x_hat)
            _, scaled = losses.gradient_penalty(critic, x_hat, scale=2.0 ** 15)
        # Unscaled: only the norm's epsilon (sqrt(1e-12) = 1e-6) is left.
        self.assertAllLess(unscaled, expected / 10)
        self.assertAllClose(scaled, np.full(4, expected), rtol=2e-3)

    def test_non_finite_step_is_skipped_halves_the_scale_and_counts(self):
        with dtype_policy("mixed_float16"):
            model = build("wgan_gp")
        before = [v.numpy() for v in model.critic.trainable_variables]
        scale = float(model.critic_optimizer.dynamic_scale.numpy())
        # 1e5 overflows float16 (max 65504): the critic's scores are not finite.
        logs = model.critic_step(tf.fill([8, 2], 1e5))
        self.assertFalse(np.isfinite(logs["d_loss"].numpy()))
        for old, variable in zip(before, model.critic.trainable_variables):
            self.assertAllEqual(old, variable.numpy())
        self.assertEqual(float(model.critic_optimizer.dynamic_scale.numpy()), scale / 2)
        self.assertEqual(int(model.critic_optimizer.iterations.numpy()), 1)
        # Finite data again: within a few halvings the scale fits and steps apply.
        for real in toy_batches("8gaussians", 8, 0).take(5):
            model.critic_step(real)
        self.assertNotAllClose(before[0], model.critic.trainable_variables[0].numpy())
        self.assertEqual(int(model.critic_optimizer.iterations.numpy()), 6)

    def test_float32_networks_are_built_as_before(self):
        # No policy: no LossScaleOptimizer, no float32 override on the score layer.
        model = build("wgan_gp")
        self.assertIsInstance(model.critic_optimizer, keras.optimizers.Adam)
        self.assertEqual(model.critic.layers[-1].dtype_policy.name, "float32")
        self.assertIsNone(model.loss_scale(model.critic_optimizer))


# Run with 2 logical CPU devices. It trains each model for 3 generator
# iterations on one device and under MirroredStrategy over the two, from the
# same seed, weights and data, and prints what the test compares.
DISTRIBUTED_SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras
from data.toy import toy_batches
from models import WGAN, WGANGP
from models.distribute import distribute_critic_batches
from models.networks import toy_critic, toy_generator

BATCH, ITERATIONS = 32, 3


def build(name):
    keras.utils.set_random_seed(0)
    g, c = toy_generator(hidden_units=16), toy_critic(hidden_units=16)
    if name == "wgan":
        model = WGAN(g, c, n_critic=2, clip_value=0.05, seed=0)
        model.compile(keras.optimizers.RMSprop(1e-3), keras.optimizers.RMSprop(1e-3))
    else:
        model = WGANGP(g, c, n_critic=2, penalty_weight=10.0, seed=0)
        model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    return model


def weights(model):
    return [v.numpy().ravel().tolist() for v in model.generator.variables + model.critic.variables]


strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
out = {"replicas": strategy.num_replicas_in_sync}
for name in ("wgan_gp", "wgan"):
    single = build(name)
    history = single.fit(single.critic_batches(toy_batches("8gaussians", BATCH, 0)),
                         epochs=1, steps_per_epoch=ITERATIONS, verbose=0).history
    with strategy.scope():
        mirrored = build(name)
    data = distribute_critic_batches(
        strategy, mirrored.critic_batches(toy_batches("8gaussians", BATCH, 0)))
    mirrored_history = mirrored.fit(data, epochs=1, steps_per_epoch=ITERATIONS,
                                    verbose=0).history
    copies = [[c.numpy().ravel().tolist() for c in v.value.values]
              for v in mirrored.generator.variables + mirrored.critic.variables
              + [mirrored.seed_generator.state]]
    out[name] = dict(
        history={k: v[-1] for k, v in history.items()},
        mirrored_history={k: v[-1] for k, v in mirrored_history.items()},
        weights=weights(single), mirrored_weights=weights(mirrored),
        copies_differ=max(float(np.max(np.abs(np.subtract(c[0], c[1])))) for c in copies),
        seed=single.seed_generator.state.numpy().tolist(),
        mirrored_seed=mirrored.seed_generator.state.numpy().tolist(),
        iterations=[int(single.critic_optimizer.iterations.numpy()),
                    int(mirrored.critic_optimizer.iterations.numpy())],
        max_abs_critic_weight=max(float(np.abs(v.numpy()).max())
                                  for v in mirrored.critic.trainable_variables))

# The two replicas' latent draws, and one device's draw of the global batch
# from the same random state.
with strategy.scope():
    model = build("wgan_gp")
per_replica = tf.function(lambda: strategy.run(lambda: model.sample_latent(4)))()
out["replica_latents"] = [t.numpy().tolist()
                          for t in strategy.experimental_local_results(per_replica)]
single = build("wgan_gp")
out["global_latent"] = single.sample_latent(8).numpy().tolist()

# mixed_float16 under the strategy: loss scaling across replicas.
keras.config.set_dtype_policy("mixed_float16")
with strategy.scope():
    mixed = build("wgan_gp")
history = mixed.fit(distribute_critic_batches(
    strategy, mixed.critic_batches(toy_batches("8gaussians", BATCH, 0))),
    epochs=1, steps_per_epoch=ITERATIONS, verbose=0).history
out["mixed_history"] = {k: v[-1] for k, v in history.items()}
out["mixed_optimizer"] = type(mixed.critic_optimizer).__name__

# One critic update whose gradients overflow on replica 1 only (1e5 is past
# float16's 65504): both replicas must skip it, as one device would.
finite = tf.constant(next(iter(toy_batches("8gaussians", BATCH // 2, 1))))
overflowing = tf.fill([BATCH // 2, 2], 1e5)
real = strategy.experimental_distribute_values_from_function(
    lambda context: finite if context.replica_id_in_sync_group == 0 else overflowing)
before = [[c.numpy() for c in v.value.values] for v in mixed.critic.trainable_variables]
scale, steps = (float(mixed.critic_optimizer.dynamic_scale.numpy()),
                int(mixed.critic_optimizer.iterations.numpy()))
tf.function(lambda r: strategy.run(mixed.critic_update, (r,)))(real)
out["one_replica_overflows"] = dict(
    moved=max(float(np.max(np.abs(c.numpy() - b)))
              for v, copies in zip(mixed.critic.trainable_variables, before)
              for c, b in zip(v.value.values, copies)),
    scale=[scale, float(mixed.critic_optimizer.dynamic_scale.numpy())],
    iterations=[steps, int(mixed.critic_optimizer.iterations.numpy())])
print("RESULT " + json.dumps(out))
"""


class MirroredStrategyTest(tf.test.TestCase):
    """Two replicas on two logical CPUs train exactly as one device does.

    What is compared, and why it is a valid check: the single-device run
    takes global batches of 32; the mirrored run splits each into two halves
    of 16, one per replica (`distribute_critic_batches`). Each replica's
    latent codes and interpolation weights are its rows of the draw one device
    makes for the global batch (`models.random`), so both runs see the same
    samples. Each replica's losses are means over its 16 samples, scaled by
    1/2 before the optimizer sums the two replicas' gradients: the update is
    the gradient of the mean over 32, the single-device update. Weight
    clipping (WGAN) updates both copies. Then after 3 generator iterations (6
    critic updates) the weights, the losses and the random state must agree
    with the single-device run up to float32 summation order (1e-5), the two
    copies must be identical, and the two replicas' latent draws must differ
    (and together be the single-device draw). A run with a wrong gradient
    scale (the replicas' gradients summed unscaled: twice the step), identical
    per-replica draws, or clipping on one copy only would fail these by far
    more than the tolerance.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        outcome = command_processes.run("-c " + DISTRIBUTED_SCRIPT, timeout=RUN_TIMEOUT)
        lines = [line for line in outcome.stdout.splitlines() if line.startswith("RESULT ")]
        if outcome.returncode != 0 or not lines:
            raise AssertionError(f"the distributed script failed:\n{outcome.stderr[-5000:]}")
        cls.result = json.loads(lines[-1][len("RESULT "):])

    def test_two_replicas(self):
        self.assertEqual(self.result["replicas"], 2)

    def check_same_as_single_device(self, name):
        result = self.result[name]
        self.assertEqual(sorted(result["history"]), sorted(result["mirrored_history"]))
        for metric, value in result["history"].items():
            self.assertAllClose(result["mirrored_history"][metric], value, rtol=1e-4, atol=1e-6,
                                msg=metric)
        for single, mirrored in zip(result["weights"], result["mirrored_weights"]):
            self.assertAllClose(mirrored, single, rtol=0, atol=1e-5)
        self.assertEqual(result["copies_differ"], 0.0)
        self.assertEqual(result["seed"], result["mirrored_seed"])
        self.assertEqual(result["iterations"][0], result["iterations"][1])

    def test_wgan_gp_matches_single_device(self):
        self.check_same_as_single_device("wgan_gp")

    def test_wgan_clipping_matches_single_device_on_every_copy(self):
        self.check_same_as_single_device("wgan")
        self.assertLessEqual(self.result["wgan"]["max_abs_critic_weight"], 0.05 + 1e-7)

    def test_replicas_draw_different_latents_that_make_the_global_draw(self):
        first, second = (np.array(z) for z in self.result["replica_latents"])
        self.assertEqual(first.shape, (4, 2))
        self.assertNotAllClose(first, second)
        self.assertAllEqual(np.concatenate([first, second]), self.result["global_latent"])

    def test_mixed_float16_under_the_strategy_is_finite(self):
        self.assertEqual(self.result["mixed_optimizer"], "LossScaleOptimizer")
        for metric, value in self.result["mixed_history"].items():
            self.assertTrue(math.isfinite(value), msg=metric)


    def test_a_step_that_overflows_on_one_replica_is_skipped_on_both(self):
        # The replicas agree (models.distribute.all_replicas_true) before the
        # update: no weight copy moves, the loss scale halves once, and the
        # skipped update still counts (it used up its real batch).
        outcome = self.result["one_replica_overflows"]
        self.assertEqual(outcome["moved"], 0.0)
        self.assertEqual(outcome["scale"][1], outcome["scale"][0] / 2)
        self.assertEqual(outcome["iterations"][1], outcome["iterations"][0] + 1)


class RunnerFlagsTest(tf.test.TestCase):
    """--strategy and --mixed_precision through `python -m train_loops.wgan_gp`."""

    def make_dir(self):
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        return directory

    SHORT = ["--iterations=4", "--eval_every=2", "--hidden_units=16", "--batch_size=32",
             "--eval_samples=200", "--checkpoint_every=2"]

    def test_mirrored_mixed_precision_run(self):
        output_dir = self.make_dir()
        outcome = run("wgan_gp", *self.SHORT, f"--output_dir={output_dir}",
                      "--strategy=mirrored", "--cpu_devices=2",
                      "--mixed_precision=mixed_float16", "--overwrite")
        self.assertEqual(outcome.returncode, 0, msg=outcome.stderr[-5000:])
        with open(f"{output_dir}/summary.json") as f:
            summary = json.load(f)
        self.assertEqual(summary["iterations"], 4)
        self.assertEqual(summary["replicas"], 2)
        self.assertEqual(summary["mixed_precision"], "mixed_float16")
        self.assertTrue(math.isfinite(summary["wasserstein1_estimate"]))

    def test_bad_combinations_are_one_line_errors(self):
        cases = [(["--strategy=tpu"], "--strategy=tpu"),
                 (["--cpu_devices=2"], "--cpu_devices"),
                 (["--strategy=mirrored", "--jit_compile=true"], "--jit_compile"),
                 (["--strategy=mirrored", "--cpu_devices=2", "--batch_size=33"],
                  "--batch_size")]
        for args, mentions in cases:
            with self.subTest(args=args):
                output_dir = self.make_dir() + "/out"
                outcome = run("wgan_gp", *args, f"--output_dir={output_dir}")
                self.assertEqual(outcome.returncode, 2, msg=outcome.stderr)
                lines = program_lines(outcome.stderr)
                self.assertLen(lines, 1, msg=outcome.stderr)
                self.assertIn(mentions, lines[0])
