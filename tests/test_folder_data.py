"""Your own images: --dataset=folder:PATH, its bad-file answers, and samples out as arrays."""

import os

import numpy as np
import tensorflow as tf
from PIL import Image

from data import folder
from test_train_loops import program_lines, read_json, run


def make_folder(root, mode="L", classes=("cats", "dogs"), per_class=12, seed=0):
    """A folder of small PNGs in class subfolders, of varied sizes (grayscale L or colour RGB)."""
    rng = np.random.default_rng(seed)
    for name in classes:
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(per_class):
            shape = (18 + i % 4, 24) + ((3,) if mode == "RGB" else ())
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(
                os.path.join(root, name, f"{i}.png"))
    return root


def truncate(path, keep=40):
    with open(path, "r+b") as f:
        f.truncate(keep)


class ScanTest(tf.test.TestCase):

    def test_scan_counts_images_classes_and_channels(self):
        gray = make_folder(os.path.join(self.get_temp_dir(), "gray"), "L")
        contents = folder.scan(f"folder:{gray}")
        self.assertLen(contents.files, 24)
        self.assertEqual((contents.channels, contents.classes, contents.skipped), (1, 2, ()))
        colour = make_folder(os.path.join(self.get_temp_dir(), "colour"), "RGB", classes=("a",))
        # RGBA counts as colour: its alpha is dropped.
        Image.fromarray(np.zeros((8, 8, 4), np.uint8), "RGBA").save(
            os.path.join(colour, "a", "alpha.png"))
        contents = folder.scan(f"folder:{colour}")
        self.assertEqual((len(contents.files), contents.channels, contents.classes), (13, 3, 1))

    def test_each_bad_folder_names_its_first_bad_file_or_skips_it(self):
        root = self.get_temp_dir()
        empty = os.path.join(root, "empty")
        os.makedirs(empty)
        with self.assertRaisesRegex(folder.BadFolderError, "holds no files"):
            folder.scan(f"folder:{empty}")
        with self.assertRaisesRegex(folder.BadFolderError, "no such folder"):
            folder.scan(f"folder:{root}/missing")
        texts = os.path.join(root, "texts")
        os.makedirs(texts)
        with open(os.path.join(texts, "notes.txt"), "w") as f:
            f.write("not an image\n")
        with self.assertRaisesRegex(folder.BadFolderError, r"notes.txt not a png"):
            folder.scan(f"folder:{texts}")
        with self.assertRaisesRegex(folder.BadFolderError, r"none of its 1 files"):
            folder.scan(f"folder:{texts}", skip_bad=True)

        mixed = make_folder(os.path.join(root, "mixed"), "L", classes=("a",), per_class=4)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8), "RGB").save(
            os.path.join(mixed, "a", "9_colour.png"))
        truncate(os.path.join(mixed, "a", "1.png"))
        with self.assertRaisesRegex(folder.BadFolderError, r"a/1.png cannot be decoded"):
            folder.scan(f"folder:{mixed}")
        os.rename(os.path.join(mixed, "a", "1.png"), os.path.join(root, "set_aside.png"))
        with self.assertRaisesRegex(folder.BadFolderError,
                                    r"9_colour.png is colour while \S+/0.png is grayscale"):
            folder.scan(f"folder:{mixed}")
        os.rename(os.path.join(root, "set_aside.png"), os.path.join(mixed, "a", "1.png"))
        contents = folder.scan(f"folder:{mixed}", skip_bad=True)
        self.assertEqual([os.path.basename(f) for f in contents.files], ["0.png", "2.png", "3.png"])
        self.assertEqual([os.path.basename(path) for path, _ in contents.skipped],
                         ["1.png", "9_colour.png"])

    def test_grayscale_bmp_and_files_beside_the_class_folders(self):
        root = make_folder(os.path.join(self.get_temp_dir(), "bmp"), "L", per_class=10)
        Image.fromarray(np.full((12, 20), 200, np.uint8), "L").save(
            os.path.join(root, "cats", "grey.bmp"))
        Image.fromarray(np.zeros((16, 16), np.uint8), "L").save(os.path.join(root, "loose.png"))
        contents = folder.scan(f"folder:{root}")
        self.assertEqual(contents.channels, 1)
        bmp = [f for f in contents.files if f.endswith(".bmp")][0]
        self.assertAllEqual(folder.load_image(bmp, 1, 8).numpy(),
                            np.full((8, 8, 1), 200, np.uint8))  # TF refuses channels=1 for BMP
        loose = contents.files.index(os.path.join(root, "loose.png"))
        self.assertEqual(contents.labels[loose], -1)  # no class: left out of the splits
        _, train_y = folder.labelled_arrays(contents, 8, "train")
        _, test_y = folder.labelled_arrays(contents, 8, "test")
        self.assertEqual(len(train_y) + len(test_y), 21)
        self.assertEqual(sorted(set(train_y)), [0, 1])

    def test_images_are_resized_by_the_shorter_side_and_centre_cropped(self):
        # 20 x 40: left quarter black, middle half white, right quarter black.
        # The shorter side to 10 makes it 10 x 20; the central 10 x 10 is the
        # white middle, so every pixel is 255 (x / 127.5 - 1 = 1 once scaled).
        image = np.zeros((20, 40), np.uint8)
        image[:, 10:30] = 255
        path = os.path.join(self.get_temp_dir(), "stripe.png")
        Image.fromarray(image, "L").save(path)
        loaded = folder.load_image(path, 1, 10).numpy()
        self.assertEqual(loaded.shape, (10, 10, 1))
        self.assertAllEqual(loaded[:, 1:-1], np.full((10, 8, 1), 255, np.uint8))

    def test_batches_are_seeded_scaled_and_static(self):
        gray = make_folder(os.path.join(self.get_temp_dir(), "gray"), "L")
        contents = folder.scan(f"folder:{gray}")
        first = [b.numpy() for b in folder.folder_batches(contents, 8, 3, 16).take(4)]
        again = [b.numpy() for b in folder.folder_batches(contents, 8, 3, 16).take(4)]
        other = [b.numpy() for b in folder.folder_batches(contents, 8, 4, 16).take(4)]
        self.assertAllEqual(first, again)
        self.assertNotAllClose(first[0], other[0])
        self.assertEqual(first[0].shape, (8, 16, 16, 1))
        self.assertBetween(float(np.min(first)), -1.0, 1.0)
        self.assertBetween(float(np.max(first)), -1.0, 1.0)
        # Three batches of 8 use each of the 24 images exactly once per pass.
        pass_one = np.concatenate(first[:3]).reshape(24, -1)
        self.assertLen({row.tobytes() for row in pass_one}, 24)
        with self.assertRaisesRegex(folder.BadFolderError, "fewer than the batch size"):
            folder.folder_batches(contents, 25, 0, 16)


SMALL = ["--image_size=16", "--dim=8", "--batch_size=8", "--checkpoint_every=2",
         "--sample_every=2", "--eval_every=2", "--latent_dim=8"]


class FolderCommandTest(tf.test.TestCase):

    def test_every_algorithm_trains_resumes_and_samples_on_a_folder(self):
        root = self.get_temp_dir()
        folders = {"L": make_folder(os.path.join(root, "gray"), "L"),
                   "RGB": make_folder(os.path.join(root, "colour"), "RGB")}
        # One grayscale file cannot be decoded: --skip_bad_images passes it over
        # (without the flag it is refused: the test below).
        truncate(os.path.join(folders["L"], "cats", "3.png"))
        # Each algorithm trains; WGAN-GP (the longest run) also resumes, and
        # GAN and WGAN-GP's generators write samples (grayscale and colour).
        for algorithm, mode in (("gan", "RGB"), ("wgan_gp", "L")):
            output_dir = os.path.join(root, f"run-{algorithm}")
            args = [f"--dataset=folder:{folders[mode]}", *SMALL, f"--output_dir={output_dir}"]
            if algorithm != "gan":
                args += ["--n_critic=2", "--skip_bad_images"]
            first = run(algorithm, "--iterations=2", *args)
            self.assertEqual(first.returncode, 0, first.stderr)
            self.assertIn("24 colour images in 2 class folders" if mode == "RGB" else
                          "23 grayscale images in 2 class folders; skipped 1 bad file",
                          first.stdout)
            self.assertTrue(os.path.exists(os.path.join(output_dir, "samples", "000002.png")))
            if algorithm == "wgan_gp":
                resumed = run(algorithm, "--iterations=4", *args, "--resume")
                self.assertEqual(resumed.returncode, 0, resumed.stderr)
                summary = read_json(os.path.join(output_dir, "summary.json"))
                self.assertEqual((summary["resumed_from"], summary["iterations"]), (2, 4))
                self.assertTrue(os.path.exists(os.path.join(output_dir, "samples", "000004.png")))

            arrays = os.path.join(root, f"{algorithm}.npz")
            sampled = run("sample", f"--generator={output_dir}/generator.keras",
                          "--num_samples=20", "--batch_size=8", f"--output={arrays}")
            self.assertEqual(sampled.returncode, 0, sampled.stderr)
            with np.load(arrays) as stored:
                channels = 1 if mode == "L" else 3
                self.assertEqual(stored["samples"].shape, (20, 16, 16, channels))
                self.assertEqual(stored["samples"].dtype, np.float32)
                self.assertEqual(stored["latent"].shape, (20, 8))
                self.assertBetween(float(np.abs(stored["samples"]).max()), 0.0, 1.0)
                # The stored codes make the stored samples.
                import keras

                generator = keras.saving.load_model(f"{output_dir}/generator.keras")
                self.assertAllClose(generator(stored["latent"][:8], training=False),
                                    stored["samples"][:8], atol=1e-6)
        # The PNG side: the runs' own sample grids (samples/000002.png above);
        # train_loops.sample's PNG output is tested in test_train_loops.

    def test_bad_folders_are_one_line_and_exit_2_with_nothing_written(self):
        root = self.get_temp_dir()
        corrupt = make_folder(os.path.join(root, "corrupt"), "L", classes=("a",))
        truncate(os.path.join(corrupt, "a", "3.png"))
        mixed = make_folder(os.path.join(root, "mixed"), "L", classes=("a",))
        make_folder(os.path.join(mixed, "b"), "RGB", classes=("c",), per_class=1)
        # (An empty folder and one of text files are refused by the same path:
        # their messages are ScanTest's.)
        cases = {corrupt: "3.png cannot be decoded", mixed: "mixed channel counts"}
        output_dir = os.path.join(root, "never_written")
        for path, fragment in cases.items():
            result = run("wgan_gp", f"--dataset=folder:{path}", *SMALL, "--iterations=2",
                         f"--output_dir={output_dir}")
            self.assertEqual(result.returncode, 2, result.stderr)
            lines = program_lines(result.stderr)
            self.assertLen(lines, 1, result.stderr)
            self.assertIn(fragment, lines[0])
            self.assertFalse(os.path.exists(output_dir))
        # With --skip_bad_images such a file is passed over: the training test above.


class FolderClassifierTest(tf.test.TestCase):

    def test_a_classifier_learns_a_labelled_folder_and_scores_a_run_on_it(self):
        import csv

        # Two classes anyone can tell apart: dark images and bright ones.
        root = self.get_temp_dir()
        rng = np.random.default_rng(0)
        images = os.path.join(root, "images")
        for name, low in (("dark", 0), ("bright", 180)):
            os.makedirs(os.path.join(images, name))
            for i in range(20):
                pixels = rng.integers(low, low + 75, (16 + i % 3, 16), dtype=np.uint8)
                Image.fromarray(pixels, "L").save(os.path.join(images, name, f"{i}.png"))
        contents = folder.scan(f"folder:{images}")
        self.assertEqual(contents.class_names, ("bright", "dark"))
        test_x, test_y = folder.labelled_arrays(contents, 16, "test")
        self.assertEqual(list(test_y), [0, 0, 1, 1])  # files 0 and 10 of each class
        self.assertEqual(test_x.shape, (4, 16, 16, 1))

        classifier = os.path.join(root, "classifier.keras")
        trained = run("classifier", f"--dataset=folder:{images}", "--image_size=16",
                      "--epochs=8", "--batch_size=8", f"--output={classifier}")
        self.assertEqual(trained.returncode, 0, trained.stderr)
        self.assertIn("40 grayscale images in 2 class folders", trained.stdout)
        self.assertEqual(read_json(os.path.join(root, "classifier.json"))["test_accuracy"], 1.0)

        output_dir = os.path.join(root, "run")
        done = run("wgan_gp", f"--dataset=folder:{images}", *SMALL, "--iterations=4",
                   "--n_critic=1", f"--classifier={classifier}", "--eval_samples=16",
                   f"--output_dir={output_dir}")
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(os.path.join(output_dir, "image_metrics.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([int(row["iteration"]) for row in rows], [2, 4])
        self.assertTrue(all(np.isfinite(float(row["fid"])) for row in rows))
        summary = read_json(os.path.join(output_dir, "summary.json"))
        self.assertGreater(summary["classifier_fid"], 0.0)
