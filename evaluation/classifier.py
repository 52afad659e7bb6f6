"""A small MNIST / Fashion-MNIST CNN classifier whose features and predictions score generators.

TF-GAN scores its MNIST GANs with a classifier trained on MNIST in place of
Inception (``tfgan.eval.mnist_frechet_distance`` / ``mnist_score``): FID and
KID on its penultimate activations, and the Inception Score computed with its
class probabilities (the "classifier score"). This module builds and trains
such a classifier for 28x28x1 images in [-1, 1], scaled exactly as
``data.images`` scales them (x / 127.5 - 1).

Architecture (``build_classifier``), chosen to reach >= 99% test accuracy on
MNIST and >= 91% on Fashion-MNIST in a few CPU minutes:

  input 28x28x1 in [-1, 1]
  conv 3x3 32 - BN - ReLU - maxpool 2 - dropout 0.1
  conv 3x3 64 - BN - ReLU - maxpool 2 - dropout 0.1
  flatten - dense 128 - BN - ReLU  (layer "features": the 128-d feature vector)
  dropout 0.3 - dense 10 - softmax (layer "probabilities")

``train_classifier`` trains it with Adam and a cosine-decayed learning rate on
the tfds "train" split and reports accuracy on the "test" split;
``save_classifier`` writes ``<path>.keras`` and a JSON record beside it.
"""

import os
from typing import Optional

import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from data import images as image_data

CLASSIFIER_DATASETS = ("mnist", "fashion_mnist")
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
FEATURE_LAYER = "features"
OUTPUT_LAYER = "probabilities"

DEFAULT_EPOCHS = 4
DEFAULT_BATCH_SIZE = 128
DEFAULT_LEARNING_RATE = 2e-3
CONV_DROPOUT = 0.1
DENSE_DROPOUT = 0.3


def _check_dataset(dataset):
    from data.folder import is_folder

    if dataset not in CLASSIFIER_DATASETS and not is_folder(dataset):
        raise ValueError(f"classifier data set must be one of {', '.join(CLASSIFIER_DATASETS)}, "
                         f"got {dataset!r}.")


def build_classifier(num_classes: int = NUM_CLASSES, feature_dim: int = 128,
                     width: int = 32, conv_dropout: float = CONV_DROPOUT,
                     dense_dropout: float = DENSE_DROPOUT,
                     name: str = "classifier", image_shape=IMAGE_SHAPE) -> keras.Model:
    """The CNN above as a Keras functional model: [N, 28, 28, 1] in [-1, 1] -> [N, classes] softmax.

    ``image_shape`` other than 28x28x1 serves a folder of the user's images.

    ``width`` is the channel count of the first block (the second has twice
    as many) and ``feature_dim`` the size of the "features" layer; the tests
    build tiny ones. A dropout rate of 0 leaves that dropout layer out.
    """
    inputs = keras.Input(image_shape, name="images")
    x = inputs
    for i, filters in enumerate((width, 2 * width)):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                                name=f"block{i + 1}_conv")(x)
        x = keras.layers.BatchNormalization(name=f"block{i + 1}_bn")(x)
        x = keras.layers.ReLU(name=f"block{i + 1}_relu")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{i + 1}_pool")(x)
        if conv_dropout:
            x = keras.layers.Dropout(conv_dropout, name=f"block{i + 1}_dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(feature_dim, use_bias=False, name="dense")(x)
    x = keras.layers.BatchNormalization(name="dense_bn")(x)
    x = keras.layers.ReLU(name=FEATURE_LAYER)(x)
    if dense_dropout:
        x = keras.layers.Dropout(dense_dropout, name="dense_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name=OUTPUT_LAYER)(x)
    return keras.Model(inputs, outputs, name=name)


def feature_layer(model: keras.Model) -> keras.layers.Layer:
    """The classifier's penultimate "features" layer (ValueError if it has none)."""
    try:
        return model.get_layer(FEATURE_LAYER)
    except ValueError:
        raise ValueError(f"model {model.name!r} has no layer named {FEATURE_LAYER!r}; "
                         "build it with evaluation.classifier.build_classifier.") from None


def load_labelled_images(dataset: str, split: str, data_dir: Optional[str] = None,
                         manual_dir: Optional[str] = None,
                         limit: Optional[int] = None) -> tf.data.Dataset:
    """Finite dataset of (float32 image [28, 28, 1] in [-1, 1], int64 label) in tfds' stored order.

    ``data.images.load_images`` keeps only the images; it is called first so
    that the data set is prepared from ``manual_dir`` (or
    ``DatasetUnavailableError`` raised) exactly as there. The labelled examples
    are then read from the same tfds builder and preprocessed with
    ``data.images.preprocess_image`` and ``scale_images``.
    """
    _check_dataset(dataset)
    image_data.load_images(dataset, split, data_dir, manual_dir, limit=limit)
    # pylint: disable=protected-access
    with image_data._gcs_disabled():
        examples = tfds.builder(dataset, data_dir=data_dir).as_dataset(split=split,
                                                                      shuffle_files=False)
    if limit is not None:
        examples = examples.take(limit)

    def convert(example):
        image = image_data.preprocess_image(dataset, example["image"])
        return image_data.scale_images(image), example["label"]

    return examples.map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def load_arrays(dataset: str, split: str, data_dir: Optional[str] = None,
                manual_dir: Optional[str] = None, limit: Optional[int] = None):
    """``load_labelled_images`` as NumPy arrays: (float32 [N, 28, 28, 1], int64 [N])."""
    batches = load_labelled_images(dataset, split, data_dir, manual_dir, limit).batch(4096)
    images, labels = [], []
    for x, y in batches.as_numpy_iterator():
        images.append(x)
        labels.append(y)
    if not images:
        raise ValueError(f"{dataset} split {split!r} is empty.")
    return np.concatenate(images), np.concatenate(labels)


def train_classifier(dataset: str, data_dir: Optional[str] = None,
                     manual_dir: Optional[str] = None, epochs: int = DEFAULT_EPOCHS,
                     batch_size: int = DEFAULT_BATCH_SIZE, seed: int = 0,
                     learning_rate: float = DEFAULT_LEARNING_RATE, verbose="auto",
                     train_limit: Optional[int] = None, test_limit: Optional[int] = None,
                     folder=None, image_size: int = 64):
    """Train ``build_classifier`` on ``dataset``'s train split; returns (model, test_accuracy).

    ``dataset`` "folder:PATH" is a folder of the user's images in class
    subfolders: ``folder`` is its ``data.folder.scan`` (scanned here if
    None), the images ``image_size`` square, and every 10th image of each
    class the test split (``data.folder.labelled_arrays``).

    Adam(learning_rate) with cosine decay to 0 over all steps, cross-entropy,
    the train split reshuffled every epoch (seeded), ``epochs`` passes.
    Test accuracy is measured on the full test split (``test_limit`` images
    if given; ``train_limit`` likewise trims the training set, for tests).
    ``verbose`` is passed to ``fit`` (1: a progress bar).
    """
    _check_dataset(dataset)
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not (isinstance(value, (int, np.integer)) and value >= 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}.")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}.")

    from data import folder as folders

    if folders.is_folder(dataset):
        folder = folder or folders.scan(dataset)
        if folder.classes < 2:
            raise ValueError(f"--dataset={dataset}: a classifier needs images in at least 2 "
                             f"class subfolders, found {folder.classes}")
        (train_x, train_y), (test_x, test_y) = (
            folders.labelled_arrays(folder, image_size, split) for split in ("train", "test"))
        shape, classes = train_x.shape[1:], folder.classes
    else:
        train_x, train_y = load_arrays(dataset, "train", data_dir, manual_dir, train_limit)
        test_x, test_y = load_arrays(dataset, "test", data_dir, manual_dir, test_limit)
        shape, classes = IMAGE_SHAPE, NUM_CLASSES

    keras.utils.set_random_seed(seed)
    model = build_classifier(classes, image_shape=shape)
    steps = epochs * (-(-len(train_x) // batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    train = (tf.data.Dataset.from_tensor_slices((train_x, train_y))
             .shuffle(len(train_x), seed=seed, reshuffle_each_iteration=True)
             .batch(batch_size)
             .prefetch(tf.data.AUTOTUNE))
    model.fit(train, epochs=epochs, shuffle=False, verbose=verbose)  # shuffled above
    test_accuracy = evaluate_accuracy(model, test_x, test_y)
    return model, test_accuracy


def evaluate_accuracy(model: keras.Model, images, labels, batch_size: int = 1000) -> float:
    """Fraction of ``images`` whose arg-max prediction equals ``labels``."""
    probabilities = model.predict(images, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=1) == np.asarray(labels)))


def record_path(model_path: str) -> str:
    """The JSON record beside ``model_path``: classifiers/x.keras -> classifiers/x.json."""
    root, _ = os.path.splitext(model_path)
    return root + ".json"


def save_classifier(model: keras.Model, path: str, record: dict) -> str:
    """Write ``model`` to ``path`` (must end in .keras) and ``record`` as JSON beside it.

    ``record`` should hold at least {"test_accuracy": ...}. Returns the JSON path.
    """
    if not path.endswith(".keras"):
        raise ValueError(f"the classifier path must end in .keras, got {path!r}.")
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    from train_loops import files

    with files.replacing(path) as temporary:
        model.save(temporary)
    json_path = record_path(path)
    files.write_json(json_path, record)
    return json_path
