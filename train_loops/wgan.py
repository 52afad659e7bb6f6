"""python -m train_loops.wgan: WGAN with weight clipping (Arjovsky et al. 2017).

Presets (../shared/reference/papers.md):
  toy   Algorithm 1 as the WGAN-GP authors' toy code runs it: RMSProp 5e-5
        (TensorFlow 1's, as gan_toy.py), c = 0.01, 5 critic updates, batch
        256, no critic schedule
  metz  the toy recipe on the data and networks of Metz et al. 2017 (their
        ring of radius 2, batch 512, 25k iterations; see the gan command)
  wgan  Algorithm 1 on images with the authors' code's critic schedule (100
        critic updates for the first 25 generator iterations and every
        500th): DCGAN generator and critic, batch 64, z 100-d N(0, 1),
        RMSProp 5e-5 as in their PyTorch code
"""

from absl import flags

from train_loops.runner import METZ, Command, ema_decay

flags.DEFINE_float("clip_value", 0.01, "c: critic weights are clipped to [-c, c].")
flags.DEFINE_bool("authors_schedule", False,
                  "100 critic updates for the first 25 generator iterations and "
                  "every 500th (the WGAN authors' code; off in the toy preset, as in "
                  "the WGAN-GP authors' toy code).")

TOY = dict(optimizer="rmsprop_tf1", learning_rate=5e-5, n_critic=5)
PRESETS = {
    "toy": TOY,
    "metz": dict(TOY, **METZ),
    "wgan": dict(dataset="lsun/bedroom", architecture="dcgan", optimizer="rmsprop",
                 batch_size=64, latent_dim=100, authors_schedule=True, iterations=100000),
}


def build(generator, critic):
    from models import WGAN  # TensorFlow loads only once the flags are good

    f = flags.FLAGS
    return WGAN(generator, critic, clip_value=f.clip_value, n_critic=f.n_critic,
                authors_schedule=f.authors_schedule,
                latent_distribution=f.latent_distribution, seed=f.seed,
                ema_decay=ema_decay())


COMMAND = Command("wgan", build, PRESETS, image_preset="wgan")

if __name__ == "__main__":
    COMMAND.launch()
