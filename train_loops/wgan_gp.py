"""python -m train_loops.wgan_gp: WGAN-GP (Gulrajani et al. 2017).

Presets (../shared/reference/papers.md):
  toy             the authors' gan_toy.py: Adam(1e-4, 0.5, 0.9), lambda 0.1,
                  5 critic updates, batch 256 (MLP width: see --hidden_units);
                  not theirs: 10,000 iterations (theirs: 100,000), and a moving
                  average of the generator's weights, decay 0.999 (Yazici et
                  al. 2019), kept beside it (generator_ema.keras): at 10,000
                  iterations the better generator on both toy sets, 5 seeds
  toy_512_decay   the toy recipe at the authors' width (3 x 512 units), both
                  rates decaying linearly to 0 over 25,000 iterations (as their
                  ResNet recipe, Appendix F), and the final samples also
                  refined by 100 transport steps: the project's best measured
                  toy recipe (docs/mode_collapse.md §2; ~1.7 h on one core)
  metz            the toy recipe on the data and networks of Metz et al.
                  2017 (their ring of radius 2, batch 512, 25k iterations;
                  see the gan command), with the paper's lambda 10
  wgan_gp         Algorithm 1 on images: Adam(1e-4, 0, 0.9), lambda 10,
                  n_critic 5, batch 64, DCGAN generator, BatchNorm-free critic
  wgan_gp_mnist   the authors' gan_mnist.py: their MNIST models, batch 50,
                  Adam(1e-4, 0.5, 0.9), 200k iterations
  wgan_gp_resnet  Appendix F, CIFAR-10: ResNet G and critic, Adam(2e-4, 0, 0.9)
                  decayed linearly to 0 over 100k iterations, batch 64
"""

from absl import flags

from train_loops.runner import METZ, Command, ema_decay

flags.DEFINE_float("penalty_weight", 0.1,
                   "lambda, the gradient penalty's weight (0.1 in the authors' toy "
                   "code, 10 in the paper's image experiments).")
flags.DEFINE_bool("one_sided", False, "Penalise only gradient norms above 1.")

# The toy preset's weight average is this command's default: the papers' presets
# have none.
NO_AVERAGE = dict(ema_decay=None)
IMAGES = dict(NO_AVERAGE, architecture="dcgan", penalty_weight=10.0, batch_size=64,
              latent_dim=128, n_critic=5, iterations=200000)
TOY = dict(optimizer="adam", learning_rate=1e-4, beta_1=0.5, beta_2=0.9, n_critic=5)
TOY_PRESET = dict(TOY, ema_decay=0.999)
PRESETS = {
    "toy": TOY_PRESET,
    # Its width is gan_toy.py's; its length a quarter of gan_toy.py's 100,000, which
    # linear decay makes enough (docs/mode_collapse.md §2); 100 steps: Tanaka's 2-D demo.
    "toy_512_decay": dict(TOY_PRESET, hidden_units=512, iterations=25000,
                          learning_rate_decay="linear", dot_steps=100, eval_every=1000,
                          sample_every=5000),
    # lambda 10, the paper's (Algorithm 1): the toy code's 0.1 was chosen for
    # the authors' own 3 x 512 networks.
    "metz": dict(TOY, **METZ, **NO_AVERAGE, penalty_weight=10.0),
    "wgan_gp": dict(IMAGES, dataset="cifar10", beta_1=0.0),
    "wgan_gp_mnist": dict(IMAGES, dataset="mnist", architecture="wgan_gp_mnist",
                          batch_size=50),
    "wgan_gp_resnet": dict(IMAGES, dataset="cifar10", architecture="resnet", dim=128,
                           learning_rate=2e-4, beta_1=0.0, learning_rate_decay="linear",
                           iterations=100000),
}


def build(generator, critic):
    from models import WGANGP  # TensorFlow loads only once the flags are good

    f = flags.FLAGS
    return WGANGP(generator, critic, penalty_weight=f.penalty_weight, n_critic=f.n_critic,
                  one_sided=f.one_sided, latent_distribution=f.latent_distribution,
                  seed=f.seed, ema_decay=ema_decay())


COMMAND = Command("wgan_gp", build, PRESETS, image_preset="wgan_gp", bn_free_critic=True)

if __name__ == "__main__":
    COMMAND.launch()
