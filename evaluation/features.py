"""Feature extractors for FID / KID / IS of generated images, and `compute_image_metrics`.

Every extractor takes float images [N, H, W, C] in [-1, 1] (the scaling of
``data.images`` and of tanh generators), runs its network in batches and
returns NumPy arrays:

  extractor.features(images)       -> float32 [N, D]   (FID, KID)
  extractor.probabilities(images)  -> float32 [N, K]   (IS)
  extractor.outputs(images)        -> (features, probabilities) in one pass

* `ClassifierFeatures(path)`: a classifier saved by ``train_loops.classifier``
  (``evaluation.classifier``); features are its penultimate "features" layer
  (128-d), probabilities its 10-way softmax. FID / KID on these features and
  the IS computed with its probabilities are the classifier-FID, -KID and
  classifier score that TF-GAN reports for MNIST (``mnist_frechet_distance``,
  ``mnist_score``). Images of another size are resized to 28x28 (bilinear,
  antialiased) first.
* `InceptionFeatures(weights_path)`: ``keras.applications.InceptionV3`` with
  its ImageNet weights read from a local file; features are the 2048-d global
  average pool ("avg_pool"), probabilities the 1000-way softmax. Images are
  resized to 299x299 (bilinear) and grayscale ones tiled to 3 channels
  (`inception_preprocess`). Note: these are Keras' InceptionV3 weights, not
  the 2015 graph (``pool_3``, 1008 classes) of the TTUR / improved-gan
  reference code, so FID and IS values are comparable with each other but not
  digit for digit with published numbers.
"""

import os
from typing import Optional, Sequence

import numpy as np

INCEPTION_SIZE = 299
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
INCEPTION_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                         "inception_v3/" + INCEPTION_WEIGHTS_FILE)

METRICS = ("fid", "kid", "is")


class WeightsUnavailableError(ValueError):
    """The Inception weights file is not given or not there (nothing is downloaded)."""


def inception_weights_error(weights_path: Optional[str]) -> WeightsUnavailableError:
    """The one-line error for a missing Inception weights file."""
    where = ("no Inception weights file was given" if weights_path is None
             else f"Inception weights file {weights_path} does not exist")
    return WeightsUnavailableError(
        f"{where} and it cannot be downloaded here; get {INCEPTION_WEIGHTS_FILE} "
        f"(the Keras InceptionV3 ImageNet weights, keras-applications release: "
        f"{INCEPTION_WEIGHTS_URL}), place it on this machine and pass "
        f"--inception_weights=PATH (weights_path= in Python).")


def _as_images(images) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[0] == 0 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must be a non-empty [N, H, W, 1 or 3] array, got shape "
                         f"{images.shape}.")
    if not np.all(np.isfinite(images)):
        raise ValueError("images must be finite.")
    return images


class FeatureExtractor:
    """Base class: a Keras model with two outputs (features, probabilities), run in batches.

    Subclasses set ``self.model`` (images -> [features, probabilities]) and
    may override `preprocess` (a TF function on one batch).
    """

    name = "extractor"

    def __init__(self, model, batch_size: int = 500):
        if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.model = model
        self.batch_size = int(batch_size)
        self._predict = None
        # A progress line per pass over more than one batch (the evaluate
        # command sets it; a training run's evaluations stay quiet).
        self.show_progress = False

    def preprocess(self, images):
        return images

    def _batch_fn(self):
        if self._predict is None:
            import tensorflow as tf  # pylint: disable=import-outside-toplevel

            model = self.model

            @tf.function(reduce_retracing=True)
            def predict(batch):
                features, probabilities = model(self.preprocess(batch), training=False)
                return features, probabilities

            self._predict = predict
        return self._predict

    def outputs(self, images):
        """(features float32 [N, D], probabilities float32 [N, K]) of ``images`` in [-1, 1]."""
        images = _as_images(images)
        predict = self._batch_fn()
        features, probabilities = [], []
        progress = None
        if self.show_progress and len(images) > self.batch_size:
            from train_loops.progress import Progress  # pylint: disable=import-outside-toplevel

            progress = Progress(len(images), f"{self.name} features")
        for start in range(0, len(images), self.batch_size):
            f, p = predict(images[start:start + self.batch_size])
            features.append(f.numpy())
            probabilities.append(p.numpy())
            if progress is not None:
                progress.update(len(f))
        return (np.concatenate(features).astype(np.float32),
                np.concatenate(probabilities).astype(np.float32))

    def features(self, images) -> np.ndarray:
        return self.outputs(images)[0]

    def probabilities(self, images) -> np.ndarray:
        return self.outputs(images)[1]


class ClassifierFeatures(FeatureExtractor):
    """Features and probabilities of a classifier saved by ``train_loops.classifier``.

    ``classifier`` is the path of its .keras file (or a Keras model built by
    ``evaluation.classifier.build_classifier``). Images whose spatial size is
    not the classifier's (28x28) are resized to it (bilinear, antialiased);
    their channel count must match (1).
    """

    name = "classifier"

    def __init__(self, classifier, batch_size: int = 500):
        import keras  # pylint: disable=import-outside-toplevel

        from evaluation.classifier import OUTPUT_LAYER, feature_layer  # pylint: disable=import-outside-toplevel

        if isinstance(classifier, (str, os.PathLike)):
            path = os.fspath(classifier)
            if not os.path.isfile(path):
                raise ValueError(f"classifier file {path} does not exist; train one with "
                                 f"python -m train_loops.classifier --dataset=...")
            classifier = keras.models.load_model(path)
        self.classifier = classifier
        outputs = [feature_layer(classifier).output, classifier.get_layer(OUTPUT_LAYER).output]
        self.input_shape = tuple(classifier.inputs[0].shape[1:])
        super().__init__(keras.Model(classifier.inputs[0], outputs), batch_size)

    def preprocess(self, images):
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        height, width, channels = self.input_shape
        if images.shape[-1] != channels:
            raise ValueError(f"the classifier takes {channels}-channel images, got "
                             f"{images.shape[-1]}.")
        if tuple(images.shape[1:3]) != (height, width):
            images = tf.image.resize(images, [height, width], method="bilinear", antialias=True)
        return images


def inception_preprocess(images):
    """[N, H, W, 1 or 3] in [-1, 1] -> float32 [N, 299, 299, 3] in [-1, 1], InceptionV3's input.

    Bilinear resize (``tf.image.resize``, as TF-GAN's ``preprocess_image``
    with ``tf.image.resize_bilinear``), clipped to [-1, 1] against rounding;
    grayscale images are tiled to 3 channels. Images already in [-1, 1] need
    no other scaling (Keras' ``inception_v3.preprocess_input`` maps [0, 255]
    to [-1, 1]).
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape.rank != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must be [N, H, W, 1 or 3], got {images.shape}.")
    if tuple(images.shape[1:3]) != (INCEPTION_SIZE, INCEPTION_SIZE):
        images = tf.image.resize(images, [INCEPTION_SIZE, INCEPTION_SIZE], method="bilinear")
    if images.shape[-1] == 1:
        images = tf.tile(images, [1, 1, 1, 3])
    return tf.clip_by_value(images, -1.0, 1.0)


class InceptionFeatures(FeatureExtractor):
    """InceptionV3 (Keras, ImageNet weights from ``weights_path``): 2048-d pool features, 1000-way softmax.

    Raises `WeightsUnavailableError` when ``weights_path`` is None or not a
    file; nothing is downloaded.
    """

    name = "inception"

    def __init__(self, weights_path: Optional[str], batch_size: int = 100):
        if weights_path is None or not os.path.isfile(os.path.expanduser(os.fspath(weights_path))):
            raise inception_weights_error(weights_path)
        import keras  # pylint: disable=import-outside-toplevel

        network = keras.applications.InceptionV3(
            include_top=True, weights=os.path.expanduser(os.fspath(weights_path)))
        outputs = [network.get_layer("avg_pool").output, network.output]
        super().__init__(keras.Model(network.inputs[0], outputs), batch_size)

    def preprocess(self, images):
        return inception_preprocess(images)


def metrics_from_outputs(real_features, fake_features, fake_probabilities=None,
                         metrics: Sequence[str] = METRICS, kid_subsets: int = 100,
                         kid_subset_size: int = 1000, is_splits: int = 10,
                         seed: int = 0) -> dict:
    """FID / KID / IS from features and probabilities already computed.

    Returns a dict with "fid"; "kid" and "kid_std" (mean and std over
    ``kid_subsets`` subsets of min(``kid_subset_size``, N_real, N_fake) rows);
    "is" and "is_std" (over ``is_splits`` splits, fewer if N_fake is smaller)
    — for the metrics asked for. IS uses the fake probabilities only; with a
    classifier extractor it is the "classifier score".
    """
    from evaluation.image_metrics import (  # pylint: disable=import-outside-toplevel
        fid_from_features, inception_score, kernel_inception_distance)

    metrics = check_metrics(metrics)
    results = {}
    if "fid" in metrics:
        results["fid"] = fid_from_features(real_features, fake_features)
    if "kid" in metrics:
        size = min(kid_subset_size, len(real_features), len(fake_features))
        results["kid"], results["kid_std"] = kernel_inception_distance(
            real_features, fake_features, num_subsets=kid_subsets, subset_size=size, seed=seed)
    if "is" in metrics:
        if fake_probabilities is None:
            raise ValueError("the IS needs the fake images' probabilities.")
        results["is"], results["is_std"] = inception_score(
            fake_probabilities, splits=min(is_splits, len(fake_probabilities)))
    return results


def check_metrics(metrics: Sequence[str]) -> tuple:
    """``metrics`` as a tuple of known names (ValueError otherwise)."""
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"metrics must be a non-empty subset of {', '.join(METRICS)}, "
                         f"got {', '.join(metrics) or 'none'}.")
    return metrics


def metric_columns(metrics: Sequence[str]) -> list:
    """Keys `metrics_from_outputs` returns for ``metrics``, in order."""
    columns = []
    for m in check_metrics(metrics):
        columns += {"fid": ["fid"], "kid": ["kid", "kid_std"], "is": ["is", "is_std"]}[m]
    return columns


def compute_image_metrics(extractor: FeatureExtractor, real_images, fake_images,
                          metrics: Sequence[str] = METRICS, **kwargs) -> dict:
    """FID / KID / IS of ``fake_images`` against ``real_images`` ([N, H, W, C] in [-1, 1]).

    Runs ``extractor`` on both sets (only the fake set's probabilities are
    used, for IS) and returns `metrics_from_outputs`'s dict; ``kwargs`` go to
    it (kid_subsets, kid_subset_size, is_splits, seed).
    """
    metrics = check_metrics(metrics)
    real_features = None
    if "fid" in metrics or "kid" in metrics:
        real_features = extractor.features(real_images)
    fake_features, fake_probabilities = extractor.outputs(fake_images)
    if real_features is None:
        real_features = fake_features  # unused: only IS was asked for
    return metrics_from_outputs(real_features, fake_features, fake_probabilities,
                                metrics=metrics, **kwargs)
