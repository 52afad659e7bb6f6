"""The one runner behind `python -m train_loops.gan | wgan | wgan_gp`.

The models know their algorithms; this module knows flags, files and logging.
Each entry point is a preset: a few flag defaults and a function that builds
its model. A run writes into --output_dir:

  flags.txt        the flags it ran with (reuse with --flagfile)
  metrics.csv      every generator iteration's metrics, written as it goes
  evaluation.csv   every --eval_every iterations: mode coverage of the samples
  samples.png      real vs generated samples over the critic's value contours
  summary.json     the final numbers (also printed)
  generator.keras  the trained generator

Ctrl-C stops training and still writes the outputs for the iterations done.
"""

import json
import os
import sys
import time

from absl import app, flags

FLAGS = flags.FLAGS

flags.DEFINE_enum("dataset", "8gaussians",
                  ["8gaussians", "25gaussians", "swissroll"], "Toy data set.")
flags.DEFINE_integer("iterations", 3000,
                     "Generator iterations to train for (100000 in the authors' toy code).")
flags.DEFINE_integer("batch_size", 256, "Real and generated samples per batch.")
flags.DEFINE_integer("n_critic", 5,
                     "Critic (discriminator) updates per generator iteration.")
flags.DEFINE_enum("optimizer", "adam", ["adam", "rmsprop"],
                  "Optimizer of both networks.")
flags.DEFINE_float("learning_rate", 1e-4, "Learning rate of both networks.")
flags.DEFINE_float("critic_learning_rate", None,
                   "Critic's learning rate, if different from --learning_rate.")
flags.DEFINE_float("beta_1", 0.5, "Adam's beta_1.")
flags.DEFINE_float("beta_2", 0.9, "Adam's beta_2.")
flags.DEFINE_integer("hidden_units", 128,
                     "Width of the 3 hidden ReLU layers of both toy MLPs (512 in the "
                     "authors' toy code; 128 lets the default run finish in about "
                     "1.5 minutes on 2 cores).")
flags.DEFINE_integer("seed", 0, "Seeds the data, the weights and every random draw.")
flags.DEFINE_string("output_dir", None,
                    "Where the run's files go (default: runs/<algorithm>-<dataset>).")
flags.DEFINE_integer("eval_every", 100,
                     "Evaluate the generator every this many generator iterations.")
flags.DEFINE_integer("eval_samples", 2500,
                     "Generated samples per evaluation (2500 in VEEGAN and PacGAN).")

POSITIVE_FLAGS = ("iterations", "batch_size", "n_critic", "learning_rate",
                  "hidden_units", "eval_every", "eval_samples")


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


def launch(algorithm, build_model, preset):
    """Run the command for `algorithm`.

    Args:
      algorithm: its name, e.g. "wgan_gp" (for messages and the output folder).
      build_model: f(generator, critic) -> an uncompiled `AdversarialModel`,
        reading its own flags.
      preset: flag defaults that differ from the ones above.
    """
    for name, value in preset.items():
        FLAGS.set_default(name, value)
    program = f"python -m train_loops.{algorithm}"

    def parse(argv):
        try:
            rest = FLAGS(argv)
            if len(rest) > 1:
                raise UsageError(f"unexpected arguments: {' '.join(rest[1:])}")
        except (flags.Error, UsageError) as error:
            _exit_with_usage_error(program, error)
        return rest

    def main(argv):
        del argv
        try:
            train(algorithm, build_model)
        except UsageError as error:
            _exit_with_usage_error(program, error)

    app.run(main, flags_parser=parse)


def _exit_with_usage_error(program, error):
    print(f"{program}: error: {error} (see --helpshort)", file=sys.stderr)
    sys.exit(2)


def check_flags():
    for name in POSITIVE_FLAGS:
        if not FLAGS[name].value > 0:
            raise UsageError(f"--{name} must be positive, got {FLAGS[name].value}")
    if FLAGS.critic_learning_rate is not None and not FLAGS.critic_learning_rate > 0:
        raise UsageError(
            f"--critic_learning_rate must be positive, got {FLAGS.critic_learning_rate}")
    for name in ("beta_1", "beta_2"):
        if not 0 <= FLAGS[name].value < 1:
            raise UsageError(f"--{name} must be in [0, 1), got {FLAGS[name].value}")
    if FLAGS.seed < 0:
        raise UsageError(f"--seed must be non-negative, got {FLAGS.seed}")


def make_optimizer(learning_rate):
    import keras

    if FLAGS.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    return keras.optimizers.Adam(learning_rate, beta_1=FLAGS.beta_1, beta_2=FLAGS.beta_2)


def train(algorithm, build_model):
    check_flags()
    # Imported here so that --help and bad flags answer without loading TensorFlow.
    import keras

    from data.toy import toy_batches
    from evaluation.plots import save_toy_figure
    from models.networks import toy_critic, toy_generator
    from train_loops.callbacks import StepLogger, StopOnInterrupt, ToyEvaluation

    keras.utils.set_random_seed(FLAGS.seed)  # weight initialisation
    networks = dict(hidden_units=FLAGS.hidden_units)
    try:
        model = build_model(toy_generator(**networks), toy_critic(**networks))
    except ValueError as error:  # the model's own argument checks
        raise UsageError(error) from None
    model.compile(make_optimizer(FLAGS.learning_rate),
                  make_optimizer(FLAGS.critic_learning_rate or FLAGS.learning_rate))

    output_dir = FLAGS.output_dir or os.path.join("runs", f"{algorithm}-{FLAGS.dataset}")
    os.makedirs(output_dir, exist_ok=True)
    write_flags(os.path.join(output_dir, "flags.txt"))
    print(f"{algorithm} on {FLAGS.dataset}: {FLAGS.iterations} generator iterations, "
          f"writing to {output_dir}/", flush=True)

    evaluation = ToyEvaluation(model, FLAGS.dataset, FLAGS.eval_every, FLAGS.eval_samples,
                               os.path.join(output_dir, "evaluation.csv"))
    stop = StopOnInterrupt()  # Ctrl-C: stop after the current iteration, logged
    callbacks = [StepLogger(os.path.join(output_dir, "metrics.csv")), evaluation, stop]
    data = model.critic_batches(toy_batches(FLAGS.dataset, FLAGS.batch_size, FLAGS.seed))
    start = time.time()
    interrupted = False
    try:
        model.fit(data, steps_per_epoch=FLAGS.iterations, epochs=1, shuffle=False,
                  verbose=1 if sys.stdout.isatty() else 0, callbacks=callbacks)
    except KeyboardInterrupt:  # before training began, or a second Ctrl-C
        interrupted = True
    interrupted = interrupted or stop.interrupted
    if interrupted:
        print("\ninterrupted: writing the outputs of the iterations done", flush=True)
    wall_time = time.time() - start

    iterations = int(model.generator_optimizer.iterations.numpy())
    final = evaluation.evaluate(iterations) if iterations else {}
    real = next(iter(toy_batches(FLAGS.dataset, FLAGS.eval_samples, FLAGS.seed + 1)))
    save_toy_figure(os.path.join(output_dir, "samples.png"), model.critic, real.numpy(),
                    model.generate(FLAGS.eval_samples).numpy(),
                    title=f"{algorithm}, {FLAGS.dataset}, {iterations} generator iterations")
    model.generator.save(os.path.join(output_dir, "generator.keras"))
    summary = dict(algorithm=algorithm, dataset=FLAGS.dataset, iterations=iterations,
                   interrupted=interrupted, wall_time_seconds=round(wall_time, 1),
                   iterations_per_second=round(iterations / wall_time, 2), **final)
    with open(os.path.join(output_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary, indent=2))
    if interrupted:
        sys.exit(130)


def write_flags(path):
    """The runner's and the entry point's flags, as a file --flagfile reads back."""
    modules = {__name__, sys.argv[0]}
    lines = [FLAGS[name].serialize() for name in sorted(FLAGS)
             if FLAGS.find_module_defining_flag(name) in modules
             and FLAGS[name].value is not None]  # an unset flag serialises to ""
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
