"""pytest set-up for the tf.test suite."""

import atexit
import os
import shutil
import tempfile

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's C++ start-up chatter out

# Every temporary file of the session in one folder, removed at exit.
# tf.test's get_temp_dir, multiprocessing (the commands' forkserver) and
# tests/command_processes.py clean up their folders inside it in atexit
# functions; registered before any of them, this one runs after them all. The
# commands under test inherit TMPDIR, and each pytest-xdist worker makes its
# folder inside the controller's, so the controller's removal also takes what
# a worker that never reached its atexit functions left (full runs with -n 2
# once left such folders, and tfds's, in /tmp).
_SESSION_TMP = tempfile.mkdtemp(prefix="gan-tests-")
os.environ["TMPDIR"] = tempfile.tempdir = _SESSION_TMP
atexit.register(shutil.rmtree, _SESSION_TMP, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups
def pytest_collection_modifyitems(config, items):
    # tf.test.TestCase has a deprecated helper method named `test_session`,
    # which pytest would collect as a test and report as skipped.
    items[:] = [item for item in items if item.name != "test_session"]
    # A module with a setUpModule (which starts all its command-line runs in the
    # background) is one xdist group: on one worker (pytest.ini: --dist loadgroup),
    # not split across both, each repeating every run.
    # Likewise a class with its own setUpClass: split across the workers, its
    # set-up (a subprocess run, say) would run once on each.
    for item in items:
        module = getattr(item, "module", None)
        cls = getattr(item, "cls", None)
        if hasattr(module, "setUpModule"):
            item.add_marker(pytest.mark.xdist_group(module.__name__))
        elif cls is not None and "setUpClass" in vars(cls):
            item.add_marker(pytest.mark.xdist_group(f"{module.__name__}.{cls.__name__}"))
