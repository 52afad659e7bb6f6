"""A folder of your own images as a data set: ``--dataset=folder:PATH``.

The folder holds PNG, JPEG, BMP or GIF files, directly or in class
subfolders (any depth; the classes are only counted). Every file is decoded
once before training by TensorFlow's own decoder (``tf.io.decode_image``), so
that a truncated or corrupt file, a file that is not an image, an empty
folder or a mix of grayscale and colour images is reported in one line before
any work, not hours into a run; ``skip_bad=True`` leaves such files out and
counts them instead. Colour images with an alpha channel count as colour,
grayscale with alpha as grayscale (the alpha is dropped).

Images are then treated as DCGAN treated LSUN (and as ``data.images`` does
for it): the shorter side resized to the output size, the central square
cropped, scaled to [-1, 1], reshuffled every pass with a seed and batched
with a static shape; a folder that fits in memory is cached decoded.
"""

import dataclasses
import os
from typing import Optional

PREFIX = "folder:"
EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# Decoded images kept in memory up to this many bytes; a larger folder is
# decoded again on every pass.
CACHE_BYTES = 2 << 30


class BadFolderError(ValueError):
    """The folder cannot be trained on as it is (the message names the first bad file)."""


def is_folder(name) -> bool:
    """True for a --dataset value of the form folder:PATH."""
    return isinstance(name, str) and name.startswith(PREFIX)


def folder_path(name: str) -> str:
    return os.path.expanduser(name[len(PREFIX):])


def folder_label(name: str) -> str:
    """A short name for output folders: folder:/data/faces/ -> folder_faces."""
    return "folder_" + (os.path.basename(os.path.normpath(folder_path(name))) or "root")


@dataclasses.dataclass(frozen=True)
class FolderContents:
    files: tuple  # the good image files, sorted
    channels: int  # 1 (grayscale) or 3 (colour)
    class_names: tuple  # the top-level subfolders holding images, sorted (none: ())
    labels: tuple  # each file's index in class_names (-1 for files beside the class folders)
    skipped: tuple  # (path, reason) of the files left out with skip_bad

    @property
    def classes(self):
        return len(self.class_names)


def _image_files(path):
    found = []
    for folder, subfolders, names in os.walk(path):
        subfolders.sort()
        found += [os.path.join(folder, name) for name in sorted(names)
                  if not name.startswith(".")]
    return found


def _channels(path):
    """The image's colour channels as trained on (1 or 3), or raise ValueError saying why not."""
    import tensorflow as tf

    if not path.lower().endswith(EXTENSIONS):
        raise ValueError(f"not a {', '.join(e[1:] for e in EXTENSIONS)} file")
    try:
        image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    except (tf.errors.OpError, ValueError) as error:
        reason = (str(error).splitlines() or [""])[0].split(" [Op:")[0]
        raise ValueError(f"cannot be decoded ({reason or type(error).__name__})") from None
    if min(image.shape[:2]) < 1:
        raise ValueError("is empty")
    return 1 if image.shape[-1] in (1, 2) else 3


def scan(name: str, skip_bad: bool = False, progress=None) -> FolderContents:
    """Decode every file of the folder once; BadFolderError for the first bad one.

    With ``skip_bad``, bad files (and, in a mixed folder, those whose channel
    count differs from the first good image's) are left out and listed in
    ``skipped``; an error remains when no good image is left. ``progress``
    (optional): f(number of files) -> an object whose ``update()`` is called
    once per file (a progress bar), or None.
    """
    path = folder_path(name)
    if not os.path.isdir(path):
        raise BadFolderError(f"--dataset={name}: no such folder")
    candidates = _image_files(path)
    if not candidates:
        raise BadFolderError(f"--dataset={name}: the folder holds no files")
    good, skipped, channels = [], [], None
    bar = progress(len(candidates)) if progress is not None else None
    for file in candidates:
        try:
            file_channels = _channels(file)
            if channels is not None and file_channels != channels:
                kinds = {1: "grayscale", 3: "colour"}
                raise ValueError(f"is {kinds[file_channels]} while {good[0]} is "
                                 f"{kinds[channels]} (mixed channel counts)")
        except ValueError as error:
            if not skip_bad:
                raise BadFolderError(f"--dataset={name}: {file} {error}; fix or remove it, "
                                     f"or pass --skip_bad_images") from None
            skipped.append((file, str(error)))
        else:
            channels = file_channels if channels is None else channels
            good.append(file)
        if bar is not None:
            bar.update()
    if not good:
        raise BadFolderError(f"--dataset={name}: none of its {len(candidates)} files is a "
                             f"readable image (first: {skipped[0][0]} {skipped[0][1]})")
    tops = [os.path.relpath(file, path).split(os.sep)[0] for file in good]
    class_names = tuple(sorted({top for top, file in zip(tops, good)
                                if top != os.path.basename(file)}))
    labels = tuple(class_names.index(top) if top in class_names else -1 for top in tops)
    return FolderContents(tuple(good), channels, class_names, labels, tuple(skipped))


def load_image(path, channels, size):
    """One file as uint8 [size, size, channels]: shorter side to `size`, central square."""
    import tensorflow as tf

    from data.images import resize_shorter_side_and_center_crop

    # Decoded as stored (BMP refuses channels=1), then grey (+ alpha) keeps
    # its first channel and colour (+ alpha) its first three: `scan` has
    # made sure every file is of the folder's kind.
    image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    image = tf.ensure_shape(image[..., :channels], [None, None, channels])
    return tf.ensure_shape(resize_shorter_side_and_center_crop(image, size),
                           [size, size, channels])


def folder_images(contents: FolderContents, size: int, limit: Optional[int] = None):
    """Finite dataset of the folder's uint8 images [size, size, C], in sorted file order."""
    import tensorflow as tf

    files = contents.files[:limit] if limit else contents.files
    return tf.data.Dataset.from_tensor_slices(list(files)).map(
        lambda path: load_image(path, contents.channels, size),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def labelled_arrays(contents: FolderContents, size: int, split: str):
    """(float32 images [N, size, size, C] in [-1, 1], int64 labels [N]) of a split of the folder.

    For a classifier of the user's images (`train_loops.classifier`): every
    10th file of each class, in sorted order, is "test", the others "train".
    Files beside the class folders have no class and are left out.
    """
    import numpy as np

    from data.images import scale_images

    if split not in ("train", "test"):
        raise ValueError(f"split must be train or test, got {split!r}")
    chosen, seen = [], {}
    for index, label in enumerate(contents.labels):
        if label < 0:
            continue
        rank = seen.get(label, 0)
        seen[label] = rank + 1
        if (rank % 10 == 0) == (split == "test"):
            chosen.append(index)
    picked = FolderContents(tuple(contents.files[i] for i in chosen), contents.channels,
                            contents.class_names, (), ())
    images = scale_images(next(iter(folder_images(picked, size).batch(len(chosen)))))
    labels = np.array([contents.labels[i] for i in chosen], np.int64)
    return images.numpy(), labels


def folder_batches(contents: FolderContents, batch_size: int, seed: int, size: int):
    """Endless float32 batches [batch_size, size, size, C] in [-1, 1], as `images.image_batches`."""
    import tensorflow as tf

    from data.images import scale_images

    count = len(contents.files)
    if count < batch_size:
        raise BadFolderError(f"the folder has {count} images, fewer than the batch size "
                             f"{batch_size}")
    if count * size * size * contents.channels <= CACHE_BYTES:
        # Decoded once and kept; each pass reshuffles the decoded images.
        images = folder_images(contents, size).cache().shuffle(
            count, seed=seed, reshuffle_each_iteration=True)
    else:
        # Too large to keep: each pass reshuffles the file names and decodes
        # them in that order, so memory holds names, not images.
        images = tf.data.Dataset.from_tensor_slices(list(contents.files)).shuffle(
            count, seed=seed, reshuffle_each_iteration=True).map(
            lambda path: load_image(path, contents.channels, size),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return (images
            .batch(batch_size, drop_remainder=True)
            .map(scale_images, num_parallel_calls=tf.data.AUTOTUNE)
            .repeat()
            .prefetch(tf.data.AUTOTUNE))


def report(contents: FolderContents, name: str):
    """One line on what was found (and skipped), for the run's log."""
    def count(n, thing):
        return f"{n} {thing}{'' if n == 1 else 's'}"

    classes = f" in {count(contents.classes, 'class folder')}" if contents.classes else ""
    skipped = (f"; skipped {count(len(contents.skipped), 'bad file')} (first: "
               f"{contents.skipped[0][0]} {contents.skipped[0][1]})" if contents.skipped else "")
    kind = "grayscale" if contents.channels == 1 else "colour"
    print(f"{name}: {len(contents.files)} {kind} images{classes}{skipped}", flush=True)
