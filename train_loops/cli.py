"""What every command shares: bad input is one line on stderr and exit status 2."""

import sys

from absl import app, flags


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


def parse_flags(argv):
    """absl's parse, refusing stray positional arguments; raises flags.Error or UsageError."""
    rest = flags.FLAGS(argv)
    if len(rest) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(rest[1:])}")
    return rest


def fail(program, error):
    print(f"{program}: error: {error} (see --helpshort)", file=sys.stderr)
    sys.exit(2)


def run(program, main, parse=parse_flags):
    """`absl.app.run(main)`, where a UsageError or a flag error from `parse` or `main` exits 2."""

    def parser(argv):
        try:
            return parse(argv)
        except (flags.Error, UsageError) as error:
            fail(program, error)

    def checked_main(argv):
        try:
            main(argv)
        except UsageError as error:
            fail(program, error)

    app.run(checked_main, flags_parser=parser)
