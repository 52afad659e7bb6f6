"""Tests for evaluation.wasserstein and evaluation.image_metrics, with known answers."""

import itertools
import warnings
from unittest import mock

import numpy as np
import scipy.linalg
import tensorflow as tf

from evaluation import image_metrics
from evaluation.image_metrics import (fid_from_features, frechet_distance, inception_score,
                                      kernel_inception_distance)
from evaluation.wasserstein import wasserstein1_estimate


def _random_rotation(rng, d):
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diagonal(r))


class Wasserstein1Test(tf.test.TestCase):

    def test_identical_samples_are_at_distance_zero(self):
        a = np.random.default_rng(0).normal(size=(50, 3))
        self.assertEqual(wasserstein1_estimate(a, a), 0.0)

    def test_translation_moves_by_the_norm_of_the_shift(self):
        # sum_i ||a_i + v - a_s(i)|| >= ||sum_i (a_i - a_s(i)) + N v|| = N ||v||,
        # so the identity matching is optimal and W1 = ||v||.
        a = np.random.default_rng(1).normal(size=(200, 2))
        v = np.array([0.3, -0.4])
        self.assertAllClose(wasserstein1_estimate(a, a + v), 0.5, rtol=0.0, atol=1e-12)

    def test_one_dimensional_case_matches_the_sorted_difference_formula(self):
        rng = np.random.default_rng(2)
        a = rng.normal(size=(300, 1))
        b = rng.exponential(size=(300, 1))
        expected = np.mean(np.abs(np.sort(a[:, 0]) - np.sort(b[:, 0])))
        self.assertAllClose(wasserstein1_estimate(a, b), expected, rtol=1e-12, atol=0.0)

    def test_invariant_to_row_order_and_symmetric(self):
        rng = np.random.default_rng(3)
        a = rng.normal(size=(40, 3))
        b = rng.normal(size=(40, 3)) + 1.0
        value = wasserstein1_estimate(a, b)
        self.assertAllClose(wasserstein1_estimate(rng.permutation(a), rng.permutation(b)), value)
        self.assertAllClose(wasserstein1_estimate(b, a), value)

    def test_matches_brute_force_minimum_over_all_permutations(self):
        rng = np.random.default_rng(4)
        a = rng.normal(size=(6, 3))
        b = rng.normal(size=(6, 3))
        cost = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
        brute_force = min(np.mean(cost[np.arange(6), list(p)]) for p in itertools.permutations(range(6)))
        self.assertAllClose(wasserstein1_estimate(a, b), brute_force, rtol=1e-12, atol=0.0)

    def test_invalid_arguments_raise(self):
        bad_calls = {
            "1-D": (np.zeros(4), np.zeros(4)),
            "empty": (np.zeros((0, 2)), np.zeros((0, 2))),
            "different N": (np.zeros((4, 2)), np.zeros((5, 2))),
            "different D": (np.zeros((4, 2)), np.zeros((4, 3))),
            "nan": (np.full((4, 2), np.nan), np.zeros((4, 2))),
        }
        for description, args in bad_calls.items():
            with self.assertRaises(ValueError, msg=description):
                wasserstein1_estimate(*args)


class FrechetDistanceTest(tf.test.TestCase):

    def test_feature_set_against_itself_is_zero(self):
        rng = np.random.default_rng(0)
        f = rng.normal(size=(500, 16)) @ rng.normal(size=(16, 16))
        trace = np.trace(np.cov(f, rowvar=False))
        self.assertLess(abs(fid_from_features(f, f)), 1e-6 * trace)

    def test_diagonal_gaussians_match_the_closed_form(self):
        mu1, mu2 = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0, 0.0, 3.0])
        s1, s2 = np.array([1.0, 2.0, 0.5, 3.0]), np.array([2.0, 1.0, 0.5, 1.0])
        expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2.0 * np.sqrt(s1 * s2))
        self.assertAllClose(frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)), expected, rtol=1e-10)

    def test_commuting_covariances_match_the_closed_form(self):
        # Same eigenvectors Q: (S1 S2)^{1/2} = Q diag(sqrt(a b)) Q^T.
        rng = np.random.default_rng(1)
        q = _random_rotation(rng, 5)
        a, b = rng.uniform(0.1, 3.0, size=5), rng.uniform(0.1, 3.0, size=5)
        mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
        expected = np.sum((mu1 - mu2) ** 2) + np.sum(a + b - 2.0 * np.sqrt(a * b))
        value = frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
        self.assertAllClose(value, expected, rtol=1e-10)

    def test_one_dimensional_gaussians(self):
        # (m1 - m2)^2 + s1^2 + s2^2 - 2 s1 s2 = (m1 - m2)^2 + (s1 - s2)^2 in std terms.
        value = frechet_distance([1.5], [[0.5 ** 2]], [-0.5], [[2.0 ** 2]])
        self.assertAllClose(value, 2.0 ** 2 + 1.5 ** 2, rtol=1e-12)

    def test_large_samples_approach_the_closed_form(self):
        rng = np.random.default_rng(2)
        mu1, mu2 = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0, 0.0, 3.0])
        s1, s2 = np.array([1.0, 2.0, 0.5, 3.0]), np.array([2.0, 1.0, 0.5, 1.0])
        expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2.0 * np.sqrt(s1 * s2))
        n = 100_000
        f1 = mu1 + np.sqrt(s1) * rng.normal(size=(n, 4))
        f2 = mu2 + np.sqrt(s2) * rng.normal(size=(n, 4))
        # The sampling error of the estimate is about 0.3% of it here.
        self.assertAllClose(fid_from_features(f1, f2), expected, rtol=3e-2)

    def test_symmetric_for_non_commuting_covariances(self):
        rng = np.random.default_rng(3)
        f1 = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
        f2 = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.5
        self.assertAllClose(fid_from_features(f1, f2), fid_from_features(f2, f1), rtol=1e-9)

    def test_constant_feature_gives_a_finite_value(self):
        # A constant column makes both covariances singular; it adds only its
        # squared mean difference (2 - (-1))^2 = 9 to the other columns' FID.
        rng = np.random.default_rng(4)
        f1 = rng.normal(size=(400, 8)) @ rng.normal(size=(8, 8))
        f2 = rng.normal(size=(400, 8))
        f1[:, 3], f2[:, 3] = 2.0, -1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SciPy's singular-matrix or our eps warning
            value = fid_from_features(f1, f2)
        self.assertTrue(np.isfinite(value))
        expected = fid_from_features(np.delete(f1, 3, axis=1), np.delete(f2, 3, axis=1)) + 9.0
        self.assertAllClose(value, expected, rtol=1e-4)

    def test_failed_square_root_is_retried_with_eps_on_the_diagonals(self):
        # SciPy < 1.16 returns a non-finite sqrtm for a singular product; the
        # retry takes the root of (S1 + eps I)(S2 + eps I) while, as in the
        # reference code, the trace terms keep the original covariances.
        s1, s2 = np.array([1.0, 4.0]), np.array([9.0, 1.0])
        eps = 1e-2
        expected = np.sum(s1 + s2 - 2.0 * np.sqrt((s1 + eps) * (s2 + eps)))
        failed_once = [np.full((2, 2), np.nan), scipy.linalg.sqrtm(np.diag((s1 + eps) * (s2 + eps)))]
        with mock.patch.object(image_metrics.scipy.linalg, "sqrtm", side_effect=failed_once):
            with self.assertWarns(RuntimeWarning):
                value = frechet_distance(np.zeros(2), np.diag(s1), np.zeros(2), np.diag(s2), eps=eps)
        self.assertAllClose(value, expected, rtol=1e-12)

    def test_unusable_square_root_raises(self):
        sigma = np.eye(2)
        with mock.patch.object(image_metrics.scipy.linalg, "sqrtm", return_value=np.full((2, 2), np.inf)):
            with self.assertWarns(RuntimeWarning), self.assertRaises(ValueError):
                frechet_distance(np.zeros(2), sigma, np.zeros(2), sigma)
        large_imaginary = np.eye(2) + 0.1j * np.eye(2)
        with mock.patch.object(image_metrics.scipy.linalg, "sqrtm", return_value=large_imaginary):
            with self.assertRaises(ValueError):
                frechet_distance(np.zeros(2), sigma, np.zeros(2), sigma)

    def test_negligible_imaginary_part_is_dropped(self):
        sigma = np.eye(2)
        nearly_real = np.eye(2) + 1e-9j * np.eye(2)
        with mock.patch.object(image_metrics.scipy.linalg, "sqrtm", return_value=nearly_real):
            value = frechet_distance(np.zeros(2), sigma, np.ones(2), sigma)
        self.assertIsInstance(value, float)
        self.assertAllClose(value, 2.0)

    def test_invalid_arguments_raise(self):
        eye = np.eye(2)
        bad_calls = {
            "2-D mean": (np.zeros((2, 1)), eye, np.zeros((2, 1)), eye),
            "mean lengths differ": (np.zeros(2), eye, np.zeros(3), eye),
            "covariance shape": (np.zeros(2), np.eye(3), np.zeros(2), eye),
            "nan covariance": (np.zeros(2), np.full((2, 2), np.nan), np.zeros(2), eye),
        }
        for description, args in bad_calls.items():
            with self.assertRaises(ValueError, msg=description):
                frechet_distance(*args)
        with self.assertRaises(ValueError):
            frechet_distance(np.zeros(2), eye, np.zeros(2), eye, eps=0.0)
        for f1, f2 in [(np.zeros((1, 2)), np.zeros((5, 2))), (np.zeros((5, 2)), np.zeros((5, 3))),
                       (np.zeros(5), np.zeros(5))]:
            with self.assertRaises(ValueError):
                fid_from_features(f1, f2)


class KernelInceptionDistanceTest(tf.test.TestCase):

    @staticmethod
    def _direct_unbiased_mmd2(x, y):
        """Gretton et al. 2012, Eq. 3, term by term, with k(x, y) = (x.y / d + 1)^3."""
        m, d = x.shape

        def k(u, v):
            return (np.dot(u, v) / d + 1.0) ** 3

        xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
        return xx + yy - 2.0 * xy

    def test_one_subset_of_the_whole_set_matches_the_direct_estimator(self):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(7, 3))
        y = rng.normal(size=(7, 3)) + 0.5
        mean, std = kernel_inception_distance(x, y, num_subsets=1, subset_size=7)
        self.assertAllClose(mean, self._direct_unbiased_mmd2(x, y), rtol=1e-12)
        self.assertEqual(std, 0.0)

    def test_subsets_of_the_whole_sets_are_one_evaluation(self):
        # subset_size = both sizes: every subset is a reordering of the whole
        # sets, and the estimator is order-free; computed once, std 0.
        rng = np.random.default_rng(2)
        x, y = rng.normal(size=(9, 3)), rng.normal(size=(9, 3)) + 0.3
        mean, std = kernel_inception_distance(x, y, num_subsets=50, subset_size=9)
        self.assertAllClose(mean, self._direct_unbiased_mmd2(x, y), rtol=1e-12)
        self.assertEqual(std, 0.0)
        # The same sets reordered give the same estimate.
        order = rng.permutation(9)
        self.assertAllClose(kernel_inception_distance(x[order], y[order[::-1]], 50, 9)[0],
                            mean, rtol=1e-12)

    def test_set_against_itself_is_negative_not_clamped(self):
        # With y = x the unbiased estimate is 2 (mean off-diagonal k - mean diagonal k) / m,
        # negative because k(x, x) + k(y, y) >= 2 k(x, y) for a positive-definite kernel.
        rng = np.random.default_rng(1)
        x = rng.normal(size=(20, 4))
        gram = (x @ x.T / 4 + 1.0) ** 3
        off_diagonal_mean = (gram.sum() - np.trace(gram)) / (20 * 19)
        expected = 2.0 * (off_diagonal_mean - np.mean(np.diagonal(gram))) / 20
        mean, _ = kernel_inception_distance(x, x, num_subsets=3, subset_size=20)
        self.assertLess(expected, 0.0)
        self.assertAllClose(mean, expected, rtol=1e-10)

    def test_same_distribution_is_near_zero(self):
        rng = np.random.default_rng(2)
        x = rng.normal(size=(2000, 16))
        y = rng.normal(size=(2000, 16))
        mean, std = kernel_inception_distance(x, y, num_subsets=10, subset_size=250, seed=3)
        self.assertGreater(std, 0.0)
        self.assertLess(abs(mean), 3.0 * std)

    def test_clearly_positive_and_growing_with_a_mean_shift(self):
        rng = np.random.default_rng(4)
        x = rng.normal(size=(1000, 16))
        noise = rng.normal(size=(1000, 16))
        results = [kernel_inception_distance(x, noise + shift, num_subsets=10, subset_size=250)
                   for shift in (0.5, 1.0, 2.0)]
        means = [mean for mean, _ in results]
        for mean, std in results:
            self.assertGreater(mean, 5.0 * std)
        self.assertAllEqual(np.diff(means) > 0, [True, True])

    def test_seed_fixes_the_subsets(self):
        rng = np.random.default_rng(5)
        x, y = rng.normal(size=(100, 4)), rng.normal(size=(120, 4)) + 0.2
        first = kernel_inception_distance(x, y, num_subsets=5, subset_size=50, seed=7)
        self.assertEqual(kernel_inception_distance(x, y, num_subsets=5, subset_size=50, seed=7), first)
        self.assertNotEqual(kernel_inception_distance(x, y, num_subsets=5, subset_size=50, seed=8), first)

    def test_invalid_arguments_raise(self):
        x = np.zeros((10, 3))
        bad_calls = {
            "1-D": ((np.zeros(10), np.zeros(10)), {"subset_size": 5}),
            "dimension mismatch": ((x, np.zeros((10, 4))), {"subset_size": 5}),
            "nan": ((np.full((10, 3), np.nan), x), {"subset_size": 5}),
            "subset larger than a set": ((x, np.zeros((8, 3))), {"subset_size": 9}),
            "subset of one": ((x, x), {"subset_size": 1}),
            "no subsets": ((x, x), {"subset_size": 5, "num_subsets": 0}),
            "default subset size with few samples": ((x, x), {}),
        }
        for description, (args, kwargs) in bad_calls.items():
            with self.assertRaises(ValueError, msg=description):
                kernel_inception_distance(*args, **kwargs)


class InceptionScoreTest(tf.test.TestCase):

    def test_uniform_predictions_score_exactly_one(self):
        # C = 8: 1/8 and its means are exact in binary, so every KL term is 0.
        mean, std = inception_score(np.full((100, 8), 1.0 / 8))
        self.assertEqual(mean, 1.0)
        self.assertEqual(std, 0.0)

    def test_confident_evenly_spread_predictions_score_the_class_count(self):
        num_classes = 7
        # Each of the 10 contiguous splits holds every class 3 times.
        probs = np.tile(np.eye(num_classes), (30, 1))
        mean, std = inception_score(probs, splits=10)
        self.assertAllClose(mean, num_classes, rtol=1e-12)
        self.assertAllClose(std, 0.0, atol=1e-12)

    def test_confident_single_class_scores_one(self):
        probs = np.zeros((50, 5))
        probs[:, 2] = 1.0
        mean, std = inception_score(probs, splits=5)
        self.assertEqual(mean, 1.0)
        self.assertEqual(std, 0.0)

    def test_two_class_known_answer(self):
        # Rows (p, 1 - p) and (1 - p, p) in equal numbers: p(y) is uniform, so
        # KL = log 2 - H(p) for every row and IS = 2 exp(-H(p)).
        p = 0.9
        probs = np.array([[p, 1 - p], [1 - p, p]] * 20)
        entropy = -(p * np.log(p) + (1 - p) * np.log(1 - p))
        mean, _ = inception_score(probs, splits=1)
        self.assertAllClose(mean, 2.0 * np.exp(-entropy), rtol=1e-12)

    def test_scores_are_averaged_over_contiguous_splits(self):
        # First split all class 0 (score 1), second evenly spread over 4 classes (score 4).
        probs = np.concatenate([np.tile(np.eye(4)[:1], (8, 1)), np.tile(np.eye(4), (2, 1))])
        mean, std = inception_score(probs, splits=2)
        self.assertAllClose(mean, 2.5, rtol=1e-12)
        self.assertAllClose(std, 1.5, rtol=1e-12)

    def test_random_predictions_score_between_one_and_the_class_count(self):
        rng = np.random.default_rng(0)
        num_classes = 10
        for alpha in (0.05, 1.0, 20.0):
            probs = rng.dirichlet(np.full(num_classes, alpha), size=500)
            mean, _ = inception_score(probs)
            self.assertBetween(mean, 1.0, num_classes)

    def test_invalid_arguments_raise(self):
        valid = np.full((20, 4), 0.25)
        negative = valid.copy()
        negative[0] = [1.5, -0.5, 0.0, 0.0]
        not_normalised = valid.copy()
        not_normalised[3] = 0.2
        with_nan = valid.copy()
        with_nan[5, 1] = np.nan
        bad_calls = {
            "negative entry": (negative, 10),
            "row sums to 0.8": (not_normalised, 10),
            "nan": (with_nan, 10),
            "1-D": (np.full(4, 0.25), 1),
            "empty": (np.zeros((0, 4)), 1),
            "no splits": (valid, 0),
            "more splits than rows": (valid, 21),
        }
        for description, (probs, splits) in bad_calls.items():
            with self.assertRaises(ValueError, msg=description):
                inception_score(probs, splits=splits)


if __name__ == "__main__":
    tf.test.main()
