"""python -m train_loops.evaluate: FID / KID / IS of a saved generator against a data set's test split.

  python -m train_loops.evaluate --generator=runs/x/generator.keras --dataset=fashion_mnist \
      --classifier=classifiers/fashion_mnist.keras [--inception_weights=PATH] [--num_samples=10000]

For a toy mixture (--dataset=8gaussians, 8gaussians_metz or 25gaussians) it
gives the training's toy numbers instead, on 2500 samples unless
--num_samples says otherwise (the training's --eval_samples): modes
captured, the high-quality percentage, the per-mode shares and their reverse
KL to uniform (`evaluation.toy.coverage_numbers`), where the other samples
lie (near a mode or between modes: `evaluation.toy.distance_profile`), and the exact W1 between
the first 1000 samples and the first 1000 of as many data points, drawn
with seed --seed + 1, as the training's final evaluation draws them. Refined samples are evaluated from
their .npz:

  python -m train_loops.sample --generator=runs/x/generator_ema.keras \
      --critic=runs/x/critic.keras --dot_steps=100 --num_samples=2500 --output=refined.npz
  python -m train_loops.evaluate --generator=refined.npz --dataset=8gaussians --num_samples=2500

--generator may also be a .npz of samples written by
`python -m train_loops.sample --output=FILE.npz`.

draws --num_samples latents (N(0, 1), or U[-1, 1] with
--latent_distribution=uniform; the latent shape is the generator's input
shape), generates images, and compares them with the first --num_samples
images of the test split (fewer if the split is smaller) with each extractor
given: the classifier (classifier-FID, -KID and classifier score) and / or
InceptionV3 (FID, KID, IS). The numbers are printed and written as JSON to
--output (default: <generator without .keras>_metrics.json).

Bad flags, a missing file, an unavailable data set or missing Inception
weights are reported in one line on stderr with exit status 2.
"""

import json
import os
import time

from absl import flags, logging

from train_loops import cli, files
from train_loops.cli import UsageError, run

FLAGS = flags.FLAGS

PROGRAM = "python -m train_loops.evaluate"
# data.images.IMAGE_DATASETS, spelled out so that flags parse without TensorFlow.
IMAGE_DATASETS = ("mnist", "fashion_mnist", "cifar10", "celeb_a", "lsun/bedroom")
# The mixtures of data.toy (TOY_DATASETS less swissroll, which has no modes).
TOY_MIXTURES = ("8gaussians", "8gaussians_metz", "25gaussians")
DATASETS = IMAGE_DATASETS + TOY_MIXTURES
TOY_NUM_SAMPLES = 2500  # --num_samples for a toy mixture: the training's --eval_samples


def define_flags():
    """The command's flags, defined only when it runs as a program.

    (Defined lazily so that importing this module, e.g. in a test, adds no
    flags to absl's global FLAGS, where they would clash with other entry
    points' flags of the same name.)
    """
    flags.DEFINE_string("generator", None, "The generator's .keras file, or a .npz of its "
                        "samples (`python -m train_loops.sample --output=FILE.npz`; "
                        "its first --num_samples are used).")
    flags.DEFINE_enum("dataset", None, list(DATASETS), "The real data set (its test split), "
                      "or a toy mixture (mode coverage and W1; no classifier needed).")
    flags.DEFINE_string("split", "test", "tfds split of the real images.")
    flags.DEFINE_string("classifier", None, "A classifier saved by train_loops.classifier "
                        "(classifier-FID / -KID / classifier score).")
    flags.DEFINE_string("inception_weights", None,
                        "Local inception_v3_weights_tf_dim_ordering_tf_kernels.h5 (FID / KID / IS "
                        "with InceptionV3); nothing is downloaded.")
    flags.DEFINE_list("metrics", ["fid", "kid", "is"], "Metrics to compute.")
    flags.DEFINE_integer("num_samples", 10000, "Generated images, and real images at most "
                         f"(toy mixtures: {TOY_NUM_SAMPLES} unless given).")
    flags.DEFINE_enum("latent_distribution", "normal", ["normal", "uniform"],
                      "Latent distribution: N(0, 1) or U[-1, 1].")
    flags.DEFINE_integer("batch_size", 500, "Images per generator call.")
    flags.DEFINE_integer("seed", 0, "Seeds the latents and KID's subsets.")
    flags.DEFINE_string("data_dir", None, "tfds data directory.")
    flags.DEFINE_string("manual_dir", None, "Original files to prepare the data set from "
                        "(default: ../shared/datasets/<dataset> if it exists).")
    flags.DEFINE_string("output", None, "JSON file for the results "
                        "(default: <generator without .keras>_metrics.json).")


def check_arguments(generator, dataset, classifier, inception_weights, metrics, num_samples,
                    batch_size, seed):
    for name, value in (("generator", generator), ("dataset", dataset)):
        if value is None:
            raise UsageError(f"--{name} is required")
    if dataset not in DATASETS:
        raise UsageError(f"--dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    if dataset in TOY_MIXTURES and (classifier is not None or inception_weights is not None):
        raise UsageError(f"--classifier and --inception_weights are for image data sets; "
                         f"{dataset} is scored by mode coverage and W1")
    if dataset in IMAGE_DATASETS and classifier is None and inception_weights is None:
        raise UsageError("give --classifier=PATH.keras and / or --inception_weights=PATH")
    for name, value in (("num_samples", num_samples), ("batch_size", batch_size)):
        if not value > 0:
            raise UsageError(f"--{name} must be positive, got {value}")
    if num_samples < 2:
        raise UsageError(f"--num_samples must be at least 2, got {num_samples}")
    if seed < 0:
        raise UsageError(f"--seed must be non-negative, got {seed}")
    unknown = [m for m in metrics if m not in ("fid", "kid", "is")]
    if unknown or not metrics:
        raise UsageError(f"--metrics must be a non-empty subset of fid,kid,is, got "
                         f"{','.join(metrics)}")
    # A missing --inception_weights gets its own message: where to find them.
    for name, path in (("generator", generator), ("classifier", classifier)):
        if path is not None:
            cli.readable_file(path, name)


def output_path(generator, output):
    """--output, or the generator's path with _metrics.json for .keras."""
    return output or os.path.splitext(generator)[0] + "_metrics.json"


def stored_samples(path, num_samples):
    """The first ``num_samples`` images of a .npz written by train_loops.sample, as float32."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    with np.load(path) as stored:
        if "samples" not in stored.files:
            raise UsageError(f"--generator={path} holds no `samples` array (write one with "
                             f"python -m train_loops.sample --output=FILE.npz)")
        return np.asarray(stored["samples"][:num_samples], np.float32)


def sample_generator(generator, num_samples, latent_distribution="normal", batch_size=500,
                     seed=0):
    """``num_samples`` images of ``generator`` (float32 NumPy) from seeded latents.

    As ``train_loops.sample`` draws them (``models.random.generator_samples``),
    with a progress line when there are several batches.
    """
    from models import random  # pylint: disable=import-outside-toplevel
    from train_loops.progress import Progress  # pylint: disable=import-outside-toplevel

    progress = Progress(num_samples, "sampling") if num_samples > batch_size else None
    try:
        samples, _ = random.generator_samples(generator, num_samples, latent_distribution,
                                              batch_size, seed, progress)
    except ValueError as error:
        raise UsageError(error) from None
    return samples


def load_real_images(dataset, split, num_samples, image_size, data_dir, manual_dir):
    """The first ``num_samples`` images of ``split`` as float32 [N, S, S, C] in [-1, 1]."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    from data.images import load_images, scale_images  # pylint: disable=import-outside-toplevel

    images = load_images(dataset, split, data_dir, manual_dir, limit=num_samples,
                         image_size=image_size)
    batches = [scale_images(b).numpy() for b in images.batch(1000)]
    if not batches:
        raise UsageError(f"{dataset} split {split!r} is empty")
    return np.concatenate(batches)


def evaluate(generator, dataset, classifier=None, inception_weights=None,
             metrics=("fid", "kid", "is"), num_samples=10000, latent_distribution="normal",
             batch_size=500, seed=0, data_dir=None, manual_dir=None, split="test", output=None):
    """The command as a function (arguments as the flags; manual_dir is used as given).

    Returns the results dict it prints and writes; raises UsageError on bad input.
    """
    metrics = list(metrics)
    check_arguments(generator, dataset, classifier, inception_weights, metrics, num_samples,
                    batch_size, seed)
    if latent_distribution not in ("normal", "uniform"):
        raise UsageError(f"--latent_distribution must be normal or uniform, got "
                         f"{latent_distribution!r}")
    # TensorFlow loads only once the flags are good.
    import keras  # pylint: disable=import-outside-toplevel

    from evaluation.features import (ClassifierFeatures, InceptionFeatures,  # pylint: disable=import-outside-toplevel
                                     WeightsUnavailableError)

    start = time.time()
    extractors = []
    try:
        # Inception first: a missing weights file fails before any work.
        if inception_weights is not None:
            extractors.append(InceptionFeatures(inception_weights))
        if classifier is not None:
            extractors.append(ClassifierFeatures(classifier))
    except (WeightsUnavailableError, ValueError) as error:
        raise UsageError(error) from None
    extractors.reverse()  # report the classifier first
    for extractor in extractors:
        extractor.show_progress = True

    try:
        if generator.lower().endswith(".npz"):
            fake = stored_samples(generator, num_samples)
        else:
            model = keras.models.load_model(generator, compile=False)
            fake = sample_generator(model, num_samples, latent_distribution, batch_size, seed)
    except UsageError:
        raise
    except Exception as error:  # pylint: disable=broad-except
        raise UsageError(f"cannot load --generator={generator}: "
                         f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
                         ) from None
    results = dict(generator=generator, dataset=dataset, num_fake=len(fake),
                   latent_distribution=latent_distribution, seed=seed)
    if dataset in TOY_MIXTURES:
        results.update(toy_numbers(fake, dataset, seed))
    else:
        results.update(image_numbers(fake, dataset, extractors, metrics, num_samples, seed,
                                     data_dir, manual_dir, split))
    results["seconds"] = round(time.time() - start, 1)

    output = output_path(generator, output)
    directory = os.path.dirname(output)
    if directory:
        os.makedirs(directory, exist_ok=True)
    files.write_json(output, results)
    print(json.dumps(results, indent=2))
    return results


def toy_numbers(fake, dataset, seed):
    """Mode coverage of the points `fake` [N, 2] and their exact W1 to the data (seeded draw)."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    from data import toy  # pylint: disable=import-outside-toplevel
    from evaluation.toy import coverage_numbers, distance_profile  # pylint: disable=import-outside-toplevel
    from evaluation.wasserstein import wasserstein1_estimate  # pylint: disable=import-outside-toplevel
    from train_loops.tasks import ToyTask  # pylint: disable=import-outside-toplevel

    if fake.ndim != 2 or fake.shape[1] != 2:
        raise UsageError(f"the generator's output {fake.shape[1:]} is not a 2-D point; "
                         f"{dataset} is a toy data set")
    centers, std = toy.mode_centers(dataset), toy.mode_std(dataset)
    numbers = dict(coverage_numbers(fake, centers, std), **distance_profile(fake, centers, std))
    n = min(len(fake), ToyTask.W1_SAMPLES)
    if np.isfinite(fake[:n]).all():
        # As ToyTask.finish: a batch as large as the evaluation's, with seed + 1
        # (not the first batch training saw), of which the first n points.
        real = next(iter(toy.toy_batches(dataset, len(fake), seed + 1))).numpy()
        numbers["wasserstein1_estimate"] = round(wasserstein1_estimate(real[:n], fake[:n]), 4)
    else:
        numbers["wasserstein1_estimate"] = None  # no distance to a NaN point
    return numbers


def image_numbers(fake, dataset, extractors, metrics, num_samples, seed, data_dir, manual_dir,
                  split):
    """FID / KID / IS of the images `fake` against `split` of `dataset`, per extractor."""
    from data.images import DatasetUnavailableError, image_shape  # pylint: disable=import-outside-toplevel
    from evaluation.features import compute_image_metrics  # pylint: disable=import-outside-toplevel

    if fake.ndim != 4:
        raise UsageError(f"the generator's output {fake.shape[1:]} is not an image [H, W, C]")
    height, width, channels = fake.shape[1:]
    expected_channels = image_shape(dataset)[-1]
    if height != width or channels != expected_channels:
        raise UsageError(f"the generator makes {height}x{width}x{channels} images; "
                         f"{dataset} images are square with {expected_channels} channels")

    try:
        # The real images at the generator's resolution (e.g. MNIST at 32 px
        # for a 32-px DCGAN), so that both sides are preprocessed alike.
        real = load_real_images(dataset, split, num_samples, height, data_dir, manual_dir)
    except DatasetUnavailableError as error:
        raise UsageError(error) from None

    numbers = dict(split=split, num_real=len(real))
    for extractor in extractors:
        try:
            values = compute_image_metrics(extractor, real, fake, metrics=metrics, seed=seed)
        except ValueError as error:
            raise UsageError(f"{extractor.name}: {error}") from None
        numbers[extractor.name] = {k: round(v, 6) for k, v in values.items()}
    return numbers


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # tfds' per-read INFO lines
    cli.expand_user("generator", "classifier", "inception_weights", "output", "data_dir",
                    "manual_dir")
    # Bad flags answer before TensorFlow loads (data.images imports it).
    check_arguments(FLAGS.generator, FLAGS.dataset, FLAGS.classifier,
                    FLAGS.inception_weights, FLAGS.metrics, FLAGS.num_samples,
                    FLAGS.batch_size, FLAGS.seed)
    num_samples = FLAGS.num_samples
    if FLAGS.dataset in TOY_MIXTURES:
        image_only = [name for name in ("metrics", "split", "data_dir", "manual_dir")
                      if FLAGS[name].present]
        if image_only:
            raise UsageError(f"--{', --'.join(image_only)}: for image data sets only; "
                             f"{FLAGS.dataset} is scored by mode coverage and W1")
        if not FLAGS["num_samples"].present:
            num_samples = TOY_NUM_SAMPLES
    cli.writable_file(output_path(FLAGS.generator, FLAGS.output), "output")
    if FLAGS.data_dir:
        cli.readable_folder(FLAGS.data_dir, "data_dir")
    manual_dir = FLAGS.manual_dir
    if manual_dir is None and FLAGS.dataset in IMAGE_DATASETS:
        from data.images import default_manual_dir  # pylint: disable=import-outside-toplevel

        manual_dir = default_manual_dir(FLAGS.dataset)
    evaluate(FLAGS.generator, FLAGS.dataset, classifier=FLAGS.classifier,
             inception_weights=FLAGS.inception_weights, metrics=FLAGS.metrics,
             num_samples=num_samples, latent_distribution=FLAGS.latent_distribution,
             batch_size=FLAGS.batch_size, seed=FLAGS.seed, data_dir=FLAGS.data_dir,
             manual_dir=manual_dir, split=FLAGS.split, output=FLAGS.output)


if __name__ == "__main__":
    define_flags()
    run(PROGRAM, main)
