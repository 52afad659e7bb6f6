"""The commands under test as real processes, without a TensorFlow import each.

`python -m train_loops.wgan_gp ...` spends 7 s of CPU importing TensorFlow
(on CI's 2-core machine) before its first line of work, and the suite runs
the commands some sixty times. Here a multiprocessing forkserver imports
TensorFlow, Keras and TFDS once per test worker, and each command runs in a
process forked from it, as `python -m` runs a module (`runpy`, as
`__main__`): a process of its own, with its own pid (killed, interrupted and
limited for real), exit status, working directory, environment, stdout and
stderr (at the file-descriptor level, TensorFlow's native log lines too).
What differs from a fresh interpreter: the libraries tests/command_preload.py
names (TensorFlow and what it imports, SciPy's optimizers, TensorBoard's
summaries) are already loaded (the command's own modules are not: each
command imports them, and so defines only its own flags; what those imports
print goes to the forkserver's stderr), stdin is /dev/null, and the interpreter's
finalisation (garbage collection at exit) is not run.

A few runs stay fresh interpreters (`fresh=True`): the end-to-end WGAN-GP run
of test_train_loops, and a refusal made after TensorFlow has loaded.
"""

import atexit
import multiprocessing
import multiprocessing.connection
import os
import runpy
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from unittest import mock

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TESTS)
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
RUN_TIMEOUT = 300  # seconds; far beyond what any run here needs, so nothing can hang

PRELOAD = "command_preload"  # imported once, in the forkserver

_lock = threading.Lock()
_context = None


def _forkserver():
    global _context
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([PRELOAD])
            # The server inherits this process's environment as it starts (and
            # finds the preload module on PYTHONPATH).
            path = os.pathsep.join(filter(None, [TESTS, os.environ.get("PYTHONPATH")]))
            with mock.patch.dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=path):
                from multiprocessing import forkserver

                forkserver.ensure_running()
            _context = context
    return _context


def _main(target, args, cwd, env, stdout, stderr):
    """In the forked process: what `python -m target args` (or `-c target`) would do."""
    for fd, path in ((1, stdout), (2, stderr)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    if PRELOAD not in sys.modules:  # the forkserver swallows an ImportError of its preload
        raise RuntimeError(f"the forkserver could not import {PRELOAD}")
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # found again from TMPDIR, as a new interpreter would
    sys.path.insert(0, cwd)
    interrupted = False
    try:
        if target.startswith("-c "):
            sys.argv = ["-c", *args]
            exec(compile(target[3:], "<string>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv = [target, *args]  # run_module puts the module's path first
            runpy.run_module(target, run_name="__main__", alter_sys=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:  # the interpreter ends by SIGINT itself: status -2
        traceback.print_exc()
        interrupted = True
    except BaseException:  # as the interpreter reports an uncaught exception: status 1
        traceback.print_exc()
        raise SystemExit(1) from None
    finally:
        # The interpreter's exit, which the forkserver's os._exit skips: wait
        # for non-daemon threads, then the atexit functions. (Its finalisation,
        # the garbage collection of what is left, is not run: docs/code.md.)
        threading._shutdown()  # pylint: disable=protected-access
        atexit._run_exitfuncs()  # pylint: disable=protected-access
    if interrupted:
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)


class Process:
    """A started command, with the part of `subprocess.Popen`'s interface the tests use."""

    def __init__(self, target, *args, env=None, cwd=REPO):
        self.args = [target, *args]
        self._folder = tempfile.mkdtemp(prefix="command-")
        atexit.register(shutil.rmtree, self._folder, ignore_errors=True)
        self._stdout, self._stderr = (os.path.join(self._folder, name)
                                      for name in ("stdout", "stderr"))
        for path in (self._stdout, self._stderr):
            open(path, "w").close()  # there, even if the process dies before its first line
        self._process = _forkserver().Process(
            target=_main, daemon=True,
            args=(target, list(args), cwd, dict(ENV if env is None else env),
                  self._stdout, self._stderr))
        with _lock:  # Process.start keeps module-level bookkeeping
            self._process.start()
        self.pid = self._process.pid

    @property
    def returncode(self):
        return self.poll()

    def poll(self):
        # The exit status is read once from a pipe: two threads reading it at
        # once (Process.start polls every child) can lose it, so under the lock.
        with _lock:
            return self._process.exitcode

    def wait(self, timeout=None):
        multiprocessing.connection.wait([self._process.sentinel], timeout)
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return code

    def send_signal(self, number):
        if self.poll() is None:
            os.kill(self.pid, number)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def output(self):
        """(stdout, stderr) as text so far."""
        texts = []
        for path in (self._stdout, self._stderr):
            with open(path, errors="replace") as f:
                texts.append(f.read())
        return tuple(texts)

    def communicate(self, timeout=None):
        self.wait(timeout)
        return self.output()


def start(target, *args, env=None):
    """Start `python -m target *args` (target "-c CODE": `python -c CODE *args`)."""
    return Process(target, *args, env=env)


def run(target, *args, env=None, timeout=RUN_TIMEOUT, fresh=False):
    """Run it to the end; a `subprocess.CompletedProcess` with text output.

    fresh: a new interpreter (`subprocess.run`), for a test of the command line itself.
    """
    if fresh:
        command = ([sys.executable, "-c", target[3:]] if target.startswith("-c ")
                   else [sys.executable, "-m", target])
        return subprocess.run(command + list(args), cwd=REPO, env=ENV if env is None else env,
                              capture_output=True, text=True, timeout=timeout)
    process = start(target, *args, env=env)
    try:
        stdout, stderr = process.communicate(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
