"""What every script in experiments/ shares: its flags, its data, its output folder.

A script is one function that reads top to bottom (load, train, report), made a command by
the `script` decorator:

    @script("a1_settings", __doc__)
    def main(args, exp):
        data = exp.data("a1")                         # CIFAR-10 from --data-dir, split, on --device
        ...                                           # train, evaluate on test once
        exp.write(results, report, figures, device)   # results.json, report.md, PNGs in --out

`main(argv=None)` then parses the common flags (and the script's own), refuses an --out that
already holds files before any work, sets --threads, and turns a mistake, a full disk,
Ctrl-C or SIGTERM into one line and an exit code, as `linclf` does (exits.exit_codes).
"""
import argparse
import functools
import shlex
import sys
import time
from pathlib import Path

import torch

from ..data.cifar import load_cifar10
from ..data.prepare import prepare, resolve_device
from ..figures.tables import pct
from ..files import check_out_dir, save_figure, write_atomic
from ..runs.results import env_info, write_results
from ..threads import set_threads, threads_in_words
from .exits import exit_codes
from .parse import Parser, add_data_flags


class ScriptRun:
    """One invocation of a script: its flags, the data it loads, its clock, what it writes."""

    def __init__(self, args, command):
        self.args, self.command, self.start = args, command, time.perf_counter()

    @functools.cached_property
    def raw(self):
        """CIFAR-10 from --data-dir, read (or decoded) once."""
        a = self.args
        return load_cifar10(a.data_dir, verify=not a.no_verify, cache_dir=a.cache_dir or "auto",
                            progress=not a.no_progress)

    @functools.cache  # noqa: B019 (one ScriptRun per script run: its cache lives as long as the script)
    def data(self, split="a1", n_val=1000, flip=False, dtype=torch.float32):
        """A split prepared once on --device (data.prepare), however often asked for."""
        return prepare(self.raw, split=split, n_val=n_val, flip=flip, device=resolve_device(self.args.device),
                       dtype=dtype)

    def write(self, results, report, figures=None, device="cpu"):
        """results.json (with env, the command and the wall time), report.md ending with a line
        saying how it was measured, and the figures (name -> Figure, PNG at dpi 150), in --out."""
        out, env = Path(self.args.out), env_info(device)
        out.mkdir(parents=True, exist_ok=True)
        wall = time.perf_counter() - self.start
        report += (f"\n\nMeasured with `{self.command}` on {env['device']} ({env['device_name']}, "
                   f"{threads_in_words(env['threads'])}), torch {env['torch']}, commit {str(env['git_commit'])[:7]}: "
                   f"wall time {wall:.0f} s, data loading included.")
        write_results(out, {**results, "command": self.command, "script_wall_time_s": wall}, env)
        write_atomic(out / "report.md", lambda tmp: Path(tmp).write_text(report + "\n"))
        for name, fig in (figures or {}).items():
            save_figure(out / f"{name}.png", fig)
        print(report)
        print(f"wrote {out}/results.json, report.md" + "".join(f", {n}.png" for n in figures or {}))


def script(name, doc, *flags, defaults=None):
    """Decorator: body(args, exp) -> main(argv=None) -> exit code (see the module docstring).

    flags: the script's own, each (flag, argparse keywords), e.g. ("--n-val", {"type": int});
    defaults: other defaults for the common flags, e.g. {"data_dir": None}.
    """
    def make_main(body):
        def main(argv=None):
            p = Parser(prog=f"experiments/{name}.py", description=doc,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
            add_common_flags(p, name)
            for flag, keywords in flags:
                p.add_argument(flag, **keywords)
            p.set_defaults(**(defaults or {}))
            # Ctrl-C: the finished runs' results are in memory only
            with exit_codes(p.prog, error_prefix="error", stopped_note="; no results were written") as ended:
                args = p.parse_args(argv)
                check_out_dir(args.out, args.overwrite)
                set_threads(args.threads)
                body(args, ScriptRun(args, shlex.join(["python", p.prog, *(sys.argv[1:] if argv is None else argv)])))
                return 0
            return ended.code
        main.__doc__ = doc
        return main
    return make_main


def add_common_flags(p, name):
    add_data_flags(p, data_dir="data", device="auto")
    p.add_argument("--out", default=f"experiments/results/{name}", metavar="DIR",
                   help="output folder (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace the files of an earlier run in --out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a tiny run (a few epochs) to check that everything works")
    p.add_argument("--no-progress", action="store_true")


def accuracy_row(final):
    """train, val and test accuracy and the train − val gap (points), for a results table."""
    return [pct(final["train_acc"]), pct(final["val_acc"]), pct(final["test_acc"]),
            f"{100 * (final['train_acc'] - final['val_acc']):.2f}"]


ACCURACY_HEADERS = ["train acc", "val acc", "test acc", "train − val (points)"]
N_VAL_FLAG = ("--n-val", {"type": int, "default": 1000, "help": "validation images of the full split (default 1000)"})
