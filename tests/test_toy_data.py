"""Tests for data.toy: the WGAN-GP toy distributions (Gulrajani et al. 2017, gan_toy.py)."""

import numpy as np
import tensorflow as tf
from scipy import integrate, stats

from data.toy import TOY_DATASETS, mode_centers, mode_std, toy_batches

_SWISSROLL_T_MIN = 1.5 * np.pi
_SWISSROLL_T_MAX = 4.5 * np.pi


def _take(name, batch_size, num_batches, seed=0):
    batches = list(toy_batches(name, batch_size, seed).take(num_batches).as_numpy_iterator())
    return np.stack(batches)


def _nearest(points, centers):
    """Index of and distance to the nearest centre of every point."""
    dist = np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=-1)
    return np.argmin(dist, axis=1), np.min(dist, axis=1)


class ToyBatchesTest(tf.test.TestCase):

    def test_batches_have_static_shape_and_float32(self):
        for name in TOY_DATASETS:
            dataset = toy_batches(name, 64, seed=1)
            self.assertEqual(dataset.element_spec, tf.TensorSpec([64, 2], tf.float32), name)
            batch = next(iter(dataset))
            self.assertEqual(batch.shape, (64, 2), name)
            self.assertEqual(batch.dtype, tf.float32, name)

    def test_same_seed_gives_identical_batches(self):
        for name in TOY_DATASETS:
            self.assertAllEqual(_take(name, 100, 3, seed=7), _take(name, 100, 3, seed=7), msg=name)

    def test_different_seeds_give_different_batches(self):
        for name in TOY_DATASETS:
            first, second = _take(name, 100, 1, seed=7), _take(name, 100, 1, seed=8)
            self.assertFalse(np.array_equal(first, second), name)

    def test_successive_batches_differ(self):
        for name in TOY_DATASETS:
            batches = _take(name, 100, 2, seed=0)
            self.assertFalse(np.array_equal(batches[0], batches[1]), name)

    def test_unknown_name_raises_listing_valid_names(self):
        for function in (lambda: toy_batches("9gaussians", 10), lambda: mode_centers("ring"),
                         lambda: mode_std("ring")):
            with self.assertRaises(ValueError) as context:
                function()
            for name in TOY_DATASETS:
                self.assertIn(name, str(context.exception))

    def test_bad_batch_size_raises(self):
        for name in TOY_DATASETS:
            for batch_size in (0, -5):
                with self.assertRaises(ValueError):
                    toy_batches(name, batch_size)
        # 25gaussians cycles through a fixed set of 100000 points.
        with self.assertRaises(ValueError):
            toy_batches("25gaussians", 100001)

    def test_negative_seed_raises(self):
        for name in TOY_DATASETS:
            with self.assertRaises(ValueError):
                toy_batches(name, 10, seed=-1)


class ModeCentersTest(tf.test.TestCase):

    def test_8gaussians_centres_and_std(self):
        angles = np.arange(8) * np.pi / 4
        expected = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1) / 1.414
        self.assertAllClose(mode_centers("8gaussians"), expected, rtol=0, atol=1e-12)
        self.assertAlmostEqual(mode_std("8gaussians"), 0.02 / 1.414, places=12)

    def test_25gaussians_centres_and_std(self):
        centers = mode_centers("25gaussians")
        self.assertEqual(centers.shape, (25, 2))
        expected = {(2 * i / 2.828, 2 * j / 2.828) for i in range(-2, 3) for j in range(-2, 3)}
        self.assertLen(expected, 25)
        for center in expected:
            self.assertLess(np.min(np.linalg.norm(centers - center, axis=1)), 1e-12)
        self.assertAlmostEqual(mode_std("25gaussians"), 0.05 / 2.828, places=12)

    def test_metz_ring_is_the_8gaussians_ring_before_the_division(self):
        # Metz et al. 2017, Appendix A: radius 2, std 0.02.
        self.assertAllClose(mode_centers("8gaussians_metz"), 1.414 * mode_centers("8gaussians"),
                            rtol=0, atol=1e-12)
        self.assertAllClose(np.linalg.norm(mode_centers("8gaussians_metz"), axis=1),
                            np.full(8, 2.0), rtol=0, atol=1e-12)
        self.assertAlmostEqual(mode_std("8gaussians_metz"), 0.02, places=12)

    def test_swissroll_has_no_modes(self):
        for function in (mode_centers, mode_std):
            with self.assertRaisesRegex(ValueError, "no modes"):
                function("swissroll")


class EightGaussiansTest(tf.test.TestCase):
    """The 8gaussians ring; the subclass runs every test on Metz et al.'s ring."""

    NAME = "8gaussians"

    def setUp(self):
        super().setUp()
        self.points = _take(self.NAME, 5000, 4, seed=3).reshape(-1, 2)
        self.centers = mode_centers(self.NAME)
        self.std = mode_std(self.NAME)
        self.mode, self.distance = _nearest(self.points, self.centers)

    def test_every_point_lies_near_a_centre(self):
        # P(radius > 6 std) for a 2-D standard normal is exp(-18) ~ 1.5e-8 per point.
        self.assertLess(np.max(self.distance), 6 * self.std)

    def test_modes_are_equally_likely(self):
        counts = np.bincount(self.mode, minlength=8)
        expected = len(self.points) / 8
        chi_square = np.sum((counts - expected) ** 2 / expected)
        # Fails for a correct sampler with probability 1e-6.
        self.assertLess(chi_square, stats.chi2.isf(1e-6, df=7))

    def test_noise_around_each_centre_has_the_stated_std(self):
        deviations = self.points - self.centers[self.mode]
        # Standard errors: the mean of 20000 values std/141; the std of 40000
        # values 0.35% (pooled) and of ~5000 values 1% (per mode).
        self.assertAllClose(np.mean(deviations, axis=0), [0.0, 0.0], rtol=0, atol=0.035 * self.std)
        self.assertAllClose(np.std(deviations), self.std, rtol=0.02)
        for k in range(8):
            self.assertAllClose(np.std(deviations[self.mode == k]), self.std, rtol=0.05, msg=k)


class MetzRingTest(EightGaussiansTest):

    NAME = "8gaussians_metz"


class TwentyFiveGaussiansTest(tf.test.TestCase):

    def test_cycles_every_100000_points(self):
        batches = _take("25gaussians", 250, 402, seed=5)
        self.assertAllEqual(batches[400], batches[0])
        self.assertAllEqual(batches[401], batches[1])
        self.assertLen(np.unique(batches[:400].reshape(-1, 2), axis=0), 100000)

    def test_partial_tail_batch_is_skipped(self):
        # As in the authors' loop, 100000 // 256 = 390 batches per pass.
        batches = _take("25gaussians", 256, 391, seed=5)
        self.assertAllEqual(batches[390], batches[0])
        self.assertLen(np.unique(batches[:390].reshape(-1, 2), axis=0), 390 * 256)

    def test_one_cycle_has_4000_points_per_mode_with_the_stated_std(self):
        points = _take("25gaussians", 1000, 100, seed=5).reshape(-1, 2)
        centers, std = mode_centers("25gaussians"), mode_std("25gaussians")
        mode, distance = _nearest(points, centers)
        self.assertAllEqual(np.bincount(mode, minlength=25), np.full(25, 4000))
        # P(radius > 6 std) is exp(-18) ~ 1.5e-8 per point.
        self.assertLess(np.max(distance), 6 * std)
        self.assertAllClose(np.std(points - centers[mode]), std, rtol=0.02)

    def test_points_are_shuffled(self):
        # In construction order every 25 consecutive points visit all 25
        # centres once, so a batch of 250 would hold exactly 10 per mode.
        first_batch = _take("25gaussians", 250, 1, seed=5)[0]
        mode, _ = _nearest(first_batch, mode_centers("25gaussians"))
        self.assertFalse(np.array_equal(np.bincount(mode, minlength=25), np.full(25, 10)))


class SwissRollTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        # Undo the authors' division by 7.5 to compare with make_swiss_roll.
        self.points = 7.5 * _take("swissroll", 5000, 4, seed=11).reshape(-1, 2).astype(np.float64)

    def test_first_and_second_moments_match_make_swiss_roll(self):
        # t ~ U[1.5 pi, 4.5 pi]; (x, z) = (t cos t, t sin t) + N(0, 0.25^2 I).
        def t_average(f):
            return integrate.quad(f, _SWISSROLL_T_MIN, _SWISSROLL_T_MAX, limit=200)[0] / (
                _SWISSROLL_T_MAX - _SWISSROLL_T_MIN)

        mean = [t_average(lambda t: t * np.cos(t)), t_average(lambda t: t * np.sin(t))]
        self.assertAllClose(mean, [2.0, 2.0 / (3 * np.pi)], atol=1e-9)  # closed form
        second = [t_average(lambda t: (t * np.cos(t)) ** 2) + 0.25**2,
                  t_average(lambda t: (t * np.sin(t)) ** 2) + 0.25**2]
        num = len(self.points)
        for column in range(2):
            values = self.points[:, column]
            # Five standard errors of the sample mean.
            self.assertAllClose(np.mean(values), mean[column], rtol=0,
                                atol=5 * np.std(values) / np.sqrt(num))
            self.assertAllClose(np.mean(values**2), second[column], rtol=0,
                                atol=5 * np.std(values**2) / np.sqrt(num))

    def test_radius_is_uniform_on_the_roll_up_to_noise(self):
        radius = np.linalg.norm(self.points, axis=1)
        # Away from the ends, noise barely moves the quantiles of U[1.5 pi, 4.5 pi];
        # 0.15 is over four standard errors of a quantile of 20000 points.
        probabilities = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
        expected = _SWISSROLL_T_MIN + probabilities * (_SWISSROLL_T_MAX - _SWISSROLL_T_MIN)
        self.assertAllClose(np.quantile(radius, probabilities), expected, rtol=0, atol=0.15)
        # The noise moves a point radially by at most its norm, which exceeds
        # 1.5 = 6 noise stds with probability exp(-18).
        self.assertGreater(np.min(radius), _SWISSROLL_T_MIN - 1.5)
        self.assertLess(np.max(radius), _SWISSROLL_T_MAX + 1.5)
        # Mass pushed past each end is E[max(N(0, 0.25^2), 0)] / (3 pi) to first order.
        outside = np.mean((radius < _SWISSROLL_T_MIN) | (radius > _SWISSROLL_T_MAX))
        expected_outside = 2 * 0.25 / np.sqrt(2 * np.pi) / (_SWISSROLL_T_MAX - _SWISSROLL_T_MIN)
        self.assertAllClose(outside, expected_outside, rtol=0, atol=0.006)
