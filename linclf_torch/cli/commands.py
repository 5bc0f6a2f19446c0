"""What each `linclf` command does once parse.py has parsed and validated it (this imports torch).

Each takes the parsed flags and what parse.validate made of them (the configurations to train,
or gradcheck's file and function), and returns the exit code.
"""
import sys
import time
from pathlib import Path

from ..data.cifar import load_cifar10
from ..data.prepare import load_data, resolve_device
from ..errors import LinclfError, Terminated
from ..nn import accuracy
from ..runs.checkpoint import load_checkpoint, predict_test, prepare_test
from ..runs.folder import RunFolder, written
from ..runs.results import training_time
from ..runs.resume import recorded_source, resume_config, resume_threads
from ..runs.run import Interrupted, run
from ..threads import set_threads, threads_in_words
from ..training.config import DATA_DIR, SWEPT, given
from ..training.loop import confusion_matrix
from .rnncommands import rnn_command, sample_command


def data_source(args, recorded=None):
    """(data folder, verify, download) from the flags, else from a run's record, else data/.

    A folder recorded by a run is used as it is: if it is gone the command says so, and
    nothing is downloaded or created in its place.
    """
    if not isinstance(recorded, dict) or not isinstance(recorded.get("data_dir"), str):
        return args.data_dir or DATA_DIR, not args.no_verify, True
    verify = not args.no_verify and recorded.get("verify", True) is not False  # as the run was checked
    if args.data_dir is not None:
        return args.data_dir, verify, True
    if not Path(recorded["data_dir"]).is_dir():
        raise LinclfError(f"the run's data folder {recorded['data_dir']} no longer exists: pass --data-dir PATH "
                          "with the same CIFAR-10 files")
    return recorded["data_dir"], verify, False


def load(args, cfg, recorded=None):
    """The data of cfg on its device, once; and where it came from, for results.json."""
    data_dir, verify, download = data_source(args, recorded)
    data = load_data(data_dir, split=cfg.split, n_val=cfg.n_val, classes=cfg.classes, image_size=cfg.image_size,
                     normalize=cfg.normalize, seed=cfg.seed, flip=cfg.flip > 0, device=resolve_device(cfg.device),
                     dtype=cfg.torch_dtype, verify=verify, download=download, cache_dir=args.cache_dir or "auto",
                     progress=not args.no_progress)
    return data, {"data_dir": str(Path(data_dir).resolve()), "verify": verify}


def train_command(args, configs):
    if args.resume is None:
        folder = RunFolder(args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S"), overwrite=args.overwrite)
    else:
        folder = RunFolder(args.resume, resuming=True)
    with folder:  # created and locked before the data loads; removed again if nothing is written
        if args.resume is None:
            cfg, checkpoint, recorded = configs[0], None, None
            set_threads(args.threads)
        else:
            cfg, checkpoint, recorded = resume_config(folder.path, given(args))
            set_threads(resume_threads(checkpoint, args.threads))
        data, source = load(args, cfg, recorded)
        try:
            results, _ = run(cfg, data, folder, progress=not args.no_progress, resume=checkpoint, source=source)
        except Interrupted as e:
            done, out = e.results["epochs_completed"], folder.path
            kept = (f"{out} keeps epoch {done}, marked interrupted; continue with `linclf train --resume {out}`"
                    if done else "no epoch was completed, nothing was written")
            of = f" of {cfg.epochs}" if cfg.cycles is None else ""  # a --cycles run counts steps, not epochs
            print(f"linclf: {Terminated.in_words(e.signal)} during epoch {done + 1}{of}: {kept}", file=sys.stderr)
            return Terminated.exit_code(e.signal)
    out = folder.path
    if results["status"] == "diverged":
        done = results["epochs_completed"]
        print(f"linclf: training diverged: the cost became NaN or inf in epoch {results['diverged_epoch']}; "
              f"{out}/results.json says so" + (f" and model.pt keeps epoch {done}" if done else "") +
              "; try a smaller --eta (or --lam)", file=sys.stderr)
        return 3
    f = results["final"]
    print(f"train acc {f['train_acc']:.4f}  val acc {f['val_acc']:.4f}  test acc {f['test_acc']:.4f}  "
          f"({training_time(results, checkpoint)} on {results['env']['device_name']}, "
          f"{threads_in_words(results['env']['threads'])})")
    print(f"wrote {out}/: {', '.join(written(out))}")
    return 0


def grid_command(args, configs):
    from ..grid.search import run_grid, write_grid  # and the figures' matplotlib: only this command needs them
    set_threads(args.threads)
    out = Path(args.out or Path("runs") / time.strftime("grid-%Y%m%d-%H%M%S"))
    with RunFolder(out, overwrite=args.overwrite):
        data, source = load(args, configs[0])
        results, models = run_grid(configs, data, progress=not args.no_progress)
        varied = [k for k in SWEPT if len({getattr(cfg, k) for cfg in configs}) > 1]
        report = write_grid(out, results, models, data, varied, top=args.top, source=source)
    print(report)
    print(f"wrote {out}/: {', '.join(written(out))}")
    return 0


def evaluate_command(args, configs):
    set_threads(args.threads)
    device = resolve_device(args.device or "auto")
    model, checkpoint = load_checkpoint(args.checkpoint, device)
    data_dir, verify, download = data_source(args, recorded_source(checkpoint))
    raw = load_cifar10(data_dir, verify=verify, download=download, cache_dir=args.cache_dir or "auto")
    X, y = prepare_test(checkpoint, raw, device)
    pred = predict_test(model, X, checkpoint)
    K, classes = len(checkpoint["classes"]), checkpoint["classes"]
    C = confusion_matrix(y, pred, K).tolist()
    print(f"test accuracy {accuracy(pred, y).item():.4f} on {len(y)} images")
    corner = "true \\ predicted"
    left = max(len(corner), *(len(c) for c in classes))
    width = max(*(len(c) for c in classes), *(len(str(v)) for row in C for v in row))
    print(f"{corner:>{left}}  " + " ".join(f"{c:>{width}}" for c in classes))
    for c, row in zip(classes, C):
        print(f"{c:>{left}}  " + " ".join(f"{v:>{width}}" for v in row))
    return 0


def gradcheck_command(args, spec):
    """Import the user's function (spec: parse.validate's (file, function name)), check it
    (yourgrad/engine.py), print the table: exit 0 pass, 1 fail."""
    from ..yourgrad.engine import YourFunctionError, check_gradients
    from ..yourgrad.names import OPTIONS
    from ..yourgrad.usercode import beside, explain_name_error, load_function
    set_threads(1)  # small tensors: one thread is fastest, and a busy core cannot stall it (threads.py)
    file, function_name = spec
    model = args.model or ("two-layer" if args.forward else "linear")
    if args.forward and model == "batchnorm":
        raise LinclfError("--forward is for the network families: --model batchnorm takes no forward pass")
    fn = load_function(file, function_name)
    forward = beside(file, args.forward) if args.forward else None  # None: the one forward beside it, if any
    cost = beside(file, args.cost) if args.cost else None
    options = {k: getattr(args, k) for k in OPTIONS if getattr(args, k) is not None}
    try:
        report = check_gradients(fn, model, args.layout, args.loss, forward=forward, cost=cost, arrays=args.arrays,
                                 seed=args.seed, name=f"{file}:{function_name}", explain=explain_name_error, **options)
    except YourFunctionError as e:
        raise LinclfError(str(e)) from None
    print(report)
    return 0 if report.passed else 1


COMMANDS = {"train": train_command, "grid": grid_command, "evaluate": evaluate_command, "gradcheck": gradcheck_command,
            "rnn": rnn_command, "sample": sample_command}


def run_command(args, configs):
    """COMMANDS[args.command], with running out of memory said in one line."""
    try:
        return COMMANDS[args.command](args, configs)
    except (MemoryError, RuntimeError) as e:  # torch: "CUDA out of memory", "can't allocate memory"
        if not isinstance(e, MemoryError) and "out of memory" not in str(e) and "allocate memory" not in str(e):
            raise
        where = "GPU" if "CUDA" in str(e) else "CPU"
        raise LinclfError(f"out of {where} memory: try a smaller --batch-size or --split, "
                          f"{'--device cpu, ' if where == 'GPU' else ''}or a machine with more memory") from None
