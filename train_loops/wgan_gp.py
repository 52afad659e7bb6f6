"""python -m train_loops.wgan_gp: WGAN-GP (Gulrajani et al. 2017) on a toy data set.

Defaults are the authors' toy setting (gan_toy.py): Adam(1e-4, 0.5, 0.9),
lambda = 0.1, 5 critic updates, batch 256, MLPs of 3 x 512 ReLU.
"""

from absl import flags

from train_loops import runner

flags.DEFINE_float("penalty_weight", 0.1,
                   "lambda, the gradient penalty's weight (0.1 in the authors' toy "
                   "code, 10 in the paper's image experiments).")
flags.DEFINE_bool("one_sided", False, "Penalise only gradient norms above 1.")

PRESET = dict(optimizer="adam", learning_rate=1e-4, beta_1=0.5, beta_2=0.9, n_critic=5)


def build(generator, critic):
    from models import WGANGP  # TensorFlow loads only once the flags are good

    f = flags.FLAGS
    return WGANGP(generator, critic, penalty_weight=f.penalty_weight, n_critic=f.n_critic,
                  one_sided=f.one_sided, seed=f.seed)


if __name__ == "__main__":
    runner.launch("wgan_gp", build, PRESET)
