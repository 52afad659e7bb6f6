"""Seeded random draws that are identical in eager mode, in tf.function and under XLA.

`keras.random.normal` and `tf.random.stateless_*` with float outputs do not
give the same numbers under XLA as in TF's own CPU kernels: both generate the
same Philox bits, but XLA turns bits into floats differently. So we ask for the
raw uint32 bits (which agree) and convert them here, the same way everywhere.
The seed comes from a `keras.random.SeedGenerator`, whose state is a model
variable: each draw advances it, and it is saved with the model. Under a
distribution strategy each replica takes its own rows of the global batch's
draw (`_per_replica`).
"""

import math

import tensorflow as tf

from models import distribute

_ALG = "philox"
_MANTISSA_BITS = 24  # float32 represents every multiple of 2**-24 in [0, 1) exactly


def _next_seed(seed_generator):
    """The generator's seed, advancing its state (as `SeedGenerator.next()` does).

    In a replica context the state is a mirrored variable that no replica may
    assign alone: every replica reads the same seed, and the state of every
    copy advances once, in step (`models.distribute.update`).
    """
    if not distribute.in_replica_context():
        return seed_generator.next()
    state = seed_generator.state
    seed = state.value * 1  # a copy, read before the update
    increment = tf.constant([0, 1], state.dtype)
    with tf.control_dependencies([seed]):
        distribute.update(state, lambda value: value + increment)
    return seed


def _bits(shape, seed_generator):
    return tf.random.stateless_uniform(
        shape, seed=_next_seed(seed_generator), minval=None, maxval=None,
        dtype=tf.uint32, alg=_ALG)


def _per_replica(draw, shape):
    """`draw(shape)`, or in a replica context this replica's rows of the global draw.

    Under a distribution strategy with R replicas, each draws the samples of
    the whole global batch (R times `shape[0]` rows, from the seed every
    replica shares) and keeps the rows of its own share. The replicas' draws
    are then disjoint pieces of one i.i.d. draw, so they differ (a naive draw
    from the shared seed would be the same on every replica), and together
    they are exactly what one device drawing the global batch gets: training
    is the same whatever the number of replicas. Drawing R times more numbers
    than used costs little beside the networks.
    """
    count, replica = distribute.replicas()
    if count == 1:
        return draw(shape)
    shape = tf.cast(shape, tf.int32)
    full = draw(tf.concat([[count * shape[0]], shape[1:]], axis=0))
    return tf.gather(tf.reshape(full, tf.concat([[count], shape], axis=0)), replica)


def _uniform(shape, seed_generator, dtype):
    top = tf.bitwise.right_shift(_bits(shape, seed_generator), 32 - _MANTISSA_BITS)
    return tf.cast(tf.cast(top, tf.int32), dtype) * (2.0 ** -_MANTISSA_BITS)


def _normal(shape, seed_generator, dtype):
    u = _uniform(tf.concat([[2], shape], axis=0), seed_generator, tf.float32)
    radius = tf.sqrt(-2.0 * tf.math.log1p(-u[0]))  # 1 - u is in (0, 1]: no log(0)
    return tf.cast(radius * tf.cos(2.0 * math.pi * u[1]), dtype)


def uniform(shape, seed_generator, dtype=tf.float32):
    """U[0, 1) samples: the top 24 random bits scaled by 2**-24 (exact in float32)."""
    return _per_replica(lambda s: _uniform(s, seed_generator, dtype), shape)


def normal(shape, seed_generator, dtype=tf.float32):
    """N(0, 1) samples by the Box-Muller transform of two uniform draws."""
    return _per_replica(lambda s: _normal(s, seed_generator, dtype), shape)


LATENT_DISTRIBUTIONS = ("normal", "uniform")


def derived_seed(*keys):
    """A seed in [0, 2**31) derived from non-negative integers (a run's seed, an
    iteration, ...): the same keys give the same seed on every platform, and
    nearby keys unrelated ones (NumPy's SeedSequence mixing)."""
    import numpy as np

    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0] & 0x7FFFFFFF)


def derived_stream(*keys):
    """A `keras.random.SeedGenerator` of its own, seeded by `derived_seed(*keys)`."""
    import keras

    return keras.random.SeedGenerator(derived_seed(*keys))


def latent(shape, distribution, seed_generator):
    """Latent codes: N(0, 1), or U[-1, 1] as in DCGAN (Radford et al. 2016, Section 4)."""
    if distribution == "uniform":
        return 2.0 * uniform(shape, seed_generator) - 1.0
    return normal(shape, seed_generator)


def generator_samples(generator, count, distribution="normal", batch_size=500, seed=0,
                      progress=None):
    """(samples, latent codes) of a saved generator: `count` of each, float32 NumPy, in batches.

    The codes come from one stream seeded by `seed`, batch after batch: with
    the same seed and batch size, the first n samples are the same whatever
    the count. Samples are float32 whatever precision the generator computes
    in. `progress` (optional) gets `update(n)` after each batch.
    """
    import keras
    import numpy as np

    latent_shape = tuple(generator.inputs[0].shape[1:])
    if any(d is None for d in latent_shape):
        raise ValueError(f"the generator's input shape {latent_shape} is not fully defined")
    seeds = keras.random.SeedGenerator(seed)
    samples, codes = [], []
    for start in range(0, count, batch_size):
        n = min(batch_size, count - start)
        codes.append(latent((n, *latent_shape), distribution, seeds))
        samples.append(np.asarray(tf.cast(generator(codes[-1], training=False), tf.float32)))
        if progress is not None:
            progress.update(n)
    return np.concatenate(samples), np.concatenate([np.asarray(c) for c in codes])
