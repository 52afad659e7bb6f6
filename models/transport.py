"""Discriminator Optimal Transport (Tanaka 2019): better samples from a trained critic.

A WGAN critic D is (up to its Lipschitz constant K) the Kantorovich potential
of the transport from the generator's distribution to the data's. Tanaka's
target-space DOT (NeurIPS 2019, Algorithm 1; AkinoriTanaka-phys/DOT,
`Transporter_in_target`) moves each generated sample y to

    x* = argmin_x  ||x - y||_2 - D(x) / K,

by gradient steps from x = y. Where D rises faster than the distance, the
sample moves up the critic towards the data; it stops where moving further
costs more distance than it gains critic value. It is a sampler, not
training: the generator is unchanged, and its numbers are reported apart
from the raw generator's.
"""

import keras
import tensorflow as tf

# Tanaka's code adds 0.001 to x - y inside the norm: at the start x = y, where
# the norm has no gradient.
NORM_OFFSET = 1e-3


def transport_cost(x, y, scores, lipschitz):
    """||x - y + 0.001||_2 - D(x) / K per sample (Tanaka 2019, Eq. 8; the offset as in his code)."""
    distance = tf.norm(tf.reshape(x - y + NORM_OFFSET, [tf.shape(x)[0], -1]), axis=1)
    return distance - tf.reshape(scores, [-1]) / lipschitz


def effective_lipschitz(critic, samples, pairs=100, trials=10, seed=0):
    """K_eff: the mean over `trials` of max |D(x1) - D(x2)| / ||x1 - x2|| over `pairs` random pairs.

    Tanaka's `eff_K` on generated samples, averaged over trials as in his
    2-D demo. For a WGAN-GP critic it is near 1.
    """
    samples = tf.convert_to_tensor(samples, tf.float32)
    n = tf.shape(samples)[0]
    estimates = []
    for trial in range(trials):
        index = tf.random.stateless_uniform([2, pairs], [seed, trial], 0, n, tf.int32)
        x1, x2 = tf.gather(samples, index[0]), tf.gather(samples, index[1])
        rise = tf.abs(tf.reshape(critic(x1, training=False) - critic(x2, training=False), [-1]))
        run = tf.norm(tf.reshape(x1 - x2, [pairs, -1]), axis=1)
        ratio = tf.where(run > 0, rise / tf.maximum(run, 1e-12), 0.0)
        estimates.append(tf.reduce_max(tf.cast(ratio, tf.float32)))
    return float(tf.reduce_mean(estimates))


def transport(critic, samples, lipschitz, steps=100, learning_rate=0.01):
    """Move `samples` (y) by `steps` Adam steps on `transport_cost`; returns x, float32.

    Adam(learning_rate, beta_1 0, beta_2 0.9) for 100 steps at 0.01: the
    settings of Tanaka's 2-D demo (demo_2d.ipynb). His demo also clips x to
    [-2, 2], a bound of his data; no clipping here.
    """
    y = tf.convert_to_tensor(samples, tf.float32)
    x = keras.Variable(y, trainable=True, name="transported")
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.0, beta_2=0.9)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            # Each sample's cost depends on that sample only: the gradient of
            # the sum is every sample's own gradient.
            cost = tf.reduce_sum(transport_cost(
                x, y, tf.cast(critic(x.value, training=False), tf.float32), lipschitz))
        optimizer.apply_gradients([(tape.gradient(cost, x.value), x)])

    for _ in range(steps):
        step()
    return tf.convert_to_tensor(x.value)


def refine(critic, samples, steps=100, seed=0):
    """DOT as a sampler: K_eff estimated on `samples` (pairs drawn from `seed`), then `steps`
    transport steps with it; returns (the moved samples as float32 NumPy, K_eff)."""
    lipschitz = effective_lipschitz(critic, samples, seed=seed)
    return transport(critic, samples, lipschitz, steps).numpy(), lipschitz
