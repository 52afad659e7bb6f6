"""--strategy=multi_worker_mirrored for real: two worker processes on localhost.

`setUpModule` starts, all at once, for WGAN-GP and for WGAN (clipping): the
same short toy command as two workers of one cluster (TF_CONFIG with two
free localhost ports, one CPU device each, so 2 replicas in all) and once on
one device, with the same global batch of 32. The tests compare what the
chief (worker 0) wrote with the single-device run, and check that the other
worker wrote nothing into --output_dir (the runner gives it a scratch folder
under its temporary directory, deleted at the end).

Why the runs must agree: as in test_scale's MirroredStrategy test, each
replica takes its half of every global batch and its rows of the global
random draws, and the optimizers sum the replicas' gradients of their losses
scaled by 1/2: the update is the single-device one, up to float32 summation
order. So per-iteration losses agree within 1e-4 relative and every
checkpointed value (weights, optimizer slots) within 1e-5, with the counters
and the random state exactly equal. The single-device run has
--jit_compile=false only to skip XLA's compile time; the multi-worker run
cannot use XLA either, and the random draws are the same with or without it.
"""

import os
import re
import shutil
import signal
import socket
import tempfile
import time

import numpy as np
import tensorflow as tf

from command_processes import ENV
from test_train_loops import launch, read_csv, read_json

RUN_TIMEOUT = 240  # seconds for all six runs together; they took 40-60 on 2 cores
CLIP_VALUE = 0.01
SHORT = ["--dataset=8gaussians", "--iterations=4", "--hidden_units=16", "--batch_size=32",
         "--n_critic=2", "--eval_every=2", "--eval_samples=200", "--checkpoint_every=2",
         "--seed=0"]
EXTRA = {"wgan_gp": [], "wgan": [f"--clip_value={CLIP_VALUE}"]}
OUTPUTS = {"flags.txt", "metrics.csv", "evaluation.csv", "summary.json", "samples.png",
           "generator.keras", "critic.keras", "checkpoints", "tensorboard"}
# The WGAN-GP toy preset keeps a moving average of the generator's weights.
AVERAGE = {"wgan_gp": {"generator_ema.keras"}, "wgan": set()}
WRITING_TO = re.compile(r"writing to (.+)/$", re.MULTILINE)

_root = None
_runs = {}  # algorithm -> {"worker0" | "worker1" | "single": Run}


def free_ports(count):
    """`count` distinct localhost ports nobody listens on (bound to port 0, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class Run:
    """One command line running in the background, its output in files, with its own TMPDIR."""

    def __init__(self, directory, argv, tf_config=None):
        self.directory = directory
        self.tmpdir = os.path.join(directory, "tmp")
        os.makedirs(self.tmpdir)
        env = dict(ENV, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2", TMPDIR=self.tmpdir)
        env.pop("TF_CONFIG", None)
        if tf_config is not None:
            env["TF_CONFIG"] = tf_config
        self.process = launch(*argv, env=env)

    @property
    def stdout(self):
        return self.process.output()[0]

    @property
    def stderr(self):
        return self.process.output()[1]


def start(algorithm):
    directory = tempfile.mkdtemp(dir=_root, prefix=f"{algorithm}-")
    output_dir = os.path.join(directory, "multi_worker")
    workers = [f"localhost:{port}" for port in free_ports(2)]
    runs = {}
    for index in (0, 1):
        tf_config = ('{"cluster": {"worker": ["%s", "%s"]}, "task": {"type": "worker", '
                     '"index": %d}}' % (*workers, index))
        # The same command on both workers, --output_dir included.
        runs[f"worker{index}"] = Run(
            os.path.join(directory, f"worker{index}"),
            [algorithm, *SHORT, *EXTRA[algorithm], f"--output_dir={output_dir}",
             "--strategy=multi_worker_mirrored"], tf_config)
    runs["single"] = Run(
        os.path.join(directory, "single"),
        [algorithm, *SHORT, *EXTRA[algorithm],
         f"--output_dir={os.path.join(directory, 'single_device')}", "--jit_compile=false"])
    runs["output_dir"] = output_dir
    runs["single_dir"] = os.path.join(directory, "single_device")
    return runs


def wait_all(deadline):
    """Wait for every run; kill a worker's peer when it fails, and everything at the deadline."""
    processes = [(algorithm, name, run.process) for algorithm, runs in _runs.items()
                 for name, run in runs.items() if isinstance(run, Run)]
    while any(p.poll() is None for _, _, p in processes):
        if time.time() > deadline:
            break
        for algorithm, name, process in processes:
            if name.startswith("worker") and process.poll() not in (None, 0):
                # The other worker would wait for its peer's collectives forever.
                for other in ("worker0", "worker1"):
                    kill(_runs[algorithm][other].process)
        time.sleep(0.2)
    for _, _, process in processes:
        kill(process)


def kill(process):
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait()


def setUpModule():
    global _root
    _root = tempfile.mkdtemp()
    for algorithm in EXTRA:
        _runs[algorithm] = start(algorithm)
    wait_all(time.time() + RUN_TIMEOUT)


def tearDownModule():
    for runs in _runs.values():
        for run in runs.values():
            if isinstance(run, Run):
                kill(run.process)
    shutil.rmtree(_root, ignore_errors=True)


def checkpoint_values(directory):
    """{name: array} of the latest checkpoint in `directory`/checkpoints, and its path."""
    path = tf.train.latest_checkpoint(os.path.join(directory, "checkpoints"))
    reader = tf.train.load_checkpoint(path)
    return path, {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
                  if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}


class MultiWorkerTest:
    """What each algorithm's two-worker run must satisfy (mixed into one TestCase per algorithm)."""

    algorithm = None

    def setUp(self):
        super().setUp()
        self.runs = _runs[self.algorithm]
        for name in ("worker0", "worker1", "single"):
            run = self.runs[name]
            self.assertEqual(run.process.returncode, 0,
                             msg=f"{self.algorithm} {name} failed (or was killed after "
                                 f"{RUN_TIMEOUT} s):\n{run.stderr[-5000:]}")

    def test_chief_summary_counts_two_replicas(self):
        summary = read_json(os.path.join(self.runs["output_dir"], "summary.json"))
        self.assertEqual(summary["iterations"], 4)
        self.assertEqual(summary["strategy"], "multi_worker_mirrored")
        self.assertEqual(summary["replicas"], 2)
        self.assertEqual(read_json(os.path.join(self.runs["single_dir"], "summary.json"))
                         ["iterations"], 4)

    def test_per_iteration_losses_match_single_device(self):
        header, rows = read_csv(os.path.join(self.runs["output_dir"], "metrics.csv"))
        single_header, single_rows = read_csv(os.path.join(self.runs["single_dir"],
                                                           "metrics.csv"))
        self.assertEqual(header, single_header)
        self.assertEqual([row[0] for row in rows], ["1", "2", "3", "4"])
        self.assertEqual([row[0] for row in single_rows], ["1", "2", "3", "4"])
        for index, name in enumerate(header):
            if name in ("iteration", "seconds"):
                continue
            # metrics.csv holds 6 significant digits: 5e-6 relative at most.
            self.assertAllClose([float(row[index]) for row in rows],
                                [float(row[index]) for row in single_rows],
                                rtol=1e-4, atol=1e-6, msg=name)

    def test_final_checkpoint_matches_single_device(self):
        path, values = checkpoint_values(self.runs["output_dir"])
        single_path, single = checkpoint_values(self.runs["single_dir"])
        self.assertEqual(os.path.basename(path), "ckpt-4")
        self.assertEqual(os.path.basename(single_path), "ckpt-4")
        self.assertEqual(sorted(values), sorted(single))
        # Both networks' 8 weights (saved under their optimizers) and the slots.
        self.assertLen([n for n in values if "/_trainable_variables/" in n], 16)
        for name, value in values.items():
            if value.dtype.kind == "f":
                self.assertAllClose(value, single[name], rtol=0, atol=1e-5, msg=name)
            else:  # counters and the random state
                self.assertAllEqual(value, single[name], msg=name)
        self.assertEqual(int(values["generator_optimizer/_iterations/.ATTRIBUTES/"
                                    "VARIABLE_VALUE"]), 4)
        self.assertEqual(int(values["critic_optimizer/_iterations/.ATTRIBUTES/"
                                    "VARIABLE_VALUE"]), 4 * 2)

    def test_only_the_chief_writes_output_dir(self):
        output_dir = self.runs["output_dir"]
        chief, worker = self.runs["worker0"], self.runs["worker1"]
        self.assertEqual(WRITING_TO.findall(chief.stdout), [output_dir])
        # The other worker ran everything into a scratch folder of its own
        # temporary directory, and deleted it.
        scratch = WRITING_TO.findall(worker.stdout)
        self.assertLen(scratch, 1, msg=worker.stdout)
        self.assertEqual(os.path.dirname(scratch[0]), worker.tmpdir)
        self.assertTrue(os.path.basename(scratch[0]).startswith("worker-"))
        self.assertFalse(os.path.exists(scratch[0]))
        self.assertEqual([n for n in os.listdir(worker.tmpdir) if n.startswith("worker-")], [])
        self.assertEqual([n for n in os.listdir(chief.tmpdir) if n.startswith("worker-")], [])
        self.assertNotIn('"algorithm"', worker.stdout)  # the summary is the chief's
        self.assertIn('"algorithm"', chief.stdout)
        # One writer: one event file, the chief's checkpoints only.
        self.assertEqual(set(os.listdir(output_dir)), OUTPUTS | AVERAGE[self.algorithm])
        events = os.listdir(os.path.join(output_dir, "tensorboard"))
        self.assertLen(events, 1, msg=events)
        state = tf.train.get_checkpoint_state(os.path.join(output_dir, "checkpoints"))
        self.assertEqual([os.path.basename(p) for p in state.all_model_checkpoint_paths],
                         ["ckpt-2", "ckpt-4"])


class WganGpMultiWorkerTest(MultiWorkerTest, tf.test.TestCase):
    algorithm = "wgan_gp"


class WganMultiWorkerTest(MultiWorkerTest, tf.test.TestCase):
    algorithm = "wgan"

    def test_clipping_holds_on_the_chief_and_matches_single_device(self):
        _, values = checkpoint_values(self.runs["output_dir"])
        critic = [value for name, value in values.items()
                  if name.startswith("critic_optimizer/_trainable_variables/")]
        self.assertLen(critic, 8)  # 4 Dense layers: kernels and biases
        self.assertLessEqual(max(float(np.abs(v).max()) for v in critic), CLIP_VALUE)
        # Clipping bites within 4 iterations: some weights sit at the bound.
        self.assertTrue(any(np.any(np.abs(v) == np.float32(CLIP_VALUE)) for v in critic))
