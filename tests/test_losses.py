"""Closed-form checks of the losses and the gradient penalty (models/losses.py)."""

import math

import numpy as np
import tensorflow as tf

from models import losses


def linear_critic(w):
    """D(x) = <w, x> summed over every non-batch axis: its gradient is w everywhere."""
    w = tf.constant(w, tf.float32)
    return lambda x, training=False: tf.reduce_sum(x * w, axis=tf.range(1, tf.rank(x)))


class GradientPenaltyTest(tf.test.TestCase):

    def test_linear_critic_on_points(self):
        w = np.array([3.0, 4.0])  # ||w|| = 5
        x_hat = tf.random.stateless_normal([16, 2], seed=[1, 2])
        penalty, norms = losses.gradient_penalty(linear_critic(w), x_hat)
        self.assertAllClose(norms, np.full(16, 5.0), rtol=1e-6)
        self.assertAllClose(penalty, (5.0 - 1.0) ** 2, rtol=1e-6)

    def test_linear_critic_on_images(self):
        # The norm runs over H, W and C: one function for points and images.
        w = tf.random.stateless_normal([8, 8, 3], seed=[3, 4]).numpy()
        x_hat = tf.random.stateless_normal([4, 8, 8, 3], seed=[5, 6])
        penalty, norms = losses.gradient_penalty(linear_critic(w), x_hat)
        w_norm = np.linalg.norm(w.ravel())
        self.assertAllClose(norms, np.full(4, w_norm), rtol=1e-5)
        self.assertAllClose(penalty, (w_norm - 1.0) ** 2, rtol=1e-5)

    def test_unit_gradient_has_no_penalty(self):
        penalty, _ = losses.gradient_penalty(linear_critic([0.6, 0.8]),
                                             tf.ones([5, 2]))
        self.assertAllClose(penalty, 0.0, atol=1e-12)

    def test_one_sided_penalises_only_norms_above_one(self):
        x_hat = tf.ones([3, 2])
        small, _ = losses.gradient_penalty(linear_critic([0.3, 0.4]), x_hat, one_sided=True)
        large, _ = losses.gradient_penalty(linear_critic([3.0, 4.0]), x_hat, one_sided=True)
        two_sided, _ = losses.gradient_penalty(linear_critic([0.3, 0.4]), x_hat)
        self.assertEqual(float(small), 0.0)
        self.assertAllClose(large, 16.0)
        self.assertAllClose(two_sided, 0.25)  # (0.5 - 1)^2

    def test_zero_gradient_gives_finite_penalty_and_gradients(self):
        # A critic that ignores its input: ||grad|| = 0, where sqrt'(0) is infinite
        # without the epsilon inside the root.
        scale = tf.Variable(2.0)
        critic = lambda x, training=False: scale * tf.reduce_sum(0.0 * x, axis=1)
        with tf.GradientTape() as tape:
            penalty, norms = losses.gradient_penalty(critic, tf.ones([4, 2]))
        grad = tape.gradient(penalty, scale)
        self.assertAllClose(penalty, 1.0, atol=1e-5)
        self.assertAllLess(norms, 1e-5)
        self.assertTrue(np.isfinite(grad.numpy()))

    def test_penalty_is_differentiable_with_respect_to_the_weights(self):
        # D(x) = a * <u, x> with ||u|| = 1: penalty (|a| - 1)^2, d/da = 2 (a - 1) for a > 0.
        a = tf.Variable(3.0)
        critic = lambda x, training=False: a * tf.reduce_sum(x * [0.6, 0.8], axis=1)
        with tf.GradientTape() as tape:
            penalty, _ = losses.gradient_penalty(critic, tf.ones([4, 2]))
        self.assertAllClose(tape.gradient(penalty, a), 2 * (3.0 - 1.0), rtol=1e-5)

    def test_interpolate_endpoints_and_per_sample_weights(self):
        real = tf.fill([3, 2, 2, 1], 1.0)
        fake = tf.fill([3, 2, 2, 1], -1.0)
        eps = tf.reshape([0.0, 0.5, 1.0], [3, 1, 1, 1])
        x_hat = losses.interpolate(real, fake, eps).numpy()
        self.assertAllEqual(x_hat[0], np.full([2, 2, 1], -1.0))  # eps = 0: the fake
        self.assertAllEqual(x_hat[1], np.zeros([2, 2, 1]))
        self.assertAllEqual(x_hat[2], np.full([2, 2, 1], 1.0))  # eps = 1: the real


class AdversarialLossTest(tf.test.TestCase):

    def test_gan_losses_at_an_undecided_discriminator(self):
        zero = tf.zeros([7])
        # D = 1/2 everywhere: V = 2 log(1/2) = -log 4, and JSD estimate 0.
        self.assertAllClose(losses.gan_discriminator_loss(zero, zero), math.log(4.0))
        self.assertAllClose(losses.js_divergence_estimate(math.log(4.0)), 0.0)
        self.assertAllClose(losses.gan_minimax_generator_loss(zero), -math.log(2.0))
        self.assertAllClose(losses.gan_non_saturating_generator_loss(zero), math.log(2.0))

    def test_perfect_discriminator_gives_js_of_log_2(self):
        loss = losses.gan_discriminator_loss(tf.fill([5], 40.0), tf.fill([5], -40.0))
        self.assertAllClose(loss, 0.0, atol=1e-12)
        self.assertAllClose(losses.js_divergence_estimate(loss), math.log(2.0))

    def test_minimax_saturates_where_non_saturating_does_not(self):
        # Goodfellow et al. 2014, Section 3: when D rejects the samples
        # (logit l << 0), d/dl log(1 - sigmoid(l)) = -sigmoid(l) -> 0, while
        # d/dl -log sigmoid(l) = -(1 - sigmoid(l)) -> -1.
        logits = tf.Variable(tf.fill([4], -10.0))
        with tf.GradientTape(persistent=True) as tape:
            minimax = losses.gan_minimax_generator_loss(logits)
            non_saturating = losses.gan_non_saturating_generator_loss(logits)
        sigmoid = 1.0 / (1.0 + math.exp(10.0))
        self.assertAllClose(tape.gradient(minimax, logits), np.full(4, -sigmoid / 4))
        self.assertAllClose(tape.gradient(non_saturating, logits),
                            np.full(4, -(1 - sigmoid) / 4))

    def test_wasserstein_losses(self):
        real = tf.constant([1.0, 2.0, 3.0])
        fake = tf.constant([-1.0, 0.0])
        self.assertAllClose(losses.wasserstein_critic_loss(real, fake), -0.5 - 2.0)
        self.assertAllClose(losses.wasserstein_generator_loss(fake), 0.5)
