"""The README's training commands are valid command lines of the commands they name."""

import os
import re
import shlex

import tensorflow as tf
from absl import flags

from flag_testing import parse
from train_loops import gan, runner, wgan, wgan_gp

FLAGS = flags.FLAGS
README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")
COMMANDS = {"gan": gan.COMMAND, "wgan": wgan.COMMAND, "wgan_gp": wgan_gp.COMMAND}


def readme_training_commands():
    """(command name, its arguments) of each `python -m train_loops.X` line of the
    README's bash blocks, continuation lines joined and comments dropped."""
    with open(README) as f:
        blocks = re.findall(r"```bash\n(.*?)```", f.read(), re.S)
    found = []
    for line in "\n".join(blocks).replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        for i, word in enumerate(words[:-1]):
            name = words[i + 1].removeprefix("train_loops.")
            if word == "-m" and words[i + 1].startswith("train_loops.") and name in COMMANDS:
                args = words[i + 2:]
                found.append((name, args[:args.index("&&")] if "&&" in args else args))
    return found


class ReadmeCommandsTest(tf.test.TestCase):

    def tearDown(self):
        FLAGS.unparse_flags()
        super().tearDown()

    def test_every_training_command_parses_and_passes_the_flag_checks(self):
        commands = readme_training_commands()
        # The main command, Metz's collapse, WGAN-GP on his ring, the toy preset, own images.
        self.assertGreaterEqual(len(commands), 5)
        for name, args in commands:
            with self.subTest(command=" ".join([name, *args])):
                parse(COMMANDS[name], *args)
                runner.check_flags()
