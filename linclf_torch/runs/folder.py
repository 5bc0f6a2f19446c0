"""A run folder, kept current while the run trains and locked against a second process.

The sequence (run.py drives it):
    open()        refuse a folder that already holds files (unless overwrite, or resuming it),
                  create it, lock it: a second `linclf train --out` on it is refused at once
    save_epoch()  after every epoch: model.pt (parameters and training state), then
                  results.json ("status": "running"); the first save of a new run removes the
                  files an overwritten run left there
    finish()      results.json ("completed" or "diverged"), then the figures (draw)
    interrupted() Ctrl-C or SIGTERM: results.json describes the epoch model.pt holds, read
                  back from model.pt itself (the signal can land between its rename and the
                  bookkeeping after it)
    close()       unlock; a folder this run created and never wrote to is removed again
Every file is written atomically (files.write_atomic), so a crash at any moment leaves the
last completed epoch: `linclf train --resume` continues from it.
"""
import os
from pathlib import Path

from ..errors import LinclfError
from ..files import check_out_dir, save_figure
from .checkpoint import read_checkpoint, save_checkpoint
from .results import write_results

OUTPUTS = ("results.json", "model.pt", "curves.png", "accuracy.png", "eta.png", "weights.png",
           "samples.txt", "loss.png")  # the last two: a character-RNN run's (rnn_run.py)


class RunFolder:
    def __init__(self, path, *, overwrite=False, resuming=False, command="linclf train"):
        self.path = Path(path)
        self.overwrite, self.resuming = overwrite, resuming
        self.command = command   # the command that writes such folders, as messages name it
        self.written = resuming  # whether model.pt and results.json are this run's
        self._created = []       # folders open() made, deepest first
        self._lock = None        # the locked file descriptor of the folder

    def open(self):
        if self.resuming and not self.path.is_dir():
            raise LinclfError(f"--resume {self.path} is not a folder; "
                              f"pass the --out folder of an earlier `{self.command}`")
        if not self.resuming:
            check_out_dir(self.path, self.overwrite)
        missing = [p for p in (self.path, *self.path.parents) if not p.exists()]
        self.path.mkdir(parents=True, exist_ok=True)
        self._created = missing
        self._lock = lock_folder(self.path, self.command)
        return self

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._lock is not None:
            os.close(self._lock)  # releases the lock
            self._lock = None
        for folder in self._created:  # nothing was written: leave no trace
            try:
                folder.rmdir()  # only if empty
            except OSError:
                break
        self._created = []

    def claim(self):
        """Before this run's first write: remove the files an overwritten run left (only with
        overwrite can there be any), and keep the folder from now on."""
        if not self.written:
            for name in OUTPUTS:
                (self.path / name).unlink(missing_ok=True)
            self.written = True
        self._created = []

    def save_epoch(self, model, data, cfg, state, results, env):
        self.claim()
        save_checkpoint(self.path / "model.pt", model, data, cfg, state, results.get("data"))
        write_results(self.path, results, env)

    def saved_state(self):
        """The training state model.pt holds now, or None when this run has saved none."""
        if not (self.written and (self.path / "model.pt").is_file()):
            return None
        return read_checkpoint(self.path)[1]["train_state"]

    def interrupted(self, results, env):
        if self.written:
            write_results(self.path, results, env)

    def finish(self, results, env, figures):
        """results.json of a run that has ended, then its figures {name: Figure} as name.png."""
        self.claim()
        write_results(self.path, results, env)
        for name, fig in figures.items():
            save_figure(self.path / f"{name}.png", fig)


def lock_folder(path, command="linclf train"):
    """An exclusive lock on the folder (flock on its descriptor), or a LinclfError if another
    process holds it. The kernel releases it when the process ends, however it ends, so a
    crashed run never leaves a folder locked. Where folders cannot be locked (a file system
    without flock, or no fcntl: Windows), the run goes on unlocked.
    """
    try:
        import fcntl
    except ImportError:
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise LinclfError(f"{path} is in use by another running `{command}`: wait for it to finish, "
                          "or choose another --out") from None
    except OSError:
        return fd  # no locks on this file system
    return fd


def written(out):
    """The files a command wrote into its folder, sorted (not the hidden ones of a run before)."""
    return sorted(f.name for f in Path(out).iterdir() if not f.name.startswith("."))
