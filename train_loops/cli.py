"""What every command shares: bad input is one line on stderr and exit status 2.

A file that cannot be written once work has begun (`files.WriteError`: a full
disk, a file-size limit) is one line too, with exit status 4.
"""

import contextlib
import os
import stat
import sys
import threading

from absl import app, flags


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


def parse_flags(argv):
    """absl's parse, refusing stray positional arguments; raises flags.Error or UsageError."""
    rest = flags.FLAGS(argv)
    if len(rest) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(rest[1:])}")
    return rest


WRITE_ERROR_STATUS = 4


def fail(program, error):
    print(f"{program}: error: {error} (see --helpshort)", file=sys.stderr)
    sys.exit(2)


def expand_user(*names):
    """Expand a leading ~ in these path flags (the shell does not in --flag=~/x)."""
    for name in names:
        value = flags.FLAGS[name].value
        if value:
            flags.FLAGS[name].value = os.path.expanduser(value)


# How often a folder check starts again after another process removed its folder.
CONCURRENT_ATTEMPTS = 20


def writable_folder(path, flag, label=None):
    """UsageError unless the folder `path` exists or can be made, and takes new files.

    `label` names what is checked in the message (default: --flag=path).

    Checked by doing it: the missing folders are made and a file is created
    in the deepest, then all of it is removed again, so the check leaves
    nothing behind, whether or not it passes (but see below).

    Several processes may check one folder at once (the workers of a
    multi-worker run are given the same --output_dir): a folder another
    process made first is used, not refused (and left to it to remove: an
    empty folder may then stay), and when another process's clean-up removes
    the folder under this check, the check starts again.
    """
    path = os.path.abspath(path)
    label = label or f"--{flag}={path}"
    for attempt in range(CONCURRENT_ATTEMPTS):
        try:
            _probe_folder(path, label)
            return
        except FileNotFoundError as error:
            if attempt == CONCURRENT_ATTEMPTS - 1:
                raise UsageError(f"{label} cannot be written ({error.strerror or error})") \
                    from None


def _probe_folder(path, label):
    """One attempt of `writable_folder`; FileNotFoundError when the folder vanished meanwhile."""
    try:
        mode = os.stat(path).st_mode  # one look, so a folder vanishing meanwhile is not a file
    except OSError:
        mode = None  # missing, or not reachable: making it below says why
    if mode is not None and not stat.S_ISDIR(mode):
        raise UsageError(f"{label} is a file, not a folder")
    missing = []
    parent = path
    while not os.path.exists(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    made = []
    try:
        for folder in reversed(missing):
            try:
                os.mkdir(folder)
            except FileExistsError:
                continue  # another process made it first: it is theirs to remove
            made.append(folder)
        probe = os.path.join(path, f".write-test-{os.getpid()}-{threading.get_ident()}")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise UsageError(f"{label} cannot be written ({error.strerror or error})") from None
    finally:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(folder)


def readable_file(path, flag):
    """UsageError unless `path` is a file this process can read."""
    if not os.path.isfile(path):
        raise UsageError(f"--{flag}={path}: no such file")
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as error:
        raise UsageError(f"--{flag}={path} cannot be read ({error.strerror or error})") from None


def load_network(path, what):
    """The Keras model saved at `path`; UsageError (naming `what`) when it cannot be loaded."""
    import keras

    try:
        return keras.saving.load_model(path)
    except (ValueError, OSError) as error:
        raise UsageError(f"cannot load {what} {path}: {str(error).splitlines()[0]}")


def readable_folder(path, flag):
    """UsageError unless the folder `path` can be listed (or, when missing, made)."""
    if not os.path.exists(path):
        writable_folder(path, flag)
        return
    if not os.path.isdir(path):
        raise UsageError(f"--{flag}={path} is a file, not a folder")
    try:
        os.listdir(path)
    except OSError as error:
        raise UsageError(f"--{flag}={path} cannot be read ({error.strerror or error})") from None


def writable_file(path, flag):
    """UsageError unless the file `path` can be written: its folder takes new files."""
    if os.path.isdir(path):
        raise UsageError(f"--{flag}={path} is a folder, not a file")
    folder = os.path.dirname(os.path.abspath(path))
    writable_folder(folder, flag, label=f"--{flag}={path}: its folder {folder}")


def run(program, main, parse=parse_flags):
    """`absl.app.run(main)`, where a UsageError or a flag error from `parse` or `main` exits 2."""

    def parser(argv):
        try:
            return parse(argv)
        except (flags.Error, UsageError) as error:
            fail(program, error)

    def checked_main(argv):
        from train_loops.files import WriteError

        try:
            main(argv)
        except UsageError as error:
            fail(program, error)
        except WriteError as error:
            print(f"{program}: error: {error}", file=sys.stderr)
            sys.exit(WRITE_ERROR_STATUS)

    app.run(checked_main, flags_parser=parser)
