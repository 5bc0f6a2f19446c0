"""The `linclf` command: a thin argparse front end over the library, no logic of its own."""
import argparse
import sys
import time
from pathlib import Path

import torch

from .checkpoint import load_checkpoint, prepare_test
from .cifar import load_cifar10
from .data import load_data, resolve_device
from .errors import LinclfError
from .files import check_out_dir
from .run import run
from .train import TrainConfig, confusion_matrix

D = TrainConfig()


def add_data_flags(p):
    p.add_argument("--data-dir", default="data", help="CIFAR-10 folder: official pickles, train/ and "
                   "test/ image folders, or empty to download (default: data)")
    p.add_argument("--no-verify", action="store_true", help="accept pickles whose checksums differ from the official ones")
    p.add_argument("--device", default=D.device, choices=("auto", "cpu", "cuda"))


def parser():
    top = argparse.ArgumentParser(prog="linclf", description="Linear and MLP classifiers on CIFAR-10 with hand-written backprop.")
    sub = top.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a classifier and write results, checkpoint and figures")
    add_data_flags(t)
    t.add_argument("--split", default=D.split, help="a1 (10k/10k/10k, default), full (50k less --n-val) "
                   "or random (--n-val drawn at random for validation)")
    t.add_argument("--n-val", type=int, default=D.n_val, help="validation images of --split full or random")
    t.add_argument("--classes", nargs="+", default=D.classes, help="keep these classes, labelled 0..K−1 in this order")
    t.add_argument("--image-size", type=int, default=D.image_size, help="resize the images to this many pixels per side")
    t.add_argument("--normalize", default=D.normalize, help="standardize per pixel (default) or per channel")
    t.add_argument("--model", default=D.model, help="linear (default) or mlp")
    t.add_argument("--hidden", nargs="+", type=int, default=D.hidden, help="hidden layer sizes of the MLP, e.g. 128 32")
    t.add_argument("--loss", default=D.loss, help="ce (softmax + cross-entropy) or mbce (sigmoid + multiple BCE)")
    t.add_argument("--eta", type=float, default=D.eta, help="learning rate")
    t.add_argument("--lam", type=float, default=D.lam, help="L2 strength λ in J = loss + λ‖W‖²")
    t.add_argument("--batch-size", type=int, default=D.batch_size)
    t.add_argument("--epochs", type=int, default=D.epochs)
    t.add_argument("--shuffle", action="store_true", help="reshuffle the training set every epoch")
    t.add_argument("--flip", type=float, default=D.flip, help="probability of mirroring each training image")
    t.add_argument("--decay", default=D.decay, help="none, step:EVERY:FACTOR or plateau[:PATIENCE:FACTOR]")
    t.add_argument("--momentum", type=float, default=D.momentum, help="SGD momentum μ")
    t.add_argument("--weight-decay", type=float, default=D.weight_decay, help="SGD weight decay: g += wd·θ")
    t.add_argument("--dtype", default=D.dtype, help="float32 (default) or float64")
    t.add_argument("--seed", type=int, default=D.seed)
    t.add_argument("--out", help="run folder (default: a new folder under runs/)")
    t.add_argument("--overwrite", action="store_true", help="allow --out to be a folder that already holds files")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")

    e = sub.add_parser("evaluate", help="accuracy and confusion matrix of a checkpoint on the test split")
    e.add_argument("checkpoint", help="model.pt from a run folder")
    add_data_flags(e)
    return top


def train_command(args):
    cfg = TrainConfig(model=args.model, hidden=tuple(args.hidden), loss=args.loss, eta=args.eta, lam=args.lam,
                      batch_size=args.batch_size, epochs=args.epochs, shuffle=args.shuffle, flip=args.flip,
                      decay=args.decay, momentum=args.momentum, weight_decay=args.weight_decay, seed=args.seed,
                      split=args.split, n_val=args.n_val, classes=tuple(args.classes), image_size=args.image_size,
                      normalize=args.normalize, device=args.device, dtype=args.dtype)
    device = resolve_device(cfg.device)
    out = Path(args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
    check_out_dir(out, args.overwrite)
    data = load_data(args.data_dir, split=cfg.split, n_val=cfg.n_val, classes=cfg.classes, image_size=cfg.image_size,
                     normalize=cfg.normalize, seed=cfg.seed, flip=cfg.flip > 0, device=device,
                     dtype=cfg.torch_dtype, verify=not args.no_verify, progress=not args.no_progress)
    results, _ = run(cfg, data, out, progress=not args.no_progress)
    f = results["final"]
    print(f"train acc {f['train_acc']:.4f}  val acc {f['val_acc']:.4f}  test acc {f['test_acc']:.4f}  "
          f"({results['wall_time_s']:.1f} s on {results['env']['device_name']})")
    print(f"wrote {out}/: {', '.join(sorted(f.name for f in out.iterdir()))}")


def evaluate_command(args):
    device = resolve_device(args.device)
    model, state = load_checkpoint(args.checkpoint, device)
    X, y = prepare_test(state, load_cifar10(args.data_dir, verify=not args.no_verify), device)
    pred = model.predict(X)
    K, classes = len(state["classes"]), state["classes"]
    C = confusion_matrix(y, pred, K).tolist()
    print(f"test accuracy {(pred == y).double().mean().item():.4f} on {len(y)} images")
    width = max(len(c) for c in classes)
    print(" " * width + "  predicted: " + " ".join(f"{c[:5]:>5}" for c in classes))
    for c, row in zip(classes, C):
        print(f"{c:>{width}}  {' ' * 11}" + " ".join(f"{v:>5}" for v in row))


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        {"train": train_command, "evaluate": evaluate_command}[args.command](args)
    except LinclfError as e:
        print(f"linclf: error: {e}", file=sys.stderr)
        return 2
    return 0
