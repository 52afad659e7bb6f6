"""Tests for the image evaluation: classifier, feature extractors, metrics callback, commands.

Everything runs on tiny randomly initialised networks and synthetic images:
no network access, no real training. The command-line checks run as
processes (tests/command_processes.py; three at a time, queued in
`setUpModule`); the end-to-end `train_loops.evaluate` runs in-process on
`tfds.testing.mock_data`.
"""

import concurrent.futures
import contextlib
import csv
import glob
import io
import json
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from evaluation import classifier as classifier_lib
from evaluation.callback import ImageMetricsCallback
from evaluation.features import (INCEPTION_WEIGHTS_FILE, ClassifierFeatures, FeatureExtractor,
                                 InceptionFeatures, WeightsUnavailableError,
                                 compute_image_metrics, inception_preprocess)
from test_train_loops import program_lines, run


def tiny_classifier(seed=0):
    keras.utils.set_random_seed(seed)
    return classifier_lib.build_classifier(feature_dim=8, width=4)


def class_images(rng, n, bright_half):
    """Synthetic 'classes': noise in [-1, -0.5] with the left or right half bright."""
    images = rng.uniform(-1.0, -0.5, (n, 28, 28, 1)).astype(np.float32)
    columns = slice(0, 14) if bright_half == "left" else slice(14, 28)
    images[:, :, columns] = rng.uniform(0.5, 1.0, (n, 28, 14, 1))
    return images


# -- command runs, queued at module set-up -----------------------------------

_pool = None
_root = None
_jobs = {}


def setUpModule():
    global _pool, _root
    _root = tempfile.mkdtemp(prefix="test_evaluation_")
    # A tiny saved generator and classifier for the command-line cases.
    generator = tiny_generator()
    generator.save(os.path.join(_root, "generator.keras"))
    tiny_classifier().save(os.path.join(_root, "classifier.keras"))
    os.makedirs(os.path.join(_root, "empty"))
    _pool = concurrent.futures.ThreadPoolExecutor(max_workers=3)
    for key, (module, args) in CommandLineTest.cases().items():
        _jobs[key] = _pool.submit(run, module, *args)


def tearDownModule():
    _pool.shutdown(wait=True, cancel_futures=True)
    shutil.rmtree(_root, ignore_errors=True)


def tiny_generator(latent_dim=4):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(28 * 28, activation="tanh")(inputs)
    outputs = keras.layers.Reshape((28, 28, 1))(x)
    return keras.Model(inputs, outputs, name="tiny_generator")


class ClassifierArchitectureTest(tf.test.TestCase):

    def test_output_and_feature_shapes(self):
        model = classifier_lib.build_classifier()
        self.assertEqual(tuple(model.input_shape), (None, 28, 28, 1))
        self.assertEqual(tuple(model.output_shape), (None, 10))
        self.assertEqual(tuple(classifier_lib.feature_layer(model).output.shape), (None, 128))
        probabilities = model.predict(np.zeros((3, 28, 28, 1), np.float32), verbose=0)
        self.assertAllClose(probabilities.sum(axis=1), np.ones(3), atol=1e-5)

    def test_feature_layer_found_by_name_after_save_and_load(self):
        model = tiny_classifier()
        path = os.path.join(self.get_temp_dir(), "c.keras")
        model.save(path)
        extractor = ClassifierFeatures(path, batch_size=7)
        images = np.random.default_rng(0).uniform(-1, 1, (10, 28, 28, 1)).astype(np.float32)
        features, probabilities = extractor.outputs(images)
        self.assertEqual(features.shape, (10, 8))
        self.assertEqual(probabilities.shape, (10, 10))
        expected = keras.Model(model.inputs[0], model.get_layer("features").output)(images)
        self.assertAllClose(features, expected, atol=1e-5)
        self.assertAllClose(probabilities, model(images), atol=1e-5)

    def test_model_without_feature_layer_raises(self):
        inputs = keras.Input((28, 28, 1))
        outputs = keras.layers.Dense(10, activation="softmax",
                                     name="probabilities")(keras.layers.Flatten()(inputs))
        with self.assertRaisesRegex(ValueError, "features"):
            ClassifierFeatures(keras.Model(inputs, outputs))

    def test_missing_classifier_file_raises(self):
        with self.assertRaisesRegex(ValueError, "train_loops.classifier"):
            ClassifierFeatures(os.path.join(self.get_temp_dir(), "nope.keras"))


class ClassifierTrainingTest(tf.test.TestCase):
    """The data path and the command's function on tfds.testing.mock_data (64 random images)."""

    def test_labelled_images_are_scaled_like_data_images(self):
        with tfds.testing.mock_data(num_examples=12):
            images, labels = classifier_lib.load_arrays("fashion_mnist", "test",
                                                        data_dir=self.get_temp_dir(), limit=10)
        self.assertEqual(images.shape, (10, 28, 28, 1))
        self.assertEqual(images.dtype, np.float32)
        self.assertEqual(labels.shape, (10,))
        self.assertBetween(float(images.min()), -1.0, 1.0)
        self.assertBetween(float(images.max()), -1.0, 1.0)
        # uint8 x -> x / 127.5 - 1: every value is on that grid.
        self.assertAllClose((images + 1.0) * 127.5, np.round((images + 1.0) * 127.5), atol=1e-3)
        self.assertTrue(np.all((labels >= 0) & (labels < 10)))

    def test_train_command_function_writes_model_and_record(self):
        from train_loops import classifier as classifier_command  # pylint: disable=import-outside-toplevel

        tmp = self.get_temp_dir()
        output = os.path.join(tmp, "out", "mock.keras")
        with tfds.testing.mock_data(num_examples=64):
            record = classifier_command.train("mnist", data_dir=tmp, output=output, epochs=1,
                                              batch_size=32, verbose=0)
        self.assertBetween(record["test_accuracy"], 0.0, 1.0)
        with open(os.path.join(tmp, "out", "mock.json")) as f:
            self.assertEqual(json.load(f), record)
        extractor = ClassifierFeatures(output)
        self.assertEqual(extractor.features(np.zeros((2, 28, 28, 1))).shape, (2, 128))

    def test_bad_arguments_raise(self):
        with self.assertRaises(ValueError):
            classifier_lib.train_classifier("cifar10")
        with self.assertRaises(ValueError):
            classifier_lib.train_classifier("mnist", epochs=0)
        with self.assertRaises(ValueError):
            classifier_lib.save_classifier(tiny_classifier(), "c.h5", {})


class ClassifierFidTest(tf.test.TestCase):
    """Classifier-FID through ClassifierFeatures on a tiny random classifier, saved and loaded."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp()
        path = os.path.join(cls.dir, "c.keras")
        tiny_classifier().save(path)
        cls.extractor = ClassifierFeatures(path)
        rng = np.random.default_rng(0)
        cls.left = class_images(rng, 400, "left")
        cls.left2 = class_images(rng, 400, "left")
        cls.right = class_images(rng, 400, "right")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    def test_fid_of_a_set_with_itself_is_zero(self):
        result = compute_image_metrics(self.extractor, self.left, self.left, metrics=("fid",))
        self.assertEqual(set(result), {"fid"})
        features = self.extractor.features(self.left).astype(np.float64)
        scale = np.trace(np.cov(features, rowvar=False))
        self.assertLess(abs(result["fid"]), 1e-6 * scale)

    def test_disjoint_classes_are_far_apart_and_one_class_is_close(self):
        same = compute_image_metrics(self.extractor, self.left, self.left2, metrics=("fid",))
        different = compute_image_metrics(self.extractor, self.left, self.right,
                                          metrics=("fid",))
        self.assertGreater(different["fid"], 0.0)
        self.assertGreater(different["fid"], 20 * same["fid"])

    def test_all_metrics_keys_and_ranges(self):
        result = compute_image_metrics(self.extractor, self.left, self.right,
                                       kid_subsets=10, kid_subset_size=100)
        self.assertEqual(set(result), {"fid", "kid", "kid_std", "is", "is_std"})
        self.assertGreater(result["kid"], 0.0)
        self.assertBetween(result["is"], 1.0, 10.0)  # IS lies in [1, number of classes]

    def test_images_of_another_size_are_resized(self):
        small = tf.image.resize(self.left[:5], [32, 32]).numpy()
        self.assertEqual(self.extractor.features(small).shape, (5, 8))

    def test_bad_images_raise(self):
        for bad in (np.zeros((4, 28, 28)), np.zeros((0, 28, 28, 1)),
                    np.full((2, 28, 28, 1), np.nan)):
            with self.assertRaises(ValueError):
                self.extractor.features(bad)
        with self.assertRaises(ValueError):
            compute_image_metrics(self.extractor, self.left, self.left, metrics=("fd",))


class InceptionTest(tf.test.TestCase):

    def test_missing_weights_raise_a_one_line_error(self):
        for path in (None, os.path.join(self.get_temp_dir(), "missing.h5")):
            with self.assertRaises(WeightsUnavailableError) as context:
                InceptionFeatures(path)
            message = str(context.exception)
            self.assertIsInstance(context.exception, ValueError)
            self.assertNotIn("\n", message)
            self.assertIn(INCEPTION_WEIGHTS_FILE, message)
            self.assertIn("--inception_weights=PATH", message)
            if path is not None:
                self.assertIn(path, message)

    def test_preprocessing_resizes_tiles_and_keeps_the_range(self):
        rng = np.random.default_rng(0)
        gray = rng.uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32)
        gray[0] = -1.0  # a constant image stays constant
        gray[1, :, :14] = 1.0
        out = inception_preprocess(gray).numpy()
        self.assertEqual(out.shape, (2, 299, 299, 3))
        self.assertEqual(out.dtype, np.float32)
        self.assertAllEqual(out[..., 0], out[..., 1])
        self.assertAllEqual(out[..., 0], out[..., 2])
        self.assertGreaterEqual(out.min(), -1.0)
        self.assertLessEqual(out.max(), 1.0)
        self.assertAllEqual(out[0], np.full((299, 299, 3), -1.0, np.float32))
        self.assertAllClose(out[1, :, :140], np.ones((299, 140, 3)))  # the bright half
        self.assertAllClose(out.reshape(2, -1).mean(axis=1), gray.reshape(2, -1).mean(axis=1),
                            atol=0.02)

    def test_preprocessing_keeps_colour_and_299_inputs(self):
        colour = np.random.default_rng(1).uniform(-1, 1, (1, 299, 299, 3)).astype(np.float32)
        self.assertAllEqual(inception_preprocess(colour), colour)
        small = np.zeros((1, 32, 32, 3), np.float32)
        small[..., 0] = 1.0
        out = inception_preprocess(small).numpy()
        self.assertAllClose(out[..., 0], np.ones((1, 299, 299)))
        self.assertAllClose(out[..., 1], np.zeros((1, 299, 299)))

    def test_preprocessing_rejects_bad_shapes(self):
        with self.assertRaises(ValueError):
            inception_preprocess(np.zeros((2, 28, 28, 2), np.float32))


class _CountingExtractor(FeatureExtractor):
    """A stand-in extractor: features = per-row image statistics, 2-way softmax probabilities."""

    name = "fake"

    def __init__(self):  # pylint: disable=super-init-not-called
        self.feature_calls = 0
        self.output_calls = 0

    def _compute(self, images):
        images = np.asarray(images, np.float64).reshape(len(images), -1)
        features = np.stack([images.mean(1), images.std(1), images[:, 0], images[:, -1]], 1)
        logits = np.stack([images.mean(1), -images.mean(1)], 1)
        probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        return features.astype(np.float32), probabilities.astype(np.float32)

    def features(self, images):
        self.feature_calls += 1
        return self._compute(images)[0]

    def outputs(self, images):
        self.output_calls += 1
        return self._compute(images)


class ImageMetricsCallbackTest(tf.test.TestCase):

    def _fit(self, callback, steps):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        data = tf.data.Dataset.from_tensors((tf.zeros((4, 2)), tf.zeros((4, 1)))).repeat()
        model.fit(data, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0,
                  callbacks=[callback])

    def _rows(self, path):
        with open(path, newline="") as f:
            return list(csv.reader(f))

    def test_rows_at_n_and_2n_with_columns_and_summaries(self):
        real = np.random.default_rng(0).uniform(-1, 1, (50, 6, 6, 1)).astype(np.float32)
        calls = []

        def sample(n):  # the real images themselves, in order: FID 0
            start = sum(calls) % len(real)
            calls.append(n)
            return real[start:start + n]

        extractor = _CountingExtractor()
        tmp = self.get_temp_dir()
        csv_path = os.path.join(tmp, "sub", "image_metrics.csv")
        writer = tf.summary.create_file_writer(os.path.join(tmp, "logs"))
        callback = ImageMetricsCallback(sample, extractor, real, every=3, num_samples=50,
                                        csv_path=csv_path, summary_writer=writer,
                                        sample_batch_size=20, verbose=False,
                                        metric_kwargs=dict(kid_subsets=5, kid_subset_size=20))
        self._fit(callback, 7)
        rows = self._rows(csv_path)
        self.assertEqual(rows[0], ["iteration", "seconds", "eval_seconds", "fid", "kid",
                                   "kid_std", "is", "is_std"])
        self.assertEqual([row[0] for row in rows[1:]], ["3", "6"])
        for row in rows[1:]:
            self.assertLen(row, 8)
            self.assertLessEqual(float(row[2]), float(row[1]))
            self.assertLess(abs(float(row[3])), 1e-6)  # fake == real
        self.assertLessEqual(float(rows[1][1]), float(rows[2][1]))
        self.assertEqual(calls, [20, 20, 10, 20, 20, 10])  # 50 in chunks, twice
        self.assertEqual(extractor.feature_calls, 1)  # real features cached
        self.assertEqual(extractor.output_calls, 2)

        writer.flush()
        tags = {}
        for event_file in glob.glob(os.path.join(tmp, "logs", "events.*")):
            for event in tf.compat.v1.train.summary_iterator(event_file):
                for value in event.summary.value:
                    tags.setdefault(value.tag, []).append(event.step)
        self.assertEqual(tags.get("eval/fid"), [3, 6])
        self.assertEqual(tags.get("eval/is_std"), [3, 6])

    def test_each_evaluations_line_says_the_time_left(self):
        real_features = np.random.default_rng(2).normal(size=(30, 4)).astype(np.float32)
        callback = ImageMetricsCallback(
            lambda n: np.zeros((n, 6, 6, 1), np.float32), _CountingExtractor(), real_features,
            every=3, num_samples=10, metrics=("fid",),
            csv_path=os.path.join(self.get_temp_dir(), "image_metrics.csv"))
        with contextlib.redirect_stdout(io.StringIO()) as out:
            self._fit(callback, 6)
        lines = out.getvalue().splitlines()
        self.assertLen(lines, 2)
        self.assertRegex(lines[0], r"^iteration 3  \d+s  ~\d+s left  fake fid \S+  \(\d+\.\ds\)$")
        self.assertRegex(lines[1], r"^iteration 6  \d+s  ~0s left  fake fid ")

    def test_resume_keeps_a_scheduled_row_and_drops_an_interrupted_runs_final_one(self):
        real_features = np.random.default_rng(1).normal(size=(30, 4)).astype(np.float32)
        sample = lambda n: np.random.default_rng(n).uniform(-1, 1, (n, 6, 6, 1))
        csv_path = os.path.join(self.get_temp_dir(), "m.csv")

        def callback(start):
            return ImageMetricsCallback(sample, _CountingExtractor(), real_features, every=2,
                                        num_samples=30, csv_path=csv_path, metrics=("fid",),
                                        start_iteration=start, verbose=False)

        first = callback(0)
        self._fit(first, 5)
        first.evaluate(5)  # stopped at 5: the final evaluation, off the schedule
        self.assertEqual([row[0] for row in self._rows(csv_path)[1:]], ["2", "4", "5"])
        # Resumed from the checkpoint at 5: its row goes, an unbroken run has none.
        self._fit(callback(5), 1)
        self.assertEqual([row[0] for row in self._rows(csv_path)[1:]], ["2", "4", "6"])
        # A finished run resumed at 6 (a scheduled evaluation): the row stands,
        # and the final evaluation returns it rather than writing another.
        finished = callback(6)
        fid = float(self._rows(csv_path)[-1][3])
        self.assertEqual(finished.evaluate(6), {"fid": fid})
        self.assertEqual([row[0] for row in self._rows(csv_path)[1:]], ["2", "4", "6"])

    def test_seeded_evaluations_draw_from_their_own_stream_per_iteration(self):
        def sample(n, seed_generator):
            return keras.random.uniform((n, 4, 4, 1), -1, 1, seed=seed_generator)

        def callback(seed):
            return ImageMetricsCallback(sample, _CountingExtractor(), np.zeros((10, 4)), every=1,
                                        num_samples=30, sample_batch_size=20, seed=seed,
                                        csv_path=os.path.join(self.get_temp_dir(), "m.csv"),
                                        verbose=False)

        first, again, other_seed = callback(3), callback(3), callback(4)
        at_5 = first.sample(5)
        self.assertEqual(at_5.shape, (30, 4, 4, 1))
        # An evaluation's images depend on (seed, iteration) only: not on what
        # was drawn before, nor on the chunking's second call repeating the first.
        first.sample(6)
        self.assertAllEqual(again.sample(5), at_5)
        self.assertAllEqual(first.sample(5), at_5)
        self.assertNotAllClose(first.sample(6), at_5)
        self.assertNotAllClose(other_seed.sample(5), at_5)
        self.assertNotAllClose(at_5[:10], at_5[20:])

    def test_derived_seeds_are_stable_31_bit_and_distinct(self):
        from models.random import derived_seed

        seeds = [derived_seed(s, t) for s in range(3) for t in range(100)]
        self.assertEqual(seeds, [derived_seed(s, t) for s in range(3) for t in range(100)])
        self.assertLen(set(seeds), 300)
        self.assertTrue(all(0 <= s < 2 ** 31 for s in seeds))

    def test_precomputed_features_subset_of_metrics_and_resume(self):
        real_features = np.random.default_rng(1).normal(size=(30, 4)).astype(np.float32)
        extractor = _CountingExtractor()
        csv_path = os.path.join(self.get_temp_dir(), "m.csv")
        sample = lambda n: np.random.default_rng(n).uniform(-1, 1, (n, 6, 6, 1))
        callback = ImageMetricsCallback(sample, extractor, real_features, every=2,
                                        num_samples=30, csv_path=csv_path, metrics=("fid",),
                                        verbose=False)
        self._fit(callback, 4)
        self.assertEqual(extractor.feature_calls, 0)
        resumed = ImageMetricsCallback(sample, extractor, real_features, every=2,
                                       num_samples=30, csv_path=csv_path, metrics=("fid",),
                                       start_iteration=4, verbose=False)
        self._fit(resumed, 2)
        rows = self._rows(csv_path)
        self.assertEqual(rows[0], ["iteration", "seconds", "eval_seconds", "fid"])
        self.assertEqual([row[0] for row in rows[1:]], ["2", "4", "6"])
        self.assertGreater(float(rows[1][3]), 0.0)

    def test_bad_arguments_raise(self):
        extractor, path = _CountingExtractor(), os.path.join(self.get_temp_dir(), "x.csv")
        real = np.zeros((10, 4))
        for kwargs in (dict(every=0), dict(num_samples=1), dict(metrics=("fid", "psnr")),
                       dict(real=np.zeros((1, 4))), dict(real=np.zeros((5,)))):
            args = dict(every=2, num_samples=10, metrics=("fid",), real=real)
            args.update(kwargs)
            with self.assertRaises(ValueError, msg=str(kwargs)):
                ImageMetricsCallback(lambda n: None, extractor, args.pop("real"), csv_path=path,
                                     **args)


class EvaluateInProcessTest(tf.test.TestCase):
    """train_loops.evaluate end to end on mock Fashion-MNIST, in this process."""

    def test_tiny_generator_against_mock_test_split(self):
        from train_loops import evaluate as evaluate_command  # pylint: disable=import-outside-toplevel

        tmp = self.get_temp_dir()
        generator_path = os.path.join(tmp, "generator.keras")
        tiny_generator().save(generator_path)
        classifier_path = os.path.join(tmp, "classifier.keras")
        tiny_classifier().save(classifier_path)
        output = os.path.join(tmp, "out", "metrics.json")
        with tfds.testing.mock_data(num_examples=40):
            results = evaluate_command.evaluate(
                generator_path, "fashion_mnist", classifier=classifier_path, num_samples=30,
                latent_distribution="uniform", batch_size=16, data_dir=tmp, output=output)
        with open(output) as f:
            self.assertEqual(json.load(f), results)
        self.assertEqual(results["num_fake"], 30)
        self.assertEqual(results["num_real"], 30)
        self.assertEqual(set(results["classifier"]), {"fid", "kid", "kid_std", "is", "is_std"})
        self.assertGreater(results["classifier"]["fid"], 0.0)
        self.assertBetween(results["classifier"]["is"], 1.0, 10.0)

        # The same samples stored as a .npz (as train_loops.sample writes
        # them), followed by 10 blank images that must not be used, give the
        # same numbers.
        samples = evaluate_command.sample_generator(
            keras.saving.load_model(generator_path), 30, "uniform", batch_size=16, seed=0)
        samples = np.concatenate([samples, np.zeros((10,) + samples.shape[1:], np.float32)])
        stored = os.path.join(tmp, "samples.npz")
        np.savez(stored, samples=samples, latent=np.zeros((40, 1)))
        with tfds.testing.mock_data(num_examples=40):
            again = evaluate_command.evaluate(
                stored, "fashion_mnist", classifier=classifier_path, num_samples=30,
                data_dir=tmp, output=os.path.join(tmp, "again.json"))
        self.assertEqual(again["num_fake"], 30)
        self.assertEqual(again["classifier"], results["classifier"])

    def test_the_real_images_themselves_score_fid_zero(self):
        # Known answer: the test split's own first 30 images, stored as the
        # samples and scored against the test split's first 30, give identical
        # feature sets: FID 0. The same images mirrored left to right do not.
        # (Catches real and generated images prepared differently.)
        from train_loops import evaluate as evaluate_command  # pylint: disable=import-outside-toplevel

        tmp = self.get_temp_dir()
        classifier_path = os.path.join(tmp, "classifier.keras")
        tiny_classifier().save(classifier_path)
        fid = {}
        with tfds.testing.mock_data(num_examples=40):
            real = evaluate_command.load_real_images("fashion_mnist", "test", 30, 28, tmp, None)
            for name, images in (("same", real), ("mirrored", real[:, :, ::-1])):
                path = os.path.join(tmp, f"{name}.npz")
                np.savez(path, samples=images, latent=np.zeros((30, 1)))
                fid[name] = evaluate_command.evaluate(
                    path, "fashion_mnist", classifier=classifier_path, metrics=("fid",),
                    num_samples=30, data_dir=tmp,
                    output=os.path.join(tmp, f"{name}.json"))["classifier"]["fid"]
        # 0 at the JSON's 6 decimals with SciPy >= 1.16; older SciPy's sqrtm
        # fallback (evaluation/image_metrics.py) adds eps to a covariance that three
        # dead features make singular, about -2e-5.
        self.assertLess(abs(fid["same"]), 1e-4)
        self.assertGreater(fid["mirrored"], 1e-3)  # 0.0058 with this untrained classifier

    def test_toy_mixture_coverage_and_w1_of_stored_points(self):
        # Known answers: 800 points exactly on the 8 ring centres, 100 each,
        # are all high quality with uniform shares (reverse KL 0); the same
        # number on one centre keep one mode with reverse KL log 8. A
        # generator-free .npz, as `train_loops.sample --dot_steps` writes.
        from data import toy  # pylint: disable=import-outside-toplevel
        from train_loops import evaluate as evaluate_command  # pylint: disable=import-outside-toplevel

        centers = toy.mode_centers("8gaussians").astype(np.float32)
        tmp = self.get_temp_dir()
        cases = {"spread": np.repeat(centers, 100, axis=0),
                 "collapsed": np.repeat(centers[:1], 800, axis=0)}
        results = {}
        for name, points in cases.items():
            path = os.path.join(tmp, f"{name}.npz")
            np.savez(path, samples=points, latent=np.zeros((800, 2)))
            results[name] = evaluate_command.evaluate(path, "8gaussians", num_samples=800,
                                                      output=os.path.join(tmp, f"{name}.json"))
        spread, collapsed = results["spread"], results["collapsed"]
        self.assertEqual((spread["modes_captured"], spread["high_quality_percent"]), (8, 100.0))
        self.assertAllClose(spread["shares"], [0.125] * 8)
        self.assertAllClose(spread["reverse_kl"], 0.0, atol=1e-4)
        self.assertEqual((collapsed["modes_captured"], collapsed["high_quality_percent"]),
                         (1, 100.0))
        self.assertAllClose(collapsed["reverse_kl"], np.log(8), atol=1e-4)
        # Every point on a centre: distance 0, none near a mode or between modes.
        self.assertEqual((spread["median_distance_std"], spread["near_miss_percent"],
                          spread["between_modes_percent"]), (0.0, 0.0, 0.0))
        # W1 from one centre to the ring (radius 2 / 1.414): the mean distance
        # from one vertex of a regular octagon to all eight, up to the data's
        # small spread and the 800-point draw.
        radius = np.linalg.norm(centers[0])
        chords = 2 * radius * np.sin(np.pi * np.arange(8) / 8)
        self.assertAllClose(collapsed["wasserstein1_estimate"], chords.mean(), rtol=0.05)
        # For the spread points, a feasible plan bounds W1: each real point
        # (the command's draw, seed + 1) goes to the fakes at its nearest
        # centre while they last, the rest at most a diameter further.
        real = next(iter(toy.toy_batches("8gaussians", 800, 1))).numpy()
        distances = np.linalg.norm(real[:, None] - centers[None], axis=-1)
        counts = np.bincount(distances.argmin(axis=1), minlength=8)
        excess = np.maximum(counts - 100, 0).sum() / 800
        bound = distances.min(axis=1).mean() + excess * 2 * radius
        self.assertBetween(spread["wasserstein1_estimate"], 0.0, bound)
        image_like = os.path.join(tmp, "images.npz")
        np.savez(image_like, samples=np.zeros((4, 2, 2, 1), np.float32))
        with self.assertRaisesRegex(evaluate_command.UsageError, "not a 2-D point"):
            evaluate_command.evaluate(image_like, "8gaussians", num_samples=4,
                                      output=os.path.join(tmp, "x.json"))

    def test_dataset_lists_follow_the_data_modules(self):
        from data import images, toy  # pylint: disable=import-outside-toplevel
        from train_loops import evaluate as evaluate_command  # pylint: disable=import-outside-toplevel

        self.assertEqual(set(evaluate_command.IMAGE_DATASETS), set(images.IMAGE_DATASETS))
        mixtures = [name for name in toy.TOY_DATASETS if name != "swissroll"]
        self.assertEqual(set(evaluate_command.TOY_MIXTURES), set(mixtures))
        for name in mixtures:
            self.assertLen(toy.mode_centers(name), 25 if name == "25gaussians" else 8)

    def test_sample_generator_latents(self):
        from train_loops.evaluate import sample_generator  # pylint: disable=import-outside-toplevel

        inputs = keras.Input((3,))
        identity = keras.Model(inputs, keras.layers.Reshape((1, 3, 1))(inputs))
        normal = sample_generator(identity, 2000, "normal", batch_size=300, seed=0)
        uniform = sample_generator(identity, 2000, "uniform", batch_size=300, seed=0)
        self.assertEqual(normal.shape, (2000, 1, 3, 1))
        self.assertAllClose(normal.std(), 1.0, atol=0.05)
        self.assertBetween(float(uniform.min()), -1.0, -0.99)
        self.assertBetween(float(uniform.max()), 0.99, 1.0)
        self.assertAllEqual(sample_generator(identity, 10, seed=3),
                            sample_generator(identity, 10, seed=3))


class CommandLineTest(tf.test.TestCase):
    """Bad input to train_loops.evaluate / classifier: one line on stderr, exit status 2."""

    @staticmethod
    def cases():
        g = os.path.join(_root, "generator.keras")
        c = os.path.join(_root, "classifier.keras")
        empty = os.path.join(_root, "empty")
        return {
            # key: (module, args), expected text in the error line
            "evaluate no flags": ("evaluate", []),
            "evaluate no extractor": ("evaluate", [f"--generator={g}", "--dataset=mnist"]),
            "evaluate missing generator": ("evaluate", [f"--generator={_root}/nope.keras",
                                                        "--dataset=mnist", f"--classifier={c}"]),
            "evaluate bad num_samples": ("evaluate", [f"--generator={g}", "--dataset=mnist",
                                                      f"--classifier={c}", "--num_samples=0"]),
            "evaluate bad dataset": ("evaluate", [f"--generator={g}", "--dataset=svhn",
                                                  f"--classifier={c}"]),
            "evaluate missing inception weights": (
                "evaluate", [f"--generator={g}", "--dataset=mnist",
                             f"--inception_weights={_root}/missing.h5"]),
            "evaluate unavailable data": (
                "evaluate", [f"--generator={g}", "--dataset=mnist", f"--classifier={c}",
                             f"--data_dir={empty}", f"--manual_dir={empty}",
                             "--num_samples=10"]),
            "evaluate toy with classifier": ("evaluate", [f"--generator={g}",
                                                          "--dataset=8gaussians",
                                                          f"--classifier={c}"]),
            "evaluate toy with metrics": ("evaluate", [f"--generator={g}", "--dataset=25gaussians",
                                                       "--metrics=fid"]),
            "classifier no flags": ("classifier", []),
            "classifier bad dataset": ("classifier", ["--dataset=cifar10"]),
            "classifier bad epochs": ("classifier", ["--dataset=mnist", "--epochs=0"]),
            "classifier bad output": ("classifier", ["--dataset=mnist", "--output=c.h5"]),
            "classifier unavailable data": (
                "classifier", ["--dataset=fashion_mnist", f"--data_dir={empty}",
                               f"--manual_dir={empty}"]),
        }

    EXPECTED = {
        "evaluate no flags": "--generator is required",
        "evaluate no extractor": "--classifier",
        "evaluate missing generator": "nope.keras",
        "evaluate bad num_samples": "--num_samples must be positive",
        "evaluate bad dataset": "svhn",
        "evaluate missing inception weights": INCEPTION_WEIGHTS_FILE,
        "evaluate unavailable data": "train-images-idx3-ubyte.gz",
        "evaluate toy with classifier": "--classifier and --inception_weights are for image",
        "evaluate toy with metrics": "--metrics: for image data sets only",
        "classifier no flags": "--dataset is required",
        "classifier bad dataset": "cifar10",
        "classifier bad epochs": "--epochs must be positive",
        "classifier bad output": ".keras",
        "classifier unavailable data": "t10k-labels-idx1-ubyte.gz",
    }

    def test_bad_input_exits_2_with_one_line(self):
        for key, expected in self.EXPECTED.items():
            with self.subTest(key):
                result = _jobs[key].result()
                lines = program_lines(result.stderr)
                self.assertEqual(result.returncode, 2, f"{key}: {result.stderr[-2000:]}")
                self.assertLen(lines, 1, f"{key}: {lines}")
                module = "evaluate" if key.startswith("evaluate") else "classifier"
                self.assertTrue(lines[0].startswith(f"python -m train_loops.{module}: error: "),
                                lines[0])
                self.assertIn(expected, lines[0])
        missing = program_lines(_jobs["evaluate missing inception weights"].result().stderr)[0]
        self.assertIn("--inception_weights=PATH", missing)
        self.assertIn("missing.h5", missing)


if __name__ == "__main__":
    tf.test.main()
