"""The `linclf` command: a thin argparse front end over the library, no logic of its own."""
import argparse
import sys
import time
from pathlib import Path

from .checkpoint import load_checkpoint, prepare_test
from .cifar import load_cifar10
from .data import load_data, resolve_device
from .errors import LinclfError
from .files import check_out_dir
from .grid import expand_grid, run_grid, write_grid
from .run import run
from .train import TrainConfig, confusion_matrix

D = TrainConfig()


def add_data_flags(p):
    p.add_argument("--data-dir", default="data", help="CIFAR-10 folder: official pickles, train/ and "
                   "test/ image folders, or empty to download (default: data)")
    p.add_argument("--no-verify", action="store_true", help="accept pickles whose checksums differ from the official ones")
    p.add_argument("--device", default=D.device, choices=("auto", "cpu", "cuda"))


def add_run_flags(p, many):
    """Training flags; with many=True each hyperparameter takes a list of values (linclf grid)."""
    add_data_flags(p)
    lists = dict(nargs="+") if many else {}
    p.add_argument("--split", default=D.split, help="a1 (10k/10k/10k, default), full (50k less --n-val) "
                   "or random (--n-val drawn at random for validation)")
    p.add_argument("--n-val", type=int, default=D.n_val, help="validation images of --split full or random")
    p.add_argument("--classes", nargs="+", default=D.classes, help="keep these classes, labelled 0..K−1 in this order")
    p.add_argument("--image-size", type=int, default=D.image_size, help="resize the images to this many pixels per side")
    p.add_argument("--normalize", default=D.normalize, help="standardize per pixel (default) or per channel")
    p.add_argument("--model", default=D.model, help="linear (default) or mlp")
    p.add_argument("--hidden", nargs="+", type=int, default=D.hidden, help="hidden layer sizes of the MLP, e.g. 128 32")
    p.add_argument("--momentum", type=float, default=D.momentum, help="SGD momentum μ")
    p.add_argument("--weight-decay", type=float, default=D.weight_decay, help="SGD weight decay: g += wd·θ")
    p.add_argument("--dtype", default=D.dtype, help="float32 (default) or float64")
    p.add_argument("--loss", default=[D.loss] if many else D.loss, **lists,
                   help="ce (softmax + cross-entropy) or mbce (sigmoid + multiple BCE)")
    p.add_argument("--eta", type=float, default=[D.eta] if many else D.eta, **lists, help="learning rate")
    p.add_argument("--lam", type=float, default=[D.lam] if many else D.lam, **lists, help="L2 strength λ in J = loss + λ‖W‖²")
    p.add_argument("--batch-size", type=int, default=[D.batch_size] if many else D.batch_size, **lists)
    p.add_argument("--epochs", type=int, default=[D.epochs] if many else D.epochs, **lists)
    p.add_argument("--decay", default=[D.decay] if many else D.decay, **lists,
                   help="none, step:EVERY:FACTOR or plateau[:PATIENCE:FACTOR]")
    p.add_argument("--flip", type=float, default=D.flip, help="probability of mirroring each training image")
    p.add_argument("--shuffle", action="store_true", help="reshuffle the training set every epoch")
    p.add_argument("--seed", type=int, default=D.seed)
    p.add_argument("--out", help="output folder (default: a new folder under runs/)")
    p.add_argument("--overwrite", action="store_true", help="allow --out to be a folder that already holds files")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


SWEPT = ("loss", "eta", "lam", "batch_size", "epochs", "decay")  # list-valued in `linclf grid`


def config_from(args):
    """TrainConfig from parsed flags (for a grid: the first value of each list)."""
    fields = {k: getattr(args, k) for k in SWEPT + ("flip", "shuffle", "seed", "split", "n_val", "device", "model",
                                                    "momentum", "weight_decay", "image_size", "normalize", "dtype")}
    return TrainConfig(**{k: v[0] if isinstance(v, list) else v for k, v in fields.items()},
                       hidden=tuple(args.hidden), classes=tuple(args.classes))


def parser():
    top = argparse.ArgumentParser(prog="linclf", description="Linear and MLP classifiers on CIFAR-10 with hand-written backprop.")
    sub = top.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a classifier and write results, checkpoint and figures")
    add_run_flags(t, many=False)

    g = sub.add_parser("grid", help="train every combination of the given values, rank by validation accuracy")
    add_run_flags(g, many=True)
    g.add_argument("--top", type=int, default=10, help="rows of the ranking table (default 10)")

    e = sub.add_parser("evaluate", help="accuracy and confusion matrix of a checkpoint on the test split")
    e.add_argument("checkpoint", help="model.pt from a run folder")
    add_data_flags(e)
    return top


def out_and_data(args, cfg):
    """Check --out before any work, then load the data onto the device once."""
    device = resolve_device(cfg.device)
    out = check_out_dir(args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S"), args.overwrite)
    data = load_data(args.data_dir, split=cfg.split, n_val=cfg.n_val, classes=cfg.classes, image_size=cfg.image_size,
                     normalize=cfg.normalize, seed=cfg.seed, flip=cfg.flip > 0, device=device,
                     dtype=cfg.torch_dtype, verify=not args.no_verify, progress=not args.no_progress)
    return out, data


def train_command(args):
    cfg = config_from(args)
    out, data = out_and_data(args, cfg)
    results, _ = run(cfg, data, out, progress=not args.no_progress)
    f = results["final"]
    print(f"train acc {f['train_acc']:.4f}  val acc {f['val_acc']:.4f}  test acc {f['test_acc']:.4f}  "
          f"({results['wall_time_s']:.1f} s on {results['env']['device_name']})")
    print(f"wrote {out}/: {', '.join(sorted(f.name for f in out.iterdir()))}")


def grid_command(args):
    lists = {k: getattr(args, k) for k in SWEPT}
    configs = expand_grid(config_from(args), **lists)
    out, data = out_and_data(args, configs[0])
    results, models = run_grid(configs, data, progress=not args.no_progress)
    varied = [k for k, values in lists.items() if len(values) > 1]
    report = write_grid(out, results, models, data, varied, top=args.top)
    print(report)
    print(f"wrote {out}/results.json, report.md" + (", heatmap.png" if (out / "heatmap.png").exists() else ""))


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
        {"train": train_command, "grid": grid_command, "evaluate": evaluate_command}[args.command](args)
    except LinclfError as e:
        print(f"linclf: error: {e}", file=sys.stderr)
        return 2
    return 0
