"""models/random.py: the same draws in eager, graph and XLA, with the right law."""

import keras
import numpy as np
import tensorflow as tf
from scipy import stats

from models import random


def draws(mode, seed=7):
    generator = keras.random.SeedGenerator(seed)

    def draw():
        return (random.uniform([1000], generator), random.normal([1000], generator))

    if mode != "eager":
        draw = tf.function(draw, jit_compile=(mode == "xla"))
    return [[t.numpy() for t in draw()] for _ in range(2)]


class RandomTest(tf.test.TestCase):

    def test_eager_graph_and_xla_agree(self):
        eager = draws("eager")
        for mode in ("graph", "xla"):
            for expected, got in zip(eager, draws(mode)):
                self.assertAllEqual(expected[0], got[0])  # uniform: exact
                self.assertAllClose(expected[1], got[1], rtol=1e-5, atol=1e-6)

    def test_each_draw_advances_the_seed(self):
        (u1, n1), (u2, n2) = draws("eager")
        self.assertNotAllClose(u1, u2)
        self.assertNotAllClose(n1, n2)

    def test_seed_determines_the_draws(self):
        self.assertAllEqual(draws("eager", 3)[0][0], draws("eager", 3)[0][0])
        self.assertNotAllClose(draws("eager", 3)[0][0], draws("eager", 4)[0][0])

    def test_uniform_law(self):
        u = random.uniform([200000], keras.random.SeedGenerator(1)).numpy()
        self.assertGreaterEqual(u.min(), 0.0)
        self.assertLess(u.max(), 1.0)
        self.assertGreater(stats.kstest(u, "uniform").pvalue, 1e-4)

    def test_normal_law(self):
        z = random.normal([200000], keras.random.SeedGenerator(2)).numpy()
        self.assertTrue(np.all(np.isfinite(z)))
        self.assertGreater(stats.kstest(z, "norm").pvalue, 1e-4)
