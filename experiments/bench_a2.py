"""Speed of DD2424 Assignment 2's training: linclf's two-layer trainer against the autograd loop.

Question: on the same data, configuration and device, how long does exercise 4 take (split
a1's sizes: 10,000 training and 10,000 validation images; 3072 → 50, ReLU → 10; init
N(0, 1/in); λ 0.01; batch 100; η cyclic 1e-5 → 1e-1 with n_s = 800, three cycles = 4,800
update steps; loss, cost and accuracy on the training and validation sets every n_s/5 steps)
  (a) with linclf's trainer (forward and backward by hand, η_t set before every update);
  (b) with the loop a PyTorch user writes: nn.Linear, ReLU, nn.Linear, F.cross_entropy plus
      λ(‖W1‖² + ‖W2‖²), torch.optim.SGD with param_group["lr"] = η_t before every step,
      autograd, batches sliced from the tensors, the same evaluations under no_grad;
  (floor) the matrix products of (a) and (b) alone: per step X W1ᵀ, H W2ᵀ, dSᵀH, dS W2,
      dHᵀX; per evaluation X W1ᵀ and H W2ᵀ on both sets; nothing else;
  (d) a λ search of 8 values (two cycles, n_s = 2⌊10,000 / 100⌋ = 200, on the same data,
      the metrics read once at the end, as a search needs), its networks trained one after
      another against all at once (run_grid); and each search's own floor, its matrix products
      alone, one network's after another against stacked as run_grid stacks them: the
      sequential search's time over the stacked floor bounds what batching can gain?
(a) and (b) start from the same weights and reach the same accuracy. Each time is the median
of --repeats runs, (a), (b) and floor each after a short warm-up, (d)'s four interleaved
(sequential, batched, their floors, again, …) after (a), (b) and floor have warmed up.

    python experiments/bench_a2.py --threads 1          # synthetic data of CIFAR-10's shape

Evidence: docs/performance.md, "Two layers (DD2424 A2)".
"""
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from linclf_torch.cli.experiment import script
from linclf_torch.data.prepare import prepare, resolve_device
from linclf_torch.figures.tables import markdown_table, pct
from linclf_torch.grid.search import run_grid
from linclf_torch.nn import accuracy
from linclf_torch.nn.schedules import cyclic_eta
from linclf_torch.training.config import TrainConfig, parse_cycle
from linclf_torch.training.loop import build_model, planned_steps
from linclf_torch.training.state import make_cycle

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench.py beside this file
from bench import interleaved, linclf_run, synthetic_cifar, timed  # noqa: E402


def autograd_run(cfg, data):
    """(b): nn.Linear + ReLU + nn.Linear from linclf's init, trained by cyclic_autograd_loop."""
    d, K, device, dtype = data.X_train.shape[1], len(data.classes), data.X_train.device, data.X_train.dtype
    net = torch.nn.Sequential(torch.nn.Linear(d, cfg.hidden[0]), torch.nn.ReLU(), torch.nn.Linear(cfg.hidden[0], K))
    net.to(device=device, dtype=dtype)
    with torch.no_grad():  # linclf's init: the same start, the same accuracy
        p = build_model(cfg, d, K, device).params
        for layer, l in ((net[0], 1), (net[2], 2)):
            layer.weight.copy_(p[f"W{l}"])
            layer.bias.copy_(p[f"b{l}"])
    return cyclic_autograd_loop(net, (net[0].weight, net[2].weight), cfg, data)


def cyclic_autograd_loop(net, weights, cfg, data):
    """(b)'s loop, for any network (bench_a3's too): F.cross_entropy + λ Σ‖W‖² over `weights`,
    optim.SGD with η_t set before every step, batches sliced from the tensors, and linclf's
    records' evaluations under no_grad in eval mode (a batch norm's running averages);
    (final val acc, test acc)."""
    lo, hi, n_s = parse_cycle(cfg.eta_cycle)
    optimizer = torch.optim.SGD(net.parameters(), lr=lo)
    B, metrics = cfg.batch_size, None
    for t, i, read in update_steps(cfg, len(data.y_train)):
        optimizer.param_groups[0]["lr"] = cyclic_eta(t, lo, hi, n_s)
        loss = F.cross_entropy(net(data.X_train[i:i + B]), data.y_train[i:i + B])
        loss = loss + cfg.lam * sum(w.pow(2).sum() for w in weights)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if read:  # the same evaluations as linclf's records
            net.eval()
            with torch.no_grad():
                values = []
                for X, y in ((data.X_train, data.y_train), (data.X_val, data.y_val)):
                    scores = net(X)
                    ce = F.cross_entropy(scores, y)
                    values += [ce, ce + cfg.lam * sum(w.pow(2).sum() for w in weights),
                               (scores.argmax(1) == y).float().mean()]
                metrics = torch.stack(values).tolist()
            net.train()
    net.eval()
    with torch.no_grad():
        return metrics[-1], accuracy(net(data.X_test).argmax(1), data.y_test).item()


def update_steps(cfg, n):
    """(t, i, read) for every update step t = 0, 1, … of cfg's cyclic run on n training
    images, as linclf's trainer takes them: the batch starts at row i (the rows in order, no
    shuffle), and read is whether the metrics are read after the step (every record_every
    steps and after the last)."""
    (total, per_epoch), every = planned_steps(cfg, n), make_cycle(cfg).record_every
    for t in range(total):
        yield t, (t % per_epoch) * cfg.batch_size, bool(every and (t + 1) % every == 0) or t + 1 == total


def floor_run(cfg, data, test=True):
    """(floor): the matrix products of one (a) or (b) run of an MLP of any depth, nothing else
    (zero weights): per step each layer's a Wᵀ, dSᵀa and (but the first) dS W; per record
    each layer's a Wᵀ on both sets; with test, the forward's on the test set at the end."""
    X, B = data.X_train, cfg.batch_size
    sizes = [X.shape[1], *cfg.hidden, len(data.classes)]
    Ws = [X.new_zeros(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]  # (out, in) each

    def forward(a):
        inputs = []
        for W in Ws:
            inputs.append(a)
            a = a @ W.T                                  # (B, out)
        return a, inputs

    for _t, i, read in update_steps(cfg, len(data.y_train)):
        dS, inputs = forward(X[i:i + B])                 # (B, K)
        for l in range(len(Ws) - 1, -1, -1):
            _dW = dS.T @ inputs[l]                       # (out, in)
            if l > 0:
                dS = dS @ Ws[l]                          # (B, in)
        if read:
            for Xe in (X, data.X_val):
                forward(Xe)                              # (n, K): an evaluation's products
    return forward(data.X_test)[0] if test else None


def stacked_floor_run(cfg, data, G):
    """(d)'s floor: the matrix products of run_grid's batched search of G networks like cfg's,
    nothing else (zero weights): per step the first layers' X [W1_1 … W1_G]ᵀ as one wide
    product and its transpose [dS1_1 … dS1_G]ᵀ X, each later layer's a Wᵀ, dSᵀa and dS W
    batched over the G networks (grid/stacked.py's products); per record the forward
    products on both sets (a search reads no test set)."""
    X, B = data.X_train, cfg.batch_size
    sizes = [X.shape[1], *cfg.hidden, len(data.classes)]
    W1 = X.new_zeros(G * sizes[1], sizes[0])                                      # (G·m, d)
    Ws = [X.new_zeros(G, n_out, n_in) for n_in, n_out in zip(sizes[1:-1], sizes[2:])]  # (G, out, in) each

    def forward(a):
        s, inputs = (a @ W1.T).view(len(a), G, -1).transpose(0, 1), []   # (G, B, m)
        for W in Ws:
            inputs.append(s)
            s = s @ W.transpose(1, 2)                                      # (G, B, out)
        return s, inputs

    for _t, i, read in update_steps(cfg, len(data.y_train)):
        Xb = X[i:i + B]
        dS, inputs = forward(Xb)                                           # (G, B, K)
        for l in range(len(Ws) - 1, -1, -1):
            _dW = dS.transpose(1, 2) @ inputs[l]                           # (G, out, in)
            dS = dS @ Ws[l]                                                # (G, B, in)
        _dW1 = dS.transpose(0, 1).reshape(len(Xb), -1).T @ Xb              # (G·m, d)
        if read:
            for Xe in (X, data.X_val):
                forward(Xe)                                                # (G, n, K)


def search_run(configs, data, batched):
    results, _ = run_grid(configs, data, progress=False, batched=batched)
    return [r["final"]["val_acc"] if r["final"] else None for r in results]


@script("bench_a2", __doc__, ("--repeats", {"type": int, "default": 3, "help": "timed runs; the median is reported"}),
        defaults={"data_dir": None})
def main(args, exp):
    device = resolve_device(args.device)
    n_s, lams = (4, [0.001, 0.01]) if args.quick else (800, [10.0 ** (-5 + 4 * k / 7) for k in range(8)])
    n_train = 200 if args.quick else 10000
    raw = synthetic_cifar(5 * n_train, n_train, batch_size=n_train, seed=args.seed, signal=20 if args.quick else 3.5)
    data = prepare(raw, split="a1", device=device)
    cfg = TrainConfig(model="mlp", hidden=(8,) if args.quick else (50,), init="dd2424", lam=0.01, batch_size=100,
                      eta_cycle=f"cyclic:1e-5:1e-1:{n_s}", cycles=1 if args.quick else 3, seed=args.seed,
                      device=device.type)
    warm = replace(cfg, eta_cycle=f"cyclic:1e-5:1e-1:{max(1, n_s // 20)}", cycles=1)
    repeats = 1 if args.quick else args.repeats
    methods = {}
    for key, fn in (("a", linclf_run), ("b", autograd_run), ("floor", floor_run)):
        timing, out = timed(lambda fn=fn: fn(cfg, data), lambda fn=fn: fn(warm, data), repeats, device)
        methods[key] = {**timing, **({"val_acc": out[0], "test_acc": out[1]} if key != "floor" else {})}
        print(f"{key}: {timing['median_s']:.2f} s (median of {repeats})", file=sys.stderr)
    n_s_search = 2 * (len(data.y_train) // cfg.batch_size)
    searches = [replace(cfg, lam=lam, eta_cycle=f"cyclic:1e-5:1e-1:{n_s_search}", cycles=2, records_per_cycle=0)
                for lam in lams]
    searches_run = {
        "d_sequential": lambda: search_run(searches, data, batched=False),
        "d_batched": lambda: search_run(searches, data, batched=True),
        "d_floor_sequential": lambda: [floor_run(c, data, test=False) for c in searches],
        "d_floor_stacked": lambda: stacked_floor_run(searches[0], data, len(searches)),
    }
    times, outs = interleaved(searches_run, repeats, device)
    for key in searches_run:
        methods[key] = {"median_s": statistics.median(times[key]), "times_s": times[key],
                        **({"val_accs": outs[key]} if "floor" not in key else {})}
    m = {k: v["median_s"] for k, v in methods.items()}
    ratios = {"a_vs_floor": m["a"] / m["floor"], "b_vs_a": m["b"] / m["a"],
              "sequential_vs_batched": m["d_sequential"] / m["d_batched"],
              "floors_sequential_vs_stacked": m["d_floor_sequential"] / m["d_floor_stacked"],
              "sequential_vs_stacked_floor": m["d_sequential"] / m["d_floor_stacked"]}
    rows = [["(a) linclf's trainer", f"{m['a']:.2f} s", pct(methods["a"]["test_acc"])],
            ["(b) the autograd loop", f"{m['b']:.2f} s", pct(methods["b"]["test_acc"])],
            ["(floor) its matrix products alone", f"{m['floor']:.2f} s", ""],
            [f"(d) λ search of {len(lams)}, one after another", f"{m['d_sequential']:.2f} s", ""],
            ["(d) the same, batched", f"{m['d_batched']:.2f} s", ""],
            ["(d) floor: the sequential search's matrix products alone", f"{m['d_floor_sequential']:.2f} s", ""],
            ["(d) floor: the batched search's stacked products alone", f"{m['d_floor_stacked']:.2f} s", ""]]
    report = "\n\n".join([
        f"# DD2424 A2 exercise 4: speed (n_s {n_s}, {cfg.cycles} cycles, {len(data.y_train)} images, "
        f"median of {repeats}{', QUICK' if args.quick else ''})",
        markdown_table(["method", "time", "test acc"], rows),
        f"a / floor {ratios['a_vs_floor']:.2f}, b / a {ratios['b_vs_a']:.2f}, "
        f"sequential / batched {ratios['sequential_vs_batched']:.2f}; products alone, sequential / stacked "
        f"{ratios['floors_sequential_vs_stacked']:.2f}; sequential search / stacked products alone "
        f"{ratios['sequential_vs_stacked_floor']:.2f}, the most any batched search doing these products could gain",
    ])
    exp.write({"config": {"n_s": n_s, "cycles": cfg.cycles, "lams": lams, "n_train": len(data.y_train)},
               "methods": methods, "ratios": ratios}, report, None, device)


if __name__ == "__main__":
    sys.exit(main())
