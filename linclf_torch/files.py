"""Writing results safely: every file appears whole or not at all (temporary file + rename)."""
import json
import os
import tempfile
from pathlib import Path

from .errors import LinclfError

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path, write):
    """Call write(tmp_path) on a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are ordinary files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


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
