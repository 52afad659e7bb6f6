"""python -m train_loops.wgan: WGAN with weight clipping (Arjovsky et al. 2017) on a toy set.

Defaults are Algorithm 1 of the paper, as the WGAN-GP authors' toy code runs
it: RMSProp 5e-5 for both networks, c = 0.01, 5 critic updates, batch 256.
"""

from absl import flags

from train_loops import runner

flags.DEFINE_float("clip_value", 0.01, "c: critic weights are clipped to [-c, c].")
flags.DEFINE_bool("authors_schedule", False,
                  "100 critic updates for the first 25 generator iterations and "
                  "every 500th (the WGAN authors' code; off in their toy code).")

PRESET = dict(optimizer="rmsprop", learning_rate=5e-5, n_critic=5)


def build(generator, critic):
    from models import WGAN  # TensorFlow loads only once the flags are good

    f = flags.FLAGS
    return WGAN(generator, critic, clip_value=f.clip_value, n_critic=f.n_critic,
                authors_schedule=f.authors_schedule, seed=f.seed)


if __name__ == "__main__":
    runner.launch("wgan", build, PRESET)
