"""python -m train_loops.gan: the original GAN (Goodfellow et al. 2014) on a toy set.

No paper gives a toy recipe for the plain GAN; it gets the optimizer of the
WGAN-GP authors' toy code, Adam(1e-4, 0.5, 0.9), so that the three commands
differ only in their algorithm. k = 1 discriminator step, as in the paper.
"""

from absl import flags

from train_loops import runner

flags.DEFINE_enum("generator_loss", "non_saturating", ["minimax", "non_saturating"],
                  "non_saturating: maximise log D(G(z)); minimax: minimise "
                  "log(1 - D(G(z))).")

PRESET = dict(optimizer="adam", learning_rate=1e-4, beta_1=0.5, beta_2=0.9, n_critic=1)


def build(generator, discriminator):
    from models import GAN  # TensorFlow loads only once the flags are good

    f = flags.FLAGS
    return GAN(generator, discriminator, generator_loss=f.generator_loss,
               discriminator_steps=f.n_critic, seed=f.seed)


if __name__ == "__main__":
    runner.launch("gan", build, PRESET)
