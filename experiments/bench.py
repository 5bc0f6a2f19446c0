"""Speed: linclf's hand-written trainer against the loop a PyTorch user writes, and the batched grid.

Question: on the same data, configuration (DD2424's baseline: split a1, 10,000 training
images, eta 0.001, batch 100, 40 epochs) and device, how long does training take with
  (a) linclf's trainer (linclf_torch.training.loop: forward and backward by hand, no autograd; on
      CUDA each epoch a CUDA graph replay, graphs.py);
  (b) the idiomatic PyTorch loop: nn.Linear, F.cross_entropy plus the L2 term,
      torch.optim.SGD, autograd, mini-batches sliced from the data tensors;
  (c) the same loop fed by DataLoader(TensorDataset(X, y), batch_size=100);
  (d) the 36-configuration grid of experiments/a1_improvements.py (eta × lam × batch
      size), one linclf run after another (grid.run_grid(batched=False)) versus batched
      (grid.run_grid: each batch size's 12 configurations as one tensor program)?
And what bounds (a) and (b) from below: (floor) their matrix products alone, the two of
every step (B × d × K, K × B × d), the two of every epoch's metrics (n × d × K on the
training and validation sets) and the test set's, with nothing else. Nothing built on
PyTorch's matrix products runs this work faster than its floor on this device, so
b / floor is the most any implementation could gain over (b).
(a), (b) and (c) do the same work per epoch: the gradient steps, then loss, cost and
accuracy on the full training and validation sets (linclf's history; (b) and (c) under
no_grad, read back once per epoch), and all three end with the test accuracy. They start
from the same weights (linclf's init); (b) and (c) add the L2 term only when lam > 0.
Every measurement is the median of --repeats runs after a short warm-up (1 epoch).

    python experiments/bench.py                       # synthetic data of CIFAR-10's shape
    python experiments/bench.py --data-dir PATH

Evidence: docs/performance.md, "Speed of training" (device, threads, load, times, accuracies).
"""
import functools
import os
import statistics
import sys
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from linclf_torch.cli.experiment import script
from linclf_torch.data.cifar import CLASSES, Cifar10
from linclf_torch.data.prepare import load_data, prepare, resolve_device
from linclf_torch.figures.tables import markdown_table, pct
from linclf_torch.grid.search import run_grid
from linclf_torch.nn import accuracy
from linclf_torch.runs.results import env_info
from linclf_torch.training.config import TrainConfig, expand_grid
from linclf_torch.training.loop import build_model, train

GRID = {"eta": [0.001, 0.005, 0.01], "lam": [0.0, 0.001, 0.1, 1.0], "batch_size": [50, 100, 200]}


def synthetic_cifar(n_train, n_test, batch_size, seed=0, signal=3.5):
    """Random images of CIFAR-10's shape: each class has its own smooth colour template, of
    amplitude `signal`, under pixel noise of std 70. At 3.5 a linear model reaches about
    CIFAR-10's accuracy (≈ 40% after 40 epochs on split a1)."""
    g = torch.Generator().manual_seed(seed)
    templates = torch.nn.functional.interpolate(torch.randn(10, 3, 4, 4, generator=g), size=(32, 32),
                                                mode="bilinear", align_corners=False)  # (10, 3, 32, 32)

    def images(n):
        labels = torch.randint(10, (n,), generator=g)
        chunks = [(128 + signal * templates[labels[i:i + 5000]] + 70 * torch.randn(len(labels[i:i + 5000]), 3, 32, 32,
                   generator=g)).clamp(0, 255).to(torch.uint8) for i in range(0, n, 5000)]
        return torch.cat(chunks), labels

    (train_images, train_labels), (test_images, test_labels) = images(n_train), images(n_test)
    return Cifar10(train_images, train_labels, test_images, test_labels, CLASSES, batch_size, "synthetic")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def linclf_run(cfg, data, graphs=None):
    """(a): linclf's trainer, as `linclf train` runs it (graphs: train's, default CUDA graphs on
    CUDA); returns the final val and test accuracy."""
    model = build_model(cfg, data.X_train.shape[1], len(data.classes), data.X_train.device)
    history = train(model, data, cfg, progress=False, graphs=graphs)
    return history[-1]["val_acc"], accuracy(model.predict(data.X_test), data.y_test).item()


def autograd_run(cfg, data, loader=False):
    """(b), or (c) with loader=True: the loop a PyTorch user writes, with autograd."""
    d, K, device = data.X_train.shape[1], len(data.classes), data.X_train.device
    model = torch.nn.Linear(d, K, device=device, dtype=data.X_train.dtype)
    with torch.no_grad():  # linclf's init, so that both reach the same accuracy
        model.weight.copy_(build_model(cfg, d, K, device).params["W"])
        model.bias.zero_()
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.eta)
    n, B = len(data.y_train), cfg.batch_size
    loader = DataLoader(TensorDataset(data.X_train, data.y_train), batch_size=B) if loader else None
    for _ in range(cfg.epochs):
        batches = loader or ((data.X_train[i:i + B], data.y_train[i:i + B]) for i in range(0, n, B))
        for Xb, yb in batches:
            loss = F.cross_entropy(model(Xb), yb)
            if cfg.lam:
                loss = loss + cfg.lam * model.weight.pow(2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():  # the same per-epoch metrics as linclf's history, one read back
            values = []
            for X, y in ((data.X_train, data.y_train), (data.X_val, data.y_val)):
                scores = model(X)
                loss = F.cross_entropy(scores, y)
                values += [loss, loss + cfg.lam * model.weight.pow(2).sum(), (scores.argmax(1) == y).float().mean()]
            metrics = torch.stack(values).tolist()  # train loss, cost, acc, val loss, cost, acc
    with torch.no_grad():
        test_acc = accuracy(model(data.X_test).argmax(1), data.y_test).item()
    return metrics[-1], test_acc


def floor_run(cfg, data):
    """(floor): the matrix products of one (a) or (b) run, nothing else (zero weights)."""
    X, n, B = data.X_train, len(data.y_train), cfg.batch_size
    W = X.new_zeros(len(data.classes), X.shape[1])  # (K, d)
    for _ in range(cfg.epochs):
        for i in range(0, n, B):
            Xb = X[i:i + B]                     # (B, d)
            _dW = (Xb @ W.T).T @ Xb             # (B, K) then (K, d): a step's two products
        X @ W.T, data.X_val @ W.T               # the metrics' two
    return data.X_test @ W.T                    # and the test accuracy's


def grid_run(configs, data, batched):
    """(d): the grid, sequential or batched; returns the best validation accuracy and all of
    them (None for a configuration that diverged)."""
    results, _ = run_grid(configs, data, progress=False, batched=batched)
    val_accs = [r["final"]["val_acc"] if r["final"] else None for r in results]
    return max(v for v in val_accs if v is not None), val_accs


def timed(fn, warmup, repeats, device):
    """Median wall time of fn() over repeats runs, after warmup() once; and fn's last result."""
    warmup()
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        out = fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "times_s": times}, out


def interleaved(variants, repeats, device):
    """Wall times of every variants[key]() over repeats rounds run interleaved (a, b, …, a, b,
    …), so that a slower moment of the machine hits every variant alike; ({key: [s, …]}, {key:
    its last result})."""
    times, outs = {key: [] for key in variants}, {}
    for r in range(repeats):
        for key, fn in variants.items():
            sync(device)
            start = time.perf_counter()
            outs[key] = fn()
            sync(device)
            times[key].append(time.perf_counter() - start)
        print(f"repeat {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), file=sys.stderr)
    return times, outs


@script("bench", __doc__,
        ("--split", {"default": "a1", "choices": ("a1", "full"), "help": "a1 (default) or full (49,000 images)"}),
        ("--epochs", {"type": int, "default": 40}),
        ("--repeats", {"type": int, "default": 3, "help": "timed runs of each method; the median is reported"}),
        ("--skip", {"nargs": "*", "default": [], "choices": ("b", "c", "d"), "help": "methods not to run"}),
        defaults={"data_dir": None})  # synthetic data unless --data-dir is given
def main(args, exp):
    device = resolve_device(args.device)
    cfg = TrainConfig(split=args.split, epochs=args.epochs, seed=args.seed, device=device.type)
    if args.quick:  # a smoke test: tiny synthetic data, 2 epochs, an 8-configuration grid, one run each
        cfg, args.repeats = replace(cfg, epochs=2, batch_size=10, eta=0.01), 1
        grid = {"eta": [0.001, 0.01], "lam": [0.0, 0.1], "batch_size": [10, 20]}
        raw = synthetic_cifar(400, 200, batch_size=100, seed=args.seed, signal=20)
    else:
        grid = GRID
        raw = None if args.data_dir else synthetic_cifar(50000, 10000, batch_size=10000, seed=args.seed)
    if raw is None:
        data = load_data(args.data_dir, split=cfg.split, device=device, verify=not args.no_verify)
    else:
        data = prepare(raw, split=cfg.split, device=device)
    one_epoch = replace(cfg, epochs=1)
    load_before = os.getloadavg()
    rows, results = [], {"config": {"split": cfg.split, "eta": cfg.eta, "lam": cfg.lam, "batch_size": cfg.batch_size,
                                    "epochs": cfg.epochs, "n_train": len(data.y_train), "grid": grid},
                         "data": args.data_dir or "synthetic (CIFAR-10's shape)", "methods": {}}

    def measure(key, label, fn, warmup):
        timing, (val_acc, test_acc) = timed(fn, warmup, args.repeats, device)
        results["methods"][key] = {"label": label, **timing, "val_acc": val_acc, "test_acc": test_acc}
        rows.append([key, label, f"{timing['median_s']:.2f} s", " ".join(f"{t:.2f}" for t in timing["times_s"]),
                     f"test {pct(test_acc)}"])
        print(f"{key}: {label}: {timing['median_s']:.2f} s (median of {args.repeats})", file=sys.stderr)

    measure("a", "linclf trainer", lambda: linclf_run(cfg, data), lambda: linclf_run(one_epoch, data))
    if "b" not in args.skip:
        measure("b", "autograd + torch.optim.SGD, sliced batches", lambda: autograd_run(cfg, data),
                lambda: autograd_run(one_epoch, data))
    if "c" not in args.skip:
        measure("c", "autograd + torch.optim.SGD + DataLoader", lambda: autograd_run(cfg, data, loader=True),
                lambda: autograd_run(one_epoch, data, loader=True))
    timing, _ = timed(lambda: floor_run(cfg, data), lambda: floor_run(one_epoch, data), args.repeats, device)
    results["methods"]["floor"] = {"label": "matrix products of (a) and (b) alone", **timing}
    rows.append(["floor", results["methods"]["floor"]["label"], f"{timing['median_s']:.2f} s",
                 " ".join(f"{t:.2f}" for t in timing["times_s"]), ""])
    if "d" not in args.skip:
        configs = expand_grid(cfg, **grid)
        short = [replace(c, epochs=1) for c in configs]
        for key, batched, how in (("d_sequential", False, "one run after another"), ("d_batched", True, "batched")):
            label = f"grid of {len(configs)}, {how}"
            timing, (best, val_accs) = timed(functools.partial(grid_run, configs, data, batched),
                                             functools.partial(grid_run, short, data, batched), args.repeats, device)
            results["methods"][key] = {"label": label, **timing, "best_val_acc": best, "val_accs": val_accs}
            rows.append([key, label, f"{timing['median_s']:.2f} s", " ".join(f"{t:.2f}" for t in timing["times_s"]),
                         f"best val {pct(best)}"])
            print(f"{key}: {label}: {timing['median_s']:.2f} s (median of {args.repeats})", file=sys.stderr)
    m = results["methods"]
    ratio = lambda slow, fast: m[slow]["median_s"] / m[fast]["median_s"] if slow in m and fast in m else None
    results["ratios"] = {"vs_autograd": ratio("b", "a"), "vs_dataloader": ratio("c", "a"),
                         "grid_batched_vs_sequential": ratio("d_sequential", "d_batched"),
                         "floor_vs_autograd": ratio("b", "floor"), "floor_vs_dataloader": ratio("c", "floor")}
    if "d_batched" in m:
        pairs = list(zip(m["d_batched"]["val_accs"], m["d_sequential"]["val_accs"]))
        results["grid_same_diverged"] = all((x is None) == (y is None) for x, y in pairs)
        results["grid_max_val_acc_difference"] = max((abs(x - y) for x, y in pairs if None not in (x, y)), default=0)
    env = env_info(device)
    results["load_average"] = {"before": load_before, "after": os.getloadavg()}
    results["device_name"] = env["device_name"]
    results["float32_matmul_precision"] = torch.get_float32_matmul_precision()
    ratios = ", ".join(f"{k} {v:.2f}x" for k, v in results["ratios"].items() if v is not None)
    report = (f"# Speed: linclf vs the idiomatic PyTorch loop ({env['device_name']}, {env['device']}, "
              f"{env['threads']} threads)\n\n"
              f"Split {cfg.split} ({len(data.y_train)} training images, {results['data']}), eta {cfg.eta}, "
              f"batch {cfg.batch_size}, {cfg.epochs} epochs; median of {args.repeats} after a warm-up. "
              f"Load average before {load_before[0]:.2f}, after {results['load_average']['after'][0]:.2f}.\n\n"
              + markdown_table(["", "method", "median", "runs (s)", "accuracy"], rows)
              + f"\n\nRatios: {ratios}\n")
    exp.write(results, report, device=device)


if __name__ == "__main__":
    sys.exit(main())
