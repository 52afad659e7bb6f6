"""python -m train_loops.classifier: train the MNIST / Fashion-MNIST classifier behind classifier-FID.

  python -m train_loops.classifier --dataset=fashion_mnist
  python -m train_loops.classifier --dataset=folder:path/to/images --image_size=64

(a folder of your own images in class subfolders: every 10th image of each
class is held out to measure the accuracy; the training runs then take
--classifier=classifiers/folder_<name>.keras)

trains `evaluation.classifier.build_classifier` on the data set's train split,
measures its accuracy on the test split and writes

  classifiers/<dataset>.keras   the classifier (--output overrides the path)
  classifiers/<dataset>.json    {"test_accuracy": ..., and how it was trained}

Bad flags and an unavailable data set are reported in one line on stderr
with exit status 2.
"""

import json
import os
import sys
import time

from absl import flags, logging

from train_loops import cli
from train_loops.cli import UsageError, run

FLAGS = flags.FLAGS

PROGRAM = "python -m train_loops.classifier"
DATASETS = ("mnist", "fashion_mnist")


def define_flags():
    """The command's flags, defined only when it runs as a program.

    (Defined lazily so that importing this module, e.g. in a test, adds no
    flags to absl's global FLAGS, where they would clash with other entry
    points' flags of the same name.)
    """
    flags.DEFINE_string("dataset", None, "Data set to classify: mnist, fashion_mnist, or "
                        "folder:PATH, a folder of your own images in class subfolders (every "
                        "10th image of each class is held out for the test accuracy).")
    flags.DEFINE_integer("image_size", 64, "folder:PATH: the side images are resized and "
                         "centre-cropped to (the generators' --image_size).")
    flags.DEFINE_bool("skip_bad_images", False, "folder:PATH: leave out unreadable images and "
                      "say how many, instead of stopping at the first.")
    flags.DEFINE_string("data_dir", None, "tfds data directory (default: tfds' own, "
                        "~/tensorflow_datasets).")
    flags.DEFINE_string("manual_dir", None, "Directory with the original files to prepare the "
                        "data set from (default: ../shared/datasets/<dataset> if it exists).")
    flags.DEFINE_string("output", None, "Where the .keras file goes (default: "
                        "classifiers/<dataset>.keras); the JSON record goes beside it.")
    flags.DEFINE_integer("epochs", 4, "Passes over the 60000 training images.")
    flags.DEFINE_integer("batch_size", 128, "Images per training step.")
    flags.DEFINE_float("learning_rate", 2e-3, "Adam's initial learning rate (cosine-decayed to 0).")
    flags.DEFINE_integer("seed", 0, "Seeds the weights and the shuffling.")


def check_arguments(dataset, output, epochs, batch_size, learning_rate, seed):
    if dataset is None:
        raise UsageError("--dataset is required (mnist, fashion_mnist or folder:PATH)")
    if dataset not in DATASETS and not (dataset.startswith("folder:") and len(dataset) > 7):
        raise UsageError(f"--dataset must be one of {', '.join(DATASETS)} or folder:PATH, "
                         f"got {dataset!r}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size),
                        ("learning_rate", learning_rate)):
        if not value > 0:
            raise UsageError(f"--{name} must be positive, got {value}")
    if seed < 0:
        raise UsageError(f"--seed must be non-negative, got {seed}")
    if output is not None and not output.endswith(".keras"):
        raise UsageError(f"--output must end in .keras, got {output!r}")


def default_output(dataset):
    """classifiers/<dataset>.keras (classifiers/folder_<name>.keras for a folder)."""
    from data.folder import folder_label, is_folder

    return os.path.join("classifiers",
                        f"{folder_label(dataset) if is_folder(dataset) else dataset}.keras")


def train(dataset, data_dir=None, manual_dir=None, output=None, epochs=4, batch_size=128,
          learning_rate=2e-3, seed=0, verbose=1, image_size=64, skip_bad_images=False):
    """The command as a function (arguments as the flags; manual_dir is used as given).

    Returns the JSON record it writes; raises UsageError on bad input or an
    unavailable data set.
    """
    check_arguments(dataset, output, epochs, batch_size, learning_rate, seed)
    # TensorFlow loads only once the arguments are good.
    from data.images import DatasetUnavailableError  # pylint: disable=import-outside-toplevel
    from evaluation.classifier import (record_path, save_classifier,  # pylint: disable=import-outside-toplevel
                                       train_classifier)

    from data import folder as folders  # pylint: disable=import-outside-toplevel

    output = output or default_output(dataset)
    contents = None
    try:
        if folders.is_folder(dataset):
            contents = folders.scan(dataset, skip_bad=skip_bad_images)
            folders.report(contents, dataset)
            if contents.classes < 2:
                raise folders.BadFolderError(
                    f"--dataset={dataset}: a classifier needs images in at least 2 class "
                    f"subfolders, found {contents.classes}")
    except folders.BadFolderError as error:
        raise UsageError(error) from None
    print(f"classifier on {dataset}: {epochs} epochs, writing {output} and "
          f"{record_path(output)}", flush=True)
    start = time.time()
    try:
        model, accuracy = train_classifier(
            dataset, data_dir=data_dir, manual_dir=manual_dir, epochs=epochs,
            batch_size=batch_size, seed=seed, learning_rate=learning_rate, verbose=verbose,
            folder=contents, image_size=image_size)
    except DatasetUnavailableError as error:
        raise UsageError(error) from None
    seconds = time.time() - start
    record = dict(dataset=dataset, test_accuracy=round(accuracy, 6), epochs=epochs,
                  batch_size=batch_size, learning_rate=learning_rate, seed=seed,
                  train_seconds=round(seconds, 1))
    save_classifier(model, output, record)
    print(json.dumps(record, indent=2))
    return record


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # tfds' per-read INFO lines
    cli.expand_user("output", "data_dir", "manual_dir")
    # Bad flags answer before TensorFlow loads (data.images imports it).
    check_arguments(FLAGS.dataset, FLAGS.output, FLAGS.epochs, FLAGS.batch_size,
                    FLAGS.learning_rate, FLAGS.seed)
    cli.writable_file(FLAGS.output or default_output(FLAGS.dataset), "output")
    if FLAGS.data_dir:
        cli.readable_folder(FLAGS.data_dir, "data_dir")
    manual_dir = FLAGS.manual_dir
    if manual_dir is None and FLAGS.dataset in DATASETS:
        from data.images import default_manual_dir  # pylint: disable=import-outside-toplevel

        manual_dir = default_manual_dir(FLAGS.dataset)
    train(FLAGS.dataset, data_dir=FLAGS.data_dir, manual_dir=manual_dir,
          output=FLAGS.output, epochs=FLAGS.epochs, batch_size=FLAGS.batch_size,
          learning_rate=FLAGS.learning_rate, seed=FLAGS.seed,
          image_size=FLAGS.image_size, skip_bad_images=FLAGS.skip_bad_images,
          # A progress bar on a terminal, one line per epoch in a log file.
          verbose=1 if sys.stdout.isatty() else 2)


if __name__ == "__main__":
    define_flags()
    run(PROGRAM, main)
