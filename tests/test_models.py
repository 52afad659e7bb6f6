"""Behaviour of GAN, WGAN and WGAN-GP training steps, each against a known answer."""

import os

import keras
import numpy as np
import tensorflow as tf

from data.toy import mode_centers, mode_std, toy_batches
from evaluation.toy import mode_coverage
from models import GAN, WGAN, WGANGP
from models.networks import toy_critic, toy_generator

MODELS = {
    "gan": lambda g, d, **kw: GAN(g, d, **kw),
    "wgan": lambda g, d, **kw: WGAN(g, d, n_critic=3, **kw),
    "wgan_gp": lambda g, d, **kw: WGANGP(g, d, n_critic=3, penalty_weight=10.0, **kw),
}


def build(name, hidden_units=32, seed=0, learning_rate=1e-3, **compile_kwargs):
    """A small compiled toy model; weights and random draws fixed by `seed`."""
    keras.utils.set_random_seed(seed)
    model = MODELS[name](toy_generator(hidden_units=hidden_units),
                         toy_critic(hidden_units=hidden_units), seed=seed)
    optimizer = keras.optimizers.RMSprop if name == "wgan" else keras.optimizers.Adam
    model.compile(optimizer(learning_rate), optimizer(learning_rate), **compile_kwargs)
    return model


def real_stacks(model, iterations, batch_size=64, seed=0):
    return model.critic_batches(toy_batches("8gaussians", batch_size, seed)).take(iterations)


def linear_critic(w):
    """D(x) = w.x on 2-d points: its gradient is w everywhere."""
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    critic.layers[0].kernel.assign(np.reshape(w, [2, 1]))
    return critic


def snapshot(network):
    """Every variable of `network` (trainable or not), flattened into one vector."""
    return np.concatenate([v.numpy().ravel() for v in network.variables])


class StepIsolationTest(tf.test.TestCase):
    """Critic updates leave the generator alone and generator updates the critic."""

    def test_each_step_changes_only_its_own_network(self):
        real = next(iter(toy_batches("8gaussians", 64)))
        for name in MODELS:
            model = build(name)
            generator, critic = snapshot(model.generator), snapshot(model.critic)
            model.critic_step(real)
            self.assertAllEqual(generator, snapshot(model.generator), msg=name)
            self.assertNotAllClose(critic, snapshot(model.critic), msg=name)
            critic = snapshot(model.critic)
            model.generator_step(64)
            self.assertAllEqual(critic, snapshot(model.critic), msg=name)
            self.assertNotAllClose(generator, snapshot(model.generator), msg=name)

    def test_each_critic_update_sees_its_own_real_batch(self):
        seen = []

        class Recording(WGANGP):
            def critic_step(self, real):
                seen.append(real.numpy())
                return super().critic_step(real)

        keras.utils.set_random_seed(0)
        model = Recording(toy_generator(hidden_units=8), toy_critic(hidden_units=8),
                          n_critic=5)
        model.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
        stack = next(iter(model.critic_batches(toy_batches("8gaussians", 16))))
        model.train_step(stack)  # eager: the loop runs in Python
        self.assertLen(seen, 5)
        for i, batch in enumerate(seen):
            self.assertAllEqual(batch, stack[i].numpy())
        self.assertLen({b.tobytes() for b in seen}, 5)  # five distinct batches

    def test_generator_iterations_count_train_steps(self):
        model = build("wgan_gp", jit_compile=False)
        model.fit(real_stacks(model, 4), epochs=1, verbose=0)
        self.assertEqual(int(model.generator_optimizer.iterations), 4)
        self.assertEqual(int(model.critic_optimizer.iterations), 4 * 3)


class WganOptimizerTest(tf.test.TestCase):
    """RMSProp steps as the WGAN authors' PyTorch and the WGAN-GP authors' TF 1 take them."""

    def test_steps_are_pytorchs_for_small_and_large_gradients(self):
        from models.wgan import rmsprop

        learning_rate = 5e-5
        for g in (1e-5, 1e-3, 1.0):  # 1e-5: a generator's gradient behind a clipped critic
            variable = keras.Variable(np.zeros(3, np.float32))
            optimizer = rmsprop(learning_rate)
            velocity, expected = 0.0, 0.0
            for _ in range(3):
                optimizer.apply_gradients([(tf.fill([3], g), variable)])
                # torch.optim.RMSprop: v = alpha v + (1 - alpha) g^2; w -= lr g / (sqrt(v) + eps).
                velocity = 0.99 * velocity + 0.01 * g * g
                expected -= learning_rate * g / (np.sqrt(velocity) + 1e-8)
                self.assertAllClose(variable.numpy(), np.full(3, expected), rtol=0.011, msg=g)
            # About 10 lr, 7 lr, 5.8 lr: normalised steps, whatever the gradient's scale.
            self.assertGreater(-expected, 20 * learning_rate)

    def test_steps_are_tensorflow_1s_for_small_and_large_gradients(self):
        from models.wgan import rmsprop

        learning_rate = 5e-5
        for g in (1e-6, 1e-3, 1.0):
            variable = keras.Variable(np.zeros(3, np.float32))
            optimizer = rmsprop(learning_rate, "tf1")
            apply = tf.function(lambda: optimizer.apply_gradients([(tf.fill([3], g), variable)]))
            mean_square, expected = 1.0, 0.0  # tf.compat.v1.train.RMSPropOptimizer's slot: ones
            moved = []
            for step in range(1, 301):
                apply()
                # ms = 0.9 ms + 0.1 g^2; w -= lr g / sqrt(ms + 1e-10).
                mean_square = 0.9 * mean_square + 0.1 * g * g
                expected -= learning_rate * g / np.sqrt(mean_square + 1e-10)
                self.assertAllClose(variable.numpy(), np.full(3, expected), rtol=2e-3, msg=g)
                if step in (60, 300):
                    moved.append(-expected / learning_rate)
            # The mean square's start at 1 fades as 0.9^t, so a step is
            # lr g / sqrt(0.9^t) until 0.9^t nears g^2: a gradient of 1 takes
            # steps of lr at once (60 lr in 60 steps), one of 1e-3 has moved
            # 0.44 lr by step 60 (PyTorch's first step alone is 10 lr). By
            # step 300 (0.9^300 = 2e-14) a gradient of 1e-6 sits at the floor
            # sqrt(1e-10) = 1e-5 of the root, steps of 0.1 lr (Keras' epsilon
            # 1e-7 would give 0.003 lr).
            self.assertAllClose(moved, {1e-6: (4.4e-4, 9.47), 1e-3: (0.44, 182.5),
                                        1.0: (60.0, 300.0)}[g], rtol=0.01)

    def test_a_restored_tf1_optimizer_keeps_its_mean_square_not_the_start(self):
        # The runner compiles (which builds the slots at 1) and then restores.
        from models.wgan import rmsprop

        def built():
            variable = keras.Variable(np.zeros(2, np.float32))
            optimizer = rmsprop(5e-5, "tf1")
            optimizer.build([variable])
            return variable, optimizer

        variable, optimizer = built()
        for _ in range(3):
            optimizer.apply_gradients([(tf.constant([0.5, 2.0]), variable)])
        path = tf.train.Checkpoint(v=variable, o=optimizer).save(
            os.path.join(self.get_temp_dir(), "ckpt"))
        variable_2, optimizer_2 = built()
        self.assertAllEqual(optimizer_2.variables[-1], [1.0, 1.0])
        tf.train.Checkpoint(v=variable_2, o=optimizer_2).restore(path).assert_consumed()
        mean_square = 0.9 ** 3 + (1 - 0.9 ** 3) * np.array([0.25, 4.0])  # g^2 = 0.25, 4
        self.assertAllClose(optimizer_2.variables[-1], mean_square)
        self.assertAllEqual(variable_2, variable)
        # Restored before it is built (deferred restoration: each slot takes
        # its saved value when it is created), it keeps them too.
        variable_3, optimizer_3 = keras.Variable(np.zeros(2, np.float32)), rmsprop(5e-5, "tf1")
        tf.train.Checkpoint(v=variable_3, o=optimizer_3).restore(path)
        optimizer_3.build([variable_3])
        self.assertAllClose(optimizer_3.variables[-1], mean_square)

    def test_an_unknown_flavour_is_refused(self):
        from models.wgan import rmsprop

        with self.assertRaisesRegex(ValueError, "'pytorch' or 'tf1'"):
            rmsprop(5e-5, "keras")


class WeightClippingTest(tf.test.TestCase):

    def test_critic_weights_stay_in_bounds_after_every_critic_update(self):
        c = 0.01
        model = build("wgan")
        self.assertGreater(np.abs(snapshot(model.critic)).max(), c)
        for real in list(toy_batches("8gaussians", 64).take(4)):
            logs = model.critic_step(real)
            weights = snapshot(model.critic)
            self.assertAllInRange(weights, -c, c)
            # The reported fraction is the fraction of weights sitting at +-c.
            self.assertAllClose(logs["clipped_fraction"], np.mean(np.abs(weights) >= c))
        self.assertGreater(float(logs["clipped_fraction"]), 0.5)  # He init is wide

    def test_clipping_inside_compiled_training(self):
        model = build("wgan", jit_compile=True)
        model.fit(real_stacks(model, 3), epochs=1, verbose=0)
        self.assertAllInRange(snapshot(model.critic), -0.01, 0.01)


class GradientPenaltyModelTest(tf.test.TestCase):

    def linear_model(self, w, penalty_weight):
        model = WGANGP(toy_generator(hidden_units=8), linear_critic(w),
                       penalty_weight=penalty_weight)
        model.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
        return model

    def test_reported_penalty_of_a_linear_critic(self):
        # D(x) = w.x: grad = w at every x_hat, so the term is lambda (||w|| - 1)^2.
        model = self.linear_model([3.0, 4.0], penalty_weight=10.0)
        logs = model.critic_step(tf.ones([32, 2]))
        self.assertAllClose(logs["gradient_penalty"], 10.0 * 16.0, rtol=1e-6)
        self.assertAllClose(logs["grad_norm"], 5.0, rtol=1e-6)
        self.assertAllClose(logs["d_loss"], logs["gradient_penalty"] - logs["wasserstein"])

    def test_interpolation_weights_are_per_sample_uniform(self):
        model = self.linear_model([1.0, 0.0], penalty_weight=1.0)
        for shape in ([4096, 2], [4096, 8, 8, 3]):
            eps = model.interpolation_weights(tf.zeros(shape)).numpy()
            self.assertEqual(eps.shape, (shape[0],) + (1,) * (len(shape) - 1))
            self.assertAllInRange(eps, 0.0, 1.0)
            self.assertAllClose(eps.mean(), 0.5, atol=0.02)
            self.assertAllClose(eps.var(), 1.0 / 12.0, atol=0.01)


class ClosedFormStepTest(tf.test.TestCase):
    """One critic update and one generator update of each algorithm, by hand.

    G(z) = b for every z (a Dense layer with zero kernel and bias b), D(x) = w.x,
    every real point r, plain SGD at rate eta: each loss and its gradient have
    a closed form, so the updated w and b are known exactly. This checks the
    wiring the loss tests cannot: the right loss, its sign, the network each
    step moves, the clipping after the update, and that the generator step
    sees the updated critic.
    """

    eta, b, r = 0.1, np.array([0.5, -1.0]), np.array([2.0, 1.0])

    def step(self, model_class, w, **kwargs):
        generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(
            2, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(self.b))])
        critic = linear_critic(w)
        model = model_class(generator, critic, seed=0, **kwargs)
        model.compile(keras.optimizers.SGD(self.eta), keras.optimizers.SGD(self.eta))
        critic_logs = model.critic_step(tf.constant(np.tile(self.r, [16, 1]), tf.float32))
        w_new = critic.layers[0].kernel.numpy().ravel()
        generator_logs = model.generator_step(16)
        b_new = generator.layers[0].bias.numpy()
        return critic_logs, w_new, generator_logs, b_new

    def test_wgan(self):
        # d_loss = w.b - w.r: w <- w + eta (r - b), then clipped to [-c, c].
        w = np.array([0.3, -0.2])
        logs, w_new, g_logs, b_new = self.step(WGAN, w, clip_value=10.0, n_critic=1)
        self.assertAllClose(w_new, w + self.eta * (self.r - self.b), rtol=1e-6)
        self.assertAllClose(logs["wasserstein"], w @ self.r - w @ self.b, rtol=1e-6)
        # g_loss = -w'.b: b <- b + eta w'.
        self.assertAllClose(g_logs["g_loss"], -w_new @ self.b, rtol=1e-6)
        self.assertAllClose(b_new, self.b + self.eta * w_new, rtol=1e-6)
        # With c = 0.1 the update lands outside the box and is clipped back.
        _, w_clipped, _, _ = self.step(WGAN, w, clip_value=0.1, n_critic=1)
        self.assertAllClose(w_clipped, np.clip(w + self.eta * (self.r - self.b), -0.1, 0.1))

    def test_wgan_gp(self):
        # grad_x D = w everywhere: d_loss = w.b - w.r + lambda (|w| - 1)^2, so
        # w <- w - eta [(b - r) + 2 lambda (|w| - 1) w / |w|].
        w, lam = np.array([3.0, 4.0]), 0.5
        logs, w_new, g_logs, b_new = self.step(WGANGP, w, penalty_weight=lam, n_critic=1)
        norm = np.linalg.norm(w)
        expected = w - self.eta * ((self.b - self.r) + 2 * lam * (norm - 1) * w / norm)
        self.assertAllClose(w_new, expected, rtol=1e-6)
        self.assertAllClose(logs["gradient_penalty"], lam * (norm - 1) ** 2, rtol=1e-6)
        self.assertAllClose(b_new, self.b + self.eta * w_new, rtol=1e-6)
        self.assertAllClose(g_logs["g_loss"], -w_new @ self.b, rtol=1e-6)
        # One-sided, |w| = 0.5 < 1: no penalty, the plain Wasserstein step.
        w = np.array([0.3, 0.4])
        logs, w_new, _, _ = self.step(WGANGP, w, penalty_weight=lam, n_critic=1,
                                      one_sided=True)
        self.assertAllClose(logs["gradient_penalty"], 0.0)
        self.assertAllClose(w_new, w - self.eta * (self.b - self.r), rtol=1e-6)

    def test_gan(self):
        # d_loss = softplus(-w.r) + softplus(w.b):
        # w <- w - eta [-sigmoid(-w.r) r + sigmoid(w.b) b].
        def sigmoid(x):
            return 1.0 / (1.0 + np.exp(-x))

        w = np.array([-1.0, 2.0])  # w.b = -2.5: D rejects the fakes
        for loss in ("non_saturating", "minimax"):
            logs, w_new, g_logs, b_new = self.step(GAN, w, generator_loss=loss)
            expected = w - self.eta * (-sigmoid(-w @ self.r) * self.r
                                       + sigmoid(w @ self.b) * self.b)
            self.assertAllClose(w_new, expected, rtol=1e-6, msg=loss)
            self.assertAllClose(logs["d_loss"], np.logaddexp(0, -w @ self.r)
                                + np.logaddexp(0, w @ self.b), rtol=1e-6, msg=loss)
            # -log D(G(z)): b <- b + eta sigmoid(-w'.b) w'; log(1 - D(G(z))):
            # b <- b + eta sigmoid(w'.b) w', the step that vanishes when D wins.
            logit = w_new @ self.b
            gain = sigmoid(-logit) if loss == "non_saturating" else sigmoid(logit)
            self.assertAllClose(b_new, self.b + self.eta * gain * w_new, rtol=1e-5, msg=loss)
            g_loss = np.logaddexp(0, -logit) if loss == "non_saturating" else -np.logaddexp(0, logit)
            self.assertAllClose(g_logs["g_loss"], g_loss, rtol=1e-6, msg=loss)


class WassersteinSignTest(tf.test.TestCase):
    """-critic loss estimates W1: positive, and shrinking as the distributions meet."""

    def test_estimate_tracks_the_distance_between_two_gaussians(self):
        estimates = {}
        for shift in (4.0, 2.0, 1.0):
            # A generator that ignores its weights: N(0, 0.1^2) shifted by (shift, 0).
            latent = keras.Input((2,))
            moved = keras.layers.Lambda(lambda z, s=shift: 0.1 * z + [s, 0.0])(latent)
            generator = keras.Model(latent, moved)
            keras.utils.set_random_seed(0)
            model = WGANGP(generator, toy_critic(hidden_units=64), penalty_weight=10.0,
                           seed=0)
            model.compile(keras.optimizers.Adam(), keras.optimizers.Adam(1e-3, 0.5, 0.9))
            step = tf.function(model.critic_step)
            real = tf.random.stateless_normal([300, 256, 2], seed=[1, 1]) * 0.1
            for batch in real:
                logs = step(batch)
            estimates[shift] = float(logs["wasserstein"])
        # The true W1 between the two is exactly the shift.
        self.assertGreater(estimates[1.0], 0.0)
        self.assertGreater(estimates[2.0], estimates[1.0])
        self.assertGreater(estimates[4.0], estimates[2.0])
        for shift, estimate in estimates.items():
            self.assertAllClose(estimate, shift, rtol=0.25, msg=f"shift {shift}")


class ExecutionModeTest(tf.test.TestCase):
    """The same seed gives the same numbers in eager mode, graph mode and under XLA."""

    MODES = {"eager": dict(run_eagerly=True), "graph": dict(jit_compile=False),
             "xla": dict(jit_compile=True)}

    @classmethod
    def train(cls, name, mode, seed=0):
        """Two iterations of `name` in `mode`: (history, every weight, 8 samples)."""
        model = build(name, seed=seed, **cls.MODES[mode])
        history = model.fit(real_stacks(model, 2, seed=seed), epochs=1, verbose=0).history
        return (history, np.concatenate([snapshot(model.generator), snapshot(model.critic)]),
                model.generate(8).numpy())

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Run once, shared by both tests: XLA's compiles are most of their time.
        cls.runs = {(name, mode): cls.train(name, mode) for name in MODELS for mode in cls.MODES}

    def test_modes_agree(self):
        for name in MODELS:
            eager_history, eager_weights, eager_samples = self.runs[name, "eager"]
            for mode in ("graph", "xla"):
                history, weights, samples = self.runs[name, mode]
                for key, values in eager_history.items():
                    self.assertAllClose(values, history[key], rtol=1e-4, atol=1e-5,
                                        msg=f"{name} {mode} {key}")
                self.assertAllClose(eager_weights, weights, rtol=1e-4, atol=1e-5,
                                    msg=f"{name} {mode} weights")
                self.assertAllClose(eager_samples, samples, rtol=1e-4, atol=1e-5)

    def test_same_seed_same_run_different_seed_different_run(self):
        # The repeat under XLA, bit for bit (the toy default); the other seed
        # in graph mode, which differs far more than float rounding could.
        first, first_weights, _ = self.runs["wgan_gp", "xla"]
        again, again_weights, _ = self.train("wgan_gp", "xla")
        self.assertAllEqual(first["d_loss"], again["d_loss"])
        self.assertAllEqual(first_weights, again_weights)
        other, _, _ = self.train("wgan_gp", "graph", seed=2)
        self.assertNotAllClose(self.runs["wgan_gp", "graph"][0]["d_loss"], other["d_loss"])


class IterationsPerStepTest(tf.test.TestCase):
    """k generator iterations per train step: the numbers of k steps, every iteration's metrics."""

    def test_three_per_step_equals_one_per_step(self):
        # Graph mode: ExecutionModeTest shows that eager, graph and XLA agree,
        # and test_clipping_holds_inside_the_loop runs the loop under XLA. (Six
        # XLA compiles made this the suite's slowest in-process test.)
        for name in MODELS:
            runs = {}
            for k in (1, 3):
                model = build(name, hidden_units=8, jit_compile=False,
                              iterations_per_step=k)
                rows = []
                record = keras.callbacks.LambdaCallback(
                    on_train_batch_end=lambda batch, logs, rows=rows: rows.append(
                        {n: np.reshape(v, [-1]) for n, v in logs.items()}))
                history = model.fit(real_stacks(model, 6 // k), epochs=1, verbose=0,
                                    callbacks=[record]).history
                per_iteration = {n: np.concatenate([row[n] for row in rows])
                                 for n in rows[0]}
                runs[k] = (per_iteration, history, np.concatenate(
                    [snapshot(model.generator), snapshot(model.critic)]),
                    int(model.generator_optimizer.iterations),
                    int(model.critic_optimizer.iterations))
            (one, one_history, one_weights, *one_counts) = runs[1]
            (three, three_history, three_weights, *three_counts) = runs[3]
            msg = name
            self.assertEqual(sorted(three), sorted(model.metric_names), msg=msg)
            for metric in one:
                self.assertLen(three[metric], 6, msg=msg)  # one value per iteration
                self.assertAllClose(one[metric], three[metric], rtol=1e-5, atol=1e-6,
                                    msg=f"{msg} {metric}")
                # The epoch's mean is over iterations, however they were grouped.
                self.assertAllClose(one_history[metric], three_history[metric],
                                    rtol=1e-5, atol=1e-6, msg=f"{msg} {metric}")
            self.assertAllClose(one_weights, three_weights, rtol=1e-5, atol=1e-6, msg=msg)
            self.assertEqual(one_counts, three_counts, msg=msg)
            self.assertEqual(three_counts[0], 6, msg=msg)

    def test_clipping_holds_inside_the_loop(self):
        model = build("wgan", jit_compile=True, iterations_per_step=3)
        model.fit(real_stacks(model, 2), epochs=1, verbose=0)
        for v in model.critic.trainable_variables:
            self.assertAllInRange(v.numpy(), -model.clip_value, model.clip_value)

    def test_bad_values_raise(self):
        with self.assertRaisesRegex(ValueError, "at least 1"):
            build("gan", iterations_per_step=0)
        with self.assertRaisesRegex(ValueError, "fixed number of critic updates"):
            keras.utils.set_random_seed(0)
            model = WGAN(toy_generator(hidden_units=8), toy_critic(hidden_units=8),
                         authors_schedule=True)
            model.compile(keras.optimizers.RMSprop(), keras.optimizers.RMSprop(),
                          iterations_per_step=2)


class SamplingAndSavingTest(tf.test.TestCase):

    def test_generate_and_keras_format_round_trip(self):
        model = build("wgan_gp")
        samples = model.generate(10)
        self.assertEqual(samples.shape, (10, 2))
        latent = model.sample_latent(10)
        path = os.path.join(self.get_temp_dir(), "generator.keras")
        model.generator.save(path)
        restored = keras.saving.load_model(path)
        self.assertAllEqual(model.generator(latent), restored(latent))

    def test_uniform_latent_for_dcgan(self):
        keras.utils.set_random_seed(0)
        model = GAN(toy_generator(latent_dim=100), toy_critic(), latent_distribution="uniform")
        z = model.sample_latent(5000).numpy()
        self.assertEqual(z.shape, (5000, 100))
        self.assertAllInRange(z, -1.0, 1.0)
        self.assertAllClose(z.var(), 1.0 / 3.0, atol=0.01)

    def test_bad_arguments_raise(self):
        g, d = toy_generator(hidden_units=4), toy_critic(hidden_units=4)
        for make in (lambda: WGANGP(g, d, n_critic=0), lambda: WGANGP(g, d, penalty_weight=-1),
                     lambda: WGAN(g, d, clip_value=0), lambda: GAN(g, d, generator_loss="x"),
                     lambda: GAN(g, d, latent_distribution="cauchy")):
            with self.assertRaises(ValueError):
                make()


class ModeCaptureTest(tf.test.TestCase):

    def test_short_wgan_gp_run_captures_the_8_modes(self):
        # The authors' toy recipe (Adam 1e-4, betas 0.5/0.9, lambda 0.1, 5 critic
        # updates, batch 256) with 128-unit MLPs, for 1000 generator iterations.
        keras.utils.set_random_seed(0)
        model = WGANGP(toy_generator(hidden_units=128), toy_critic(hidden_units=128),
                       penalty_weight=0.1, n_critic=5, seed=0)
        adam = lambda: keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)
        # Under XLA, as the runner trains toy data: 54 s of CPU here against 64 s
        # in graph mode (Keras' own auto), and 8 modes either way (measured).
        model.compile(adam(), adam(), jit_compile=True)
        model.fit(model.critic_batches(toy_batches("8gaussians", 256)),
                  steps_per_epoch=1000, epochs=1, verbose=0)
        coverage = mode_coverage(model.generate(2500).numpy(), mode_centers("8gaussians"),
                                 mode_std("8gaussians"))
        self.assertGreaterEqual(coverage.modes_captured, 7)
