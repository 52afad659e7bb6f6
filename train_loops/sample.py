"""python -m train_loops.sample: samples from a saved generator, as a picture or as arrays.

  python -m train_loops.sample --generator=runs/wgan_gp-fashion_mnist/generator.keras \\
      --output=grid.png
  python -m train_loops.sample --generator=runs/wgan_gp-fashion_mnist/generator.keras \\
      --num_samples=10000 --output=samples.npz

Image generators give an 8-column grid; toy (2-D) generators a scatter plot.
With --critic and --dot_steps, the samples are first refined by
discriminator optimal transport (Tanaka 2019, models/transport.py) with the
run's critic:

  python -m train_loops.sample --generator=runs/wgan_gp-8gaussians/generator.keras \\
      --critic=runs/wgan_gp-8gaussians/critic.keras --dot_steps=100 --output=refined.png
"""


from absl import flags

from train_loops import cli, files
from train_loops.cli import UsageError, run

FLAGS = flags.FLAGS
flags.DEFINE_string("generator", None, "A generator saved as .keras by a training run.")
flags.DEFINE_string("output", "samples.png",
                    "What to write: a .png picture, or a .npz of the arrays `samples` "
                    "(float32, the data's range: images [N, H, W, C] in [-1, 1], toy "
                    "points [N, 2]) and `latent` (the codes that made them).")
flags.DEFINE_integer("num_samples", 64, "How many samples (images in a .png: grid cells).")
flags.DEFINE_integer("batch_size", 500, "Samples per generator call.")
flags.DEFINE_enum("latent_distribution", "normal", ["normal", "uniform"],
                  "The latent law the generator was trained with (uniform: DCGAN).")
flags.DEFINE_integer("seed", 0, "Seed of the latent codes.")
flags.DEFINE_string("critic", None, "The run's critic.keras, for --dot_steps.")
flags.DEFINE_integer("dot_steps", 0,
                     "Refine the samples by this many steps of discriminator optimal "
                     "transport with --critic (100 in Tanaka's 2-D demo); 0: raw samples.")


def main(argv):
    del argv
    cli.expand_user("generator", "critic", "output")
    if not FLAGS.generator:
        raise UsageError("--generator must name a saved .keras generator")
    cli.readable_file(FLAGS.generator, "generator")
    for name in ("num_samples", "batch_size"):
        if FLAGS[name].value < 1:
            raise UsageError(f"--{name} must be positive, got {FLAGS[name].value}")
    if FLAGS.dot_steps < 0:
        raise UsageError(f"--dot_steps must be 0 or more, got {FLAGS.dot_steps}")
    if FLAGS.dot_steps and not FLAGS.critic:
        raise UsageError("--dot_steps needs --critic, the run's saved critic.keras")
    if not FLAGS.output.lower().endswith((".png", ".npz")):
        raise UsageError(f"--output must end in .png (a picture) or .npz (the arrays), got "
                         f"{FLAGS.output!r}")
    if FLAGS.critic:
        cli.readable_file(FLAGS.critic, "critic")
    cli.writable_file(FLAGS.output, "output")
    import numpy as np

    from evaluation import plots
    from models import random, transport
    from train_loops.progress import Progress

    generator = cli.load_network(FLAGS.generator, "the generator")
    progress = (Progress(FLAGS.num_samples, "sampling")
                if FLAGS.num_samples > FLAGS.batch_size else None)
    samples, latent = random.generator_samples(generator, FLAGS.num_samples,
                                               FLAGS.latent_distribution, FLAGS.batch_size,
                                               FLAGS.seed, progress)
    how = ""
    if FLAGS.dot_steps:
        critic = cli.load_network(FLAGS.critic, "the critic")
        samples, lipschitz = transport.refine(critic, samples, FLAGS.dot_steps, FLAGS.seed)
        how = f", refined by {FLAGS.dot_steps} transport steps (K_eff {lipschitz:.3g})"
    with files.replacing(FLAGS.output) as temporary:
        if FLAGS.output.lower().endswith(".npz"):
            with open(temporary, "wb") as f:  # a file object: savez adds no extension
                np.savez(f, samples=samples, latent=latent)
        elif samples.ndim == 4:
            plots.save_image_grid(temporary, samples)
        else:
            plots.save_points(temporary, samples)
    print(f"wrote {FLAGS.num_samples} samples{how} to {FLAGS.output}")


if __name__ == "__main__":
    run("python -m train_loops.sample", main)
