"""Writing a run's files so that a crash, a kill or a full disk never leaves a torn one.

Whole files (summary.json, flags.txt, the saved networks, pictures, sample
arrays, figure parts) are written beside their final name and then renamed
over it (`replacing`): a rename is atomic on POSIX file systems, so the name
always holds either the previous complete file or the new one.

The row logs (metrics.csv, evaluation.csv, image_metrics.csv) grow by whole
rows (`append_rows`): one `write` call per row on a file opened for
appending. A killed process can split such a write only where it crosses a
page boundary of the file (the kernel checks for a fatal signal between
pages), and a write that the disk cannot finish is cut back to the last
whole row before the error is raised. Readers drop a last row that is not
whole (`read_rows`): one without its line end, which is what a split write
or a power cut leaves.

Nothing here calls fsync: the guarantee is against the process dying, not
against the machine losing power before the kernel has flushed its cache.
Any OSError while writing becomes a `WriteError` naming the file.
"""

import contextlib
import csv
import errno
import io
import json
import os


class WriteError(Exception):
    """A file of the run could not be written (full disk, file-size limit, permissions)."""

    def __init__(self, path, reason):
        super().__init__(f"cannot write {path}: {reason}")
        self.path, self.reason = path, reason


def reason_of(error):
    """The short cause of an OSError or a TensorFlow I/O error, e.g. 'File too large'."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = (str(error).splitlines() or [""])[0]
    # TensorFlow's messages end in "<path>; <strerror> [Op:SaveV2]".
    return text.rsplit("; ", 1)[-1].split(" [Op:")[0] or type(error).__name__


def partial_path(path):
    """The name a new version of `path` is written under before it replaces `path`.

    The extension stays last, since Keras, NumPy and Matplotlib choose the
    format from it (generator.keras -> generator.partial.keras).
    """
    root, extension = os.path.splitext(path)
    return f"{root}.partial{extension}"


@contextlib.contextmanager
def replacing(path):
    """Yield a temporary path to write `path`'s new version to; on success it becomes `path`.

    On any error the temporary file is removed, `path` is untouched, and an
    OSError is raised again as a WriteError naming `path`.
    """
    temporary = partial_path(path)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        if isinstance(error, OSError):
            raise WriteError(path, reason_of(error)) from error
        raise


def write_text(path, text):
    """Write `text` as the whole of `path`, all or nothing."""
    with replacing(path) as temporary:
        with open(temporary, "w") as f:
            f.write(text)


def write_json(path, value, **options):
    """Write `value` as JSON (indented), all or nothing."""
    write_text(path, json.dumps(value, indent=2, **options) + "\n")


def csv_text(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def append_rows(path, rows):
    """Append CSV `rows` to `path` in one write; on failure, `path` keeps only whole rows."""
    data = csv_text(rows).encode()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as error:
        raise WriteError(path, reason_of(error)) from error
    try:
        size = os.fstat(descriptor).st_size
        try:
            rest = memoryview(data)
            while rest:  # more than one pass only when the disk took part of it
                written = os.write(descriptor, rest)
                if not written:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                rest = rest[written:]
        except OSError as error:
            with contextlib.suppress(OSError):
                os.ftruncate(descriptor, size)
            raise WriteError(path, reason_of(error)) from error
    finally:
        os.close(descriptor)


def read_rows(path):
    """The rows of the CSV file `path` (header first), without a torn last row.

    Every row is written with its line end, so a last row without one (or
    with another number of fields than the header, or blank) was cut short
    by a kill or a power cut: it is dropped.
    """
    with open(path, newline="") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]
    table = list(csv.reader(io.StringIO(text, newline="")))
    if len(table) > 1 and len(table[-1]) != len(table[0]):
        table.pop()
    return [row for row in table if row]


def rewrite_rows(path, rows):
    """Replace `path` by the CSV `rows`, all or nothing."""
    write_text(path, csv_text(rows))


def drop_rows_after(path, last_iteration):
    """Drop the rows of a log after `last_iteration` (logged after the checkpoint a run resumes from).

    The first column is the iteration. Returns the header. The file is
    replaced whole, and a torn last row goes with the others.
    """
    table = read_rows(path)
    header = table[0] if table else []
    kept = [row for row in table[1:] if int(row[0]) <= last_iteration]
    rewrite_rows(path, [header] + kept if header else [])
    return header


def start_evaluation_log(path, header, start_iteration, every):
    """Start or resume an evaluation log (evaluations every `every` iterations) for a run
    that starts at `start_iteration`; returns the row (a dict by column) of the
    evaluation at `start_iteration` that stands from an earlier sitting, or None.

    Rows after the checkpoint the run resumes from are evaluated again. A row at
    the checkpoint's own iteration is one of two kinds. At an evaluation
    iteration it is the scheduled evaluation, which an unbroken run has too: it
    stands, and is not evaluated again (a run that resumes where it ended writes
    only its outputs). Elsewhere it is the final evaluation of an interrupted
    run, which an unbroken run does not have: it goes. A new run, or a log with
    nothing whole left (a power cut), starts the file with `header`.
    """
    kept_header = []
    if start_iteration > 0 and os.path.exists(path):
        scheduled = start_iteration % every == 0
        kept_header = drop_rows_after(path, start_iteration if scheduled else start_iteration - 1)
    if not kept_header:
        rewrite_rows(path, [header])
        return None
    rows = read_rows(path)[1:]
    if rows and int(rows[-1][0]) == start_iteration:
        return dict(zip(kept_header, rows[-1]))
    return None

