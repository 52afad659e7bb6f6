"""python -m train_loops.gan: the original GAN (Goodfellow et al. 2014) and DCGAN.

Presets (../shared/reference/papers.md):
  toy    k = 1 discriminator step, non-saturating generator loss. No paper
         gives a toy recipe for the plain GAN; it gets the optimizer of the
         WGAN-GP authors' toy code, Adam(1e-4, 0.5, 0.9), so that the three
         commands differ only in their algorithm.
  metz   Metz et al. 2017, Figure 1 (the mode collapse of the lecture): their
         8-Gaussian ring of radius 2, their networks, Adam(1e-4, beta_1 0.5)
         for both, batch 512, k = 1, the saturating minimax generator loss,
         25k iterations (Keras' Adam epsilon 1e-7, theirs 1e-8)
  dcgan  Radford et al. 2016: DCGAN networks, Adam(2e-4, beta_1 0.5), batch
         128, z 100-d U[-1, 1], k = 1
  sngan  Miyato et al. 2018 (SN-GAN), the standard CNN of their Table 3 with
         every discriminator layer spectrally normalised, their Table 1
         setting C (Adam 2e-4, beta_1 0.5, beta_2 0.999, n_dis = 1; also
         their code's example.sh), the standard GAN loss with the
         non-saturating generator loss (their Eq. 15 and the code's stdgan
         updater), z 128-d N(0, I), 100k generator updates, CIFAR-10 at 32 x
         32; batch 64 from their code (the paper gives none). MNIST and
         Fashion-MNIST run with --image_size=32.
"""

from absl import flags

from train_loops.runner import METZ, Command, ema_decay

flags.DEFINE_enum("generator_loss", "non_saturating", ["minimax", "non_saturating"],
                  "non_saturating: maximise log D(G(z)); minimax: minimise "
                  "log(1 - D(G(z))).")

TOY = dict(optimizer="adam", learning_rate=1e-4, beta_1=0.5, beta_2=0.9, n_critic=1)
PRESETS = {
    "toy": TOY,
    "metz": dict(TOY, **METZ, beta_2=0.999, generator_loss="minimax"),
    "dcgan": dict(dataset="lsun/bedroom", architecture="dcgan", learning_rate=2e-4,
                  beta_2=0.999, batch_size=128, latent_dim=100,
                  latent_distribution="uniform", iterations=100000),
    "sngan": dict(dataset="cifar10", architecture="sngan_cnn", critic_normalization="spectral",
                  learning_rate=2e-4, beta_1=0.5, beta_2=0.999, n_critic=1, batch_size=64,
                  latent_dim=128, iterations=100000, generator_loss="non_saturating"),
}


def build(generator, discriminator):
    from models import GAN  # TensorFlow loads only once the flags are good

    f = flags.FLAGS
    return GAN(generator, discriminator, generator_loss=f.generator_loss,
               discriminator_steps=f.n_critic, latent_distribution=f.latent_distribution,
               seed=f.seed, ema_decay=ema_decay())


COMMAND = Command("gan", build, PRESETS, image_preset="dcgan")

if __name__ == "__main__":
    COMMAND.launch()
