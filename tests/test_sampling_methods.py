"""Methods that improve samples without changing training: the generator's weight average
(Yazici et al. 2019) and discriminator optimal transport (Tanaka 2019)."""

import keras
import numpy as np
import tensorflow as tf

from data.toy import toy_batches
from models import WGANGP, transport
from models.networks import toy_critic, toy_generator


def build(ema_decay, seed=0, **compile_kwargs):
    keras.utils.set_random_seed(seed)
    model = WGANGP(toy_generator(hidden_units=16), toy_critic(hidden_units=16), n_critic=2,
                   seed=seed, ema_decay=ema_decay)
    model.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), **compile_kwargs)
    return model


def weights(network):
    return [w.numpy().copy() for w in network.weights]


class GeneratorAverageTest(tf.test.TestCase):

    def test_the_average_is_the_hand_computed_exponential_average(self):
        # a_0 = w_0, a_t = beta a_{t-1} + (1 - beta) w_t after generator update t.
        beta = 0.75
        model = build(beta)
        history = [weights(model.generator)]

        class Record(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                history.append(weights(model.generator))

        model.fit(model.critic_batches(toy_batches("8gaussians", 32)), steps_per_epoch=4,
                  epochs=1, verbose=0, callbacks=[Record()])
        expected = history[0]
        for step in history[1:]:
            expected = [beta * a + (1 - beta) * w for a, w in zip(expected, step)]
        for average, value in zip(weights(model.averaged_generator), expected):
            self.assertAllClose(average, value, rtol=1e-5, atol=1e-6)
        # The raw generator moved on; the average lags behind it.
        self.assertNotAllClose(weights(model.generator)[0], expected[0])

    def test_the_average_changes_no_training_number(self):
        # Same seed with and without the average: the same weights after training.
        runs = []
        for ema_decay in (None, 0.9):  # graph mode: XLA is the next test's
            model = build(ema_decay, jit_compile=False)
            model.fit(model.critic_batches(toy_batches("8gaussians", 32)), steps_per_epoch=3,
                      epochs=1, verbose=0)
            runs.append(weights(model.generator) + weights(model.critic))
        for without, with_average in zip(*runs):
            self.assertAllClose(without, with_average, rtol=1e-6, atol=1e-7)

    def test_the_average_agrees_eager_xla_and_three_iterations_per_step(self):
        averages = []
        for compiled in (dict(run_eagerly=True), dict(jit_compile=True),
                         dict(jit_compile=True, iterations_per_step=3)):
            model = build(0.9, **compiled)
            model.fit(model.critic_batches(toy_batches("8gaussians", 32)),
                      steps_per_epoch=6 // model.iterations_per_step, epochs=1, verbose=0)
            averages.append(np.concatenate([w.ravel() for w in
                                            weights(model.averaged_generator)]))
        for other in averages[1:]:
            self.assertAllClose(averages[0], other, rtol=1e-5, atol=1e-6)

    def test_the_average_is_in_the_checkpoint(self):
        model = build(0.5)
        model.fit(model.critic_batches(toy_batches("8gaussians", 32)), steps_per_epoch=2,
                  epochs=1, verbose=0)
        path = tf.train.Checkpoint(model=model).save(self.get_temp_dir() + "/ckpt")
        restored = build(0.5, seed=1)
        tf.train.Checkpoint(model=restored).restore(path).assert_existing_objects_matched()
        for a, b in zip(weights(model.averaged_generator), weights(restored.averaged_generator)):
            self.assertAllEqual(a, b)

    def test_bad_decay_and_missing_average(self):
        for decay in (0.0, 1.0, -0.5):
            with self.assertRaisesRegex(ValueError, "ema_decay"):
                build(decay)
        with self.assertRaisesRegex(ValueError, "ema_decay"):
            build(None).generate(4, averaged=True)


def quadratic_critic(center):
    """D(x) = -||x - c||^2 / 2."""
    center = tf.constant(center, tf.float32)

    def critic(x, training=False):
        return -0.5 * tf.reduce_sum((x - center) ** 2, axis=1, keepdims=True)

    return critic


class DiscriminatorOptimalTransportTest(tf.test.TestCase):

    def test_samples_move_to_the_known_optimum_of_a_quadratic_critic(self):
        # argmin_x ||x - y|| + ||x - c||^2 / 2 (K = 1): on the segment from c to
        # y, t = ||x - c||, the cost is (d - t) + t^2 / 2 for d = ||y - c||, so
        # x* lies at distance 1 from c when d > 1, and x* = y when d <= 1.
        center = np.array([0.5, -1.0], np.float32)
        rng = np.random.default_rng(0)
        directions = rng.normal(size=(40, 2))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        far, near = center + 3.0 * directions, center + 0.5 * directions
        moved = transport.transport(quadratic_critic(center),
                                    np.concatenate([far, near]).astype(np.float32), 1.0,
                                    steps=400, learning_rate=0.02).numpy()
        distance = np.linalg.norm(moved - center, axis=1)
        self.assertAllClose(distance[:40], np.ones(40), atol=0.02)
        # Along the line from c to y, not anywhere on the circle.
        self.assertAllClose((moved[:40] - center) / distance[:40, None], directions, atol=0.02)
        # Adam's steps of about 0.02 jitter round the kink at x = y.
        self.assertAllClose(moved[40:], near, atol=0.05)

    def test_cost_is_distance_minus_scaled_critic(self):
        x = tf.constant([[3.0, 4.0], [1.0, 1.0]])
        y = tf.zeros((2, 2)) + transport.NORM_OFFSET
        cost = transport.transport_cost(x, y, tf.constant([[2.0], [-1.0]]), lipschitz=2.0)
        # ||x - y + 0.001|| = ||x||: 5 and sqrt 2; minus D / 2.
        self.assertAllClose(cost, [5.0 - 1.0, np.sqrt(2.0) + 0.5])

    def test_refine_transports_with_the_k_eff_of_its_own_seed(self):
        samples = np.random.default_rng(2).normal(size=(200, 2)).astype(np.float32)
        critic = quadratic_critic(np.zeros(2, np.float32))
        refined, k = transport.refine(critic, samples, steps=5, seed=4)
        self.assertEqual(k, transport.effective_lipschitz(critic, samples, seed=4))
        self.assertNotEqual(k, transport.effective_lipschitz(critic, samples, seed=5))
        self.assertAllEqual(refined, transport.transport(critic, samples, k, 5))

    def test_effective_lipschitz_of_a_linear_critic_is_its_slope(self):
        # D(x) = 3 x_1: |D(x1) - D(x2)| / ||x1 - x2|| <= 3, near 3 for some of 100 pairs.
        samples = np.random.default_rng(1).normal(size=(500, 2)).astype(np.float32)
        k = transport.effective_lipschitz(lambda x, training=False: 3.0 * x[:, :1], samples)
        self.assertBetween(k, 2.9, 3.0 + 1e-5)


if __name__ == "__main__":
    tf.test.main()
