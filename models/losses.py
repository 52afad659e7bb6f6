"""Losses and the gradient penalty, each a pure function of tensors.

Sign conventions: every function returns a quantity to *minimise*. Scores are
raw critic outputs (logits for the GAN discriminator), one per sample.
"""

import tensorflow as tf

# Inside the square root of the gradient norm so that a zero gradient gives a
# finite derivative; 1e-12 is below float32 resolution for norms near 1.
_NORM_EPSILON = 1e-12


def gan_discriminator_loss(real_logits, fake_logits):
    """Negated GAN value V(D, G) (Goodfellow et al. 2014, Eq. 1).

    -E[log D(x)] - E[log(1 - D(G(z)))] with D = sigmoid(logits), computed as
    sigmoid cross-entropy on logits (softplus form, stable for large logits).
    """
    return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(
        tf.nn.softplus(fake_logits))


def gan_minimax_generator_loss(fake_logits):
    """E[log(1 - D(G(z)))], the generator's side of Eq. 1; saturates when D wins."""
    return -tf.reduce_mean(tf.nn.softplus(fake_logits))


def gan_non_saturating_generator_loss(fake_logits):
    """-E[log D(G(z))], the heuristic of Goodfellow et al. 2014, Section 3."""
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def js_divergence_estimate(discriminator_loss):
    """JSD(p_data || p_g) implied by a discriminator loss (Goodfellow et al. 2014, Thm. 1).

    At the optimal D, V(D*, G) = -log 4 + 2 JSD, and the loss is -V, so
    JSD = (log 4 - loss) / 2: log 2 when the supports are disjoint, 0 at p_g = p_data.
    """
    return 0.5 * (tf.math.log(4.0) - discriminator_loss)


def wasserstein_critic_loss(real_scores, fake_scores):
    """E[f(G(z))] - E[f(x)] (Arjovsky et al. 2017, Algorithm 1); its negation estimates W."""
    return tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores)


def wasserstein_generator_loss(fake_scores):
    """-E[f(G(z))] (Arjovsky et al. 2017, Algorithm 1)."""
    return -tf.reduce_mean(fake_scores)


def interpolate(real, fake, epsilon):
    """x_hat = eps * x + (1 - eps) * x_tilde (Gulrajani et al. 2017, Algorithm 1, line 6).

    `epsilon` has shape [batch, 1, ..., 1]: one draw per sample, broadcast over
    the sample's other axes.
    """
    return epsilon * real + (1.0 - epsilon) * fake


def gradient_penalty(critic, x_hat, one_sided=False, scale=None):
    """E[(||grad D(x_hat)||_2 - 1)^2] (Gulrajani et al. 2017, Eq. 3), without lambda.

    The norm is taken over every non-batch axis, so the same function serves 2-D
    points and images. `one_sided=True` penalises only norms above 1
    (max(0, ||g|| - 1)^2, the variant of the paper's Appendix C). The gradient
    of the summed scores gives each sample's own gradient because the critic
    has no cross-sample terms (which is why WGAN-GP critics have no BatchNorm).
    Record this under an outer `tf.GradientTape` to differentiate the penalty
    with respect to the critic's weights (double backpropagation).

    Mixed precision: pass `x_hat` in float32 and, for float16, the loss scale
    as `scale`. The critic computes in float16, and so does the backward pass
    that forms the inner gradient; its seed is 1 per sample, not the outer loss
    scale, so small per-pixel gradients (about 1/sqrt(pixels) when the norm is
    near 1, and smaller inside the network) could flush to zero. The scores
    are therefore multiplied by `scale` before differentiating and the
    gradient divided by it in float32 (as PyTorch's AMP recipe for gradient
    penalties does). An overflow then gives a non-finite penalty, and the
    loss-scale optimizer skips the step and halves the scale. The norm and the
    penalty are computed in float32.

    Returns:
      (penalty, norms): the scalar mean penalty and the per-sample norms.
    """
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat, training=True)
        if scale is not None:
            scores = tf.cast(scores, tf.float32) * tf.cast(scale, tf.float32)
    gradients = tape.gradient(scores, x_hat)
    if scale is not None:
        gradients = tf.cast(gradients, tf.float32) / tf.cast(scale, tf.float32)
    norms = tf.sqrt(
        tf.reduce_sum(tf.square(gradients), axis=tf.range(1, tf.rank(gradients)))
        + _NORM_EPSILON)
    excess = norms - 1.0
    if one_sided:
        excess = tf.nn.relu(excess)
    return tf.reduce_mean(tf.square(excess)), norms
