"""The one runner behind `python -m train_loops.gan | wgan | wgan_gp`.

The models know their algorithms; this module knows flags, files and logging.
Each entry point declares its presets (flag values from a paper, as small
diffs over the defaults below) and a function that builds its model. A run
writes into --output_dir:

  flags.txt        the flags it ran with (reuse with --flagfile)
  metrics.csv      every generator iteration's metrics, written as it goes
  tensorboard/     the same metrics, and sample grids for image data
  checkpoints/     both networks, both optimizers, the counters and the random
                   state, every --checkpoint_every iterations and at the end
  summary.json     the final numbers (also printed)
  generator.keras  the trained generator
and, for toy data, evaluation.csv (mode coverage every --eval_every
iterations), samples.png (samples over the critic's value surface),
samples/<iteration>.npz and .png (fixed-noise points every --sample_every)
and samples_history.png (those snapshots side by side);
for image data, samples/<iteration>.png, fixed-noise grids every
--sample_every.

Ctrl-C stops training after the current step (--iterations_per_step iterations)
and still writes all of it;
--resume continues from the newest intact checkpoint. Every file is written
so that a crash leaves no torn one (train_loops/files.py); a file that cannot
be written (a full disk) stops the run in one line with exit status 4, and
docs/reliability.md says what is guaranteed and what is not.
"""

import json
import math
import os
import re
import sys
import time

from absl import flags

from train_loops.cli import UsageError, parse_flags, run
from train_loops.progress import ComputeRecord, load_average

TOY_DATASETS = ("8gaussians", "8gaussians_metz", "25gaussians", "swissroll")


def is_toy(dataset):
    """True for 2-D data: a toy distribution, or the user's points (points:FILE)."""
    return dataset in TOY_DATASETS or dataset.startswith("points:")


# Metz et al. 2017 ("Unrolled GANs", Appendix A, Figure 1): their ring, their
# networks (see models.networks.metz_generator / metz_critic), batch 512, 25k
# iterations (their Figure 1 shows every 5k: --sample_every=5000). Each
# command's metz preset is this over
# its own toy recipe: the same data and networks, each algorithm its optimizer.
METZ = dict(dataset="8gaussians_metz", toy_networks="metz", latent_dim=256, batch_size=512,
            iterations=25000, checkpoint_every=5000, eval_every=500)
IMAGE_DATASETS = ("mnist", "fashion_mnist", "cifar10", "celeb_a", "lsun/bedroom")

FLAGS = flags.FLAGS

flags.DEFINE_string("preset", None,
                    "A paper's recipe (see the command's --help); flags given "
                    "explicitly override it. Default: the toy preset for toy data, "
                    "the command's image preset for image data.")
flags.DEFINE_string("dataset", "8gaussians",
                    f"Data set: one of {', '.join(TOY_DATASETS + IMAGE_DATASETS)}; "
                    f"folder:PATH, a folder of your own PNG / JPEG / BMP / GIF images (class "
                    f"subfolders allowed), resized and centre-cropped to --image_size "
                    f"(default: 64, or the --architecture's own size); or points:FILE, your "
                    f"own 2-D points (.npy [N, 2] or .csv), trained on as toy data.")
flags.register_validator(
    "dataset", lambda name: name in TOY_DATASETS + IMAGE_DATASETS or any(
        name.startswith(prefix) and len(name) > len(prefix)
        for prefix in ("folder:", "points:")),
    message=f"--dataset must be one of {', '.join(TOY_DATASETS + IMAGE_DATASETS)}, "
            f"folder:PATH or points:FILE")
flags.DEFINE_string("points_modes", None,
                    "--dataset=points:FILE: a JSON {\"centers\": [[x, y], ...], \"std\": s} "
                    "of the points' mixture, for mode coverage and per-mode shares "
                    "(default: FILE's name with .json, when it exists; without one, only "
                    "the exact W1 is reported).")
flags.DEFINE_bool("skip_bad_images", False,
                  "--dataset=folder:PATH: leave out files that are not readable images (and, "
                  "in a folder mixing grayscale and colour, those unlike the first image) and "
                  "say how many, instead of stopping at the first.")
flags.DEFINE_integer("iterations", 10000,
                     "Generator iterations to train for (the toy presets' 10000 take about "
                     "2.5 minutes for WGAN-GP on 2 cores; 100000 in the authors' toy code).")
flags.DEFINE_integer("batch_size", 256, "Real and generated samples per batch.")
flags.DEFINE_integer("n_critic", 5,
                     "Critic (discriminator) updates per generator iteration.")
flags.DEFINE_enum("optimizer", "adam", ["adam", "rmsprop", "rmsprop_tf1"],
                  "Optimizer of both networks. rmsprop: the WGAN authors' (PyTorch's "
                  "defaults: decay 0.99, epsilon 1e-8 added to the root); rmsprop_tf1: "
                  "the WGAN-GP authors' (TensorFlow 1's: decay 0.9, epsilon 1e-10 inside "
                  "the root, the mean square starting at 1); models.wgan.rmsprop.")
flags.DEFINE_float("learning_rate", 1e-4, "Learning rate of both networks.")
flags.DEFINE_float("critic_learning_rate", None,
                   "Critic's learning rate, if different from --learning_rate.")
flags.DEFINE_enum("learning_rate_decay", "none", ["none", "linear"],
                  "linear: decay both rates linearly to 0 over --iterations "
                  "(the WGAN-GP ResNet, Appendix F).")
flags.DEFINE_float("beta_1", 0.5, "Adam's beta_1.")
flags.DEFINE_float("beta_2", 0.9, "Adam's beta_2.")
flags.DEFINE_integer("latent_dim", 2, "Dimension of the generator's input z.")
flags.DEFINE_enum("latent_distribution", "normal", ["normal", "uniform"],
                  "z ~ N(0, I), or U[-1, 1] as in DCGAN.")
flags.DEFINE_integer("seed", 0, "Seeds the data, the weights and every random draw.")
flags.DEFINE_string("output_dir", None,
                    "Where the run's files go (default: runs/<algorithm>-<dataset>).")
flags.DEFINE_bool("resume", False, "Continue the run in --output_dir from its newest intact "
                  "checkpoint, up to --iterations generator iterations in all.")
flags.DEFINE_bool("overwrite", False,
                  "Replace the run already in --output_dir (without it, such a run is "
                  "left alone and the command stops).")
flags.DEFINE_bool("deterministic", False,
                  "TensorFlow op determinism: with --seed, the same run twice gives the "
                  "same numbers, and an interrupted and resumed run ends where an "
                  "unbroken one does. Keras runs no XLA under it (--jit_compile=auto "
                  "is then off).")
flags.DEFINE_float("ema_decay", None,
                   "Keep an exponential moving average of the generator's weights with "
                   "this decay (Yazici et al. 2019 use 0.999), beside the generator: "
                   "toy evaluations report it as ema_*, and it is saved as "
                   "generator_ema.keras. 0: none. Default: the preset's (none, but "
                   "0.999 in the WGAN-GP toy preset).")
flags.DEFINE_integer("dot_steps", 0,
                     "Toy data: also evaluate the final samples refined by "
                     "discriminator optimal transport (Tanaka 2019) with this many steps "
                     "(100 in his 2-D demo), reported as refined_*; 0: no refinement.")
flags.DEFINE_integer("checkpoint_every", 1000,
                     "Save a checkpoint every this many generator iterations.")
flags.DEFINE_integer("keep_checkpoints", 3,
                     "Keep the newest this many checkpoints: --resume skips a damaged "
                     "newest one (saying which and why) for the newest intact one.")
# Toy data
flags.DEFINE_enum("toy_networks", "wgan_gp", ["wgan_gp", "metz"],
                  "Toy data: wgan_gp, the WGAN-GP authors' MLPs (3 ReLU layers of "
                  "--hidden_units for both networks); metz, those of Metz et al. 2017 "
                  "(generator 2 ReLU layers of 128, discriminator x / 4 -> 1 ReLU layer "
                  "of 128, orthogonal initialisation with gain 0.8).")
flags.DEFINE_integer("hidden_units", 128,
                     "Toy data: width of the 3 hidden ReLU layers of both MLPs (512 in "
                     "the authors' toy code; 128 lets the default run finish in about "
                     "a minute on 2 cores).")
flags.DEFINE_integer("eval_every", 100,
                     "Evaluate every this many generator iterations: mode coverage on toy "
                     "data, classifier metrics on images (see --classifier).")
flags.DEFINE_integer("eval_samples", 2500,
                     "Generated samples per evaluation (2500 in VEEGAN and PacGAN).")
# Image data
flags.DEFINE_enum("architecture", "dcgan", ["dcgan", "dcgan_no_bn", "mlp",
                                            "wgan_gp_mnist", "resnet", "sngan_cnn"],
                  "Image data: dcgan (Radford et al.); dcgan_no_bn and mlp (the WGAN "
                  "paper's generators without BatchNorm / a 4-layer ReLU MLP); "
                  "wgan_gp_mnist (the WGAN-GP authors' MNIST models); resnet "
                  "(WGAN-GP Appendix F, 32x32x3); sngan_cnn (Miyato et al. 2018's "
                  "standard CNN, sides a multiple of 8, --dim unused).")
flags.DEFINE_integer("dim", 64, "Image data: base filter count of the networks.")
flags.DEFINE_enum("critic_normalization", "none", ["none", "layer", "spectral"],
                  "none; layer (WGAN-GP image critics: layer normalisation); or spectral "
                  "(every algorithm, toy and DCGAN-style image critics: each critic layer "
                  "computes with W / sigma(W), sigma estimated by one power iteration per "
                  "critic update, Miyato et al. 2018). Spectral image critics have no "
                  "BatchNorm, also for GAN and WGAN.")
flags.DEFINE_integer("image_size", None, "Image data: resize images to this side.")
flags.DEFINE_enum("jit_compile", "auto", ["auto", "true", "false"],
                  "XLA for the train step. auto, from benchmarks/train_step on 2 CPU "
                  "cores: on for toy data (1.11x faster on the authors' 512-unit "
                  "WGAN-GP step, on par at 128 units) and off for image data (the "
                  "DCGAN steps ran 1.2-1.5x slower under XLA, the authors' MNIST "
                  "WGAN-GP step 6x slower).")
flags.DEFINE_enum("mixed_precision", "none", ["auto", "none", "mixed_float16", "mixed_bfloat16"],
                  "Keras dtype policy of the networks: compute in 16 bits with float32 "
                  "weights. Scores, losses and the gradient penalty stay float32; "
                  "mixed_float16 adds dynamic loss scaling. auto: mixed_bfloat16 for "
                  "image data on a CPU with native bfloat16 (AVX512_BF16, AMX-BF16, Arm "
                  "BF16; 1.4-1.7x faster image steps measured on AVX512_BF16), float32 "
                  "otherwise; the run's first line says which (train_loops/precision.py). "
                  "On a CPU without native bf16 both 16-bit policies are slower than "
                  "float32.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker_mirrored",
                                          "tpu"],
                  "tf.distribute strategy: default (one device); mirrored (every local "
                  "GPU, or the CPU; see --cpu_devices); multi_worker_mirrored (several "
                  "machines, from TF_CONFIG); tpu. --batch_size is the global batch, "
                  "split evenly across replicas.")
flags.DEFINE_integer("cpu_devices", None,
                     "With --strategy=mirrored: split the CPU into this many logical "
                     "devices and mirror over them, to try distributed training without "
                     "GPUs. Not faster.")
flags.DEFINE_bool("run_eagerly", False,
                  "Run the train step eagerly, op by op: for debugging, and for runs "
                  "of a few iterations, where tracing the step costs more than it saves.")
flags.DEFINE_string("data_dir", None, "tensorflow_datasets data directory "
                    "(default: tfds' own, ~/tensorflow_datasets).")
flags.DEFINE_string("manual_dir", None,
                    "Folder with the data set's original files, to prepare it offline "
                    "(default for mnist / fashion_mnist: ../shared/datasets/<name>).")
flags.DEFINE_string("classifier", None,
                    "Image data: a classifier saved by train_loops.classifier; with it, "
                    "classifier-FID/KID/score of --eval_samples generated images every "
                    "--eval_every iterations go to image_metrics.csv and TensorBoard "
                    "(default: classifiers/<dataset>.keras when it exists; "
                    "--classifier= for none).")
flags.DEFINE_integer("sample_every", 500,
                     "Write the samples of fixed noise every this many generator "
                     "iterations into samples/: an 8 x 8 grid (.png) for image data; "
                     "1000 points (.npz) and their picture (.png) for toy data.")

AUTO_ITERATIONS_PER_STEP = 10

flags.DEFINE_string("iterations_per_step", "auto",
                    "Generator iterations per compiled train step (one loop in one "
                    "call; every iteration is still logged, with the same numbers up "
                    "to float rounding). It must divide --iterations, --checkpoint_every, "
                    "--eval_every and --sample_every. auto: the largest such value up "
                    "to %d on toy data on one device, where the per-call cost of fit "
                    "is a large part of a step (benchmarks/train_step), and 1 on "
                    "images, whose steps are long." % AUTO_ITERATIONS_PER_STEP)

POSITIVE_FLAGS = ("iterations", "batch_size", "n_critic", "learning_rate", "latent_dim",
                  "checkpoint_every", "keep_checkpoints", "hidden_units", "eval_every", "eval_samples", "dim",
                  "sample_every")


# The flags' declared defaults, for those a command's toy preset replaces.
_DECLARED_DEFAULTS = {}


class Command:
    """One entry point: its algorithm, presets and model.

    Args:
      algorithm: its name, e.g. "wgan_gp" (for messages and the output folder).
      build_model: f(generator, critic) -> an uncompiled `AdversarialModel`,
        reading its own flags.
      presets: {name: {flag: value}}; "toy" holds the command's defaults, the
        others a paper's image recipe each.
      image_preset: the preset used for image data when --preset is not given.
      bn_free_critic: the algorithm needs a critic without BatchNorm (WGAN-GP).
    """

    def __init__(self, algorithm, build_model, presets, image_preset, bn_free_critic=False):
        self.algorithm, self.build_model = algorithm, build_model
        self.presets, self.image_preset = presets, image_preset
        self.bn_free_critic = bn_free_critic

    @property
    def program(self):
        return f"python -m train_loops.{self.algorithm}"

    def parse(self, argv):
        """Parse the command line and apply the preset; raise UsageError or flags.Error."""
        # Another command parsed in this process (a figure trains several) has
        # left its toy defaults: back to the flags' own first.
        for name, value in _DECLARED_DEFAULTS.items():
            FLAGS.set_default(name, value)
        for name, value in self.presets["toy"].items():
            _DECLARED_DEFAULTS.setdefault(name, FLAGS[name].default)
            FLAGS.set_default(name, value)
        rest = parse_flags(argv)
        self.apply_preset()
        return rest

    def launch(self):
        FLAGS.set_default("verbosity", -1)  # absl (and tfds) log warnings, not info
        FLAGS["preset"].help += f" Presets: {', '.join(self.presets)}."

        run(self.program, lambda argv: train(self), self.parse)

    def apply_preset(self):
        """Give every flag not set on the command line its value from the preset."""
        name = FLAGS.preset
        if name is None:
            image = FLAGS["dataset"].present and not is_toy(FLAGS.dataset)
            name = self.image_preset if image else "toy"
        if name not in self.presets:
            raise UsageError(f"--preset must be one of {', '.join(self.presets)} for "
                             f"{self.program}, got {name!r}")
        for flag, value in self.presets[name].items():
            if not FLAGS[flag].present:
                FLAGS[flag].value = value
        FLAGS.preset = name
        # A preset is for the kind of data it names; the toy presets name none (the ring).
        toy_preset = is_toy(self.presets[name].get("dataset", FLAGS["dataset"].default))
        if toy_preset != is_toy(FLAGS.dataset):
            raise UsageError(f"--preset={name} is for {'toy' if toy_preset else 'image'} "
                             f"data; --dataset is {FLAGS.dataset}")


def ema_decay():
    """--ema_decay as the models take it: None for no average (the flag's 0, or unset)."""
    return FLAGS.ema_decay or None


def check_flags():
    for name in POSITIVE_FLAGS:
        if not FLAGS[name].value > 0:
            raise UsageError(f"--{name} must be positive, got {FLAGS[name].value}")
    if FLAGS.dot_steps < 0:
        raise UsageError(f"--dot_steps must be 0 or more, got {FLAGS.dot_steps}")
    for name in ("critic_learning_rate", "image_size", "cpu_devices"):
        if FLAGS[name].value is not None and not FLAGS[name].value > 0:
            raise UsageError(f"--{name} must be positive, got {FLAGS[name].value}")
    if FLAGS.ema_decay is not None and not 0 <= FLAGS.ema_decay < 1:
        raise UsageError(f"--ema_decay must be in [0, 1) (0: no average), got {FLAGS.ema_decay}")
    for name in ("beta_1", "beta_2"):
        if not 0 <= FLAGS[name].value < 1:
            raise UsageError(f"--{name} must be in [0, 1), got {FLAGS[name].value}")
    if FLAGS.deterministic and FLAGS.jit_compile == "true":
        raise UsageError("--jit_compile=true does not work with --deterministic (Keras "
                         "turns XLA off under TensorFlow's op determinism)")
    if FLAGS.cpu_devices is not None and FLAGS.strategy != "mirrored":
        raise UsageError("--cpu_devices is for --strategy=mirrored")
    if FLAGS.strategy != "default":
        if FLAGS.jit_compile == "true":
            raise UsageError(f"--jit_compile=true does not work with --strategy="
                             f"{FLAGS.strategy} (the replicas synchronise inside the step)")
        if FLAGS.run_eagerly:
            raise UsageError(f"--run_eagerly does not work with --strategy={FLAGS.strategy}")
        if getattr(FLAGS, "authors_schedule", False):
            raise UsageError(f"--authors_schedule varies the number of critic updates per "
                             f"iteration, which --strategy={FLAGS.strategy} cannot do "
                             f"(the replicas synchronise at every update)")
    if FLAGS.iterations_per_step != "auto":
        if not FLAGS.iterations_per_step.isdigit() or int(FLAGS.iterations_per_step) < 1:
            raise UsageError(f"--iterations_per_step must be auto or a positive integer, "
                             f"got {FLAGS.iterations_per_step!r}")
        k = int(FLAGS.iterations_per_step)
        uneven = [name for name in ITERATION_INTERVALS if FLAGS[name].value % k]
        if uneven:
            raise UsageError(f"--iterations_per_step={k} must divide "
                             + ", ".join(f"--{n} ({FLAGS[n].value})" for n in uneven))
        if k > 1 and FLAGS.strategy != "default":
            raise UsageError(f"--iterations_per_step={k} does not work with "
                             f"--strategy={FLAGS.strategy}")
        if k > 1 and getattr(FLAGS, "authors_schedule", False):
            raise UsageError(f"--iterations_per_step={k} needs a fixed number of critic "
                             f"updates per iteration, which --authors_schedule varies")
    if FLAGS.seed < 0:
        raise UsageError(f"--seed must be non-negative, got {FLAGS.seed}")
    if FLAGS.critic_normalization == "layer" and is_toy(FLAGS.dataset):
        raise UsageError("--critic_normalization=layer is for image critics; toy critics "
                         "take none or spectral")


# What callbacks act on every so many iterations (and the run's length): a step
# of k iterations must end on each of them.
ITERATION_INTERVALS = ("iterations", "checkpoint_every", "eval_every", "sample_every")


def iterations_per_step(strategy=None):
    """--iterations_per_step, with auto resolved (see the flag's help)."""
    if FLAGS.iterations_per_step != "auto":
        return int(FLAGS.iterations_per_step)
    if (not is_toy(FLAGS.dataset) or strategy is not None or FLAGS.run_eagerly
            or getattr(FLAGS, "authors_schedule", False)):
        return 1
    return max(k for k in range(1, AUTO_ITERATIONS_PER_STEP + 1)
               if all(FLAGS[name].value % k == 0 for name in ITERATION_INTERVALS))


def make_optimizer(learning_rate, steps_per_iteration=1):
    """The optimizer of one network, which takes `steps_per_iteration` steps per generator iteration."""
    import keras

    if FLAGS.learning_rate_decay == "linear":
        # Appendix F: "decayed linearly to 0 over 100k generator iterations".
        # The schedule counts the optimizer's own steps: n_critic per iteration
        # for the critic.
        learning_rate = keras.optimizers.schedules.PolynomialDecay(
            learning_rate, FLAGS.iterations * steps_per_iteration, end_learning_rate=0.0,
            power=1.0)
    if FLAGS.optimizer in ("rmsprop", "rmsprop_tf1"):
        from models.wgan import rmsprop

        return rmsprop(learning_rate, "tf1" if FLAGS.optimizer == "rmsprop_tf1" else "pytorch")
    return keras.optimizers.Adam(learning_rate, beta_1=FLAGS.beta_1, beta_2=FLAGS.beta_2)


def make_strategy():
    """The tf.distribute strategy of --strategy (None for the default); UsageError if unavailable.

    Called before any other TensorFlow work: logical CPU devices and
    multi-worker collectives must be set up before TF initialises its devices.
    """
    import tensorflow as tf

    if FLAGS.cpu_devices:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * FLAGS.cpu_devices)
    if FLAGS.strategy == "default":
        return None
    if FLAGS.strategy == "mirrored":
        devices = ([device.name for device in tf.config.list_logical_devices("CPU")]
                   if FLAGS.cpu_devices else None)
        return tf.distribute.MirroredStrategy(devices)
    if FLAGS.strategy == "multi_worker_mirrored":
        if "TF_CONFIG" not in os.environ:
            raise UsageError("--strategy=multi_worker_mirrored needs the TF_CONFIG "
                             "environment variable (the cluster and this worker's index)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as error:  # noqa: BLE001 -- no TPU fails in many ways
        first_line = (str(error).splitlines() or [""])[0]
        raise UsageError(f"--strategy=tpu: no TPU found ({type(error).__name__}: "
                         f"{first_line})") from None
    return tf.distribute.TPUStrategy(resolver)


def dtype_policy():
    """(Keras dtype policy, why) that --mixed_precision gives on this machine and data."""
    from train_loops import precision

    return precision.resolve(FLAGS.mixed_precision, is_toy(FLAGS.dataset))


def build_model(command, task, strategy=None):
    """The command's model with the task's networks, compiled as the flags say.

    Networks, model and optimizers are made under `strategy.scope()` (their
    variables mirrored across replicas) and under the --mixed_precision policy.
    """
    import contextlib

    import keras

    if strategy is not None and FLAGS.batch_size % strategy.num_replicas_in_sync:
        raise UsageError(f"--batch_size ({FLAGS.batch_size}) must be a multiple of the "
                         f"number of replicas ({strategy.num_replicas_in_sync})")
    # Set either way: an earlier run in this process (a figure's) must not leak its policy.
    keras.config.set_dtype_policy(dtype_policy()[0])
    keras.utils.set_random_seed(FLAGS.seed)  # weight initialisation
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        try:
            model = command.build_model(*task.networks(command.bn_free_critic))
        except ValueError as error:  # the builders' and the model's own argument checks
            raise UsageError(error) from None
        # Keras runs no XLA under op determinism (not every op has a
        # deterministic XLA kernel), and warns when asked to: do not ask.
        jit_compile = (FLAGS.jit_compile == "true" if FLAGS.jit_compile != "auto"
                       else is_toy(FLAGS.dataset) and strategy is None
                       and not FLAGS.deterministic)
        model.compile(make_optimizer(FLAGS.learning_rate),
                      make_optimizer(FLAGS.critic_learning_rate or FLAGS.learning_rate,
                                     FLAGS.n_critic),
                      jit_compile=jit_compile and not FLAGS.run_eagerly,
                      run_eagerly=FLAGS.run_eagerly,
                      iterations_per_step=iterations_per_step(strategy))
    return model


def is_chief(strategy):
    """False on the workers of a multi-worker run other than the chief (worker 0)."""
    if strategy is None:
        return True
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type in (None, "chief") or (
        task_type == "worker" and task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict())


def check_paths(command):
    """UsageError (one line, exit 2) for a path the run could not use, before any work starts."""
    from train_loops import cli

    cli.expand_user("output_dir", "data_dir", "manual_dir", "classifier")
    cli.writable_folder(default_output_dir(command), "output_dir")
    if FLAGS.data_dir:
        cli.readable_folder(FLAGS.data_dir, "data_dir")
    if FLAGS.manual_dir:
        if not os.path.isdir(FLAGS.manual_dir):
            raise UsageError(f"--manual_dir={FLAGS.manual_dir}: no such folder")
        cli.readable_folder(FLAGS.manual_dir, "manual_dir")
    if FLAGS.classifier:
        cli.readable_file(FLAGS.classifier, "classifier")


def default_output_dir(command):
    """--output_dir, or runs/<algorithm>-<dataset> when it is not given."""
    from data.folder import folder_label, is_folder
    from data.points import is_points, points_label

    dataset = (folder_label(FLAGS.dataset) if is_folder(FLAGS.dataset) else
               points_label(FLAGS.dataset) if is_points(FLAGS.dataset) else FLAGS.dataset)
    return FLAGS.output_dir or os.path.join(
        "runs", f"{command.algorithm}-{dataset.replace('/', '_')}")


def train(command):
    """Train as the flags say and write the run's files (see the module docstring).

    A file that cannot be written (a full disk, a file-size limit) stops the
    run with a WriteError naming it and the last good checkpoint, which
    `cli.run` reports in one line with exit status 4; --resume continues
    from that checkpoint once there is room.
    """
    from train_loops.files import WriteError, reason_of

    determinism_before = op_determinism()
    try:
        try:
            fit_and_write(command)
        except OSError as error:  # a folder that could not be made, a file not removed
            raise WriteError(error.filename or default_output_dir(command),
                             reason_of(error)) from None
        finally:
            if op_determinism() and not determinism_before:
                # --deterministic turned it on for the whole process: a run in
                # process (a test, a notebook) must not leave it on, and Keras'
                # XLA off with it, for what follows. TensorFlow's switch back
                # is not public.
                from tensorflow.python.framework import config

                config.disable_op_determinism()
    except WriteError as error:
        import tensorflow as tf

        latest = tf.train.latest_checkpoint(
            os.path.join(default_output_dir(command), "checkpoints"))
        raise WriteError(error.path, f"{error.reason}; the last good checkpoint is "
                                     f"{latest or 'none'} (--resume continues from it)") from None


def op_determinism():
    """Whether TensorFlow's op determinism is on (False before TensorFlow is loaded)."""
    if "tensorflow" not in sys.modules:
        return False
    from tensorflow.python.framework import config

    return config.is_op_determinism_enabled()


def fit_and_write(command):
    check_flags()
    check_paths(command)
    # Imported here so that --help and bad flags answer without loading TensorFlow.
    import tensorflow as tf

    from data.images import DatasetUnavailableError
    from train_loops import callbacks as cb
    from train_loops import files
    from train_loops.tasks import make_task

    strategy = make_strategy()  # first: it sets up devices and collectives
    if FLAGS.deterministic:
        tf.config.experimental.enable_op_determinism()
    from data.folder import BadFolderError
    from data.points import BadPointsError

    try:
        task = make_task(FLAGS, command.algorithm)  # reads the user's files, if any
    except (BadFolderError, BadPointsError) as error:
        raise UsageError(error) from None
    model = build_model(command, task, strategy)
    output_dir = default_output_dir(command)
    scratch = None
    if not is_chief(strategy):
        # Every worker runs every step, callback and checkpoint (they take part
        # in the collectives); only the chief's files are kept.
        import tempfile

        scratch = tempfile.mkdtemp(prefix="worker-")
        if FLAGS.resume:
            import shutil

            shutil.copytree(os.path.join(output_dir, "checkpoints"),
                            os.path.join(scratch, "checkpoints"))
        output_dir = scratch
    check_output_dir(output_dir)
    checkpoint = tf.train.Checkpoint(model=model,
                                     generator_optimizer=model.generator_optimizer,
                                     critic_optimizer=model.critic_optimizer)
    manager = checkpoint_manager(checkpoint, os.path.join(output_dir, "checkpoints"),
                                 command.program)
    start_iteration = (restore(checkpoint, manager, model, command.program) if FLAGS.resume
                       else 0)
    if start_iteration % model.iterations_per_step:
        # Resuming a run saved at an iteration between two steps' ends.
        if FLAGS.iterations_per_step != "auto":
            raise UsageError(f"--iterations_per_step={FLAGS.iterations_per_step} must divide "
                             f"the iteration the run resumes from ({start_iteration})")
        model.iterations_per_step = math.gcd(model.iterations_per_step, start_iteration)
    try:
        # Each critic update has consumed one real batch: skip those to continue the stream.
        real = task.real_batches(FLAGS.batch_size, FLAGS.seed).skip(
            int(model.critic_optimizer.iterations.numpy()))
    except (DatasetUnavailableError, BadFolderError, BadPointsError) as error:
        raise UsageError(error) from None
    data = model.critic_batches(real, start_iteration)
    if strategy is not None:
        from models.distribute import distribute_critic_batches

        data = distribute_critic_batches(strategy, data)

    if FLAGS.overwrite:
        remove_run(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    write_flags(os.path.join(output_dir, "flags.txt"), command.build_model.__module__)
    remaining = FLAGS.iterations - start_iteration
    policy, why = dtype_policy()
    chosen = (f"; computing in {policy} (--mixed_precision=auto: {why})"
              if FLAGS.mixed_precision == "auto" else "")
    print(f"{command.algorithm} ({FLAGS.preset} preset) on {FLAGS.dataset}: generator "
          f"iterations {start_iteration} to {FLAGS.iterations}, writing to {output_dir}/"
          f"{chosen}", flush=True)

    writer = tf.summary.create_file_writer(os.path.join(output_dir, "tensorboard"))
    stop = cb.StopOnInterrupt()  # Ctrl-C: stop after the current iteration, logged
    guard = cb.NonFiniteGuard(start_iteration)  # first: the others see its verdict
    # This sitting's clocks (wall_time, cpu_time below), and their sums with those of the
    # sittings that led to the resumed checkpoint.
    compute = ComputeRecord(manager.directory, start_iteration)
    checkpoints = cb.Checkpoints(manager, FLAGS.checkpoint_every, guard, start_iteration,
                                 compute)
    callbacks = [guard, cb.StepLogger(os.path.join(output_dir, "metrics.csv"), start_iteration),
                 cb.TensorBoardScalars(start_iteration),
                 *task.callbacks(model, output_dir, start_iteration, writer),
                 checkpoints, stop]
    if model.iterations_per_step > 1:
        callbacks = [cb.PerIteration(callbacks, model.iterations_per_step)]
    start, cpu_start, load_start = compute.start, compute.cpu_start, load_average()
    interrupted = False
    with writer.as_default():
        try:
            if remaining > 0:
                model.fit(data, steps_per_epoch=remaining // model.iterations_per_step, epochs=1,
                          verbose=1 if sys.stdout.isatty() else 0, callbacks=callbacks)
        except KeyboardInterrupt:  # before training began, or a second Ctrl-C
            interrupted = True
        interrupted = interrupted or stop.interrupted
        if interrupted:
            print("\ninterrupted: writing the outputs of the iterations done", flush=True)
        wall_time, cpu_time = time.time() - start, time.process_time() - cpu_start

        iterations = int(model.generator_optimizer.iterations.numpy())
        final = {}
        if guard.failure is None:
            if iterations > start_iteration:
                checkpoints.save(iterations)
            final = task.finish(model, output_dir, iterations)
    try:
        writer.close()
    except tf.errors.OpError as error:
        raise files.WriteError(os.path.join(output_dir, "tensorboard"),
                               files.reason_of(error)) from None
    done = iterations - start_iteration
    summary = dict(algorithm=command.algorithm, preset=FLAGS.preset, dataset=FLAGS.dataset,
                   iterations=iterations, resumed_from=start_iteration,
                   interrupted=interrupted, wall_time_seconds=round(wall_time, 1),
                   cpu_time_seconds=round(cpu_time, 1), load_average=[load_start, load_average()],
                   iterations_per_second=round(done / wall_time, 2) if done else None,
                   **final)
    # Over every sitting (None when one before a resume was not recorded).
    totals = compute.totals(wall_time, cpu_time) or dict(wall_seconds=None, cpu_seconds=None,
                                                         commits=None)
    summary.update(total_wall_time_seconds=totals["wall_seconds"],
                   total_cpu_time_seconds=totals["cpu_seconds"], commits=totals["commits"])
    if policy != "float32" or FLAGS.mixed_precision == "auto":
        summary["mixed_precision"] = policy  # what auto chose, float32 too
    if strategy is not None:
        summary.update(strategy=FLAGS.strategy, replicas=strategy.num_replicas_in_sync)
    if guard.failure is not None:
        summary["failure"] = guard.failure
    files.write_json(os.path.join(output_dir, "summary.json"), summary)
    if guard.failure is not None:
        # The weights are not saved; the latest checkpoint is the last good state.
        print(f"{command.program}: error: {guard.failure}; training stopped. Last good "
              f"checkpoint: {manager.latest_checkpoint or 'none'}", file=sys.stderr)
        sys.exit(3)
    # The critic too: train_loops.sample refines samples with it (--dot_steps).
    networks = dict(generator=model.generator, critic=model.critic,
                    generator_ema=model.averaged_generator)
    for name, network in networks.items():
        if network is not None:
            with files.replacing(os.path.join(output_dir, f"{name}.keras")) as temporary:
                network.save(temporary)
    if scratch is not None:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
        return
    print(summary_text(summary))
    if interrupted:
        sys.exit(130)


def summary_text(summary):
    """The summary as JSON, one key per line (a list, like the per-mode shares, on its line)."""
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in summary.items()]
    return "{\n" + ",\n".join(lines) + "\n}"


RUN_FILES = ("flags.txt", "metrics.csv", "evaluation.csv", "image_metrics.csv",
             "samples.png", "samples_history.png", "summary.json", "generator.keras",
             "critic.keras",
             "generator_ema.keras")
RUN_FOLDERS = ("checkpoints", "tensorboard", "samples")


def check_output_dir(output_dir):
    """Refuse to write over a run unless asked to continue it or replace it."""
    if FLAGS.resume and FLAGS.overwrite:
        raise UsageError("--resume continues the run in --output_dir and --overwrite "
                         "replaces it: give one of them")
    holds_run = os.path.exists(os.path.join(output_dir, "flags.txt"))
    if holds_run and not (FLAGS.resume or FLAGS.overwrite):
        raise UsageError(f"{output_dir} already holds a run: --resume continues it, "
                         f"--overwrite replaces it, or choose another --output_dir")


def remove_run(output_dir):
    """Delete the files a run writes (and nothing else) from `output_dir`."""
    import shutil

    for name in RUN_FILES:
        path = os.path.join(output_dir, name)
        if os.path.isfile(path):
            os.remove(path)
    for name in RUN_FOLDERS:
        shutil.rmtree(os.path.join(output_dir, name), ignore_errors=True)


def checkpoint_manager(checkpoint, directory, program):
    """The run's CheckpointManager, keeping --keep_checkpoints.

    TensorFlow refuses a `checkpoint` index file that is empty or not text;
    such a file is set aside (with a warning line) and the checkpoints are
    then found by their own files (`checkpoint_paths`).
    """
    import tensorflow as tf

    try:
        return tf.train.CheckpointManager(checkpoint, directory,
                                          max_to_keep=FLAGS.keep_checkpoints)
    except (ValueError, UnicodeDecodeError) as error:
        index = os.path.join(directory, "checkpoint")
        os.replace(index, index + ".damaged")
        print(f"{program}: warning: {index} is unreadable ({type(error).__name__}); set "
              f"aside as {index}.damaged", file=sys.stderr, flush=True)
        return tf.train.CheckpointManager(checkpoint, directory,
                                          max_to_keep=FLAGS.keep_checkpoints)


def checkpoint_paths(manager):
    """The run's checkpoints, newest first.

    Those the `checkpoint` index file names; when it names none (it is
    missing or garbled), every ckpt-<iteration>.index in the folder.
    """
    if manager.checkpoints:
        return list(reversed(manager.checkpoints))
    pattern = re.compile(r"^ckpt-(\d+)\.index$")
    found = [(int(match.group(1)), os.path.join(manager.directory, name[:-len(".index")]))
             for name in sorted(os.listdir(manager.directory)) if (match := pattern.match(name))]
    return [path for _, path in sorted(found, reverse=True)]


def damage(path):
    """Why the checkpoint `path` cannot be read, or None when every tensor in it reads back.

    TensorFlow checks each tensor's CRC32C as it reads it, so this finds
    truncated and garbled files as well as missing ones, before anything is
    restored into the model.
    """
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as error:  # noqa: BLE001 -- a damaged file fails in many ways
        return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
    return None


def restore(checkpoint, manager, model, program):
    """Restore the newest intact checkpoint; return the generator iteration it was saved at.

    Each damaged newer one is skipped with a one-line warning (which file,
    why). UsageError when none is intact, or when they belong to another model.
    """
    if not os.path.isdir(manager.directory) or not checkpoint_paths(manager):
        raise UsageError(f"--resume: no checkpoint in {manager.directory}")
    damaged = []
    for path in checkpoint_paths(manager):
        problem = damage(path)
        if problem is not None:
            damaged.append((path, problem))
            continue
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
        except Exception as error:  # noqa: BLE001 -- TF raises several kinds
            first_line = (str(error).splitlines() or [""])[0][:200]
            flagfile = os.path.join(os.path.dirname(os.path.dirname(path)), "flags.txt")
            raise UsageError(f"--resume: {path} does not match this model "
                             f"({type(error).__name__}: {first_line}); resume with the "
                             f"flags it was made with: --flagfile={flagfile} --resume, and "
                             f"--ema_decay=0 if it kept no weight average") from None
        for skipped, problem in damaged:
            print(f"{program}: warning: checkpoint {skipped} is unreadable ({problem}); "
                  f"resuming from {os.path.basename(path)}", file=sys.stderr, flush=True)
        return int(model.generator_optimizer.iterations.numpy())
    names = ", ".join(os.path.basename(path) for path, _ in damaged)
    raise UsageError(f"--resume: no intact checkpoint in {manager.directory} ({names} "
                     f"unreadable; the newest: {damaged[0][1]})")


def write_flags(path, entry_module):
    """The runner's and the entry point's flags, as a file --flagfile reads back."""
    modules = {__name__, entry_module, sys.argv[0]}  # absl files __main__'s under argv[0]
    lines = [FLAGS[name].serialize() for name in sorted(FLAGS)
             if FLAGS.find_module_defining_flag(name) in modules
             and name not in ("resume", "overwrite")
             and FLAGS[name].value is not None]  # an unset flag serialises to ""
    from train_loops import files

    files.write_text(path, "\n".join(lines) + "\n")
