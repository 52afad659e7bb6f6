"""WGAN with gradient penalty (Gulrajani et al. 2017)."""

import tensorflow as tf

from models import losses, random
from models.base import AdversarialModel


class WGANGP(AdversarialModel):
    """Algorithm 1 of the WGAN-GP paper.

    Critic loss D(x_tilde) - D(x) + lambda * (||grad D(x_hat)||_2 - 1)^2, with
    x_hat = eps * x + (1 - eps) * x_tilde and eps ~ U[0, 1] drawn per sample.
    The critic must have no BatchNorm (the penalty is per sample).

    Args:
      penalty_weight: lambda (10 in the paper; the authors' toy code uses 0.1).
      n_critic: critic updates per generator update (5 in the paper).
      one_sided: penalise only gradient norms above 1.
    """

    metric_names = ("d_loss", "g_loss", "wasserstein", "gradient_penalty",
                    "grad_norm")

    def __init__(self, generator, critic, penalty_weight=10.0, n_critic=5,
                 one_sided=False, **kwargs):
        if not penalty_weight >= 0:
            raise ValueError(f"penalty_weight must be >= 0, got {penalty_weight}")
        super().__init__(generator, critic, n_critic=n_critic, **kwargs)
        self.penalty_weight = float(penalty_weight)
        self.one_sided = bool(one_sided)

    def interpolation_weights(self, real):
        """eps ~ U[0, 1], one per sample, shaped [batch, 1, ..., 1] to broadcast over `real`."""
        shape = tf.concat([tf.shape(real)[:1], tf.ones_like(tf.shape(real)[1:])], 0)
        return random.uniform(shape, self.seed_generator, real.dtype)

    def critic_step(self, real):
        fake = self.generator(self.sample_latent(tf.shape(real)[0]), training=True)
        # In float32 under mixed precision too (the critic casts its inputs).
        fake = tf.cast(fake, real.dtype)
        x_hat = losses.interpolate(real, fake, self.interpolation_weights(real))
        with tf.GradientTape() as tape:
            wasserstein = -losses.wasserstein_critic_loss(self.score(real), self.score(fake))
            penalty, norms = losses.gradient_penalty(
                self.critic, x_hat, self.one_sided,
                scale=self.loss_scale(self.critic_optimizer))
            penalty = self.penalty_weight * penalty
            d_loss = penalty - wasserstein
            objective = self.objective(d_loss, self.critic_optimizer)
        self.apply_loss(tape, objective, self.critic, self.critic_optimizer)
        return {"d_loss": d_loss, "wasserstein": wasserstein,
                "gradient_penalty": penalty, "grad_norm": tf.reduce_mean(norms)}

    def generator_loss(self, fake_scores):
        return losses.wasserstein_generator_loss(fake_scores)
