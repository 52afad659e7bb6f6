"""Image data sets of the GAN / DCGAN / WGAN / WGAN-GP experiments as endless ``tf.data`` pipelines.

Every data set is read with tensorflow-datasets (``tfds.builder``, split
``"train"`` by default), brought to a fixed square size, scaled from uint8
[0, 255] to float32 [-1, 1] (x / 127.5 - 1, so 0 -> -1 and 255 -> 1 exactly),
shuffled with a seed, batched with a static batch shape and repeated forever.

| name | tfds name | output | preprocessing |
| --- | --- | --- | --- |
| mnist | mnist | 28x28x1 | none |
| fashion_mnist | fashion_mnist | 28x28x1 | none |
| cifar10 | cifar10 | 32x32x3 | none |
| celeb_a | celeb_a | 64x64x3 | central 108x108 crop of the 218x178 image, resized to 64x64 |
| lsun/bedroom | lsun/bedroom | 64x64x3 | shorter side resized to 64, central 64x64 crop |

Sources:

- Scaling to [-1, 1]: Radford et al. 2016, "Unsupervised Representation
  Learning with Deep Convolutional GANs" (DCGAN), Sec. 4: no pre-processing
  "besides scaling to the range of the tanh activation function [-1, 1]";
  Arjovsky et al. 2017 (WGAN), the authors' ``main.py``
  (github.com/martinarjovsky/WassersteinGAN): ``Normalize((0.5,)*3, (0.5,)*3)``
  after ``ToTensor``, i.e. the same map.
- CelebA: the 64-px DCGAN face experiments are usually run on CelebA with the
  ``center_crop`` of carpedm20/DCGAN-tensorflow (``utils.py``, flag
  ``--crop`` with ``input_height=108``): rows round((218-108)/2) = 55 ..162,
  columns round((178-108)/2) = 35 ..142, then ``imresize`` to 64x64. The DCGAN
  paper's own face set (3M images scraped from the web) is not public, so
  this is the usual substitute.
- LSUN bedrooms: WGAN ``main.py``, ``transforms.Scale(64)`` (shorter side to
  64, longer side int(64 * long / short)) then ``transforms.CenterCrop(64)``.

Differences from those codes (all deliberate, none changes the distribution
beyond a pixel of interpolation or offset):

- Resizing is ``tf.image.resize(method="bilinear", antialias=True)``,
  rounded back to uint8 (``imresize`` and torchvision's ``Scale`` also
  return uint8 images); Pillow's bilinear filter also widens its kernel when
  it downscales, but the two are not bit-identical.
- Centre-crop offsets are floor((size - crop) / 2); the authors' codes round
  half-way cases, which moves an odd-margin crop by at most one pixel. For
  CelebA both margins are even, so the crop is exactly the authors'.
- WGAN-GP's ``gan_mnist.py`` feeds MNIST in [0, 1] to a sigmoid generator;
  here every data set is in [-1, 1] (tanh generators).
- Shuffling uses a buffer (``tf.data``), not a full permutation, for CelebA
  and LSUN (too large to hold); MNIST, Fashion-MNIST and CIFAR-10 are cached
  in memory and fully reshuffled every epoch. As in the DCGAN / WGAN-GP loops,
  the tail of an epoch that does not fill a batch is skipped.

Offline use: nothing here downloads. A data set must either be prepared in
``data_dir`` already or be preparable from the original files in
``manual_dir`` (tfds takes a file from ``manual_dir`` when it has the name in
tfds' checksum list, and checks its hash); otherwise ``DatasetUnavailableError``
says what to pass. ``default_manual_dir`` finds the offline MNIST /
Fashion-MNIST copies of ../shared/datasets (see its README.md).
"""

import contextlib
import dataclasses
import importlib.util
import os
from typing import Callable, Optional

import tensorflow as tf
import tensorflow_datasets as tfds

# The repository root (the parent of data/), for default_manual_dir.
_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SHARED_DATASETS_DIR = os.path.normpath(os.path.join(_REPO_ROOT, "..", "shared", "datasets"))

# CelebA's aligned images are 218x178; the DCGAN crop keeps the central 108x108.
CELEB_A_CROP = 108


class DatasetUnavailableError(ValueError):
    """The data set is not prepared and cannot be prepared without the network."""


# -- preprocessing: uint8 image [H, W, C] -> uint8 image [size, size, C] ------

def _resize_uint8(image, height, width):
    """Bilinear, antialiased resize, rounded back to uint8 like the authors' imresize."""
    resized = tf.image.resize(image, [height, width], method="bilinear", antialias=True)
    return tf.saturate_cast(tf.round(resized), tf.uint8)


def resize_square(image, size):
    """The whole image resized to [size, size] (identity when it already is)."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    return _resize_uint8(image, size, size)


def center_crop_and_resize(image, crop_size, size):
    """The central [crop_size, crop_size] square, resized to [size, size] (CelebA)."""
    shape = tf.shape(image)
    top = (shape[0] - crop_size) // 2
    left = (shape[1] - crop_size) // 2
    cropped = tf.image.crop_to_bounding_box(image, top, left, crop_size, crop_size)
    return resize_square(cropped, size)


def resize_shorter_side_and_center_crop(image, size):
    """Shorter side resized to ``size``, then the central [size, size] square (LSUN)."""
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    short = tf.minimum(height, width)
    # As torchvision's Scale: the shorter side becomes `size` exactly and the
    # longer one int(size * long / short), in integer arithmetic here.
    new_height = tf.where(height <= width, size, size * height // short)
    new_width = tf.where(height <= width, size * width // short, size)
    resized = _resize_uint8(image, new_height, new_width)
    top = (new_height - size) // 2
    left = (new_width - size) // 2
    return tf.image.crop_to_bounding_box(resized, top, left, size, size)


def scale_images(images):
    """uint8 [0, 255] -> float32 [-1, 1]; 0 -> -1 and 255 -> 1 exactly.

    x / 127.5 - 1 rather than x * (2 / 255) - 1: 255 / 127.5 is exactly 2 in
    float32, while 2 / 255 is not representable and 255 would map to
    1 + 1 ulp.
    """
    return tf.cast(images, tf.float32) / 127.5 - 1.0


# -- the data sets -----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _DatasetSpec:
    image_size: int  # side of the square output image
    channels: int
    preprocess: Callable  # (uint8 image, size) -> uint8 [size, size, channels]
    # Files tfds looks for in manual_dir (its checksum list's names) and where
    # they come from; used for the pre-flight check and the error message.
    manual_files: tuple
    source: str
    # Small data sets are cached decoded and shuffled whole; large ones stream
    # through a shuffle buffer of this many images.
    cache: bool
    shuffle_buffer: int
    # Python modules that tfds needs to *prepare* the data set.
    prepare_modules: tuple = ()


_MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

_SPECS = {
    "mnist": _DatasetSpec(
        28, 1, resize_square, _MNIST_FILES,
        "the original MNIST files, see ../shared/datasets/README.md",
        cache=True, shuffle_buffer=60000),
    "fashion_mnist": _DatasetSpec(
        28, 1, resize_square, _MNIST_FILES,
        "the original Fashion-MNIST files, see ../shared/datasets/README.md",
        cache=True, shuffle_buffer=60000),
    "cifar10": _DatasetSpec(
        32, 3, resize_square, ("cifar-10-binary.tar.gz",),
        "from https://www.cs.toronto.edu/~kriz/cifar.html",
        cache=True, shuffle_buffer=50000),
    "celeb_a": _DatasetSpec(
        64, 3, lambda image, size: center_crop_and_resize(image, CELEB_A_CROP, size),
        ("img_align_celeba.zip", "list_eval_partition.txt", "list_attr_celeba.txt",
         "list_landmarks_align_celeba.txt", "identity_CelebA.txt"),
        "from the CelebA Google Drive, https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        # 64x64x3 uint8 is 12 KiB an image: 10000 of them hold 120 MiB.
        cache=False, shuffle_buffer=10000),
    "lsun/bedroom": _DatasetSpec(
        64, 3, resize_shorter_side_and_center_crop,
        ("bedroom_train_lmdb.zip", "bedroom_val_lmdb.zip"),
        "from http://dl.yf.io/lsun/scenes/, 43 GiB",
        cache=False, shuffle_buffer=10000, prepare_modules=("tensorflow_io",)),
}

IMAGE_DATASETS = tuple(_SPECS)


def _spec(name):
    if name not in _SPECS:
        raise ValueError(
            f"Unknown image dataset {name!r}; valid names are {', '.join(IMAGE_DATASETS)}.")
    return _SPECS[name]


def image_shape(name: str, image_size: Optional[int] = None) -> tuple:
    """Shape [H, W, C] of one image of ``name`` as this module returns it."""
    spec = _spec(name)
    size = spec.image_size if image_size is None else image_size
    return (size, size, spec.channels)


def preprocess_image(name: str, image, image_size: Optional[int] = None):
    """One uint8 image of ``name`` as stored by tfds -> uint8 [size, size, C].

    ``image_size`` overrides the default side (28, 32 or 64); MNIST,
    Fashion-MNIST and CIFAR-10 are then resized whole (e.g. MNIST to 32 for a
    32-px DCGAN), CelebA and LSUN cropped as usual and resized to it.
    """
    spec = _spec(name)
    size = spec.image_size if image_size is None else image_size
    if size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}.")
    image = spec.preprocess(tf.convert_to_tensor(image, tf.uint8), size)
    return tf.ensure_shape(image, [size, size, spec.channels])


def manual_files(name: str) -> tuple:
    """Names of the original files tfds prepares ``name`` from (its checksum list's names)."""
    return _spec(name).manual_files


def default_manual_dir(name: str) -> Optional[str]:
    """../shared/datasets/<name> next to the repository if it exists, else None.

    On the project's build machines this holds the original MNIST and
    Fashion-MNIST files (see its README.md); nothing is there for the others.
    """
    _spec(name)
    path = os.path.join(_SHARED_DATASETS_DIR, *name.split("/"))
    return path if os.path.isdir(path) else None


# -- loading -----------------------------------------------------------------

@contextlib.contextmanager
def _gcs_disabled():
    """Keep tfds from probing gs://tfds-data while a builder is created or read.

    Older tfds (4.9.4, for one) look a data set's metadata up in the
    gs://tfds-data bucket whenever it is not prepared locally, which on a
    machine without network means waiting for GCS time-outs; 4.9.10 ships
    with the switch below already on. It is a module attribute, not public
    API, hence the hasattr guard; the previous value is restored on exit.
    """
    from tensorflow_datasets.core.utils import gcs_utils  # pylint: disable=import-outside-toplevel
    if not hasattr(gcs_utils, "_is_gcs_disabled"):
        yield
        return
    previous = gcs_utils._is_gcs_disabled  # pylint: disable=protected-access
    gcs_utils._is_gcs_disabled = True  # pylint: disable=protected-access
    try:
        yield
    finally:
        gcs_utils._is_gcs_disabled = previous  # pylint: disable=protected-access


def _manual_dir_hint(name, spec):
    default = default_manual_dir(name)
    here = f"; on this machine --manual_dir={default}" if default else ""
    return (f"pass --manual_dir=DIR (manual_dir= in Python) with "
            f"{', '.join(spec.manual_files)} ({spec.source}){here}")


def _prepare_from_manual_dir(builder, name, spec, manual_dir):
    """Prepare ``builder`` in its data_dir from the original files in ``manual_dir``."""
    manual_dir = os.path.expanduser(os.fspath(manual_dir))
    missing = [f for f in spec.manual_files
               if not os.path.isfile(os.path.join(manual_dir, f))]
    if missing:
        # tfds would download every file it does not find in manual_dir;
        # refuse before it tries.
        raise DatasetUnavailableError(
            f"{name} is not prepared in {builder.data_dir_root} and manual_dir {manual_dir} "
            f"lacks {', '.join(missing)} ({spec.source}).")
    for module in spec.prepare_modules:
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"Preparing {name} with tfds needs the Python package "
                              f"{module} (pip install {module.replace('_', '-')}).")
    config = tfds.download.DownloadConfig(
        manual_dir=manual_dir,
        # One extract dir per data set: MNIST and Fashion-MNIST files have the
        # same names, and tfds reuses an extracted file of the same name.
        extract_dir=os.path.join(builder.data_dir_root, "downloads",
                                 "extracted_" + name.replace("/", "_")),
        try_download_gcs=False,
    )
    builder.download_and_prepare(download_config=config)


def load_images(name: str, split: str = "train", data_dir: Optional[str] = None,
                manual_dir: Optional[str] = None, limit: Optional[int] = None,
                image_size: Optional[int] = None,
                shuffle_files_seed: Optional[int] = None) -> tf.data.Dataset:
    """Finite dataset of the uint8 images [S, S, C] of ``name``'s ``split``, preprocessed.

    Args:
      name: one of ``IMAGE_DATASETS``.
      split: a tfds split, e.g. "train", "test" or "train[:1000]".
      data_dir: tfds data directory; None for tfds' default (``$TFDS_DATA_DIR``
        or ~/tensorflow_datasets).
      manual_dir: directory holding the original files; when the data set is
        not prepared in ``data_dir`` it is prepared from them (once).
      limit: keep only the first ``limit`` images (in tfds' stored order).
      image_size: override of the output side (see ``preprocess_image``).
      shuffle_files_seed: when given (and ``limit`` is not), tfds reads its
        shards in an order shuffled with this seed.

    Raises:
      DatasetUnavailableError: the data set is neither prepared in
        ``data_dir`` nor preparable from ``manual_dir``. Never downloads.
    """
    spec = _spec(name)
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}.")
    # A fixed subset must not depend on a seed: read shards in order then.
    shuffle_files = shuffle_files_seed is not None and limit is None
    with _gcs_disabled():
        builder = tfds.builder(name, data_dir=data_dir)
        if manual_dir is not None and not builder.is_prepared():
            _prepare_from_manual_dir(builder, name, spec, manual_dir)
        try:
            images = builder.as_dataset(
                split=split, shuffle_files=shuffle_files,
                read_config=tfds.ReadConfig(shuffle_seed=shuffle_files_seed))
        except AssertionError:
            # as_dataset asserts that the data directory exists; it does not
            # download. (Asking as_dataset, not is_prepared(), first keeps this
            # working under tfds.testing.mock_data, which patches as_dataset.)
            if builder.data_path.exists():
                raise
            raise DatasetUnavailableError(
                f"{name} is not prepared in {builder.data_dir_root} and cannot be "
                f"downloaded here; {_manual_dir_hint(name, spec)}.") from None
    if limit is not None:
        images = images.take(limit)
    return images.map(lambda example: preprocess_image(name, example["image"], image_size),
                      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def image_batches(name: str, batch_size: int, seed: int = 0, data_dir: Optional[str] = None,
                  manual_dir: Optional[str] = None, split: str = "train", *,
                  image_size: Optional[int] = None,
                  limit: Optional[int] = None) -> tf.data.Dataset:
    """Endless dataset of float32 batches [batch_size, S, S, C] in [-1, 1] from ``name``.

    Each pass over the data is a fresh shuffle (seeded: the same ``seed`` gives
    the same batches, given the same global TF seed if one is set); the last
    images of a pass that do not fill a batch are skipped. See ``load_images``
    for ``data_dir``, ``manual_dir``, ``split``, ``image_size`` and ``limit``.
    """
    spec = _spec(name)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}.")
    images = load_images(name, split, data_dir, manual_dir, limit=limit,
                         image_size=image_size, shuffle_files_seed=seed)

    num_images = int(images.cardinality())  # tfds records it; negative if unknown
    if 0 <= num_images < batch_size:
        # With drop_remainder every pass would be empty and repeat() would spin.
        raise ValueError(f"{name} split {split!r} has {num_images} images, fewer than "
                         f"batch_size={batch_size}.")
    buffer_size = spec.shuffle_buffer if num_images < 0 else min(num_images, spec.shuffle_buffer)
    if spec.cache:
        images = images.cache()  # decoded once; later passes only reshuffle
    return (
        images.shuffle(buffer_size, seed=seed, reshuffle_each_iteration=True)
        # drop_remainder: static batch shape, and the authors' epoch loops
        # skip the incomplete last batch as well.
        .batch(batch_size, drop_remainder=True)
        .map(scale_images, num_parallel_calls=tf.data.AUTOTUNE)
        .repeat()
        .prefetch(tf.data.AUTOTUNE)
    )
