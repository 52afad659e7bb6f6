"""Tests for evaluation.toy: VEEGAN / PacGAN mode coverage."""

import dataclasses

import numpy as np
import tensorflow as tf

from evaluation.toy import ModeCoverage, distance_profile, mode_coverage, reverse_kl_to_uniform

_STD = 0.02
# Eight centres on a circle of radius 2, 1.53 apart: far beyond 3 std.
_ANGLES = np.arange(8) * np.pi / 4
_CENTERS = 2.0 * np.stack([np.cos(_ANGLES), np.sin(_ANGLES)], axis=1)
# A diagonal unit offset: 3.1 std along it is only 2.19 std per coordinate, so
# the tests below tell a Euclidean threshold from a per-coordinate one.
_DIAGONAL = np.array([1.0, 1.0]) / np.sqrt(2.0)


def _mix():
    """3 samples at centre 0, one 2.9 std from centre 2, one 3.1 std from centre 5."""
    return np.concatenate([
        np.repeat(_CENTERS[:1], 3, axis=0),
        [_CENTERS[2] + 2.9 * _STD * _DIAGONAL],
        [_CENTERS[5] + 3.1 * _STD * _DIAGONAL],
    ])


class ModeCoverageTest(tf.test.TestCase):

    def test_samples_at_every_centre_capture_all_modes(self):
        result = mode_coverage(np.repeat(_CENTERS, 3, axis=0), _CENTERS, _STD)
        self.assertIsInstance(result, ModeCoverage)
        self.assertEqual(result.modes_captured, 8)
        self.assertEqual(result.num_modes, 8)
        self.assertEqual(result.high_quality_fraction, 1.0)
        self.assertAllEqual(result.counts, np.full(8, 3))

    def test_samples_in_one_mode_capture_one_mode(self):
        rng = np.random.default_rng(0)
        # Within 1 std of centre 3 in Euclidean distance.
        offsets = rng.uniform(-0.7, 0.7, size=(50, 2)) * _STD
        result = mode_coverage(_CENTERS[3] + offsets, _CENTERS, _STD)
        self.assertEqual(result.modes_captured, 1)
        self.assertEqual(result.high_quality_fraction, 1.0)
        self.assertAllEqual(result.counts, [0, 0, 0, 50, 0, 0, 0, 0])

    def test_far_samples_capture_nothing(self):
        result = mode_coverage(np.full((10, 2), 100.0), _CENTERS, _STD)
        self.assertEqual(result.modes_captured, 0)
        self.assertEqual(result.num_modes, 8)
        self.assertEqual(result.high_quality_fraction, 0.0)
        self.assertAllEqual(result.counts, np.zeros(8))

    def test_hand_made_mix_uses_a_euclidean_three_std_threshold(self):
        result = mode_coverage(_mix(), _CENTERS, _STD)
        self.assertEqual(result.modes_captured, 2)
        self.assertAllClose(result.high_quality_fraction, 4 / 5)
        self.assertAllEqual(result.counts, [3, 0, 1, 0, 0, 0, 0, 0])

    def test_threshold_argument_moves_the_boundary(self):
        result = mode_coverage(_mix(), _CENTERS, _STD, threshold=3.2)
        self.assertEqual(result.modes_captured, 3)
        self.assertEqual(result.high_quality_fraction, 1.0)
        self.assertAllEqual(result.counts, [3, 0, 1, 0, 0, 1, 0, 0])

    def test_nearest_centre_decides_the_mode(self):
        # With std 1 the sample is within 3 std of centres 0 and 1 (0.92 and
        # 0.61 away); only its nearest centre, 1, is credited.
        sample = _CENTERS[1] + 0.4 * (_CENTERS[0] - _CENTERS[1])
        result = mode_coverage([sample], _CENTERS, 1.0)
        self.assertEqual(result.modes_captured, 1)
        self.assertAllEqual(result.counts, [0, 1, 0, 0, 0, 0, 0, 0])

    def test_three_dimensional_centres(self):
        corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
        std = 0.01
        samples = np.concatenate([
            corners[:5] + [0.0, 0.0, 2.5 * std],  # high quality, 5 modes
            corners[6:7] + [0.0, 0.0, 3.5 * std],  # too far from its nearest corner
        ])
        result = mode_coverage(samples, corners, std)
        self.assertEqual(result.modes_captured, 5)
        self.assertEqual(result.num_modes, 8)
        self.assertAllClose(result.high_quality_fraction, 5 / 6)
        self.assertAllEqual(result.counts, [1, 1, 1, 1, 1, 0, 0, 0])

    def test_nan_samples_are_not_high_quality(self):
        result = mode_coverage([[np.nan, np.nan], _CENTERS[4]], _CENTERS, _STD)
        self.assertEqual(result.modes_captured, 1)
        self.assertEqual(result.high_quality_fraction, 0.5)
        self.assertAllEqual(result.counts, [0, 0, 0, 0, 1, 0, 0, 0])

    def test_nan_samples_have_no_nearest_centre_in_the_shares(self):
        result = mode_coverage([[np.nan, np.nan], _CENTERS[4]], _CENTERS, _STD)
        self.assertAllClose(result.shares, [0, 0, 0, 0, 0.5, 0, 0, 0])


    def test_result_is_immutable(self):
        result = mode_coverage(_CENTERS, _CENTERS, _STD)
        with self.assertRaises(dataclasses.FrozenInstanceError):
            result.modes_captured = 0
        with self.assertRaises(ValueError):
            result.counts[0] = 5
        with self.assertRaises(ValueError):
            result.shares[0] = 0.5

    def test_invalid_arguments_raise(self):
        bad_calls = {
            "1-D samples": (np.zeros(2), _CENTERS, _STD),
            "no samples": (np.zeros((0, 2)), _CENTERS, _STD),
            "1-D centers": (np.zeros((4, 2)), np.zeros(2), _STD),
            "no centers": (np.zeros((4, 2)), np.zeros((0, 2)), _STD),
            "dimension mismatch": (np.zeros((4, 3)), _CENTERS, _STD),
            "zero std": (np.zeros((4, 2)), _CENTERS, 0.0),
            "negative std": (np.zeros((4, 2)), _CENTERS, -1.0),
            "nan std": (np.zeros((4, 2)), _CENTERS, np.nan),
        }
        for description, args in bad_calls.items():
            with self.assertRaises(ValueError, msg=description):
                mode_coverage(*args)
        with self.assertRaises(ValueError):
            mode_coverage(np.zeros((4, 2)), _CENTERS, _STD, threshold=0.0)


class PerModeShareTest(tf.test.TestCase):
    """Shares per mode and their reverse KL to uniform (PacGAN's measure)."""

    def test_shares_count_every_sample_by_its_nearest_centre(self):
        # _mix: 3 at centre 0, 1 high-quality near centre 2, 1 off-mode near 5.
        result = mode_coverage(_mix(), _CENTERS, _STD)
        self.assertAllClose(result.shares, [0.6, 0, 0.2, 0, 0, 0.2, 0, 0])
        self.assertAllClose(result.high_quality_shares, [0.75, 0, 0.25, 0, 0, 0, 0, 0])
        # KL(p || U_8) = sum p log(8 p).
        self.assertAllClose(result.reverse_kl,
                            0.6 * np.log(4.8) + 2 * 0.2 * np.log(1.6))
        self.assertAllClose(result.high_quality_reverse_kl,
                            0.75 * np.log(6.0) + 0.25 * np.log(2.0))

    def test_an_off_mode_blob_has_no_high_quality_sample_but_one_share(self):
        # The collapsed generator of Metz et al.'s Figure 1: a tight blob
        # beside one mode (here 10 std from centre 6).
        blob = _CENTERS[6] + 10 * _STD + np.random.default_rng(1).normal(0, _STD / 10, (200, 2))
        result = mode_coverage(blob, _CENTERS, _STD)
        self.assertEqual(result.modes_captured, 0)
        self.assertAllEqual(result.shares, np.eye(8)[6])
        self.assertAllClose(result.reverse_kl, np.log(8))  # the maximum: log K
        self.assertTrue(np.isnan(result.high_quality_reverse_kl))
        self.assertTrue(np.all(np.isnan(result.high_quality_shares)))

    def test_even_coverage_has_zero_reverse_kl(self):
        result = mode_coverage(np.repeat(_CENTERS, 5, axis=0), _CENTERS, _STD)
        self.assertAllClose(result.shares, np.full(8, 1 / 8))
        self.assertEqual(result.reverse_kl, 0.0)
        self.assertEqual(result.high_quality_reverse_kl, 0.0)

    def test_reverse_kl_of_half_and_half_is_log_k_over_2(self):
        # Two of K modes with half the mass each: KL = log(K / 2).
        for k in (8, 25):
            shares = np.zeros(k)
            shares[[0, 3]] = 0.5
            self.assertAllClose(reverse_kl_to_uniform(shares), np.log(k / 2))


class DistanceProfileTest(tf.test.TestCase):
    """Where the samples that are not high quality lie: near a mode or between modes."""

    def test_hand_placed_samples(self):
        # Distances 0, 1, 2.9 (high quality), 3.1, 5.9 (near misses), 6.5 and a NaN
        # (between modes); the median of the seven is 3.1.
        points = np.concatenate([
            _CENTERS[[0, 1, 2, 3, 4, 5]]
            + np.array([0, 1, 2.9, 3.1, 5.9, 6.5])[:, None] * _STD * _DIAGONAL,
            [[np.nan, 0.0]]])
        profile = distance_profile(points, _CENTERS, _STD)
        self.assertAllClose(profile["median_distance_std"], 3.1)
        self.assertAllClose(profile["near_miss_percent"], round(200 / 7, 1))
        self.assertAllClose(profile["between_modes_percent"], round(200 / 7, 1))
        # Half-way between two ring neighbours (1.53 apart, 38 std from each).
        middle = (_CENTERS[0] + _CENTERS[1])[None] / 2
        self.assertEqual(distance_profile(middle, _CENTERS, _STD)["between_modes_percent"], 100.0)

    def test_the_mixtures_own_points_have_the_rayleigh_profile(self):
        # 2-D Gaussian modes: the distance over std is Rayleigh, median sqrt(2 ln 2),
        # P(3 < r <= 6) = exp(-4.5) - exp(-18) and P(r > 6) = exp(-18).
        rng = np.random.default_rng(0)
        points = _CENTERS[rng.integers(0, 8, 200_000)] + rng.normal(0, _STD, (200_000, 2))
        profile = distance_profile(points, _CENTERS, _STD)
        self.assertAllClose(profile["median_distance_std"], np.sqrt(2 * np.log(2)), atol=0.01)
        self.assertAllClose(profile["near_miss_percent"], 100 * np.exp(-4.5), atol=0.1)
        self.assertEqual(profile["between_modes_percent"], 0.0)

    def test_the_three_shares_partition_the_samples(self):
        # High quality (mode_coverage's own test), near misses and samples between
        # modes add up to every sample, also at the 3-std boundary itself; with
        # 1000 samples each is 0.1 %, so the rounded shares add up exactly.
        rng = np.random.default_rng(2)
        points = _CENTERS[rng.integers(0, 8, 1000)] + rng.normal(0, 3 * _STD, (1000, 2))
        points[:10] = _CENTERS[0] + 3 * _STD * rng.normal(size=(10, 2)) / np.sqrt(2)
        points[10:20] = _CENTERS[1] + 3 * _STD * _DIAGONAL  # on the boundary
        points[20:30] = np.nan
        profile = distance_profile(points, _CENTERS, _STD)
        high_quality = 100 * mode_coverage(points, _CENTERS, _STD).high_quality_fraction
        self.assertAllClose(high_quality + profile["near_miss_percent"]
                            + profile["between_modes_percent"], 100.0)
        self.assertGreaterEqual(profile["between_modes_percent"], 1.0)  # the NaN samples

    def test_a_median_that_is_not_finite_is_none_and_bad_input_raises(self):
        points = np.concatenate([_CENTERS[:2], np.full((3, 2), np.nan)])
        profile = distance_profile(points, _CENTERS, _STD)
        self.assertIsNone(profile["median_distance_std"])
        self.assertEqual(profile["between_modes_percent"], 60.0)
        for bad in (dict(samples=np.zeros((0, 2))), dict(std=0.0), dict(far=2.0)):
            arguments = dict(dict(samples=_CENTERS, centers=_CENTERS, std=_STD), **bad)
            with self.assertRaises(ValueError):
                distance_profile(**arguments)
