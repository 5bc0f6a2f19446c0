"""The painter: a second Python process that draws `linclf train`'s figures, so that nobody waits for matplotlib.

Drawing the three figures in the command's own process took 1.1–1.4 s after training (the
README's 2-core machine): 0.5–0.7 s importing matplotlib, 0.2 s loading its fonts, 0.4–0.5 s
drawing and writing the files. The command starts the painter before it imports torch
(cli.main): on another core, the painter imports matplotlib and loads its fonts while the
command imports torch (single-threaded, 2.5 s) and trains. After training, the command
hands it the figures (`paint`), tests the model and writes results.json meanwhile, then
waits for the files (`wait`).

The painter draws with plots.py and writes each file as files.save_figure does (whole or
not at all), so its files are the same, byte for byte, as those drawn in process. It never
writes to the terminal. Whatever goes wrong with it (it cannot start, it dies), the
figures are drawn in the command's process instead; a file it cannot write (a full disk)
is the same one-line LinclfError as in process. Without a painter (Painter(start=False):
run() called from Python, the experiment scripts) figures are drawn in process.

The exchange, on the painter's stdin and stdout: one pickled {path: (plots function, args,
kwargs)} in; one line out, "ok" or "error <message>". No request (stdin closed), Ctrl-C,
SIGTERM or SIGHUP: the painter ends; a file it was writing is removed (files.write_atomic).
"""
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

from .errors import LinclfError, Terminated
from .threads import add_helper, remove_helper

CHILD = "import sys; sys.path.insert(0, sys.argv[1]); from linclf_torch.painter import serve; serve()"


def draw(figures):
    """Draw and save {path: (plots function name, args, kwargs)} in this process."""
    from . import plots  # matplotlib: only when drawing
    from .files import save_figure
    for path, (name, args, kwargs) in figures.items():
        save_figure(path, getattr(plots, name)(*args, **kwargs))


class Painter:
    """The command's side of the painter process; start=False (or a failed start): none, and
    paint() draws in this process."""

    def __init__(self, start=True):
        self.process, self.pending = None, None
        if start and sys.executable:  # an embedded Python may not know its executable
            try:
                self.process = subprocess.Popen([sys.executable, "-c", CHILD, str(Path(__file__).resolve().parents[1])],
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                stderr=subprocess.DEVNULL)
            except OSError:  # no way to start Python again here: draw in process
                return
            add_helper(self.process.pid)  # its CPU is not other processes' load (--threads auto)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def paint(self, figures):
        """Start drawing {path: (plots function name, args, kwargs)}: the painter starts now, this
        process (without a painter) in wait(). The files exist once wait() returns."""
        if self.process is not None:
            try:
                pickle.dump(figures, self.process.stdin)
                self.process.stdin.close()
            except OSError:  # the painter died (a broken pipe): draw here
                self.close()
        self.pending = figures

    def wait(self):
        """Block until the figures paint() was given are written; a LinclfError if one could not be."""
        figures, self.pending = self.pending, None
        if figures is None:
            return
        if self.process is not None:
            reply = self.process.stdout.readline().decode()  # "" if the painter died
            self.close(terminate=False)  # it has answered: it ends by itself
            if reply.startswith("error "):
                raise LinclfError(reply[len("error "):].strip())
            if reply == "ok\n":
                return
        draw(figures)

    def close(self, terminate=True):
        """End the painter, if it runs; one that is writing a file removes it first."""
        if self.process is None:
            return
        process, self.process, self.pending = self.process, None, None
        if terminate and process.poll() is None:
            process.terminate()  # SIGTERM: Terminated in the painter, whose write_atomic cleans up
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        remove_helper(process.pid)
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:  # unsent bytes of a request to a painter that died
                pass


def serve():
    """The painter process: answer the one request, then end at once (its files are written and
    closed: Python's clean-up of matplotlib would take 0.1 s more)."""
    Terminated.handle()  # SIGTERM and SIGHUP end it like Ctrl-C: through the finally of write_atomic
    try:
        reply = answer()
    except (EOFError, KeyboardInterrupt):  # the command ended without figures, or was interrupted
        reply = None
    if reply is not None:
        sys.stdout.write(reply + "\n")
        sys.stdout.flush()
    os._exit(0)


def answer():
    """Import matplotlib and load its fonts, then draw the request: "ok" or "error <message>"."""
    from . import plots
    warm_up(plots)
    figures = pickle.load(sys.stdin.buffer)
    try:
        draw(figures)
    except LinclfError as e:
        return "error " + " ".join(str(e).splitlines())
    return "ok"


def warm_up(plots):
    """Load the fonts (0.2 s), which matplotlib does at the first text it draws."""
    plots.accuracy_figure([{"epoch": 1, "train_acc": 0.5, "val_acc": 0.5}]).savefig(io.BytesIO(), format="png")
