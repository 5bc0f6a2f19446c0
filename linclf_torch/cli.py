"""The `linclf` command: a thin argparse front end over the library, no logic of its own.

Exit codes: 0 done, 2 a mistake in the command or the files it names (one line on stderr,
nothing written), 3 training diverged, 130 interrupted (Ctrl-C). README: "When things go wrong".
"""
import argparse
import sys
import time
from dataclasses import fields
from pathlib import Path

from .checkpoint import load_checkpoint, prepare_test
from .cifar import load_cifar10
from .data import load_data, resolve_device
from .errors import LinclfError
from .files import check_out_dir
from .grid import expand_grid, run_grid, write_grid
from .nn import accuracy
from .resume import resume_config
from .run import Interrupted, run
from .threads import add_threads_flag, set_threads
from .config import TrainConfig
from .train import confusion_matrix

D = TrainConfig()
DATA_DIR = "data"


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is a LinclfError: one line and exit 2, like any other."""

    def error(self, message):
        raise LinclfError(f"{message} (see `{self.prog} --help`)")


def add_data_flags(p):
    p.add_argument("--data-dir", help=f"CIFAR-10 folder: official pickles, train/ and test/ image folders, "
                   f"or empty to download (default: {DATA_DIR}; with --resume, the run's)")
    p.add_argument("--no-verify", action="store_true", help="accept pickles whose checksums differ from the official ones")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help=f"default: {D.device}")
    add_threads_flag(p)


SWEPT = ("loss", "eta", "lam", "batch_size", "epochs", "decay")  # list-valued in `linclf grid`


def add_run_flags(p, many):
    """Training flags; with many=True each hyperparameter takes a list of values (linclf grid).

    A flag named after a TrainConfig field is None when not given, so that --resume can tell
    a flag from its default; config_from fills in TrainConfig's defaults.
    """
    add_data_flags(p)

    def flag(name, help="", **kw):
        if many and name in SWEPT:
            kw["nargs"] = "+"
        p.add_argument("--" + name.replace("_", "-"), default=None, help=f"{help} (default: {getattr(D, name)})", **kw)
    flag("split", "a1 (10k/10k/10k), full (50k less --n-val) or random (--n-val drawn at random for validation)")
    flag("n_val", "validation images of --split full or random", type=int)
    flag("classes", "keep these classes, labelled 0..K−1 in this order", nargs="+")
    flag("image_size", "resize the images to this many pixels per side", type=int)
    flag("normalize", "standardize per pixel or per channel")
    flag("model", "the classifier: linear or mlp")
    flag("hidden", "hidden layer sizes of the MLP, e.g. 128 32", nargs="+", type=int)
    flag("momentum", "SGD momentum μ", type=float)
    flag("weight_decay", "SGD weight decay: g += wd·θ", type=float)
    flag("dtype", "float32 or float64")
    flag("loss", "ce (softmax + cross-entropy) or mbce (sigmoid + multiple BCE)")
    flag("eta", "learning rate", type=float)
    flag("lam", "L2 strength λ in J = loss + λ‖W‖²", type=float)
    flag("batch_size", "images per mini-batch", type=int)
    flag("epochs", "passes over the training split (with --resume: the new total)", type=int)
    flag("decay", "none, step:EVERY:FACTOR or plateau[:PATIENCE:FACTOR]")
    flag("flip", "probability of mirroring each training image", type=float)
    flag("shuffle", "reshuffle the training set every epoch", action="store_true")
    flag("seed", "init, shuffle and flip randomness", type=int)
    p.add_argument("--out", help="output folder (default: a new folder under runs/)")
    p.add_argument("--overwrite", action="store_true", help="allow --out to be a folder that already holds files")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def given(args):
    """The TrainConfig fields given on the command line (for a grid, lists for the swept ones)."""
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}
    return {k: tuple(v) if k in ("hidden", "classes") else v for k, v in values.items()}  # TrainConfig's tuples


def config_from(args):
    """TrainConfig from parsed flags (for a grid: the first value of each list)."""
    return TrainConfig(**{k: v[0] if isinstance(v, list) else v for k, v in given(args).items()})


def parser():
    top = Parser(prog="linclf", description="Linear and MLP classifiers on CIFAR-10 with hand-written backprop.")
    sub = top.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a classifier and write results, checkpoint and figures")
    add_run_flags(t, many=False)
    t.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last completed epoch, "
                   "with its own settings (only --epochs may change)")

    g = sub.add_parser("grid", help="train every combination of the given values, rank by validation accuracy")
    add_run_flags(g, many=True)
    g.add_argument("--top", type=int, default=10, help="rows of the ranking table (default 10)")

    e = sub.add_parser("evaluate", help="accuracy and confusion matrix of a checkpoint on the test split")
    e.add_argument("checkpoint", help="model.pt from a run folder, or the folder")
    add_data_flags(e)
    return top


def out_and_data(args, cfg, resumed=None):
    """Check --out before any work, then load the data onto the device once.

    resumed: results.json's "data" of the run --resume continues (its data folder), which
    is also the output folder. Returns (out, data, source), source for results.json.
    """
    device = resolve_device(cfg.device)
    if resumed is None:
        out = check_out_dir(args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S"), args.overwrite)
        data_dir, verify = args.data_dir or DATA_DIR, not args.no_verify
    else:
        out = Path(args.resume)
        data_dir = args.data_dir or resumed.get("data_dir") or DATA_DIR
        verify = not args.no_verify and resumed.get("verify", True)
    data = load_data(data_dir, split=cfg.split, n_val=cfg.n_val, classes=cfg.classes, image_size=cfg.image_size,
                     normalize=cfg.normalize, seed=cfg.seed, flip=cfg.flip > 0, device=device,
                     dtype=cfg.torch_dtype, verify=verify, progress=not args.no_progress)
    return out, data, {"data_dir": str(Path(data_dir).resolve()), "verify": verify}


def train_command(args):
    if args.resume is None:
        cfg, checkpoint, resumed = config_from(args), None, None
    elif args.out is not None:
        raise LinclfError(f"--resume continues in {Path(args.resume)} itself; drop --out "
                          "(copy the folder first to fork it)")
    else:
        cfg, checkpoint, resumed = resume_config(args.resume, given(args))
    out, data, source = out_and_data(args, cfg, resumed)
    try:
        results, _ = run(cfg, data, out, progress=not args.no_progress, resume=checkpoint, source=source)
    except Interrupted as e:
        done = e.results["epochs_completed"]
        print(f"linclf: interrupted during epoch {done + 1} of {cfg.epochs}: " + (
              f"{out} keeps epoch {done}, marked interrupted; continue with `linclf train --resume {out}`"
              if done else "no epoch was completed, nothing was written"), file=sys.stderr)
        return 130
    if results["status"] == "diverged":
        done = results["epochs_completed"]
        print(f"linclf: training diverged: the cost became NaN or inf in epoch {results['diverged_epoch']}; "
              f"{out}/results.json says so" + (f" and model.pt keeps epoch {done}" if done else "") +
              "; try a smaller --eta (or --lam)", file=sys.stderr)
        return 3
    f = results["final"]
    print(f"train acc {f['train_acc']:.4f}  val acc {f['val_acc']:.4f}  test acc {f['test_acc']:.4f}  "
          f"({results['wall_time_s']:.1f} s on {results['env']['device_name']})")
    print(f"wrote {out}/: {', '.join(sorted(f.name for f in out.iterdir()))}")
    return 0


def grid_command(args):
    lists = {k: v for k, v in given(args).items() if k in SWEPT}
    configs = expand_grid(config_from(args), **lists)
    out, data, _ = out_and_data(args, configs[0])
    results, models = run_grid(configs, data, progress=not args.no_progress)
    varied = [k for k, values in lists.items() if len(values) > 1]
    report = write_grid(out, results, models, data, varied, top=args.top)
    print(report)
    print(f"wrote {out}/results.json, report.md" + (", heatmap.png" if (out / "heatmap.png").exists() else ""))
    return 0


def evaluate_command(args):
    device = resolve_device(args.device or D.device)
    model, state = load_checkpoint(args.checkpoint, device)
    X, y = prepare_test(state, load_cifar10(args.data_dir or DATA_DIR, verify=not args.no_verify), device)
    pred = model.predict(X)
    K, classes = len(state["classes"]), state["classes"]
    C = confusion_matrix(y, pred, K).tolist()
    print(f"test accuracy {accuracy(pred, y).item():.4f} on {len(y)} images")
    width = max(len(c) for c in classes)
    print(" " * width + "  predicted: " + " ".join(f"{c[:5]:>5}" for c in classes))
    for c, row in zip(classes, C):
        print(f"{c:>{width}}  {' ' * 11}" + " ".join(f"{v:>5}" for v in row))
    return 0


def main(argv=None):
    commands = {"train": train_command, "grid": grid_command, "evaluate": evaluate_command}
    try:
        args = parser().parse_args(argv)
        set_threads(args.threads)
        return commands[args.command](args)
    except LinclfError as e:
        print(f"linclf: error: {' '.join(str(e).splitlines())}", file=sys.stderr)
    except OSError as e:  # a disk that is full, a folder we may not write: not a bug to trace back
        where = f" ({e.filename})" if e.filename else ""
        print(f"linclf: error: {e.strerror or e}{where}; check the path, its permissions and free space",
              file=sys.stderr)
    except KeyboardInterrupt:  # outside an epoch loop: run() reports its own
        print("linclf: interrupted", file=sys.stderr)
        return 130
    return 2
