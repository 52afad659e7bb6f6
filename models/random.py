"""Seeded random draws that are identical in eager mode, in tf.function and under XLA.

`keras.random.normal` and `tf.random.stateless_*` with float outputs do not
give the same numbers under XLA as in TF's own CPU kernels: both generate the
same Philox bits, but XLA turns bits into floats differently. So we ask for the
raw uint32 bits (which agree) and convert them here, the same way everywhere.
The seed comes from a `keras.random.SeedGenerator`, whose state is a model
variable: each draw advances it, and it is saved with the model.
"""

import math

import tensorflow as tf

_ALG = "philox"
_MANTISSA_BITS = 24  # float32 represents every multiple of 2**-24 in [0, 1) exactly


def _bits(shape, seed_generator):
    return tf.random.stateless_uniform(
        shape, seed=seed_generator.next(), minval=None, maxval=None,
        dtype=tf.uint32, alg=_ALG)


def uniform(shape, seed_generator, dtype=tf.float32):
    """U[0, 1) samples: the top 24 random bits scaled by 2**-24 (exact in float32)."""
    top = tf.bitwise.right_shift(_bits(shape, seed_generator), 32 - _MANTISSA_BITS)
    return tf.cast(tf.cast(top, tf.int32), dtype) * (2.0 ** -_MANTISSA_BITS)


def normal(shape, seed_generator, dtype=tf.float32):
    """N(0, 1) samples by the Box-Muller transform of two uniform draws."""
    u = uniform(tf.concat([[2], shape], axis=0), seed_generator, tf.float32)
    radius = tf.sqrt(-2.0 * tf.math.log1p(-u[0]))  # 1 - u is in (0, 1]: no log(0)
    return tf.cast(radius * tf.cos(2.0 * math.pi * u[1]), dtype)


LATENT_DISTRIBUTIONS = ("normal", "uniform")


def latent(shape, distribution, seed_generator):
    """Latent codes: N(0, 1), or U[-1, 1] as in DCGAN (Radford et al. 2016, Section 4)."""
    if distribution == "uniform":
        return 2.0 * uniform(shape, seed_generator) - 1.0
    return normal(shape, seed_generator)
