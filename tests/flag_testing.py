"""In-process parsing of a training command's flags, for the tests that build its model."""

from absl import flags

from train_loops import runner
from train_loops.tasks import make_task

FLAGS = flags.FLAGS


def parse(command, *args):
    """Parse `args` as `command`'s command line, forgetting any earlier parse."""
    FLAGS.unparse_flags()
    command.parse(["test", *args])


def build(command, *args):
    """The model `command` builds from `args`, after the runner's flag checks."""
    parse(command, *args)
    runner.check_flags()
    return runner.build_model(command, make_task(FLAGS, command.algorithm))
