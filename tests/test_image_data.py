"""Tests for data.images: the tfds image pipelines of the GAN / DCGAN / WGAN / WGAN-GP runs."""

import gzip
import hashlib
import os
import shutil
import struct
import tempfile
import time
from unittest import mock

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from data.images import (IMAGE_DATASETS, DatasetUnavailableError, default_manual_dir,
                         image_batches, image_shape, load_images, manual_files,
                         preprocess_image, scale_images)

tfds.disable_progress_bar()

_SHARED_DATASETS = os.path.normpath(
    os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets"))

_EXPECTED_SHAPES = {
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
    "celeb_a": (64, 64, 3),
    "lsun/bedroom": (64, 64, 3),
}

# Anything in tfds that would reach the network goes through one of these:
# the GCS probe (bucket metadata / prepared copies) or the download manager.
_GCS_EXISTS = "tensorflow_datasets.core.utils.gcs_utils.exists"
_DOWNLOAD = "tensorflow_datasets.core.download.download_manager.DownloadManager._download"


def _no_network():
    """Patches that fail the test if tfds tries GCS or a download."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"tfds tried the network: {args!r}")
    return [mock.patch(_GCS_EXISTS, refuse), mock.patch(_DOWNLOAD, refuse)]


def _take(name, batch_size, num_batches, seed=0, **kwargs):
    dataset = image_batches(name, batch_size, seed=seed, **kwargs)
    return np.stack(list(dataset.take(num_batches).as_numpy_iterator()))


def _raw_mock_images(name):
    """The uint8 images the active tfds mock yields, in order, read directly with tfds.load."""
    return [example["image"] for example in tfds.as_numpy(tfds.load(name, split="train"))]


def _index_of(image, candidates):
    """Index of the candidate exactly equal to ``image`` (asserts there is exactly one)."""
    matches = [k for k, candidate in enumerate(candidates)
               if candidate.shape == image.shape and np.array_equal(candidate, image)]
    assert len(matches) == 1, f"{len(matches)} matches"
    return matches[0]


def _read_idx_images(path):
    """[N, 28, 28] uint8 from an idx3-ubyte.gz file, header checked."""
    with gzip.open(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">iiii", f.read(16))
        data = np.frombuffer(f.read(), np.uint8)
    assert magic == 2051 and (rows, cols) == (28, 28), (magic, rows, cols)
    return data.reshape(count, rows, cols)


def _image_digests(images):
    return sorted(hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
                  for image in images)


class MockedBatchesTest(tf.test.TestCase):
    """The pipelines on tfds.testing.mock_data: random uint8 images of each data set's shape."""

    def test_batches_have_static_shape_float32_and_range(self):
        for name in IMAGE_DATASETS:
            with tfds.testing.mock_data(num_examples=10):
                dataset = image_batches(name, 4, seed=1)
                batches = _take(name, 4, 3, seed=1)
            expected = (4,) + _EXPECTED_SHAPES[name]
            self.assertEqual(image_shape(name), _EXPECTED_SHAPES[name], name)
            self.assertEqual(dataset.element_spec, tf.TensorSpec(expected, tf.float32), name)
            self.assertEqual(batches.shape[1:], expected, name)
            self.assertEqual(batches.dtype, np.float32, name)
            self.assertGreaterEqual(batches.min(), -1.0, name)
            self.assertLessEqual(batches.max(), 1.0, name)

    def test_batch_images_are_the_raw_images_scaled_exactly(self):
        # max_value=256: the mock draws pixels in [0, 256), so 0 and 255 occur.
        for name in IMAGE_DATASETS:
            with tfds.testing.mock_data(num_examples=8, max_value=256):
                raw = _raw_mock_images(name)
                batch = _take(name, 8, 1, seed=3)[0]
            expected = [preprocess_image(name, image).numpy() for image in raw]
            if name in ("mnist", "fashion_mnist", "cifar10"):
                for image, kept in zip(raw, expected):  # no geometry for these
                    self.assertAllEqual(image, kept)
                stacked = np.stack(raw)
                self.assertEqual(stacked.min(), 0, name)
                self.assertEqual(stacked.max(), 255, name)
            scaled = [e.astype(np.float32) / np.float32(127.5) - np.float32(1) for e in expected]
            # One batch of all 8 images: a permutation of the expected ones,
            # each equal to (pixel / 127.5 - 1) bit for bit.
            order = [_index_of(image, scaled) for image in batch]
            self.assertCountEqual(order, range(8), name)
            if name in ("mnist", "fashion_mnist", "cifar10"):
                raw_in_batch_order = np.stack([raw[k] for k in order])
                self.assertAllEqual(batch[raw_in_batch_order == 0],
                                    np.full((raw_in_batch_order == 0).sum(), -1.0, np.float32))
                self.assertAllEqual(batch[raw_in_batch_order == 255],
                                    np.full((raw_in_batch_order == 255).sum(), 1.0, np.float32))

    def test_scale_images_known_values(self):
        pixels = tf.constant([0, 1, 127, 128, 254, 255], tf.uint8)
        scaled = scale_images(pixels).numpy()
        self.assertEqual(scaled.dtype, np.float32)
        self.assertEqual(scaled[0], -1.0)
        self.assertEqual(scaled[-1], 1.0)
        self.assertAllClose(scaled, [-1.0, -253 / 255, -1 / 255, 1 / 255, 253 / 255, 1.0],
                            rtol=0, atol=1e-7)

    def test_same_seed_gives_identical_batches_and_other_seed_another_order(self):
        for name in IMAGE_DATASETS:
            with tfds.testing.mock_data(num_examples=10):
                first = _take(name, 5, 4, seed=7)
                again = _take(name, 5, 4, seed=7)
                other = _take(name, 5, 4, seed=8)
            self.assertAllEqual(first, again, msg=name)
            self.assertFalse(np.array_equal(first, other), name)
            # Same images, other order: the first pass holds all 10 either way.
            self.assertCountEqual(_image_digests(first[:2].reshape((10,) + first.shape[2:])),
                                  _image_digests(other[:2].reshape((10,) + other.shape[2:])), name)

    def test_endless_and_each_pass_is_a_fresh_permutation_without_the_tail(self):
        # 10 images, batches of 4: a pass is 2 batches (the last 2 images are
        # skipped); 7 batches need 4 passes of a 10-image data set.
        with tfds.testing.mock_data(num_examples=10, max_value=256):
            raw = _raw_mock_images("cifar10")
            batches = _take("cifar10", 4, 7, seed=0)
        scaled = [image.astype(np.float32) / np.float32(127.5) - np.float32(1) for image in raw]
        self.assertEqual(batches.shape, (7, 4, 32, 32, 3))
        orders = [[_index_of(image, scaled) for image in batch] for batch in batches]
        passes = [orders[0] + orders[1], orders[2] + orders[3], orders[4] + orders[5]]
        for images in passes:
            self.assertLen(set(images), 8)  # no image twice within a pass
        self.assertNotEqual(passes[0], passes[1])  # reshuffled every pass
        self.assertNotEqual(passes[1], passes[2])

    def test_limit_keeps_the_first_images_in_stored_order(self):
        with tfds.testing.mock_data(num_examples=10):
            raw = _raw_mock_images("mnist")
            subset = list(load_images("mnist", "train", limit=6).as_numpy_iterator())
            batches = _take("mnist", 3, 4, limit=6)
        self.assertAllEqual(np.stack(subset), np.stack(raw[:6]))
        scaled = [image.astype(np.float32) / np.float32(127.5) - np.float32(1) for image in raw]
        indices = [_index_of(image, scaled) for image in batches.reshape(12, 28, 28, 1)]
        self.assertTrue(all(k < 6 for k in indices), indices)

    def test_image_size_override(self):
        with tfds.testing.mock_data(num_examples=4):
            self.assertEqual(image_batches("mnist", 2, image_size=32).element_spec.shape,
                             (2, 32, 32, 1))
            self.assertEqual(image_batches("celeb_a", 2, image_size=32).element_spec.shape,
                             (2, 32, 32, 3))
        self.assertEqual(image_shape("lsun/bedroom", 128), (128, 128, 3))

    def test_fewer_images_than_a_batch_raises(self):
        with tfds.testing.mock_data(num_examples=10):
            with self.assertRaisesRegex(ValueError, "fewer than batch_size"):
                image_batches("mnist", 4, limit=3)

    def test_bad_arguments_raise(self):
        for call in (lambda: image_batches("svhn", 4), lambda: load_images("mnist_32"),
                     lambda: image_shape("imagenet"), lambda: default_manual_dir("lsun")):
            with self.assertRaises(ValueError) as context:
                call()
            for name in IMAGE_DATASETS:
                self.assertIn(name, str(context.exception))
        for batch_size in (0, -1):
            with self.assertRaises(ValueError):
                image_batches("mnist", batch_size)


def _framed(height, width, top, bottom, left, right, inside=(200, 10, 30), outside=(5, 250, 90)):
    """uint8 [height, width, 3] of colour ``outside`` with rows top..bottom-1,
    columns left..right-1 of colour ``inside``."""
    image = np.empty((height, width, 3), np.uint8)
    image[...] = outside
    image[top:bottom, left:right] = inside
    return image


class GeometryTest(tf.test.TestCase):
    """Crops on hand-made images whose centre is one colour and border another."""

    inside = np.array([200, 10, 30], np.uint8)

    def _assert_crop_is_exactly_the_box(self, name, height, width, top, bottom, left, right):
        # The box itself: every output pixel is the centre colour.
        out = preprocess_image(name, _framed(height, width, top, bottom, left, right)).numpy()
        self.assertEqual(out.shape, (64, 64, 3))
        self.assertAllEqual(out, np.broadcast_to(self.inside, out.shape))
        # The box one pixel smaller on one side: that side of the output now
        # sees the border colour, so the crop reaches every side of the box.
        shrunk = {"top": (top + 1, bottom, left, right), "bottom": (top, bottom - 1, left, right),
                  "left": (top, bottom, left + 1, right), "right": (top, bottom, left, right - 1)}
        edges = {"top": np.s_[0], "bottom": np.s_[-1], "left": np.s_[:, 0], "right": np.s_[:, -1]}
        for side, box in shrunk.items():
            out = preprocess_image(name, _framed(height, width, *box)).numpy()
            self.assertTrue(np.any(out[edges[side]] != self.inside), f"{name} {side}")
            interior = out[8:-8, 8:-8]
            self.assertAllEqual(interior, np.broadcast_to(self.inside, interior.shape))

    def test_celeb_a_crops_the_central_108_square(self):
        # 218x178: rows 55..162 and columns 35..142 (DCGAN-tensorflow's center_crop).
        self._assert_crop_is_exactly_the_box("celeb_a", 218, 178, 55, 163, 35, 143)

    def test_lsun_crops_the_central_square_after_resizing_the_shorter_side(self):
        # Shorter side already 64, so no resize: the crop is the central 64 columns / rows.
        self._assert_crop_is_exactly_the_box("lsun/bedroom", 64, 256, 0, 64, 96, 160)
        self._assert_crop_is_exactly_the_box("lsun/bedroom", 256, 64, 96, 160, 0, 64)

    def test_lsun_resize_keeps_static_shape_and_constant_images(self):
        preprocess = tf.function(lambda image: preprocess_image("lsun/bedroom", image),
                                 input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])
        for height, width in ((96, 200), (300, 128), (50, 50), (64, 64)):
            constant = np.full((height, width, 3), 77, np.uint8)
            out = preprocess(constant)
            self.assertEqual(out.shape, (64, 64, 3))
            self.assertAllEqual(out, np.full((64, 64, 3), 77, np.uint8))
        self.assertEqual(preprocess.get_concrete_function().output_shapes, (64, 64, 3))

    def test_lsun_centre_survives_a_downscale(self):
        # 128x512 -> 64x256 -> columns 96..159 of the resized image, i.e.
        # columns 192..319 of the original; a 4-pixel margin absorbs the filter.
        image = _framed(128, 512, 0, 128, 188, 324)
        out = preprocess_image("lsun/bedroom", image).numpy()
        self.assertAllEqual(out, np.broadcast_to(self.inside, out.shape))


class UnavailableDataTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.data_dir = self._new_tempdir()
        for patch in _no_network():
            patch.start()
            self.addCleanup(patch.stop)

    def _new_tempdir(self):
        path = tempfile.mkdtemp(prefix="tfds_empty_")
        self.addCleanup(shutil.rmtree, path, ignore_errors=True)
        return path

    def test_unprepared_without_manual_dir_raises_quickly_with_one_line(self):
        for name in IMAGE_DATASETS:
            start = time.monotonic()
            with self.assertRaises(DatasetUnavailableError) as context:
                image_batches(name, 64, data_dir=self.data_dir)
            self.assertLess(time.monotonic() - start, 5.0, name)
            message = str(context.exception)
            self.assertIsInstance(context.exception, ValueError)
            self.assertNotIn("\n", message, name)
            self.assertIn("--manual_dir", message, name)
            self.assertIn(name, message)
            self.assertIn(manual_files(name)[0], message, name)

    def test_manual_dir_without_the_files_raises_before_any_download(self):
        empty = self._new_tempdir()
        for name in IMAGE_DATASETS:
            with self.assertRaises(DatasetUnavailableError) as context:
                load_images(name, data_dir=self.data_dir, manual_dir=empty)
            message = str(context.exception)
            self.assertNotIn("\n", message, name)
            for file_name in manual_files(name):
                self.assertIn(file_name, message, name)

    def test_manual_files_are_the_names_in_tfds_checksum_lists(self):
        for name in IMAGE_DATASETS:
            builder = tfds.builder(name, data_dir=self.data_dir)
            known = {info.filename for info in builder.url_infos.values()}
            self.assertContainsSubset(manual_files(name), known, name)

    def test_default_manual_dir(self):
        for name in ("cifar10", "celeb_a", "lsun/bedroom"):
            self.assertIsNone(default_manual_dir(name), name)
        for name in ("mnist", "fashion_mnist"):
            expected = os.path.join(_SHARED_DATASETS, name)
            if os.path.isdir(expected):
                self.assertEqual(os.path.realpath(default_manual_dir(name)),
                                 os.path.realpath(expected))
            else:
                self.assertIsNone(default_manual_dir(name))


class OfflinePreparationTest(tf.test.TestCase):
    """Fashion-MNIST prepared from ../shared/datasets/fashion_mnist into a fresh data_dir.

    Only Fashion-MNIST: preparing takes about 20 s of CPU, and MNIST goes
    through the same code (same builder class, same file names).
    """

    NAME = "fashion_mnist"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data_dir = None
        cls.manual_dir = os.path.join(_SHARED_DATASETS, cls.NAME)
        if not os.path.isdir(cls.manual_dir):
            return
        cls.data_dir = tempfile.mkdtemp(prefix="tfds_offline_")
        patches = _no_network()
        for patch in patches:
            patch.start()
        try:
            start = time.monotonic()
            dataset = load_images(cls.NAME, "train", cls.data_dir, cls.manual_dir)
            cls.prepare_seconds = time.monotonic() - start
            cls.images = np.concatenate(list(dataset.batch(10000).as_numpy_iterator()))
        finally:
            for patch in patches:
                patch.stop()

    @classmethod
    def tearDownClass(cls):
        if cls.data_dir:
            shutil.rmtree(cls.data_dir, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if self.data_dir is None:
            self.skipTest(f"no offline Fashion-MNIST files in {self.manual_dir}")

    def test_train_split_is_byte_exact(self):
        raw = _read_idx_images(os.path.join(self.manual_dir, "train-images-idx3-ubyte.gz"))
        self.assertEqual(raw.shape, (60000, 28, 28))
        self.assertEqual(self.images.shape, (60000, 28, 28, 1))
        self.assertEqual(self.images.dtype, np.uint8)
        # tfds stores the examples in its own (hashed) order, so compare the
        # images as a multiset: every raw image, byte for byte, exactly once.
        self.assertEqual(_image_digests(self.images[..., 0]), _image_digests(raw))
        self.assertEqual(int(self.images.astype(np.int64).sum()), int(raw.astype(np.int64).sum()))
        first = [k for k, image in enumerate(self.images) if np.array_equal(image[..., 0], raw[0])]
        self.assertLen(first, 1)
        self.assertEqual(int(self.images[first[0]].astype(np.int64).sum()),
                         int(raw[0].astype(np.int64).sum()))

    def test_files_were_extracted_to_a_per_dataset_dir(self):
        # MNIST's files have the same names; a shared extract dir would let
        # one data set silently reuse the other's extracted files.
        extracted = os.path.join(self.data_dir, "downloads", "extracted_" + self.NAME)
        self.assertNotEmpty(os.listdir(extracted))
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, "downloads", "extracted")))

    def test_prepared_data_loads_offline_without_manual_dir(self):
        for patch in _no_network():
            patch.start()
            self.addCleanup(patch.stop)
        self.assertTrue(tfds.builder(self.NAME, data_dir=self.data_dir).is_prepared())
        start = time.monotonic()
        batches = _take(self.NAME, 64, 2, seed=0, data_dir=self.data_dir, limit=1000)
        self.assertLess(time.monotonic() - start, 30.0)  # no preparation the second time
        self.assertEqual(batches.shape, (2, 64, 28, 28, 1))
        self.assertEqual(batches.dtype, np.float32)
        self.assertEqual(int(load_images(self.NAME, "test", self.data_dir).cardinality()), 10000)
