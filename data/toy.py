"""Toy 2-D distributions of WGAN-GP as seeded, endless ``tf.data`` pipelines.

Source: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", the
authors' toy script ``gan_toy.py`` (github.com/igul222/improved_wgan_training),
function ``inf_train_gen``. The constants (scale 2, noise stds 0.02 / 0.05 /
0.25 and the "stdev" divisors 1.414 / 2.828 / 7.5, kept as the same literals)
and the construction of each distribution follow that code:

- ``8gaussians``: a uniformly chosen centre 2*(cos(k*pi/4), sin(k*pi/4)),
  k = 0..7, plus N(0, 0.02^2) per coordinate, all divided by 1.414.
- ``25gaussians``: a fixed set of 100000 points, 4000 around each centre
  2*(i, j), i, j in -2..2, with N(0, 0.05^2) per coordinate, shuffled once,
  divided by 2.828 and then cycled through in that order forever; like the
  authors' loop, the tail that does not fill a whole batch is skipped and
  every pass restarts at the first point.
- ``8gaussians_metz``: the ring of Metz et al. 2017 ("Unrolled Generative
  Adversarial Networks", Appendix A; locuslab/gradient_regularized_gan
  ``unrolled.py``, ``sample_mog``): the same 8 centres and N(0, 0.02^2) noise
  as ``8gaussians``, a uniformly chosen centre per point, *without* the
  division by 1.414, so the ring has radius 2.
- ``swissroll``: sklearn's ``make_swiss_roll(noise=0.25)`` columns (x, z),
  divided by 7.5, i.e. t = 1.5*pi*(1 + 2U), U ~ U[0, 1],
  (x, z) = (t cos t, t sin t) + 0.25*N(0, I).

Differences from the authors' code:

- ``8gaussians`` and ``swissroll`` draw every batch i.i.d. with stateless TF
  random ops keyed by (seed, batch index) instead of the global state of
  numpy / ``random`` (and sklearn), so a pipeline is reproducible from its seed
  alone. Same distribution, different random numbers.
- ``swissroll`` does not draw the dropped y column (21*U'); it is independent
  of (x, z), so the distribution of the kept columns is unchanged.
- ``25gaussians`` builds its point set with ``np.random.default_rng(seed)``
  instead of the global numpy state.
- The eight centres are listed in angle order k*pi/4 rather than the authors'
  order; the centre is chosen uniformly, so this changes nothing but the
  order of ``mode_centers``.
"""

import numpy as np
import tensorflow as tf

TOY_DATASETS = ("8gaussians", "8gaussians_metz", "25gaussians", "swissroll")

_8G_SCALE = 2.0
_8G_STD = 0.02
_8G_DIVISOR = 1.414

_25G_STD = 0.05
_25G_DIVISOR = 2.828
_25G_NUM_POINTS = 100000

_SWISSROLL_NOISE = 0.25
_SWISSROLL_DIVISOR = 7.5


def _check_name(name):
    if name not in TOY_DATASETS:
        raise ValueError(
            f"Unknown toy dataset {name!r}; valid names are {', '.join(TOY_DATASETS)}."
        )


def _raw_centers(name):
    """Mode centres before the division by the authors' "stdev"."""
    if name in ("8gaussians", "8gaussians_metz"):
        angles = np.arange(8) * np.pi / 4
        return _8G_SCALE * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    # Outer loop over the first coordinate, as in the authors' nested loops.
    grid = np.arange(-2, 3, dtype=np.float64)
    return 2.0 * np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2)


def _divisor(name):
    return {"8gaussians": _8G_DIVISOR, "8gaussians_metz": 1.0}.get(name, _25G_DIVISOR)


def _check_has_modes(name):
    _check_name(name)
    if name == "swissroll":
        raise ValueError("swissroll has no modes: it is a continuous manifold, not a mixture.")


def mode_centers(name: str) -> np.ndarray:
    """Centres [K, 2] of the mixture ``name`` in data space (after the division)."""
    _check_has_modes(name)
    return _raw_centers(name) / _divisor(name)


def mode_std(name: str) -> float:
    """Per-coordinate std of each mixture component in data space (after the division)."""
    _check_has_modes(name)
    raw_std = _25G_STD if name == "25gaussians" else _8G_STD
    return raw_std / _divisor(name)


def _sample_ring(seed, batch_size, divisor):
    mode_seed, noise_seed = tf.unstack(tf.random.split(seed, 2))
    centers = tf.constant(_raw_centers("8gaussians"), tf.float32)
    modes = tf.random.stateless_uniform(
        [batch_size], seed=mode_seed, minval=0, maxval=8, dtype=tf.int32
    )
    noise = tf.random.stateless_normal([batch_size, 2], seed=noise_seed, stddev=_8G_STD)
    return (tf.gather(centers, modes) + noise) / divisor


def _sample_swissroll(seed, batch_size):
    t_seed, noise_seed = tf.unstack(tf.random.split(seed, 2))
    t = 1.5 * np.pi * (1.0 + 2.0 * tf.random.stateless_uniform([batch_size], seed=t_seed))
    noise = tf.random.stateless_normal(
        [batch_size, 2], seed=noise_seed, stddev=_SWISSROLL_NOISE
    )
    return (tf.stack([t * tf.cos(t), t * tf.sin(t)], axis=1) + noise) / _SWISSROLL_DIVISOR


def _25gaussians_points(seed):
    """The authors' fixed 100000-point set, shuffled once, as float32 [100000, 2]."""
    rng = np.random.default_rng(seed)
    centers = np.tile(_raw_centers("25gaussians"), (_25G_NUM_POINTS // 25, 1))
    points = centers + _25G_STD * rng.standard_normal(centers.shape)
    points = points[rng.permutation(len(points))]
    return (points / _25G_DIVISOR).astype(np.float32)


def toy_batches(name: str, batch_size: int, seed: int = 0) -> tf.data.Dataset:
    """Endless dataset of float32 batches [batch_size, 2] from toy distribution ``name``.

    Deterministic given ``seed`` (a non-negative integer). See the module
    docstring for the distributions and how they follow the authors' code.
    """
    _check_name(name)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}.")

    if name == "25gaussians":
        if batch_size > _25G_NUM_POINTS:
            raise ValueError(
                f"batch_size for 25gaussians must be at most {_25G_NUM_POINTS}, "
                f"the size of its fixed point set; got {batch_size}."
            )
        dataset = (
            tf.data.Dataset.from_tensor_slices(_25gaussians_points(seed))
            # drop_remainder reproduces the authors' `len(dataset)/BATCH_SIZE`
            # batches per pass and gives the batches a static shape.
            .batch(batch_size, drop_remainder=True)
            .repeat()
        )
    else:
        seed_t = tf.constant(seed, tf.int64)
        if name == "swissroll":
            sample = _sample_swissroll
        else:
            def sample(seed, batch_size):
                return _sample_ring(seed, batch_size, _divisor(name))
        dataset = tf.data.Dataset.counter().map(
            lambda i: sample(tf.stack([seed_t, i]), batch_size),
            num_parallel_calls=tf.data.AUTOTUNE,
            # Batch i is keyed by i; keeping the order keeps the pipeline a
            # function of the seed even if a caller disables determinism.
            deterministic=True,
        )
    return dataset.prefetch(tf.data.AUTOTUNE)
