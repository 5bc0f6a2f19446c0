"""Writing results safely: every file appears whole or not at all (temporary file + rename).

A write that fails (a full disk, a quota, a folder made read-only meanwhile) leaves the
previous version of the file in place and says so in a LinclfError naming the file. A download
stages the same way, in a folder beside its target (staging_folder), moved into place when whole.
"""
import contextlib
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

from .errors import LinclfError

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path, write):
    """Call write(tmp_path) on a temporary file beside `path`, then rename it over `path`.

    A failed write (write_failed) becomes a LinclfError naming `path`; the old `path`, if
    any, is untouched.
    """
    try:
        replace_atomic(path, write)
    except (OSError, RuntimeError) as e:
        if not write_failed(e):
            raise  # not a write failing: a bug to see in full
        raise LinclfError(write_error(Path(path), e)) from None


def replace_atomic(path, write):
    """write_atomic without the LinclfError: the OSError or RuntimeError as raised, for a
    caller to whom a failed write is not an error (the cache). The temporary file is gone
    either way."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are ordinary files
        os.replace(tmp, path)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def write_failed(e):
    """Whether e says a write failed: any OSError, or the RuntimeError torch.save raises when
    its stream writer fails (on a full disk: "[enforce fail at inline_container.cc:...]
    unexpected pos ...")."""
    return isinstance(e, OSError) or any(
        s in str(e) for s in ("inline_container", "PytorchStreamWriter", "file write failed"))


def write_error(path, e):
    """The one line for a failed write of `path`: why, the previous file's fate, what to do."""
    old = f"; the previous {path.name} is intact" if path.exists() else ""
    if disk_full(path, e):
        return (f"cannot write {path}: the disk is full{old}; free some space "
                "and run the command again (a run folder continues with `linclf train --resume`)")
    return f"cannot write {path}: {error_reason(e)}{old}; check the folder's permissions and free space"


def write_reason(path, e):
    """Why the write of `path` failed, in a few words: "the disk is full", else e's reason."""
    return "the disk is full" if disk_full(path, e) else error_reason(e)


def error_reason(e):
    """An exception's own reason: an OSError's strerror, else its type and message."""
    return e.strerror if isinstance(e, OSError) and e.strerror else f"{type(e).__name__}: {e}"


def disk_full(path, e):
    """Whether e is a full disk or quota. torch.save's writer error names no errno: there a
    nearly full disk is taken as the cause."""
    if getattr(e, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return True
    try:
        return not isinstance(e, OSError) and shutil.disk_usage(path.parent).free < 64 * 2**20
    except OSError:
        return False


def os_error_message(e):
    """One line for an OSError that reached the command line: what failed, on which file."""
    where = f" ({e.filename})" if getattr(e, "filename", None) else ""
    return f"{e.strerror or e}{where}; check the path, its permissions and free space"


def save_json(path, obj):
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    write_atomic(path, write)


def save_figure(path, fig, dpi=150):
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=Path(path).suffix[1:]))


def check_out_dir(path, overwrite=False):
    """Refuse a run folder that is a file, or that already holds files unless overwrite.

    Called before any work, so a mistake costs nothing and no earlier result is touched.
    """
    path = Path(path)
    existing = next(p for p in (path, *path.parents) if p.exists())  # the folder itself or the one to hold it
    if not existing.is_dir():
        raise LinclfError(f"--out {path}: {existing} is a file, not a folder; choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise LinclfError(f"--out {path}: {existing} is not writable; choose another --out")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise LinclfError(f"--out {path} already holds files; choose another --out or pass --overwrite")
    return path


def nearest_existing(path):
    """path, or the nearest of its parents that exists: where a download can stage beside it."""
    return next(p for p in (Path(path).absolute(), *Path(path).absolute().parents) if p.exists())


@contextlib.contextmanager
def staging_folder(folder):
    """A hidden temporary folder inside `folder`, removed on leaving however it is left: a download
    lands there and is moved into place only once complete, so a failed one leaves nothing behind."""
    tmp = Path(tempfile.mkdtemp(prefix=".linclf-download-", dir=folder))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
