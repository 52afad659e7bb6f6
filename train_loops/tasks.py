"""What differs between toy and image runs: networks, data, evaluation and pictures.

The runner asks a task for these and stays the same for both kinds of data.
"""

import os

from train_loops import files

# --- networks ------------------------------------------------------------------

ARCHITECTURES = ("dcgan", "dcgan_no_bn", "mlp", "wgan_gp_mnist", "resnet", "sngan_cnn")


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

    spectral = critic_normalization == "spectral"
    if spectral and architecture not in ("dcgan", "dcgan_no_bn", "mlp", "sngan_cnn"):
        raise ValueError(f"--critic_normalization=spectral is for the dcgan, dcgan_no_bn, mlp "
                         f"and sngan_cnn architectures' critics, not {architecture}")
    if architecture == "sngan_cnn":
        from models import sngan_networks

        if critic_normalization == "layer":
            raise ValueError("--architecture=sngan_cnn takes --critic_normalization=spectral "
                             "or none")
        return (sngan_networks.sngan_generator(image_shape, latent_dim),
                sngan_networks.sngan_discriminator(image_shape, spectral))
    fixed = {"wgan_gp_mnist": (nets.MNIST_SHAPE, nets.wgan_gp_mnist_generator,
                               nets.wgan_gp_mnist_critic),
             "resnet": (resnet_networks.CIFAR_SHAPE, resnet_networks.wgan_gp_resnet_generator,
                        resnet_networks.wgan_gp_resnet_critic)}
    if architecture in fixed:
        shape, make_generator, make_critic = fixed[architecture]
        if tuple(image_shape) != tuple(shape):
            raise ValueError(f"--architecture={architecture} makes {shape} images; the "
                             f"data are {tuple(image_shape)}")
        return make_generator(latent_dim, dim), make_critic(dim)
    if architecture == "dcgan":
        generator = nets.dcgan_generator(image_shape, latent_dim, dim)
    elif architecture == "dcgan_no_bn":
        generator = nets.wgan_no_bn_generator(image_shape, latent_dim, dim)
    else:
        generator = nets.wgan_mlp_generator(image_shape, latent_dim)
    if bn_free_critic or spectral:
        # Spectral normalization replaces BatchNorm in GAN and WGAN critics too
        # (Miyato et al. 2018 use no BatchNorm in their critics).
        critic = nets.wgan_gp_dcgan_critic(image_shape, dim, critic_normalization)
    else:
        critic = nets.dcgan_discriminator(image_shape, dim)
    return generator, critic


# --- tasks -----------------------------------------------------------------------


def fixed_latent(model, n, seed):
    """The same n latent codes for every snapshot of a run, drawn from their own seed (seed + 1)."""
    import keras

    from models import random

    return random.latent((n,) + model.latent_shape, model.latent_distribution,
                         keras.random.SeedGenerator(seed + 1))


class ToyTask:
    """2-D mixtures: MLPs, mode coverage, the critic's value surface."""

    W1_SAMPLES = 1000
    SNAPSHOT_SAMPLES = 1000  # points in each samples/<iteration>.npz

    def __init__(self, flags, algorithm):
        from data import points, toy

        self.flags, self.algorithm = flags, algorithm
        self.points = None
        if points.is_points(flags.dataset):
            self.points = points.load_points(flags.dataset)
            self.modes = points.load_modes(flags.dataset, flags.points_modes)
            print(f"{flags.dataset}: {len(self.points)} points"
                  + (f", {len(self.modes[0])} modes of std {self.modes[1]:g}" if self.modes
                     else ", no modes file (only the exact W1 is reported)"), flush=True)
        elif flags.dataset == "swissroll":
            self.modes = None  # a manifold, not a mixture
        else:
            self.modes = (toy.mode_centers(flags.dataset), toy.mode_std(flags.dataset))

    def networks(self, bn_free_critic):
        del bn_free_critic  # the toy MLPs have no normalisation
        from models.networks import metz_critic, metz_generator, toy_critic, toy_generator

        spectral = self.flags.critic_normalization == "spectral"
        if self.flags.toy_networks == "metz":
            return (metz_generator(latent_dim=self.flags.latent_dim),
                    metz_critic(spectral=spectral))
        size = dict(hidden_units=self.flags.hidden_units)
        return (toy_generator(latent_dim=self.flags.latent_dim, **size),
                toy_critic(spectral=spectral, **size))

    def real_batches(self, batch_size, seed):
        if self.points is not None:
            from data.points import points_batches

            return points_batches(self.points, batch_size, seed)
        from data.toy import toy_batches

        return toy_batches(self.flags.dataset, batch_size, seed)

    def real_sample(self, count, seed):
        """`count` real points (at most as many as the user's file holds), for pictures and W1."""
        if self.points is not None:
            count = min(count, len(self.points))
        return next(iter(self.real_batches(count, seed))).numpy()

    def callbacks(self, model, output_dir, start_iteration, writer):
        del writer  # toy evaluations go to evaluation.csv
        from train_loops.callbacks import ToyEvaluation, ToySamples

        f = self.flags
        self.evaluation = ToyEvaluation(
            model, self.modes, f.eval_every, f.eval_samples,
            os.path.join(output_dir, "evaluation.csv"), start_iteration, seed=f.seed)
        real = self.real_sample(self.SNAPSHOT_SAMPLES, f.seed + 1)
        snapshots = ToySamples(fixed_latent(model, self.SNAPSHOT_SAMPLES, f.seed), real,
                               f.sample_every, os.path.join(output_dir, "samples"),
                               f"{self.algorithm}, {f.dataset}", start_iteration)
        return [self.evaluation, snapshots]

    def finish(self, model, output_dir, iterations):
        """Final evaluation and picture; returns the numbers for the summary."""
        from evaluation.plots import save_toy_figure

        from evaluation.wasserstein import wasserstein1_estimate

        final = self.evaluation.evaluate(iterations) if iterations else {}
        real = self.real_sample(self.flags.eval_samples, self.flags.seed + 1)
        fake = model.generate(len(real)).numpy()
        if self.flags.dot_steps and self.evaluation.has_modes and iterations:
            final.update(self.refined_coverage(model, fake))
        title = f"{self.algorithm}, {self.flags.dataset}, {iterations} generator iterations"
        with files.replacing(os.path.join(output_dir, "samples.png")) as temporary:
            averaged = (model.generate(len(real), averaged=True).numpy()
                        if model.averaged_generator is not None else None)
            save_toy_figure(temporary, model.critic, real, fake, title=title, averaged=averaged)
        self.save_history(output_dir, real[:self.SNAPSHOT_SAMPLES], title)
        # The true distance between the samples, to set beside the critic's
        # estimate (exact optimal transport; 1000 points keep it under a second).
        n = min(len(real), self.W1_SAMPLES)
        final["wasserstein1_estimate"] = round(wasserstein1_estimate(real[:n], fake[:n]), 4)
        return final


    @staticmethod
    def save_history(output_dir, real, title):
        """samples_history.png: the run's fixed-noise snapshots (samples/*.npz) side by side."""
        import glob

        import numpy as np

        from evaluation.plots import save_toy_history

        # Not the .partial.npz a killed run can leave beside them.
        paths = sorted(p for p in glob.glob(os.path.join(output_dir, "samples", "*.npz"))
                       if os.path.basename(p)[:-4].isdigit())
        if len(paths) >= 2:
            snapshots = [(int(os.path.basename(p)[:-4]), np.load(p)["samples"]) for p in paths]
            with files.replacing(os.path.join(output_dir, "samples_history.png")) as temporary:
                save_toy_history(temporary, snapshots, real,
                                 f"{title}: fixed-noise samples (green) over training")

    def refined_coverage(self, model, samples):
        """Coverage of `samples` after discriminator optimal transport (Tanaka 2019), as refined_*."""
        from models import transport

        refined, lipschitz = transport.refine(model.critic, samples, self.flags.dot_steps,
                                              self.flags.seed)
        numbers = self.evaluation.coverage(refined, "refined_")
        numbers["refined_lipschitz_estimate"] = round(lipschitz, 4)
        return numbers


class ImageTask:
    """Image data sets: convolutional networks and fixed-noise sample grids.

    The data are a tfds data set (data.images) or a folder of the user's own
    images (--dataset=folder:PATH, data.folder), which is read through once
    here, before anything is written, so that a bad file stops the command
    at once.
    """

    GRID_SIZE = 64  # an 8 x 8 grid
    # A folder's default side: the fixed-size architectures' own, else DCGAN's 64.
    FOLDER_IMAGE_SIZES = {"wgan_gp_mnist": 28, "resnet": 32, "sngan_cnn": 32}

    def __init__(self, flags, algorithm):
        from data import folder

        self.flags, self.algorithm = flags, algorithm
        self.folder = None
        if folder.is_folder(flags.dataset):
            from train_loops.progress import Progress

            # A bar for folders that take a while (about a millisecond a file).
            self.folder = folder.scan(
                flags.dataset, skip_bad=flags.skip_bad_images,
                progress=lambda n: Progress(n, "reading the folder") if n >= 2000 else None)
            folder.report(self.folder, flags.dataset)
            size = flags.image_size or self.FOLDER_IMAGE_SIZES.get(flags.architecture, 64)
            self.image_shape = (size, size, self.folder.channels)
        else:
            from data.images import image_shape

            self.image_shape = image_shape(flags.dataset, flags.image_size)

    def networks(self, bn_free_critic):
        f = self.flags
        normalization = None if f.critic_normalization == "none" else f.critic_normalization
        return image_networks(f.architecture, self.image_shape, f.latent_dim, f.dim,
                              bn_free_critic, normalization)

    def real_batches(self, batch_size, seed):
        f = self.flags
        if self.folder is not None:
            from data.folder import folder_batches

            return folder_batches(self.folder, batch_size, seed, self.image_shape[0])
        from data.images import image_batches

        return image_batches(f.dataset, batch_size, seed, data_dir=f.data_dir,
                             manual_dir=self.manual_dir(), image_size=f.image_size)

    def reference_images(self, count):
        """Real images for the classifier metrics: the held-out split, or a folder's first files."""
        if self.folder is not None:
            from data.folder import folder_images
            from data.images import scale_images

            images = folder_images(self.folder, self.image_shape[0], limit=count)
            return scale_images(next(iter(images.batch(count)))).numpy()
        from evaluation.classifier import load_arrays

        # The held-out split is the reference, as in the classifier-FID floor.
        real, _ = load_arrays(self.flags.dataset, "test", self.flags.data_dir,
                              self.manual_dir(), limit=count)
        return real

    def manual_dir(self):
        from data.images import default_manual_dir

        return self.flags.manual_dir or default_manual_dir(self.flags.dataset)

    def classifier_path(self):
        """--classifier; when not given, classifiers/<dataset>.keras if it exists; "" for none."""
        if self.flags.classifier is not None:
            return self.flags.classifier or None
        if self.folder is not None:
            return None  # no classifier of the user's images unless given
        default = os.path.join("classifiers", f"{self.flags.dataset}.keras")
        return default if os.path.exists(default) else None

    def callbacks(self, model, output_dir, start_iteration, writer):
        from train_loops.callbacks import SampleGrids

        f = self.flags
        self.grids = SampleGrids(fixed_latent(model, self.GRID_SIZE, f.seed), f.sample_every,
                                 os.path.join(output_dir, "samples"), start_iteration)
        self.metrics = None
        if self.classifier_path():
            from evaluation.callback import ImageMetricsCallback
            from evaluation.features import ClassifierFeatures

            real = self.reference_images(f.eval_samples)
            self.metrics = ImageMetricsCallback(
                model.generate, ClassifierFeatures(self.classifier_path()),
                real, f.eval_every, f.eval_samples,
                os.path.join(output_dir, "image_metrics.csv"), summary_writer=writer,
                start_iteration=start_iteration,
                metric_kwargs=dict(kid_subset_size=min(1000, f.eval_samples)), seed=f.seed)
        return [self.grids] + ([self.metrics] if self.metrics else [])

    def finish(self, model, output_dir, iterations):
        path = self.grids.write(model, iterations)
        final = {"samples": os.path.relpath(path, output_dir)}
        if self.metrics is not None and iterations:
            final.update({f"classifier_{k}": v
                          for k, v in self.metrics.evaluate(iterations).items()})
        return final


def make_task(flags, algorithm):
    from train_loops.runner import is_toy

    return (ToyTask if is_toy(flags.dataset) else ImageTask)(flags, algorithm)

