"""The original GAN (Goodfellow et al. 2014), trained as in its Algorithm 1."""

import tensorflow as tf

from models import losses
from models.base import AdversarialModel

GENERATOR_LOSSES = {
    "non_saturating": losses.gan_non_saturating_generator_loss,
    "minimax": losses.gan_minimax_generator_loss,
}


class GAN(AdversarialModel):
    """Discriminator trained by sigmoid cross-entropy on logits; k steps per generator step.

    Args:
      generator, discriminator: Keras models; the discriminator outputs logits.
      generator_loss: "non_saturating" (maximise log D(G(z)), the paper's
        practical choice) or "minimax" (minimise log(1 - D(G(z))), Eq. 1).
      discriminator_steps: k of Algorithm 1 (the paper uses k = 1).
    """

    metric_names = ("d_loss", "g_loss", "js_estimate")

    def __init__(self, generator, discriminator, generator_loss="non_saturating",
                 discriminator_steps=1, **kwargs):
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"generator_loss must be one of "
                             f"{sorted(GENERATOR_LOSSES)}, got {generator_loss!r}")
        super().__init__(generator, discriminator, n_critic=discriminator_steps,
                         **kwargs)
        self.generator_loss_name = generator_loss
        self.generator_loss = GENERATOR_LOSSES[generator_loss]

    @property
    def discriminator(self):
        return self.critic

    def critic_step(self, real):
        fake = self.generator(self.sample_latent(tf.shape(real)[0]), training=True)
        with tf.GradientTape() as tape:
            d_loss = losses.gan_discriminator_loss(self.score(real), self.score(fake))
            objective = self.objective(d_loss, self.critic_optimizer)
        self.apply_loss(tape, objective, self.critic, self.critic_optimizer)
        return {"d_loss": d_loss, "js_estimate": losses.js_divergence_estimate(d_loss)}
