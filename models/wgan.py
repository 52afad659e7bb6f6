"""Wasserstein GAN with weight clipping (Arjovsky, Chintala & Bottou 2017)."""

import keras
import tensorflow as tf

from models import distribute, losses
from models.base import AdversarialModel


def rmsprop(learning_rate, defaults="pytorch"):
    """RMSProp as the WGAN or the WGAN-GP authors' code runs it.

    defaults="pytorch": PyTorch's defaults, alpha 0.99 and epsilon 1e-8 added to
      the root (WassersteinGAN main.py), for the WGAN paper's recipes.
    defaults="tf1": TensorFlow 1's `tf.train.RMSPropOptimizer` defaults,
      decay 0.9 and epsilon 1e-10 inside the root, with the mean square
      starting at 1 rather than 0 (improved_wgan_training gan_toy.py,
      gan_mnist.py, gan_cifar.py), for the WGAN-GP paper's.

    Keras' own defaults fit neither: it divides by sqrt(v + epsilon) with
    epsilon 1e-7 and rho 0.9, a floor of 3.2e-4 under the root, so a weight
    whose gradient is far below it (a generator behind a clipped critic: a
    median of 2.8e-6 per weight was measured at 64 px) moved about
    lr * g / 3.2e-4, 100 times less than PyTorch's step of about lr. The
    floors of the two codes differ too: PyTorch's is 1e-8, TensorFlow 1's
    1e-5 (epsilon 1e-16 inside the root is PyTorch's 1e-8 floor).
    """
    if defaults == "pytorch":
        return keras.optimizers.RMSprop(learning_rate, rho=0.99, epsilon=1e-16)
    if defaults == "tf1":
        return RMSpropFromOnes(learning_rate, rho=0.9, epsilon=1e-10)
    raise ValueError(f"defaults must be 'pytorch' or 'tf1', not {defaults!r}")


class RMSpropFromOnes(keras.optimizers.RMSprop):
    """Keras' RMSprop with the mean square of the gradient starting at 1 (TensorFlow 1's slot).

    Only without momentum and centring, as TensorFlow 1's defaults.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.momentum or self.centered:
            raise ValueError("RMSpropFromOnes has neither momentum nor centring")

    def build(self, var_list):
        if self.built:
            return
        # RMSprop.build's slots, created holding 1 (not assigned 1 afterwards,
        # which would overwrite values a checkpoint restored on creation).
        super(keras.optimizers.RMSprop, self).build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity", initializer="ones")
        self._momentums, self._average_gradients = [], []


class WGAN(AdversarialModel):
    """Algorithm 1 of the WGAN paper: RMSProp critic updates, each followed by clipping.

    Args:
      clip_value: c; every trainable critic weight is clipped to [-c, c] after
        each critic update.
      n_critic: critic updates per generator update (5 in the paper).
      authors_schedule: the schedule of the authors' code (left out of the
        paper): 100 critic updates for each of the first 25 generator
        iterations and on every 500th, n_critic otherwise.
    """

    metric_names = ("d_loss", "g_loss", "wasserstein", "clipped_fraction")
    # The authors' schedule (main.py of their code: Diters = 100 when
    # gen_iterations < 25 or gen_iterations % 500 == 0).
    WARMUP_ITERATIONS = 25
    WARMUP_CRITIC_ITERATIONS = 100
    WARMUP_EVERY = 500

    def __init__(self, generator, critic, clip_value=0.01, n_critic=5,
                 authors_schedule=False, **kwargs):
        if not clip_value > 0:
            raise ValueError(f"clip_value must be positive, got {clip_value}")
        super().__init__(generator, critic, n_critic=n_critic, **kwargs)
        self.clip_value = float(clip_value)
        self.authors_schedule = bool(authors_schedule)

    def critic_iterations(self, generator_iteration):
        if not self.authors_schedule:
            return self.n_critic
        warmup = tf.logical_or(generator_iteration < self.WARMUP_ITERATIONS,
                               generator_iteration % self.WARMUP_EVERY == 0)
        return tf.where(warmup, tf.constant(self.WARMUP_CRITIC_ITERATIONS, tf.int64),
                        tf.constant(self.n_critic, tf.int64))

    @property
    def fixed_critic_iterations(self):
        return None if self.authors_schedule else self.n_critic

    def critic_step(self, real):
        fake = self.generator(self.sample_latent(tf.shape(real)[0]), training=True)
        with tf.GradientTape() as tape:
            d_loss = losses.wasserstein_critic_loss(self.score(real), self.score(fake))
            objective = self.objective(d_loss, self.critic_optimizer)
        self.apply_loss(tape, objective, self.critic, self.critic_optimizer)
        return {"d_loss": d_loss, "wasserstein": -d_loss,
                "clipped_fraction": self.clip_critic_weights()}

    def clip_critic_weights(self):
        """Clip every trainable critic weight to [-c, c]; return the fraction at the bound.

        The weights clipped are the float32 ones (under mixed precision the
        critic computes with 16-bit casts of them). Under a distribution
        strategy every replica's copy is clipped alike.
        """
        def clip(value):
            return tf.clip_by_value(value, -self.clip_value, self.clip_value)

        at_bound, total = 0.0, 0
        for variable in self.critic.trainable_variables:
            clipped = clip(variable)
            distribute.update(variable, clip)
            at_bound += tf.reduce_sum(
                tf.cast(tf.abs(clipped) >= self.clip_value, tf.float32))
            total += variable.shape.num_elements()
        return at_bound / total

    def generator_loss(self, fake_scores):
        return losses.wasserstein_generator_loss(fake_scores)
