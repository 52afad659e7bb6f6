"""python -m train_loops.sample: samples from a saved generator, as a picture.

  python -m train_loops.sample --generator=runs/wgan_gp-fashion_mnist/generator.keras \\
      --output=grid.png

Image generators give an 8-column grid; toy (2-D) generators a scatter plot.
"""

import os

from absl import flags

from train_loops.cli import UsageError, run

FLAGS = flags.FLAGS
flags.DEFINE_string("generator", None, "A generator saved as .keras by a training run.")
flags.DEFINE_string("output", "samples.png", "The PNG to write.")
flags.DEFINE_integer("num_samples", 64, "How many samples (images: grid cells).")
flags.DEFINE_enum("latent_distribution", "normal", ["normal", "uniform"],
                  "The latent law the generator was trained with (uniform: DCGAN).")
flags.DEFINE_integer("seed", 0, "Seed of the latent codes.")


def main(argv):
    del argv
    if not FLAGS.generator or not os.path.isfile(FLAGS.generator):
        raise UsageError(f"--generator must name a saved .keras generator, got {FLAGS.generator!r}")
    if FLAGS.num_samples < 1:
        raise UsageError(f"--num_samples must be positive, got {FLAGS.num_samples}")
    import keras

    from evaluation import plots
    from models import random

    try:
        generator = keras.saving.load_model(FLAGS.generator)
    except (ValueError, OSError) as error:
        raise UsageError(f"cannot load {FLAGS.generator}: {str(error).splitlines()[0]}")
    latent = random.latent((FLAGS.num_samples,) + tuple(generator.input_shape[1:]),
                           FLAGS.latent_distribution, keras.random.SeedGenerator(FLAGS.seed))
    samples = generator(latent, training=False).numpy()
    if samples.ndim == 4:
        plots.save_image_grid(FLAGS.output, samples)
    else:
        plots.save_points(FLAGS.output, samples)
    print(f"wrote {FLAGS.num_samples} samples to {FLAGS.output}")


if __name__ == "__main__":
    run("python -m train_loops.sample", main)
