"""What every script in experiments/ shares: its flags, its run folder and its report.md."""
import argparse
import functools
import shlex
import sys
import time
from pathlib import Path

import torch

from .cifar import load_cifar10
from .cli import Parser
from .data import prepare, resolve_device
from .errors import LinclfError, Terminated
from .files import check_out_dir, os_error_message, save_figure, save_json, write_atomic
from .run import env_info
from .tables import pct
from .threads import add_threads_flag, set_threads


def parser(name, description):
    """The flags every experiment takes; the script adds its own."""
    p = Parser(prog=f"experiments/{name}.py", description=description,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="data", help="CIFAR-10 folder (see the README's Data section)")
    p.add_argument("--no-verify", action="store_true", help="accept pickles that differ from the official ones")
    p.add_argument("--cache-dir", metavar="PATH", help="where decoded images are cached (default: beside the data "
                   "when that folder is writable, else ~/.cache/linclf_torch)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--out", default=f"experiments/results/{name}", help="output folder (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace the files of an earlier run in --out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a tiny run (a few epochs) to check that everything works")
    add_threads_flag(p)
    p.add_argument("--no-progress", action="store_true")
    return p


def script_main(body, build_parser, argv=None):
    """Parse argv, refuse a non-empty --out early, run body(args); LinclfError -> one line, exit 2.

    args also carries `command` (the command line, for report.md) and `start` (for the wall time).
    """
    p = build_parser()
    previous = Terminated.handle()
    try:
        args = p.parse_args(argv)
        args.command = shlex.join(["python", p.prog, *(sys.argv[1:] if argv is None else argv)])
        args.start = time.perf_counter()
        check_out_dir(args.out, args.overwrite)
        set_threads(args.threads)
        body(args)
    except LinclfError as e:
        print(f"error: {' '.join(str(e).splitlines())}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {os_error_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # results of finished runs are in memory only: nothing to keep
        print(f"{p.prog}: {Terminated.describe(getattr(e, 'signal', e))}; no results were written", file=sys.stderr)
        return Terminated.exit_code(getattr(e, "signal", e))
    finally:
        Terminated.restore(previous)
    return 0


def split_loader(args):
    """CIFAR-10 read once from --data-dir; get(split, n_val, flip) prepares each split once on --device."""
    device = resolve_device(args.device)
    raw = load_cifar10(args.data_dir, verify=not args.no_verify, cache_dir=args.cache_dir or "auto",
                       progress=not args.no_progress)

    @functools.cache
    def get(split="a1", n_val=1000, flip=False, dtype=torch.float32):
        return prepare(raw, split=split, n_val=n_val, flip=flip, device=device, dtype=dtype)
    return get


def accuracy_row(final):
    """train, val and test accuracy and the train − val gap (points), for a results table."""
    return [pct(final["train_acc"]), pct(final["val_acc"]), pct(final["test_acc"]),
            f"{100 * (final['train_acc'] - final['val_acc']):.2f}"]


ACCURACY_HEADERS = ["train acc", "val acc", "test acc", "train − val (points)"]


def write_outputs(out, results, report, figures=None, device="cpu", args=None):
    """results.json (with env), report.md and the figures (name -> Figure, saved as PNG, dpi 150).

    With args (from script_main), results.json gets the command and the script's wall time so
    far, and report.md ends with a line saying command, device and wall time.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = env_info(device)
    if args is not None:
        wall = time.perf_counter() - args.start
        results = {**results, "command": args.command, "script_wall_time_s": wall}
        report += (f"\n\nMeasured with `{args.command}` on {env['device']} ({env['device_name']}, "
                   f"{env['threads']} threads), torch {env['torch']}, commit {str(env['git_commit'])[:7]}: "
                   f"wall time {wall:.0f} s, data loading included.")
    save_json(out / "results.json", {**results, "env": env})
    write_atomic(out / "report.md", lambda tmp: Path(tmp).write_text(report + "\n"))
    for name, fig in (figures or {}).items():
        save_figure(out / f"{name}.png", fig)
    print(report)
    print(f"wrote {out}/results.json, report.md" + "".join(f", {n}.png" for n in figures or {}))
