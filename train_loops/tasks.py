"""What differs between toy and image runs: networks, data, evaluation and pictures.

The runner asks a task for these and stays the same for both kinds of data.
"""

import os

# --- networks ------------------------------------------------------------------

ARCHITECTURES = ("dcgan", "dcgan_no_bn", "mlp", "wgan_gp_mnist", "resnet")


def image_networks(architecture, image_shape, latent_dim, dim, bn_free_critic,
                   critic_normalization):
    """(generator, critic) for an image run.

    The critic follows the algorithm: the DCGAN discriminator (with BatchNorm)
    for GAN and WGAN, as in their papers; a BatchNorm-free DCGAN critic for
    WGAN-GP, whose per-sample penalty forbids batch-coupled layers
    (Gulrajani et al. 2017, Section 4).
    """
    from models import image_networks as nets
    from models import resnet_networks

    if architecture == "wgan_gp_mnist":
        return (nets.wgan_gp_mnist_generator(latent_dim, dim),
                nets.wgan_gp_mnist_critic(dim))
    if architecture == "resnet":
        return (resnet_networks.wgan_gp_resnet_generator(latent_dim, dim),
                resnet_networks.wgan_gp_resnet_critic(dim))
    if architecture == "dcgan":
        generator = nets.dcgan_generator(image_shape, latent_dim, dim)
    elif architecture == "dcgan_no_bn":
        generator = nets.wgan_no_bn_generator(image_shape, latent_dim, dim)
    else:
        generator = nets.wgan_mlp_generator(image_shape, latent_dim)
    if bn_free_critic:
        critic = nets.wgan_gp_dcgan_critic(image_shape, dim, critic_normalization)
    else:
        critic = nets.dcgan_discriminator(image_shape, dim)
    return generator, critic


# --- tasks -----------------------------------------------------------------------


class ToyTask:
    """2-D mixtures: MLPs, mode coverage, the critic's value surface."""

    def __init__(self, flags, algorithm):
        self.flags, self.algorithm = flags, algorithm

    def networks(self, bn_free_critic):
        del bn_free_critic  # the toy MLPs have no normalisation
        from models.networks import toy_critic, toy_generator

        size = dict(hidden_units=self.flags.hidden_units)
        return toy_generator(latent_dim=self.flags.latent_dim, **size), toy_critic(**size)

    def real_batches(self, batch_size, seed):
        from data.toy import toy_batches

        return toy_batches(self.flags.dataset, batch_size, seed)

    def callbacks(self, model, output_dir, start_iteration):
        from train_loops.callbacks import ToyEvaluation

        self.evaluation = ToyEvaluation(
            model, self.flags.dataset, self.flags.eval_every, self.flags.eval_samples,
            os.path.join(output_dir, "evaluation.csv"), start_iteration)
        return [self.evaluation]

    def finish(self, model, output_dir, iterations):
        """Final evaluation and picture; returns the numbers for the summary."""
        from evaluation.plots import save_toy_figure

        final = self.evaluation.evaluate(iterations) if iterations else {}
        real = next(iter(self.real_batches(self.flags.eval_samples, self.flags.seed + 1)))
        save_toy_figure(os.path.join(output_dir, "samples.png"), model.critic, real.numpy(),
                        model.generate(self.flags.eval_samples).numpy(),
                        title=f"{self.algorithm}, {self.flags.dataset}, "
                              f"{iterations} generator iterations")
        return final


class ImageTask:
    """Image data sets: convolutional networks and fixed-noise sample grids."""

    GRID_SIZE = 64  # an 8 x 8 grid

    def __init__(self, flags, algorithm):
        self.flags, self.algorithm = flags, algorithm
        from data.images import image_shape

        self.image_shape = image_shape(flags.dataset, flags.image_size)

    def networks(self, bn_free_critic):
        f = self.flags
        normalization = None if f.critic_normalization == "none" else f.critic_normalization
        return image_networks(f.architecture, self.image_shape, f.latent_dim, f.dim,
                              bn_free_critic, normalization)

    def real_batches(self, batch_size, seed):
        from data.images import default_manual_dir, image_batches

        f = self.flags
        return image_batches(f.dataset, batch_size, seed, data_dir=f.data_dir,
                             manual_dir=f.manual_dir or default_manual_dir(f.dataset),
                             image_size=f.image_size)

    def fixed_latent(self, model):
        """The same latent codes for every grid of a run, drawn from their own seed."""
        import keras

        from models import random

        generator = keras.random.SeedGenerator(self.flags.seed + 1)
        shape = (self.GRID_SIZE,) + model.latent_shape
        if model.latent_distribution == "uniform":
            return 2.0 * random.uniform(shape, generator) - 1.0
        return random.normal(shape, generator)

    def callbacks(self, model, output_dir, start_iteration):
        from train_loops.callbacks import SampleGrids

        self.grids = SampleGrids(self.fixed_latent(model), self.flags.sample_every,
                                 os.path.join(output_dir, "samples"))
        return [self.grids]

    def finish(self, model, output_dir, iterations):
        path = self.grids.write(model, iterations)
        return {"samples": os.path.relpath(path, output_dir)}


def make_task(flags, algorithm):
    from data.toy import TOY_DATASETS

    return (ToyTask if flags.dataset in TOY_DATASETS else ImageTask)(flags, algorithm)

