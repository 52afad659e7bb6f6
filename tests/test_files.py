"""train_loops.files: whole-file replacement, whole-row appends, and what a reader keeps."""

import csv
import os
import subprocess
import sys
import textwrap

import tensorflow as tf

from train_loops import files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path):
    with open(path) as f:
        return f.read()


class ReplacingTest(tf.test.TestCase):

    def test_the_new_file_replaces_the_old_only_when_complete(self):
        path = os.path.join(self.get_temp_dir(), "summary.json")
        files.write_json(path, {"iterations": 1})
        with self.assertRaises(RuntimeError):
            with files.replacing(path) as temporary:
                with open(temporary, "w") as f:
                    f.write('{"iterations": ')  # the writer dies half-way
                raise RuntimeError("killed")
        self.assertEqual(read(path), '{\n  "iterations": 1\n}\n')
        self.assertEqual(os.listdir(self.get_temp_dir()), ["summary.json"])  # no leftovers
        files.write_json(path, {"iterations": 2})
        self.assertIn('"iterations": 2', read(path))

    def test_the_extension_stays_last_and_an_os_error_names_the_file(self):
        self.assertEqual(files.partial_path("run/generator.keras"), "run/generator.partial.keras")
        path = os.path.join(self.get_temp_dir(), "no_such_folder", "flags.txt")
        with self.assertRaises(files.WriteError) as caught:
            files.write_text(path, "--seed=0\n")
        self.assertEqual(caught.exception.path, path)
        self.assertEqual(str(caught.exception), f"cannot write {path}: No such file or directory")

    def test_reason_of_a_tensorflow_error_is_its_last_clause(self):
        error = tf.errors.OutOfRangeError(
            None, None, "{{function_node SaveV2}} /x/ckpt-2_temp/part.data.tempstate1; "
            "File too large [Op:SaveV2]")
        self.assertEqual(files.reason_of(error), "File too large")


class RowsTest(tf.test.TestCase):

    def test_rows_are_appended_whole_and_read_back(self):
        path = os.path.join(self.get_temp_dir(), "metrics.csv")
        files.append_rows(path, [["iteration", "loss"], [1, 0.5]])
        files.append_rows(path, [[2, "0.25"]])
        self.assertEqual(files.read_rows(path), [["iteration", "loss"], ["1", "0.5"], ["2", "0.25"]])

    def test_a_torn_last_row_is_dropped_by_readers(self):
        path = os.path.join(self.get_temp_dir(), "metrics.csv")
        with open(path, "w") as f:
            f.write("iteration,loss,seconds\r\n1,0.5,0.1\r\n2,0.2")  # a power cut mid-row
        self.assertEqual(files.read_rows(path), [["iteration", "loss", "seconds"],
                                                 ["1", "0.5", "0.1"]])
        # Cut inside its last field, a row has every field but no line end.
        with open(path, "w") as f:
            f.write("iteration,loss,seconds\r\n1,0.5,0.1\r\n2,0.2,0.3")
        self.assertEqual(files.read_rows(path)[1:], [["1", "0.5", "0.1"]])

    def test_drop_rows_after_keeps_the_header_and_rows_up_to_the_iteration(self):
        path = os.path.join(self.get_temp_dir(), "metrics.csv")
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows([["iteration", "loss"]] + [[i, i / 10] for i in range(1, 8)])
        self.assertEqual(files.drop_rows_after(path, 4), ["iteration", "loss"])
        self.assertEqual([row[0] for row in files.read_rows(path)],
                         ["iteration", "1", "2", "3", "4"])

    def test_a_write_past_the_file_size_limit_leaves_whole_rows_and_names_the_file(self):
        # In a child process: RLIMIT_FSIZE applies to every write of a process.
        # Python ignores SIGXFSZ, so the write past the limit fails with EFBIG
        # after the kernel took the part below the limit.
        path = os.path.join(self.get_temp_dir(), "metrics.csv")
        script = textwrap.dedent(f"""
            import resource
            from train_loops import files
            files.append_rows({path!r}, [["iteration", "value"]] + [[i, "x" * 90] for i in range(10)])
            resource.setrlimit(resource.RLIMIT_FSIZE, (1100, resource.RLIM_INFINITY))
            try:
                files.append_rows({path!r}, [[10, "y" * 200]])
            except files.WriteError as error:
                print(error)
        """)
        result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                                text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), f"cannot write {path}: File too large")
        rows = files.read_rows(path)
        self.assertLen(rows, 11)  # the header and the ten whole rows, nothing of the eleventh
        with open(path, "rb") as f:
            self.assertTrue(f.read().endswith(b"x" * 90 + b"\r\n"))
