"""Speed of DD2424 Assignment 3's ConvNet (2025/26): linclf's hand-written trainer against conv2d + autograd.

Question: on the same data, configuration and device, how long does exercise 3's training take
(f = 4, nf = 10, nh = 50, λ = 0.003, batch 100, η cyclic 1e-5 → 1e-1, 49,000 training and
1,000 validation images; loss, cost and accuracy on both sets 10 times a cycle, linclf's default)
  (a) with linclf's trainer (nn/convnet.py: patches built per batch by one gather, the
      convolution one product, every gradient by hand, η_t set before every update);
  (b) with the loop a PyTorch user writes: F.conv2d(stride=f), F.relu, F.linear,
      F.cross_entropy(label_smoothing=ε·K/(K − 1), the course's smoothing; ε = 0 here) plus
      λ(‖F‖² + ‖W1‖² + ‖W2‖²), torch.optim.SGD with param_group["lr"] = η_t before every step,
      autograd, batches sliced from the tensors, the same evaluations under no_grad;
  (floor) the matrix products of (a) alone: per step the convolution P Fᵀ, h W1ᵀ, x1 W2ᵀ,
      dSᵀx1, dS W2, dx1ᵀh, dx1 W1 and dCᵀP, per evaluation the three forward products on both
      sets, the test set's at the end; nothing else (P: the batch's rows viewed as 64 patches
      of 48 numbers, the shapes of the real patch matrix);
  (p) the patch copies alone: patchify on every batch and every evaluated image, what building
      the patches per batch (instead of holding a patch matrix as large as the data) costs?
And the text's own question: the convolution of a batch of 100 images given its patch
matrix, as a loop over images and filters (n·nf matrix-vector products, the text's first
version) against one product (its einsum; conv.py's conv_forward): the ratio of their medians.
(a) and (b) start from the same weights (b's W1 columns permuted to conv2d's channel-major
flattening). The variants run interleaved, a, b, floor, p, a, b, …, after one short warm-up
run each; each time is the median of --repeats; the ratios are taken from the medians. All of
it is measured at 1 thread and at PyTorch's default (a thread per core), in one run.
By default one cycle (n_s = 800, 1,600 steps); --full runs exercise 3's three.

    python experiments/bench_a3_convnet.py                  # synthetic data of CIFAR-10's shape
    python experiments/bench_a3_convnet.py --data-dir PATH

Evidence: docs/performance.md, "DD2424 Assignment 3 (2025/26): the ConvNet" (1 thread of an AMD
EPYC, torch 2.14.1, median of 5: (a) 6.64 s, (b) 3.61 s, floor 3.36 s, (p) 2.17 s; loops against
one product 43×).
"""
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from linclf_torch.cli.experiment import script
from linclf_torch.data.prepare import prepare, resolve_device
from linclf_torch.figures.tables import markdown_table, pct
from linclf_torch.nn import accuracy
from linclf_torch.nn.conv import conv_forward, patch_order, patchify
from linclf_torch.nn.convnet import CHUNK
from linclf_torch.threads import set_threads
from linclf_torch.training.config import TrainConfig
from linclf_torch.training.loop import build_model
from linclf_torch.training.state import make_cycle

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench.py beside this file
from bench import interleaved, linclf_run, sync, synthetic_cifar  # noqa: E402
from bench_a2 import update_steps  # noqa: E402


def autograd_run(cfg, data):
    """(b): conv2d + linear + cross_entropy with autograd and optim.SGD, linclf's schedule,
    evaluations and init; (final val acc, test acc)."""
    X, B, f, K = data.X_train, cfg.batch_size, cfg.filter_size, len(data.classes)
    p = build_model(cfg, X.shape[1], K, X.device).params
    nh, nf = p["W1"].shape[0], p["F"].shape[0]
    W1 = p["W1"].view(nh, -1, nf).transpose(1, 2).reshape(nh, -1)  # conv2d's flattening: filter-major
    params = [t.clone().requires_grad_() for t in (p["F"], W1, p["b1"], p["W2"], p["b2"])]
    Fw, W1, b1, W2, b2 = params
    optimizer, cycle, eps = torch.optim.SGD(params, lr=cfg.eta), make_cycle(cfg), cfg.label_smoothing * K / (K - 1)

    def scores(Xb):
        h = F.relu(F.conv2d(Xb.view(len(Xb), 3, 32, 32), Fw, stride=f)).flatten(1)  # (B, nf·n_p)
        return F.linear(F.relu(F.linear(h, W1, b1)), W2, b2)                         # (B, K)

    def penalty():
        return cfg.lam * (Fw.pow(2).sum() + W1.pow(2).sum() + W2.pow(2).sum())

    metrics = None
    for t, i, read in update_steps(cfg, len(data.y_train)):
        optimizer.param_groups[0]["lr"] = cycle(t)
        loss = F.cross_entropy(scores(X[i:i + B]), data.y_train[i:i + B], label_smoothing=eps) + penalty()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if read:  # linclf's records: loss, cost, accuracy on both sets, one read-back
            with torch.no_grad():
                values = []
                for Xe, y in ((X, data.y_train), (data.X_val, data.y_val)):
                    S = torch.cat([scores(Xe[j:j + CHUNK]) for j in range(0, len(Xe), CHUNK)])
                    ce = F.cross_entropy(S, y, label_smoothing=eps)
                    values += [ce, ce + penalty(), (S.argmax(1) == y).float().mean()]
                metrics = torch.stack(values).tolist()
    with torch.no_grad():
        return metrics[-1], accuracy(scores(data.X_test).argmax(1), data.y_test).item()


def floor_run(cfg, data):
    """(floor): (a)'s matrix products alone, with zero weights (the class docstring)."""
    X, B, f, K = data.X_train, cfg.batch_size, cfg.filter_size, len(data.classes)
    n_p, nf, nh = (32 // f) ** 2, cfg.filters, cfg.hidden[0]
    Fw, W1, W2 = X.new_zeros(nf, 3 * f * f), X.new_zeros(nh, n_p * nf), X.new_zeros(K, nh)

    def forward(Xb):
        P = Xb.reshape(-1, 3 * f * f)                        # (n·n_p, 3·f·f): the patch matrix's shape
        h = (P @ Fw.T).view(len(Xb), -1)                     # (n, n_p·nf)
        x1 = h @ W1.T                                        # (n, nh)
        return x1 @ W2.T, (P, h, x1)                         # (n, K)

    for _t, i, read in update_steps(cfg, len(data.y_train)):
        dS, (P, h, x1) = forward(X[i:i + B])
        _dW2, dx1 = dS.T @ x1, dS @ W2                       # (K, nh), (B, nh)
        _dW1, dh = dx1.T @ h, dx1 @ W1                       # (nh, n_p·nf), (B, n_p·nf)
        _dF = dh.view(-1, nf).T @ P                          # (nf, 3·f·f)
        if read:
            for Xe in (X, data.X_val):
                for j in range(0, len(Xe), CHUNK):
                    forward(Xe[j:j + CHUNK])
    return forward(data.X_test)[0]


def patches_run(cfg, data):
    """(p): patchify alone, on every batch of (a)'s steps and on every image (a) evaluates."""
    X, B, order = data.X_train, cfg.batch_size, patch_order(32, cfg.filter_size, data.X_train.device)
    for _t, i, read in update_steps(cfg, len(data.y_train)):
        patchify(X[i:i + B], order)
        if read:
            for Xe in (X, data.X_val):
                for j in range(0, len(Xe), CHUNK):
                    patchify(Xe[j:j + CHUNK], order)
    for j in range(0, len(data.X_test), CHUNK):
        patchify(data.X_test[j:j + CHUNK], order)


def einsum_vs_loops(cfg, X, repeats):
    """The text's comparison on one batch of 100 images: (loops s, one product s), medians."""
    g = torch.Generator().manual_seed(0)
    P = patchify(X[:100], patch_order(32, cfg.filter_size, X.device))              # (100, n_p, 48)
    Fw = torch.randn(cfg.filters, 3, cfg.filter_size, cfg.filter_size, generator=g).to(X)
    Fflat = Fw.flatten(1)                                                          # (nf, 48)

    def loops():
        out = X.new_empty(P.shape[0], P.shape[1], len(Fflat))                     # (100, n_p, nf)
        for i in range(P.shape[0]):
            for k in range(len(Fflat)):
                out[i, :, k] = P[i] @ Fflat[k]                                     # (n_p,)
        return out

    times = {"loops": [], "product": []}
    for _ in range(repeats):
        for key, fn in (("loops", loops), ("product", lambda: conv_forward(P, Fw)[0])):
            sync(X.device)
            start = time.perf_counter()
            fn()
            sync(X.device)
            times[key].append(time.perf_counter() - start)
    return statistics.median(times["loops"]), statistics.median(times["product"])


@script("bench_a3_convnet", __doc__,
        ("--repeats", {"type": int, "default": 5, "help": "timed runs of each variant; the median is reported"}),
        ("--full", {"action": "store_true", "help": "exercise 3's whole schedule: three cycles (4,800 steps)"}),
        defaults={"data_dir": None})
def main(args, exp):
    device = resolve_device(args.device)
    if args.quick:  # a smoke test: 400 + 100 synthetic images, 8 steps
        raw, n_val = synthetic_cifar(500, 200, batch_size=100, seed=args.seed, signal=20), 100
    else:
        raw = exp.raw if args.data_dir else synthetic_cifar(50000, 10000, batch_size=10000, seed=args.seed)
        n_val = 1000
    data = prepare(raw, split="full", n_val=n_val, device=device)
    n_s, cycles = (4, 1) if args.quick else (800, 3 if args.full else 1)
    cfg = TrainConfig(model="conv", filter_size=4, filters=10, hidden=(50,), lam=0.003, batch_size=100,
                      eta_cycle=f"cyclic:1e-5:1e-1:{n_s}", cycles=cycles, split="full", n_val=n_val, seed=args.seed,
                      device=device.type)
    warm = replace(cfg, eta_cycle=f"cyclic:1e-5:1e-1:{max(1, n_s // 20)}", cycles=1, records_per_cycle=1)
    repeats = 1 if args.quick else args.repeats
    variants = {"a": linclf_run, "b": autograd_run, "floor": floor_run, "p": patches_run}
    counts = [1] if args.quick else [1, len(os.sched_getaffinity(0))]  # 1 and PyTorch's default, a thread per core
    measured = {}
    for threads in counts:
        set_threads(threads)
        for fn in variants.values():
            fn(warm, data)
        times, outs = interleaved({key: lambda fn=fn: fn(cfg, data) for key, fn in variants.items()}, repeats, device)
        methods = {key: {"median_s": statistics.median(times[key]), "times_s": times[key],
                         **({"val_acc": outs[key][0], "test_acc": outs[key][1]} if key in ("a", "b") else {})}
                   for key in variants}
        loops, product = einsum_vs_loops(cfg, data.X_train, repeats)
        m = {k: v["median_s"] for k, v in methods.items()}
        measured[threads] = {"methods": methods, "loops_s": loops, "product_s": product, "ratios": {
            "a_vs_floor": m["a"] / m["floor"], "b_vs_a": m["b"] / m["a"], "b_vs_floor": m["b"] / m["floor"],
            "p_vs_a": m["p"] / m["a"], "loops_vs_product": loops / product}}
    steps = make_cycle(cfg).steps(cycles)
    sections = []
    for threads, r in measured.items():
        m, ratios = r["methods"], r["ratios"]
        runs = {key: " ".join(f"{t:.2f}" for t in m[key]["times_s"]) for key in m}
        rows = [["(a) linclf's trainer", f"{m['a']['median_s']:.2f} s", runs["a"], pct(m["a"]["test_acc"])],
                ["(b) conv2d + autograd + optim.SGD", f"{m['b']['median_s']:.2f} s", runs["b"],
                 pct(m["b"]["test_acc"])],
                ["(floor) (a)'s matrix products alone", f"{m['floor']['median_s']:.2f} s", runs["floor"], ""],
                ["(p) the patch copies alone", f"{m['p']['median_s']:.2f} s", runs["p"], ""]]
        sections += [f"## {threads} thread{'s' if threads > 1 else ''}",
                     markdown_table(["method", "median", "runs (s)", "test acc"], rows),
                     f"a / floor {ratios['a_vs_floor']:.2f} (goal ≤ 1.3), b / a {ratios['b_vs_a']:.2f} (goal ≥ 1.5), "
                     f"b / floor {ratios['b_vs_floor']:.2f}, p / a {ratios['p_vs_a']:.2f}; the convolution of 100 "
                     f"images, loops over images and filters {1e3 * r['loops_s']:.2f} ms against one product "
                     f"{1e3 * r['product_s']:.3f} ms: {ratios['loops_vs_product']:.0f}×"]
    report = "\n\n".join([
        f"# DD2424 A3 (2025/26), exercise 3's ConvNet: speed ({steps} steps, n_s {n_s}, {len(data.y_train)} images, "
        f"median of {repeats}, interleaved{', QUICK' if args.quick else ''})", *sections])
    exp.write({"config": {"n_s": n_s, "cycles": cycles, "steps": steps, "n_train": len(data.y_train),
                          "n_val": len(data.y_val), "repeats": repeats,
                          "data": args.data_dir or "synthetic (CIFAR-10's shape)"},
               "threads": {str(k): v for k, v in measured.items()}}, report, None, device)


if __name__ == "__main__":
    sys.exit(main())
