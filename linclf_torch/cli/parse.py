"""The `linclf` command: a thin argparse front end over the library, no logic of its own.

It parses and validates the whole command before importing torch (which takes seconds), so
`--help` and every flag mistake answer at once; each command imports what it needs.
Exit codes: 0 done, 1 `gradcheck` found a wrong gradient, 2 a mistake in the command or the
files it names (one line on stderr), 3 training diverged, 130 interrupted (Ctrl-C), 143
terminated (SIGTERM).
docs/cli.md: "When things go wrong".
"""
import argparse
import os
import sys

from .. import __version__
from ..errors import LinclfError
from ..threads import add_threads_flag
from ..training.config import (
    DATA_DIR,
    DEVICES,
    DTYPES,
    LOSSES,
    MODELS,
    NORMALIZE,
    SPLITS,
    SWEPT,
    TrainConfig,
    expand_grid,
    given,
)
from ..yourgrad.names import MODELS as MODELS_CHECKED
from ..yourgrad.names import OPTIONS as FAMILY_OPTIONS
from ..yourgrad.usercode import parse_spec
from .exits import exit_codes
from .rnnflags import add_rnn_parsers, validate_rnn

D = TrainConfig()


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is a LinclfError: one line and exit 2, like any other."""

    def error(self, message):
        raise LinclfError(f"{message} (see `{self.prog} --help`)")


def add_data_flags(p, data_dir=None, device=None, *, data_default=None, resume=False):
    """--data-dir, --cache-dir, --no-verify, --device and --threads: the data and where it runs, the
    same flags for `linclf`, the scripts in experiments/ and the walk-through.

    data_dir, device: the flags' defaults; None leaves them to the command (`linclf` tells a
    flag from its default for --resume and fills in TrainConfig's). data_default: how --help
    words --data-dir's default (default: data_dir). resume: --threads keeps a resumed run's.
    """
    p.add_argument("--data-dir", default=data_dir, metavar="PATH",
                   help="CIFAR-10 folder: official pickles, train/ and test/ image folders, or empty to download "
                   f"(default: {data_default or data_dir}; docs/data.md)")
    p.add_argument("--cache-dir", metavar="PATH", help="where decoded images are cached (default: beside the data "
                   "when that folder is writable, else ~/.cache/linclf_torch; docs/data.md)")
    p.add_argument("--no-verify", action="store_true",
                   help="accept pickles whose checksums differ from the official ones")
    p.add_argument("--device", default=device, choices=DEVICES,
                   help=f"default: {D.device}, CUDA when PyTorch sees a GPU")
    add_threads_flag(p, resume=resume)


def add_run_flags(p, command):
    """Training flags; for `grid` each hyperparameter in SWEPT takes a list of values.

    A flag named after a TrainConfig field is None when not given, so that --resume can tell
    a flag from its default; config_from fills in TrainConfig's defaults.
    """
    add_data_flags(p, data_default=DATA_DIR if command == "grid" else f"{DATA_DIR}; with --resume, the run's",
                   resume=command == "train")
    many = command == "grid"

    def flag(name, help="", choices=None, **kw):
        if many and name in SWEPT:
            kw["nargs"] = "+"
        if choices:  # shown in --help; TrainConfig checks the value and says what is wrong
            kw["metavar"] = "{" + ",".join(choices) + "}"
        p.add_argument("--" + name.replace("_", "-"), default=None, help=f"{help} (default: {getattr(D, name)})", **kw)
    flag("split", "a1 (10k/10k/10k), full (50k less --n-val) or random (--n-val drawn at random for validation)",
         SPLITS)
    flag("n_val", "validation images of --split full or random", type=int)
    flag("classes", "keep these classes, labelled 0..K−1 in this order", nargs="+")
    flag("image_size", "resize the images to this many pixels per side", type=int)
    flag("normalize", "standardize per pixel or per channel", NORMALIZE)
    flag("model", "the classifier; conv: DD2424 A3's patchify ConvNet (--filter-size, --filters, --hidden)", MODELS)
    flag("hidden", "hidden layer sizes of the MLP, e.g. 128 32; the ConvNet's one, nh, e.g. 50", nargs="+", type=int)
    flag("filter_size", "the ConvNet's filters are F × F × 3, applied with stride F (F divides the image side)",
         type=int, metavar="F")
    flag("filters", "the ConvNet's number of filters nf", type=int, metavar="NF")
    flag("conv_bias", "the ConvNet's filters have a bias each", action="store_true")
    flag("label_smoothing", "ε: cross-entropy against 1 − ε on the true class and ε/(K − 1) on the others",
         type=float, metavar="EPS")
    flag("init", "the MLP's init: torch (nn.Linear's), dd2424 (N(0, 1/in), b = 0), he (N(0, 2/in), b = 0) "
         "or normal:SIGMA (N(0, σ²), b = 0)")
    flag("batchnorm", "batch-normalise every hidden layer of the MLP before its ReLU", action="store_true")
    flag("momentum", "SGD momentum μ", type=float)
    flag("weight_decay", "SGD weight decay: g += wd·θ", type=float)
    flag("dtype", "floating-point type of data and parameters", DTYPES)
    flag("loss", "ce (softmax + cross-entropy) or mbce (sigmoid + multiple BCE)", LOSSES)
    flag("eta", "learning rate: a number, or cyclic:MIN:MAX:N_S, the triangular cyclical rate rising from MIN to "
         "MAX over N_S update steps and back")
    flag("lam", "L2 strength λ in J = loss + λ‖W‖²", type=float)
    flag("batch_size", "images per mini-batch", type=int)
    flag("epochs", "passes over the training split" + (" (with --resume: the new total)" if command == "train" else ""),
         type=int)
    flag("cycles", "with --eta cyclic:…: train exactly 2·N·N_S update steps (instead of --epochs)", type=int,
         metavar="N")
    flag("cycle_growth", "with --eta cyclic:…: each cycle this many times as long as the one before (cycle i: "
         "N_S·G^(i−1) steps up, as many down)", type=int, metavar="G")
    flag("records_per_cycle", "with --eta cyclic:…: record the metrics this many times a cycle; 0: only at the end",
         type=int, metavar="N")
    flag("decay", "none, step:EVERY:FACTOR or plateau[:PATIENCE:FACTOR]")
    flag("flip", "probability of mirroring each training image", type=float)
    flag("shuffle", "reshuffle the training set every epoch", action="store_true")
    flag("seed", "init, shuffle and flip randomness", type=int)
    flag("cuda_graphs", "on CUDA, replay each epoch as a CUDA graph (opt-in: not yet run on a GPU)",
         action="store_true")
    p.add_argument("--out", metavar="DIR", help="output folder (default: a new folder under runs/)")
    p.add_argument("--overwrite", action="store_true", help="allow --out to be a folder that already holds files")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines")


def config_from(args):
    """TrainConfig from parsed flags (for a grid: the first value of each list)."""
    return TrainConfig(**{k: v[0] if isinstance(v, list) else v for k, v in given(args).items()})


def parser():
    top = Parser(prog="linclf", description="Linear, MLP and ConvNet classifiers on CIFAR-10 with hand-written "
                 "backprop.")
    top.add_argument("--version", action="version", version=f"linclf_torch {__version__}")
    sub = top.add_subparsers(dest="command", required=True, parser_class=Parser)

    t = sub.add_parser("train", help="train a classifier and write results, checkpoint and figures")
    add_run_flags(t, "train")
    t.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last completed epoch, "
                   "with its own settings (only --epochs may change; a --cycles run keeps its length)")

    g = sub.add_parser("grid", help="train every combination of the given values, rank by validation accuracy")
    add_run_flags(g, "grid")
    g.add_argument("--top", type=int, default=10, help="rows of the ranking table (default 10)")

    e = sub.add_parser("evaluate", help="accuracy and confusion matrix of a checkpoint on the test split")
    e.add_argument("checkpoint", help="model.pt from a run folder, or the folder")
    add_data_flags(e, data_default=f"the one the run was trained on, else {DATA_DIR}")

    c = sub.add_parser("gradcheck", help="check your own gradient function against the library's, naming "
                       "known mistakes",
                       description="Run your function on DD2424's gradient-check cases and compare its gradients with "
                       "linclf_torch's, in float64. Exit 0: every case passes; 1: a gradient (or your forward) is "
                       "wrong (the table and the mistakes found say which and why); 2: a mistake in the command, or "
                       "your function raised or returned the wrong arrays. docs/gradcheck.md.")
    c.add_argument("function", metavar="FILE:FUNCTION", help="FILE.py:FUNCTION, NOTEBOOK.ipynb:FUNCTION or "
                   "FILE.py:Class.method. A .py file is imported, so its top-level code runs: your own code, run "
                   "with your permissions, as you ask; of a notebook only the definitions run (imports, functions, "
                   "classes, constants set without calls)")
    c.add_argument("--model", choices=MODELS_CHECKED, default=None,
                   help="linear: Assignment 1's classifier; two-layer: Assignment 2's d → m → K network with ReLU; "
                   "batchnorm: Assignment 3's BatchNormBackPass(G, S, mu, v) alone; k-layer-bn: Assignment 3's network "
                   "with batch norm; conv: Assignment 3's (2025/26) patchify ConvNet (default: two-layer with "
                   "--forward, else linear)")
    c.add_argument("--layout", choices=("dd2424", "torch"), default=None,
                   help="dd2424: X (d, n), Y one-hot (K, n), one image per column; torch: X (n, d), y (n,) labels "
                   "(default: whichever your function runs with, dd2424 tried first)")
    c.add_argument("--loss", choices=LOSSES, default="ce", help="ce: P = softmax(S); mbce: P = σ(S) (default: ce)")
    c.add_argument("--forward", metavar="FUNCTION", default=None, help="your forward pass in the same file, "
                   "FUNCTION(X, net), whose result your backward takes as fp_data and whose P is checked first "
                   "(default: the one function whose name reads as a forward pass, ApplyNetwork, apply_network, "
                   "EvaluateClassifier, …, if the file has exactly one)")
    c.add_argument("--cost", metavar="FUNCTION", default=None, help="your cost J in the same file, FUNCTION(X, Y, "
                   "net, lam) (linear: ComputeCost(X, Y, W, b, lam)): your gradients are also compared with its "
                   "centred differences, which tells a wrong backward from a wrong cost or forward")
    c.add_argument("--arrays", choices=("auto", "torch", "numpy"), default="auto", help="call FUNCTION with "
                   "torch tensors or numpy arrays; auto: numpy arrays when its file imports numpy and not torch, or "
                   "when it fails on tensors and works on arrays, else tensors. It may return either (default: auto)")
    c.add_argument("--numpy", dest="arrays", action="store_const", const="numpy", help="the same as --arrays numpy")
    c.add_argument("--seed", type=int, default=0, help="the cases' random data (default: 0)")
    c.add_argument("--conv-bias", action="store_true", default=None, help="--model conv: the filters have a bias "
                   "each, net's 'bf' (nf, 1) (default: none, as in many students' networks)")
    c.add_argument("--label-smoothing", type=float, metavar="EPS", default=None, help="--model conv: the loss "
                   "against 1 − ε on the true class and ε/(K − 1) on the others; your function is given the smoothed "
                   "Y, or the one-hot Y and ε when it takes eps last (default: none)")
    c.add_argument("--loss-reduction", choices=("mean", "sum"), default=None, help="--model rnn: the loss over "
                   "the τ steps, their mean (the 2025/26 texts) or their sum (the older texts) (default: mean)")
    add_rnn_parsers(sub)  # `linclf rnn` and `linclf sample`: cli/rnnflags.py
    return top


def validate(args):
    """Every check that needs neither torch nor files, made before torch is imported.

    Returns what the command works on: the configurations to train (one for train, every
    combination for grid; None for evaluate and --resume, whose configuration comes from a
    checkpoint), or gradcheck's (file, function name).
    """
    if args.command == "evaluate":
        return None
    if args.command in ("rnn", "sample"):
        return validate_rnn(args)
    if args.command == "gradcheck":
        for key, model in FAMILY_OPTIONS.items():
            if getattr(args, key) is not None and args.model != model:
                raise LinclfError(f"--{key.replace('_', '-')}: for --model {model} only "
                                  f"({f'got --model {args.model}' if args.model else f'add --model {model}'})")
        if args.label_smoothing is not None and not (0 <= args.label_smoothing < 1 and args.loss == "ce"):
            raise LinclfError(f"--label-smoothing is ε in [0, 1), with --loss ce (got {args.label_smoothing}, "
                              f"--loss {args.loss})")
        return parse_spec(args.function)
    if args.command == "train" and args.resume is not None:
        if args.out is not None:
            raise LinclfError(f"--resume continues in {args.resume} itself; drop --out "
                              "(copy the folder first to fork it)")
        return None
    if args.command == "grid" and args.top < 1:
        raise LinclfError(f"--top must be ≥ 1 (got {args.top})")
    swept = {k: v for k, v in given(args).items() if k in SWEPT and isinstance(v, list)}
    return expand_grid(config_from(args), **swept)


def main(argv=None):
    """Run one `linclf` command; returns its exit code (see the module docstring)."""
    with exit_codes("linclf") as ended:  # Ctrl-C or SIGTERM in an epoch loop: run_command reports its own
        args = parser().parse_args(argv)
        configs = validate(args)
        from .commands import run_command  # torch and the library, from here on
        return run_command(args, configs)
    return ended.code


def command():
    """The `linclf` executable and `python -m linclf_torch`: main(), then Python's ordinary exit
    with its exit code (argparse's --help, --version and usage errors exit on their own)."""
    code = main()
    try:
        sys.stdout.flush()  # now, not at exit: a reader that left (`linclf ... | head`) is no error
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    sys.exit(code)
