"""Speed of DD2424 Assignment 3's training: linclf's batch-norm network against the autograd loop.

Question: on the same data, configuration and device, how long does Assignment 3's 9-layer
network with batch normalisation take to train (3072 → 50 → 30 → 20 → 20 → 10 → 10 → 10 →
10 → 10, batch norm before every hidden ReLU, He init, λ 0.005, batch 100, η cyclic 1e-5 → 1e-1;
45,000 training and 5,000 validation images; loss, cost and accuracy on both sets every
450 update steps, A3's n_s/5)
  (a) with linclf's trainer (forward and backward by hand: nn/layers.py's batch-norm pair,
      the running averages moved every step, η_t set before every update);
  (b) with the loop a PyTorch user writes: nn.Linear, BatchNorm1d and ReLU per hidden layer,
      F.cross_entropy plus λ Σ_l ‖W_l‖², torch.optim.SGD (momentum 0) with
      param_group["lr"] = η_t before every step, autograd, batches sliced from the tensors,
      the same evaluations under no_grad in eval mode (the running averages);
  (floor) the matrix products of (a) and (b) alone: per step each layer's a Wᵀ, dSᵀa and
      (but the first) dS W; per evaluation each layer's a Wᵀ on both sets; nothing else?
  (e) and (a) on the first 4 pixels of every image: the same operations, step for step, with
      their products now tiny; what (a) costs beyond its products, the part a faster product
      cannot remove?
And (d): how much faster is A3's λ search (8 values, the 3-layer network [50, 50] with batch
norm, the same schedule, the metrics read once at the end) when run_grid trains its networks
all at once than one after another?
(a) and (b) start from the same weights; BatchNorm1d keeps its running variance with n − 1
(linclf, as DD2424, with n), starts its averages at 0 and 1 (linclf at the first batch's
statistics) and moves them by momentum 0.1 (α = 0.9 in linclf): the same cost, the same
gradients, evaluations that differ a little. None of this changes the work timed.
The variants run interleaved, a, b, floor, a, b, floor, …, after one short warm-up run each,
and each time is the median of --repeats; the ratios are taken from these medians. (d)'s two
searches run interleaved too, after them.
By default one cycle of 900 steps (n_s = 450, two epochs, the metrics read twice: A3's rate
of one reading per 450 steps); --full runs A3's whole schedule, n_s = 2250, two cycles =
9,000 steps (20 epochs).

    python experiments/bench_a3.py --threads 1          # synthetic data of CIFAR-10's shape
    python experiments/bench_a3.py --threads 1 --data-dir PATH

Evidence: docs/performance.md, "DD2424 Assignment 3: the 9-layer batch-norm network".
"""
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import torch

from linclf_torch.cli.experiment import script
from linclf_torch.data.prepare import prepare, resolve_device
from linclf_torch.figures.tables import markdown_table, pct
from linclf_torch.training.config import TrainConfig
from linclf_torch.training.loop import build_model, train
from linclf_torch.training.state import make_cycle

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench.py beside this file
from bench import interleaved, linclf_run, synthetic_cifar  # noqa: E402
from bench_a2 import cyclic_autograd_loop, floor_run, search_run  # noqa: E402

HIDDEN = (50, 30, 20, 20, 10, 10, 10, 10)  # DD2424 A3's 9-layer network
SEARCH_HIDDEN = (50, 50)                    # and the 3-layer network of its λ search


def overhead_run(cfg, data):
    """(e): linclf's trainer, as (a), on the first 4 pixels of every image (no test set)."""
    small = replace(data, X_train=data.X_train[:, :4].contiguous(), X_val=data.X_val[:, :4].contiguous(),
                    X_train_flipped=None)
    train(build_model(cfg, small.X_train.shape[1], len(data.classes), data.X_train.device), small, cfg,
          progress=False)


def autograd_net(cfg, d, K, device, dtype):
    """(b)'s network: Linear, BatchNorm1d, ReLU per hidden layer, then Linear; linclf's init."""
    sizes, layers = [d, *cfg.hidden, K], []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.BatchNorm1d(n_out, eps=1e-5, momentum=0.1),
                   torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-2], K)).to(device=device, dtype=dtype)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    norms = [m for m in net if isinstance(m, torch.nn.BatchNorm1d)]
    with torch.no_grad():  # the same start as linclf's
        p = build_model(cfg, d, K, device).params
        for l, layer in enumerate(linears, start=1):
            layer.weight.copy_(p[f"W{l}"])
            layer.bias.copy_(p[f"b{l}"])
        for l, norm in enumerate(norms, start=1):
            norm.weight.copy_(p[f"gamma{l}"])
            norm.bias.copy_(p[f"beta{l}"])
    return net, [layer.weight for layer in linears]


def autograd_run(cfg, data):
    """(b): autograd_net trained by bench_a2's loop, the same schedule and evaluations; (val acc, test acc)."""
    net, weights = autograd_net(cfg, data.X_train.shape[1], len(data.classes), data.X_train.device,
                                data.X_train.dtype)
    return cyclic_autograd_loop(net, weights, cfg, data)


@script("bench_a3", __doc__,
        ("--repeats", {"type": int, "default": 5, "help": "timed runs of each variant; the median is reported"}),
        ("--full", {"action": "store_true", "help": "A3's whole schedule: n_s = 2250, two cycles (9,000 steps)"}),
        defaults={"data_dir": None})
def main(args, exp):
    device = resolve_device(args.device)
    if args.quick:  # a smoke test: 400 + 100 synthetic images, 3072 → 8 → 6 → 10, 8 steps
        raw, hidden, n_val = synthetic_cifar(500, 200, batch_size=100, seed=args.seed, signal=20), (8, 6), 100
    else:
        raw = exp.raw if args.data_dir else synthetic_cifar(50000, 10000, batch_size=10000, seed=args.seed)
        hidden, n_val = HIDDEN, 5000
    data = prepare(raw, split="full", n_val=n_val, device=device)
    n_s, cycles, records = (2250, 2, 10) if args.full else (4, 1, 2) if args.quick else (450, 1, 2)
    cfg = TrainConfig(model="mlp", hidden=hidden, init="he", batchnorm=True, lam=0.005, batch_size=100,
                      eta_cycle=f"cyclic:1e-5:1e-1:{n_s}", cycles=cycles, records_per_cycle=records,
                      split="full", n_val=n_val, seed=args.seed, device=device.type)
    warm = replace(cfg, eta_cycle=f"cyclic:1e-5:1e-1:{max(1, n_s // 20)}", records_per_cycle=1)
    repeats = 1 if args.quick else args.repeats
    variants = {"a": linclf_run, "b": autograd_run, "floor": floor_run, "e": overhead_run}
    for fn in variants.values():
        fn(warm, data)
    times, outs = interleaved({key: lambda fn=fn: fn(cfg, data) for key, fn in variants.items()}, repeats, device)
    methods = {key: {"median_s": statistics.median(times[key]), "times_s": times[key],
                     **({"val_acc": outs[key][0], "test_acc": outs[key][1]} if key in ("a", "b") else {})}
               for key in variants}
    lams = [0.001, 0.01] if args.quick else [10.0 ** (-5 + 4 * k / 7) for k in range(8)]
    searches = [replace(cfg, hidden=hidden if args.quick else SEARCH_HIDDEN, lam=lam, records_per_cycle=0)
                for lam in lams]
    times_d, outs_d = interleaved({"d_sequential": lambda: search_run(searches, data, batched=False),
                                   "d_batched": lambda: search_run(searches, data, batched=True)}, repeats, device)
    methods.update({key: {"median_s": statistics.median(times_d[key]), "times_s": times_d[key],
                          "val_accs": outs_d[key]} for key in times_d})
    m = {k: v["median_s"] for k, v in methods.items()}
    ratios = {"a_vs_floor": m["a"] / m["floor"], "b_vs_a": m["b"] / m["a"], "b_vs_floor": m["b"] / m["floor"],
              "e_vs_floor": m["e"] / m["floor"], "sequential_vs_batched": m["d_sequential"] / m["d_batched"]}
    targets = {"a_vs_floor <= 1.3": ratios["a_vs_floor"] <= 1.3, "a <= b": m["a"] <= m["b"]}
    steps = make_cycle(cfg).steps(cycles)
    runs = {key: " ".join(f"{t:.2f}" for t in methods[key]["times_s"]) for key in methods}
    rows = [["(a) linclf's trainer", f"{m['a']:.2f} s", runs["a"], pct(methods["a"]["test_acc"])],
            ["(b) the autograd loop (BatchNorm1d)", f"{m['b']:.2f} s", runs["b"], pct(methods["b"]["test_acc"])],
            ["(floor) its matrix products alone", f"{m['floor']:.2f} s", runs["floor"], ""],
            ["(e) (a) on 4 pixels: all but its products", f"{m['e']:.2f} s", runs["e"], ""],
            [f"(d) λ search of {len(lams)}, one after another", f"{m['d_sequential']:.2f} s", runs["d_sequential"], ""],
            ["(d) the same, batched", f"{m['d_batched']:.2f} s", runs["d_batched"], ""]]
    report = "\n\n".join([
        f"# DD2424 A3, {len(hidden) + 1} layers with batch norm: speed ({steps} steps, n_s {n_s}, "
        f"{len(data.y_train)} images, median of {repeats}, interleaved{', QUICK' if args.quick else ''})",
        markdown_table(["method", "median", "runs (s)", "test acc"], rows),
        f"a / floor {ratios['a_vs_floor']:.2f}, b / a {ratios['b_vs_a']:.2f}, b / floor {ratios['b_vs_floor']:.2f}, "
        f"e / floor {ratios['e_vs_floor']:.2f} (a − floor: {ratios['a_vs_floor'] - 1:.2f}); "
        "targets: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in targets.items())
        + f"; the λ search, sequential / batched {ratios['sequential_vs_batched']:.2f}",
    ])
    exp.write({"config": {"hidden": list(hidden), "n_s": n_s, "cycles": cycles, "steps": steps,
                          "n_train": len(data.y_train), "n_val": len(data.y_val), "repeats": repeats,
                          "data": args.data_dir or "synthetic (CIFAR-10's shape)"},
               "methods": methods, "ratios": ratios, "targets": targets}, report, None, device)


if __name__ == "__main__":
    sys.exit(main())
