"""Your own 2-D points: --dataset=points:FILE, its modes file, and mode coverage on it."""

import json
import os

import numpy as np
import tensorflow as tf

from data import points
from test_train_loops import read_json, run

CENTERS = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
STD = 0.05


def mixture(n=600, seed=0):
    rng = np.random.default_rng(seed)
    return (CENTERS[rng.integers(0, 3, n)] + STD * rng.standard_normal((n, 2))).astype(np.float32)


class LoadTest(tf.test.TestCase):

    def test_npy_and_csv_with_or_without_a_header_read_the_same(self):
        root = self.get_temp_dir()
        data = mixture(20)
        np.save(os.path.join(root, "a.npy"), data)
        np.savetxt(os.path.join(root, "b.csv"), data, delimiter=",")
        np.savetxt(os.path.join(root, "c.csv"), data, delimiter=",", header="x,y", comments="")
        for name in ("a.npy", "b.csv", "c.csv"):
            loaded = points.load_points(f"points:{os.path.join(root, name)}")
            self.assertEqual(loaded.dtype, np.float32)
            self.assertAllClose(loaded, data, atol=1e-6, msg=name)
        self.assertEqual(points.points_label(f"points:{root}/a.npy"), "points_a")

    def test_unusable_points_say_why(self):
        root = self.get_temp_dir()
        np.save(os.path.join(root, "three.npy"), np.zeros((5, 3)))
        np.save(os.path.join(root, "nan.npy"), np.array([[0.0, 1.0], [np.nan, 2.0]]))
        with open(os.path.join(root, "words.csv"), "w") as f:
            f.write("x,y\n1,2\na,b\n")
        with open(os.path.join(root, "points.txt"), "w") as f:
            f.write("1 2\n")
        cases = {"missing.npy": "no such file", "three.npy": r"\[N, 2\]",
                 "nan.npy": "finite", "words.csv": "cannot be read",
                 "points.txt": "a .npy or .csv"}
        for name, reason in cases.items():
            with self.assertRaisesRegex(points.BadPointsError, reason, msg=name):
                points.load_points(f"points:{os.path.join(root, name)}")

    def test_modes_come_from_the_json_beside_the_file_or_the_one_given(self):
        root = self.get_temp_dir()
        np.save(os.path.join(root, "ring.npy"), mixture(10))
        name = f"points:{root}/ring.npy"
        self.assertIsNone(points.load_modes(name))
        with open(os.path.join(root, "ring.json"), "w") as f:
            json.dump({"centers": CENTERS.tolist(), "std": STD}, f)
        centers, std = points.load_modes(name)
        self.assertAllEqual(centers, CENTERS)
        self.assertEqual(std, STD)
        given = os.path.join(root, "other.json")
        with open(given, "w") as f:
            json.dump({"centers": [[1, 1]], "std": 0.5}, f)
        centers, std = points.load_modes(name, given)
        self.assertAllEqual(centers, [[1.0, 1.0]])
        with open(given, "w") as f:
            json.dump({"centers": [[1, 1]], "std": 0}, f)
        with self.assertRaisesRegex(points.BadPointsError, "std positive"):
            points.load_modes(name, given)

    def test_each_pass_is_a_seeded_permutation_of_the_points(self):
        data = np.arange(40, dtype=np.float32).reshape(20, 2)
        batches = [b.numpy() for b in points.points_batches(data, 5, seed=1).take(8)]
        again = [b.numpy() for b in points.points_batches(data, 5, seed=1).take(8)]
        self.assertAllEqual(batches, again)
        for one_pass in (batches[:4], batches[4:]):
            self.assertAllEqual(np.sort(np.concatenate(one_pass)[:, 0]), data[:, 0])
        self.assertNotAllEqual(np.concatenate(batches[:4]), np.concatenate(batches[4:]))


class CoverageOnUserModesTest(tf.test.TestCase):

    def test_shares_and_coverage_match_a_hand_count(self):
        from train_loops.callbacks import ToyEvaluation

        class Gan:
            averaged_generator = None

        # 50 points on mode 0, 30 on mode 1 (within 3 std), 20 far off but
        # nearest to mode 2 (not high quality): shares 0.5, 0.3, 0.2; two
        # modes captured; 80 % high quality, split 50 : 30.
        samples = np.concatenate([np.tile(CENTERS[0] + 0.01, (50, 1)),
                                  np.tile(CENTERS[1] - 0.1, (30, 1)),
                                  np.tile([0.0, 9.0], (20, 1))])
        evaluation = ToyEvaluation(Gan(), (CENTERS, STD), 10, 100,
                                   os.path.join(self.get_temp_dir(), "evaluation.csv"))
        numbers = evaluation.coverage(samples)
        self.assertEqual(numbers["modes_captured"], 2)
        self.assertEqual(numbers["num_modes"], 3)
        self.assertEqual(numbers["high_quality_percent"], 80.0)
        self.assertEqual(numbers["shares"], [0.5, 0.3, 0.2])
        self.assertEqual(numbers["high_quality_shares"], [0.625, 0.375, 0.0])
        expected_kl = sum(p * np.log(3 * p) for p in (0.5, 0.3, 0.2))
        self.assertAlmostEqual(numbers["reverse_kl"], round(expected_kl, 4))


class PointsCommandTest(tf.test.TestCase):

    def test_training_on_points_with_and_without_modes(self):
        root = self.get_temp_dir()
        np.save(os.path.join(root, "mix.npy"), mixture())
        with open(os.path.join(root, "mix.json"), "w") as f:
            json.dump({"centers": CENTERS.tolist(), "std": STD}, f)
        np.savetxt(os.path.join(root, "plain.csv"), mixture(seed=1), delimiter=",")
        short = ["--iterations=20", "--eval_every=10", "--hidden_units=16", "--batch_size=32",
                 "--eval_samples=300", "--sample_every=10",
                 "--jit_compile=false"]  # the data's test, not XLA's: half the CPU

        with_modes = run("wgan_gp", f"--dataset=points:{root}/mix.npy", *short,
                         f"--output_dir={root}/with")
        self.assertEqual(with_modes.returncode, 0, with_modes.stderr)
        self.assertIn("600 points, 3 modes of std 0.05", with_modes.stdout)
        summary = read_json(os.path.join(root, "with", "summary.json"))
        self.assertEqual(summary["num_modes"], 3)
        self.assertLen(summary["shares"], 3)
        self.assertAllClose(sum(summary["shares"]), 1.0, atol=1e-3)
        self.assertGreater(summary["wasserstein1_estimate"], 0.0)

        # Without a modes file there is no mode coverage (in process: the
        # task's modes, which ToyEvaluation then leaves out).
        from train_loops.tasks import ToyTask

        class Flags:
            dataset, points_modes = f"points:{root}/plain.csv", None

        self.assertIsNone(ToyTask(Flags, "gan").modes)
        # A file that cannot be used is refused as a bad folder is (one line,
        # exit 2, nothing written: test_folder_data), from BadPointsError.


class ViewTest(tf.test.TestCase):

    def test_pictures_widen_their_view_only_for_wider_data(self):
        from data.toy import toy_batches
        from evaluation.plots import GRID_EXTENT, extent_for

        for name in ("8gaussians", "8gaussians_metz", "25gaussians", "swissroll"):
            ring = next(iter(toy_batches(name, 2000, 0))).numpy()
            self.assertEqual(extent_for(ring), GRID_EXTENT, name)  # the authors' [-3, 3]
        self.assertAlmostEqual(extent_for(np.array([[0.0, -5.0], [1.0, np.nan]])), 5.5)
