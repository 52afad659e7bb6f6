"""Your own 2-D points as a toy data set: ``--dataset=points:FILE``.

FILE is a ``.npy`` array [N, 2] or a ``.csv`` of two numeric columns (a
header line is allowed). Training draws batches from the points, reshuffled
every pass with a seed (the tail of a pass that does not fill a batch is
skipped, as for the 25 Gaussians).

When the points are a mixture, its mode centres and per-coordinate standard
deviation make the mode coverage and per-mode shares of `evaluation.toy`
work on them. They come from a JSON file, ``{"centers": [[x, y], ...],
"std": s}``: the one given (``--points_modes``), or else ``<FILE without its
extension>.json`` beside the data when it exists. Without one, a run reports
its training metrics and the exact W1 distance only.
"""

import json
import os

import numpy as np

PREFIX = "points:"


class BadPointsError(ValueError):
    """The points file (or its modes file) cannot be used; the message says why."""


def is_points(name) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def points_path(name: str) -> str:
    return os.path.expanduser(name[len(PREFIX):])


def points_label(name: str) -> str:
    """A short name for output folders: points:/data/ring.npy -> points_ring."""
    return "points_" + os.path.splitext(os.path.basename(points_path(name)))[0]


def load_points(name: str) -> np.ndarray:
    """The points of ``points:FILE`` as float32 [N, 2]; BadPointsError if they cannot be used."""
    path = points_path(name)
    if not os.path.isfile(path):
        raise BadPointsError(f"--dataset={name}: no such file")
    try:
        if path.lower().endswith(".npy"):
            points = np.load(path, allow_pickle=False)
        elif path.lower().endswith(".csv"):
            points = _read_csv(path)
        else:
            raise BadPointsError(f"--dataset={name}: expected a .npy or .csv file")
    except (OSError, ValueError) as error:
        if isinstance(error, BadPointsError):
            raise
        raise BadPointsError(f"--dataset={name}: cannot be read ({error})") from None
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
        raise BadPointsError(f"--dataset={name}: expected at least 2 points of 2 coordinates "
                             f"([N, 2]), got shape {points.shape}")
    if not np.issubdtype(points.dtype, np.number) or not np.all(np.isfinite(points)):
        raise BadPointsError(f"--dataset={name}: the points must be finite numbers")
    return points.astype(np.float32)


def _read_csv(path):
    with open(path) as f:
        first = f.readline()
    try:
        [float(x) for x in first.split(",")]
        header = 0
    except ValueError:
        header = 1  # a header line
    return np.loadtxt(path, delimiter=",", skiprows=header, ndmin=2)


def load_modes(name: str, modes_path=None):
    """(centres [K, 2], std) of the points' mixture, or None when no modes file is known."""
    if modes_path is None:
        beside = os.path.splitext(points_path(name))[0] + ".json"
        if not os.path.isfile(beside):
            return None
        modes_path = beside
    try:
        with open(modes_path) as f:
            record = json.load(f)
        centers = np.asarray(record["centers"], np.float64)
        std = float(record["std"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BadPointsError(f"modes file {modes_path}: expected {{\"centers\": [[x, y], ...], "
                             f"\"std\": s}} ({type(error).__name__}: {error})") from None
    if centers.ndim != 2 or centers.shape[1] != 2 or not len(centers) or not std > 0:
        raise BadPointsError(f"modes file {modes_path}: centers must be [K, 2] with K >= 1 "
                             f"and std positive")
    return centers, std


def points_batches(points: np.ndarray, batch_size: int, seed: int):
    """Endless float32 batches [batch_size, 2] of ``points``, reshuffled every pass with ``seed``."""
    import tensorflow as tf

    if len(points) < batch_size:
        raise BadPointsError(f"the file has {len(points)} points, fewer than the batch size "
                             f"{batch_size}")
    return (tf.data.Dataset.from_tensor_slices(points)
            .shuffle(len(points), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size, drop_remainder=True)
            .repeat()
            .prefetch(tf.data.AUTOTUNE))
