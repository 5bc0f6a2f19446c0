"""GPU check (issue 14): does linclf's CUDA path pass its tests, agree with the CPU, and run fast?

One command for a session that has a GPU, prepared and tested on the CPU before it:

    PYTHONPATH=. python experiments/gpu_check.py --out $OUT/gpu         # CUDA: at most ~7 min
    python experiments/gpu_check.py --quick --out /tmp/gpu_check        # CPU smoke test (the tests run it)

Stages, in this order. results.json and report.md are rewritten (atomically) after each
stage and each timed method, so a run stopped by Ctrl-C, SIGTERM or a time limit keeps all
it finished.
  tests      `pytest -m cuda` in a subprocess: passed, failed and skipped, the failures' names.
  agreement  DD2424's baseline (split a1's sizes: 10,000 / 10,000 / 10,000 synthetic images
             of CIFAR-10's shape from a fixed seed; eta 0.001, batch 100, 40 epochs, in order)
             on the CPU, on CUDA eagerly and on CUDA as graphs, in float64 and float32: the
             largest relative difference of every metric of every epoch and of the final
             weights. Then, on the CPU and on CUDA eagerly, one cycle of a cyclic η (n_s two
             epochs) for A2's two-layer network (3072 → 50 → 10, λ 0.01) and A3's 3-layer
             batch-norm network (3072 → 50 → 50 → 10, He init, λ 0.005; its running averages
             compared with the weights; batch norm has no CUDA graphs). Target: every float64
             CPU-vs-CUDA history within 1e-9.
  sync       torch.cuda.set_sync_debug_mode("error") around an eager epoch and a graph replay
             (shuffle, flip and momentum on): no host synchronisation inside an epoch; and
             ("warn", counted) around 50 RNN updates: only the record at their end reads back.
  timing     the full split's shape (49,000 / 1,000 / 10,000), batch 100, 40 epochs with the
             per-epoch metrics of `linclf train`, each the median of 3 after a 1-epoch warm-up,
             with experiments/bench.py's functions: (a) linclf eager, (a') linclf as CUDA
             graphs, (b) the autograd loop, (c) the DataLoader loop, (d) the 36-configuration
             grid batched and one run after another; peak GPU memory. Targets: (a') ≤ 1.0 s,
             (b) / (a') ≥ 3, sequential / batched grid ≥ 10. Then the RNN's 2,000 updates
             (m = 100, τ = 25) with linclf's trainer, with the autograd loop of
             experiments/bench_rnn.py and with linclf's on 32 sequences an update, median of
             --repeats. A timed run that would end past --budget-s is not started (results.json
             says so).
  convnet    DD2424 A3's ConvNet (2025/26; f 4, nf 10, nh 50, conv bias, label smoothing 0.1,
             λ 0.003, one cycle of n_s 490 steps on the full split's shape, in order) on the CPU and on
             CUDA, float64 and float32: every metric and weight compared (target: float64 within
             1e-9); then on CUDA exercise 3's training (one cycle, n_s = 800) by linclf against
             conv2d + autograd + optim.SGD (experiments/bench_a3_convnet.py's (a) and (b)), median
             of --repeats after a warm-up.
Exit status: 0 when every correctness check passed (tests, agreement, sync), 1 when one
failed or a stage crashed (its traceback is in results.json), 2 without CUDA (unless --quick)
or on a bad flag, 130 after Ctrl-C, 143 after SIGTERM. Without CUDA, --quick runs every stage on tiny data on
the CPU and the CUDA-only parts say "skipped: no CUDA".

Evidence: not measured yet: no session has had a GPU.
"""
import argparse
import functools
import importlib.util
import math
import os
import statistics
import subprocess
import sys
import time
import traceback
import warnings
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import torch

from linclf_torch.data.prepare import prepare
from linclf_torch.errors import LinclfError, Terminated
from linclf_torch.figures.tables import markdown_table
from linclf_torch.files import check_out_dir, save_json, write_atomic
from linclf_torch.runs.results import env_info
from linclf_torch.threads import add_threads_flag, set_threads
from linclf_torch.training.config import TrainConfig, expand_grid
from linclf_torch.training.loop import build_model, epoch_runner, train
from linclf_torch.training.rnn_config import RNNConfig
from linclf_torch.training.rnn_loop import RNNState, train_rnn
from linclf_torch.training.state import TrainState

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench", Path(__file__).with_name("bench.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)
_spec = importlib.util.spec_from_file_location("bench_rnn", Path(__file__).with_name("bench_rnn.py"))
bench_rnn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_rnn)
_spec = importlib.util.spec_from_file_location("bench_conv", Path(__file__).with_name("bench_a3_convnet.py"))
bench_conv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_conv)
STAGES = ("tests", "agreement", "sync", "timing", "convnet")  # in the order they run
NO_CUDA = "skipped: no CUDA"
# time ratios reported (slower / faster): what graphs gain, linclf against the autograd loops, the batched grid
RATIOS = [("a", "a_graphs"), ("b", "a_graphs"), ("c", "a_graphs"), ("b", "a"), ("d_sequential", "d_batched")]


def build_parser():
    p = argparse.ArgumentParser(prog="experiments/gpu_check.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="experiments/results/gpu_check", help="output folder (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace the files of an earlier check in --out")
    p.add_argument("--quick", action="store_true", help="tiny sizes, 2 epochs, one timed run: a smoke test (CPU too)")
    p.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES, help="stages to run (default: all)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per method; the median is reported")
    p.add_argument("--budget-s", type=float, default=420, help="no timed run starts that would end later (s)")
    p.add_argument("--seed", type=int, default=0)
    add_threads_flag(p)
    return p


def log(args, message):
    print(f"[gpu_check {time.perf_counter() - args.start:6.1f} s] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- stages

def tests_stage(args, out, paths):
    """`pytest -m cuda paths` in a subprocess that imports this checkout; counts from its JUnit XML."""
    xml = out / "pytest-cuda.xml"
    command = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-rfE", "-p", "no:cacheprovider",
               f"--junitxml={xml}", *map(str, paths)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    timeout = min(180.0, max(60.0, args.deadline - time.perf_counter()))
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"failed: pytest ran past {timeout:.0f} s", "met": False}
    result = {"command": " ".join(["python", *command[1:]]), "returncode": done.returncode,
              "output_tail": (done.stdout + done.stderr)[-4000:]}
    if not xml.is_file():
        return {**result, "status": "failed: pytest wrote no report", "met": False}
    cases = list(ET.parse(xml).getroot().iter("testcase"))
    failures = [f"{c.get('classname')}::{c.get('name')}" for c in cases
                if c.find("failure") is not None or c.find("error") is not None]
    skipped = sum(c.find("skipped") is not None for c in cases)
    passed = len(cases) - len(failures) - skipped
    return {**result, "passed": passed, "failed": len(failures), "skipped": skipped, "failures": failures,
            "met": not failures and done.returncode == 0 and (passed > 0 or not args.cuda)}


def rel_diff(a, b):
    """|a − b| / max(|a|, |b|), 0 when equal."""
    return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))


def compare(ref, other):
    """Largest relative difference per metric over the epochs of both, and per parameter (and
    buffer) max |Δ| / max |θ|."""
    (h_ref, p_ref), (h, p) = ref, other
    metrics = {k: max(rel_diff(a[k], b[k]) for a, b in zip(h_ref, h)) for k in h_ref[0] if k != "epoch"}
    weights = {k: ((p[k] - p_ref[k]).abs().max() / p_ref[k].abs().max()).item() for k in p_ref}
    return {"epochs": [len(h_ref), len(h)], "history_max": max(metrics.values()), "history": metrics,
            "weights_max": max(weights.values()), "weights": weights}


def trained(cfg, data, graphs):
    """(history, parameters and buffers (batch norm's running averages) in float64 on the CPU)
    and the wall time of one training run."""
    model = build_model(cfg, data.X_train.shape[1], len(data.classes), data.X_train.device)
    start = time.perf_counter()
    history = train(model, data, cfg, progress=False, graphs=graphs)
    wall = time.perf_counter() - start
    state = {**model.params, **model.buffers}  # buffers mu1, v1, …: no name of a parameter
    return (history, {k: v.to("cpu", torch.float64) for k, v in state.items()}), wall


def rnn_config(args, dtype="float32", device="cpu", updates=None):
    """DD2424 A4's RNN (m = 100, τ = 25, Adam η 0.001) for this check: 1,000 updates, a record every 100, no
    samples (--quick: m = 16, 60 updates, a record every 20)."""
    every = 20 if args.quick else 100
    updates = updates or (60 if args.quick else 1000)
    return RNNConfig(text="synthetic", hidden=16 if args.quick else 100, updates=updates, record_every=every,
                     sample_every=every, sample_length=0, seed=args.seed, device=device, dtype=dtype)


def rnn_text(args):
    """A synthetic text of K = 65 letters (the speed and the agreement do not depend on the words)."""
    return bench_rnn.synthetic_text(100_000, 65, args.seed)


def rnn_trained(cfg, text):
    """(smooth-loss history, parameters in float64 on the CPU) and the wall time of one RNN run."""
    state = RNNState.start(len(text.chars), cfg, torch.device(cfg.device))
    data = text.encode(device=cfg.device)
    start = time.perf_counter()
    train_rnn(data, cfg, state, progress=False)
    wall = time.perf_counter() - start
    return (state.history, {k: v.to("cpu", torch.float64) for k, v in state.params.items()}), wall


def agreement_stage(args, raw, base, save):
    result = {}
    for dtype in ("float64", "float32"):
        log(args, f"agreement: {dtype}")
        cfg = replace(base, dtype=dtype, device="cpu")
        cpu = prepare(raw, split="a1", device="cpu", dtype=cfg.torch_dtype)
        runs = {"cpu": trained(cfg, cpu, graphs=False)}
        if args.cuda:
            gpu = prepare(raw, split="a1", device="cuda", dtype=cfg.torch_dtype)
            runs["cuda eager"] = trained(replace(cfg, device="cuda"), gpu, graphs=False)
            runs["cuda graphs"] = trained(replace(cfg, device="cuda"), gpu, graphs=True)
            pairs = [("cpu", "cuda eager"), ("cpu", "cuda graphs"), ("cuda eager", "cuda graphs")]
        else:  # the fixed-buffer epoch that CUDA would capture, run eagerly on the CPU
            runs["cpu fixed buffers"] = trained(cfg, cpu, graphs=True)
            pairs = [("cpu", "cpu fixed buffers")]
        result[dtype] = {"wall_time_s": {k: wall for k, (_, wall) in runs.items()},
                         "n_train": len(cpu.y_train), "epochs": cfg.epochs,
                         **{f"{a} vs {b}": compare(runs[a][0], runs[b][0]) for a, b in pairs}}
        # DD2424 A2's network, 3072 → 50 → 10, and A3's 3-layer batch-norm network, 3072 → 50 → 50 → 10
        # (its running averages compared with the weights), each one cycle of η set before every update
        n_s = 2 * math.ceil(len(cpu.y_train) / cfg.batch_size)
        cyclic = dict(model="mlp", eta_cycle=f"cyclic:1e-5:1e-1:{n_s}", cycles=1)
        networks = {"two-layer": dict(hidden=(50,), init="dd2424", lam=0.01),
                    "three-layer bn": dict(hidden=(50, 50), init="he", batchnorm=True, lam=0.005)}
        for name, settings in networks.items():
            net = replace(cfg, **cyclic, **settings)
            net_cpu, result[dtype]["wall_time_s"][f"{name} cpu"] = trained(net, cpu, graphs=False)
            if args.cuda:  # eagerly: TrainConfig refuses batch norm with CUDA graphs
                net_cuda, result[dtype]["wall_time_s"][f"{name} cuda"] = trained(replace(net, device="cuda"), gpu,
                                                                                 graphs=False)
                result[dtype][f"{name} cpu vs cuda"] = compare(net_cpu, net_cuda)
            else:
                result[dtype][f"{name} cpu records"] = len(net_cpu[0])
        rnn = rnn_config(args, dtype)  # DD2424 A4's character RNN
        rnn_cpu, result[dtype]["wall_time_s"]["rnn cpu"] = rnn_trained(rnn, rnn_text(args))
        if args.cuda:
            rnn_cuda, result[dtype]["wall_time_s"]["rnn cuda"] = rnn_trained(replace(rnn, device="cuda"),
                                                                             rnn_text(args))
            result[dtype]["rnn cpu vs cuda"] = compare(rnn_cpu, rnn_cuda)
        else:
            result[dtype]["rnn cpu records"] = len(rnn_cpu[0])
        save(result)
        log(args, f"agreement: {dtype}: " + ", ".join(f"{k}: {c['history_max']:.1e}"
                                                     for k, c in result[dtype].items() if " vs " in k))
    same_epochs = all(len(set(c["epochs"])) == 1 for d in result.values() for k, c in d.items() if " vs " in k)
    if args.cuda:
        worst = max(result["float64"][pair]["history_max"]
                    for pair in ("cpu vs cuda eager", "cpu vs cuda graphs", "two-layer cpu vs cuda",
                                 "three-layer bn cpu vs cuda"))
        rnn = result["float64"]["rnn cpu vs cuda"]["history_max"]
        result["float64_cpu_vs_cuda_history_max"], result["rnn_float64_cpu_vs_cuda_history_max"] = worst, rnn
        result["met"] = same_epochs and worst <= 1e-9 and rnn <= 1e-9
    else:
        result["cuda"] = NO_CUDA
        result["met"] = same_epochs and all(result[d]["cpu vs cpu fixed buffers"]["history_max"] == 0
                                            for d in ("float64", "float32"))
    return result


def sync_stage(args, raw, base):
    if not args.cuda:
        return {"status": NO_CUDA}
    data = prepare(raw, split="a1", device="cuda", flip=True)
    cfg = replace(base, device="cuda", shuffle=True, flip=0.5, momentum=0.9)
    result = {"config": {"shuffle": True, "flip": 0.5, "momentum": 0.9}}
    for name, graphs in (("eager epoch", False), ("graph replay", True)):
        model = build_model(cfg, data.X_train.shape[1], len(data.classes), "cuda")
        state = TrainState.start(model, cfg, "cuda")
        run_epoch = epoch_runner(model, state.optimizer, data, cfg, graphs)
        for _ in range(2):  # warm-up, then (graphs) the capture, which synchronizes
            run_epoch(state.generator)
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            run_epoch(state.generator)
            result[name] = "no host sync"
        except RuntimeError as e:
            result[name] = f"host sync: {e}"
        finally:
            torch.cuda.set_sync_debug_mode("default")
    result["rnn updates"] = rnn_syncs(args)
    result["met"] = all(result[k] == "no host sync" for k in ("eager epoch", "graph replay", "rnn updates"))
    return result


def rnn_syncs(args):
    """Host synchronisations in 50 RNN updates on CUDA after 2 (warm-up), counted in sync debug mode "warn":
    the record at update 52 (one read-back) is the only one allowed."""
    cfg = rnn_config(args, device="cuda", updates=2)
    text = rnn_text(args)
    state = RNNState.start(len(text.chars), cfg, torch.device("cuda"))
    data = text.encode(device="cuda")
    train_rnn(data, cfg, state, progress=False)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            train_rnn(data, replace(cfg, updates=52, record_every=1000, sample_every=1000), state, progress=False)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = [str(w.message) for w in caught if "synchroniz" in str(w.message)]
    return "no host sync" if len(syncs) <= 1 else f"{len(syncs) - 1} host syncs besides the record: {syncs[:3]}"


def timing_stage(args, raw, base, save):
    device = torch.device("cuda" if args.cuda else "cpu")
    cfg = replace(base, split="full", n_val=100 if args.quick else 1000, device=device.type)
    data = prepare(raw, split="full", n_val=cfg.n_val, device=device)
    grid = {"eta": [0.001, 0.01], "lam": [0.0, 0.1], "batch_size": [10, 20]} if args.quick else bench.GRID
    configs = expand_grid(cfg, **grid)
    graphs = "CUDA graphs" if args.cuda else "the fixed-buffer epoch, nothing captured (no CUDA)"
    with_epochs = lambda e: replace(cfg, epochs=e)
    methods = [  # (key, label, run(epochs) -> accuracies), the least needed last
        ("a", "linclf trainer, eager", lambda e: bench.linclf_run(with_epochs(e), data, graphs=False)),
        ("a_graphs", f"linclf trainer, {graphs}", lambda e: bench.linclf_run(with_epochs(e), data, graphs=True)),
        ("b", "autograd + torch.optim.SGD, sliced batches", lambda e: bench.autograd_run(with_epochs(e), data)),
        ("d_batched", f"grid of {len(configs)}, batched",
         lambda e: bench.grid_run([replace(c, epochs=e) for c in configs], data, True)),
        ("d_sequential", f"grid of {len(configs)}, one run after another",
         lambda e: bench.grid_run([replace(c, epochs=e) for c in configs], data, False)),
        ("c", "autograd + torch.optim.SGD + DataLoader",
         lambda e: bench.autograd_run(with_epochs(e), data, loader=True)),
    ]
    result = {"config": {"split": "full", "n_train": len(data.y_train), "n_val": len(data.y_val),
                         "n_test": len(data.y_test), "batch_size": cfg.batch_size, "epochs": cfg.epochs,
                         "eta": cfg.eta, "grid": grid, "repeats": args.repeats}, "methods": {}}
    for key, label, fn in methods:
        log(args, f"timing: ({KEYS.get(key, key)}) {label} ...")
        result["methods"][key] = {"label": label, **timed(args, fn, cfg.epochs, device)}
        save(result)
        times = " ".join(f"{t:.2f}" for t in result["methods"][key].get("times_s", []))
        log(args, f"timing: ({KEYS.get(key, key)}) {times + ' s' if times else result['methods'][key]['status']}")
    result["rnn"] = rnn_timing(args, device)
    save(result)
    m = {k: v["median_s"] for k, v in result["methods"].items() if "median_s" in v}
    result["ratios"] = {f"{slow}/{fast}": m[slow] / m[fast] for slow, fast in RATIOS if slow in m and fast in m}
    if args.cuda:
        result["peak_memory_bytes"] = max(v.get("peak_memory_bytes") or 0 for v in result["methods"].values())
    return result


def rnn_timing(args, device):
    """DD2424 A4's RNN on the device: linclf's trainer and the autograd loop of bench_rnn.py, 2,000 updates
    each (--quick: 30), and linclf's with mini-batches of 32 sequences (--batch-size 32), median of --repeats
    after a 10-update warm-up, within the time budget."""
    updates = 30 if args.quick else 2000
    text = rnn_text(args)
    data, K = text.encode(device=device), len(text.chars)
    cfg = replace(rnn_config(args, device=device.type, updates=updates), hidden=100, record_every=updates,
                  sample_every=updates)
    variants = {"linclf": bench_rnn.linclf_run, "autograd": bench_rnn.autograd_run,
                "linclf, 32 sequences an update": lambda d, c, k: bench_rnn.linclf_run(d, replace(c, batch_size=32), k)}
    result = {"updates": updates, "hidden": cfg.hidden, "seq_length": cfg.seq_length, "K": K}
    for name, fn in variants.items():
        fn(data, replace(cfg, updates=10, record_every=10, sample_every=10), K)
        times = []
        while len(times) < args.repeats and time.perf_counter() + (times[-1] if times else 0) <= args.deadline:
            bench.sync(device)
            start = time.perf_counter()
            fn(data, cfg, K)
            bench.sync(device)
            times.append(time.perf_counter() - start)
        log(args, f"timing: rnn {name} " + " ".join(f"{t:.2f}" for t in times) + " s")
        result[name] = ({"median_s": statistics.median(times), "times_s": times,
                         "updates_per_s": updates / statistics.median(times)} if times
                        else {"status": "skipped: time budget"})


def convnet_stage(args, raw, save):
    """The ConvNet on the CPU and CUDA (agreement), and on CUDA against conv2d + autograd (speed)."""
    n_val, n_s = (100, 5) if args.quick else (1000, 490)
    cfg = TrainConfig(model="conv", filter_size=4, filters=10, hidden=(50,), conv_bias=True, label_smoothing=0.1,
                      lam=0.003, batch_size=10 if args.quick else 100, eta_cycle=f"cyclic:1e-5:1e-1:{n_s}", cycles=1,
                      split="full", n_val=n_val, seed=args.seed)
    result = {}
    for dtype in ("float64", "float32"):
        log(args, f"convnet: {dtype}")
        c = replace(cfg, dtype=dtype)
        cpu = prepare(raw, split="full", n_val=n_val, device="cpu", dtype=c.torch_dtype)
        ref, wall = trained(replace(c, device="cpu"), cpu, graphs=False)
        result[dtype] = {"cpu records": len(ref[0]), "wall_time_s": {"cpu": wall}}
        if args.cuda:
            gpu = prepare(raw, split="full", n_val=n_val, device="cuda", dtype=c.torch_dtype)
            run, result[dtype]["wall_time_s"]["cuda"] = trained(replace(c, device="cuda"), gpu, graphs=False)
            result[dtype]["cpu vs cuda"] = compare(ref, run)
        save(result)
    if args.cuda:
        result["float64_cpu_vs_cuda_history_max"] = result["float64"]["cpu vs cuda"]["history_max"]
        data = prepare(raw, split="full", n_val=n_val, device="cuda")
        ex3 = replace(cfg, conv_bias=False, label_smoothing=0.0, eta_cycle="cyclic:1e-5:1e-1:800", device="cuda")
        result["timing"] = {}
        for key, fn in (("a", bench_conv.linclf_run), ("b", bench_conv.autograd_run)):
            log(args, f"convnet: timing ({key}) ...")
            result["timing"][key] = timed(args, lambda cycles, fn=fn: fn(replace(ex3, cycles=cycles), data), 1,
                                          torch.device("cuda"))
            save(result)
        m = {k: v["median_s"] for k, v in result["timing"].items() if "median_s" in v}
        if len(m) == 2:
            result["b_vs_a"] = m["b"] / m["a"]
        result["met"] = result["float64_cpu_vs_cuda_history_max"] <= 1e-9
    else:
        result["cuda"], result["met"] = NO_CUDA, all(result[d]["cpu records"] >= 10 for d in ("float64", "float32"))
    return result


def timed(args, fn, epochs, device):
    """Median wall time of fn(epochs) over --repeats runs after fn(1); a run that would end after
    the deadline (estimated from the previous run, or from the warm-up) is not started."""
    bench.sync(device)
    start = time.perf_counter()
    fn(1)
    bench.sync(device)
    estimate = (time.perf_counter() - start) * epochs
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, out = [], None
    while len(times) < args.repeats and time.perf_counter() + estimate <= args.deadline:
        start = time.perf_counter()
        out = fn(epochs)
        bench.sync(device)
        times.append(time.perf_counter() - start)
        estimate = times[-1]
    if not times:
        return {"status": f"skipped: time budget (estimated {estimate:.0f} s)"}
    accuracies = {"best_val_acc": out[0]} if isinstance(out[1], list) else {"val_acc": out[0], "test_acc": out[1]}
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else None
    return {"median_s": statistics.median(times), "times_s": times, **accuracies, "peak_memory_bytes": peak}


# ----------------------------------------------------------------------------- the report

def targets(args, stages):
    """Issue 14's done-when checks that the stages so far can answer: measured, target, met."""
    rows, t = {}, stages.get("tests", {})
    if "passed" in t:
        rows["CUDA tests pass"] = (f"{t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped",
                                   "all pass", t["met"] if args.cuda else None)
    agreement = stages.get("agreement", {})
    if "float64_cpu_vs_cuda_history_max" in agreement:
        rows["CPU vs CUDA, float64 histories"] = (
            f"max relative difference {agreement['float64_cpu_vs_cuda_history_max']:.1e}", "≤ 1e-9",
            agreement['float64_cpu_vs_cuda_history_max'] <= 1e-9)
    if "rnn_float64_cpu_vs_cuda_history_max" in agreement:
        rows["RNN CPU vs CUDA, float64 smooth loss"] = (
            f"max relative difference {agreement['rnn_float64_cpu_vs_cuda_history_max']:.1e}", "≤ 1e-9",
            agreement["rnn_float64_cpu_vs_cuda_history_max"] <= 1e-9)
    sync = stages.get("sync", {})
    if "met" in sync:
        rows["no host sync inside an epoch"] = (f"eager: {sync['eager epoch']}; replay: {sync['graph replay']}",
                                               "none", sync["met"])
    m = {k: v["median_s"] for k, v in stages.get("timing", {}).get("methods", {}).items() if "median_s" in v}
    conv = stages.get("convnet", {})
    if "float64_cpu_vs_cuda_history_max" in conv:
        rows["ConvNet: CPU vs CUDA, float64 histories"] = (
            f"max relative difference {conv['float64_cpu_vs_cuda_history_max']:.1e}", "≤ 1e-9", conv["met"])
    if "b_vs_a" in conv:
        rows["ConvNet: linclf faster than conv2d + autograd"] = (f"{conv['b_vs_a']:.1f}x", "≥ 1.5x",
                                                               conv["b_vs_a"] >= 1.5)
    if args.cuda and not args.quick:
        if "a_graphs" in m:
            rows["40 epochs of the full split, per-epoch metrics (a')"] = (f"{m['a_graphs']:.2f} s", "≤ 1.0 s",
                                                                          m["a_graphs"] <= 1.0)
        if {"a_graphs", "b"} <= set(m):
            rows["(a') faster than (b)"] = (f"{m['b'] / m['a_graphs']:.1f}x", "≥ 3x", m["b"] / m["a_graphs"] >= 3)
        if {"d_batched", "d_sequential"} <= set(m):
            ratio = m["d_sequential"] / m["d_batched"]
            rows["batched grid faster than sequential"] = (f"{ratio:.1f}x", "≥ 10x", ratio >= 10)
    return {k: {"measured": a, "target": b, "met": c} for k, (a, b, c) in rows.items()}


KEYS = {"a_graphs": "a'"}  # the docs' name (a') for results.json's key


def report(results):
    env, stages = results["env"], results["stages"]
    yes = {True: "met", False: "**not met**", None: "(no CUDA)"}
    lines = [f"# GPU check: {env['device_name']} ({env['device']})", "",
             f"Status: {results['status']}; wall time {results['wall_time_s']:.0f} s; torch {env['torch']} "
             f"(CUDA {results['cuda_version']}), Python {env['python']}, commit {env['git_commit']}"
             + ("; --quick: tiny sizes, numbers not meaningful" if results["quick"] else ""), "",
             "## Targets (issue 14)", "",
             markdown_table(["check", "measured", "target", ""],
                            [[k, v["measured"], v["target"], yes[v["met"]]] for k, v in results["targets"].items()])]
    for name, stage in stages.items():
        lines += ["", f"## {name}", "", f"Status: {stage.get('status')}"]
        if name == "tests" and "failures" in stage:
            lines += [f"`{stage['command']}`: {stage['passed']} passed, {stage['failed']} failed, "
                      f"{stage['skipped']} skipped", *[f"- failed: `{f}`" for f in stage["failures"]]]
        if name == "agreement":
            rows = [[dtype, pair, f"{c['history_max']:.1e}", f"{c.get('weights_max', float('nan')):.1e}"]
                    for dtype in ("float64", "float32") if dtype in stage
                    for pair, c in stage[dtype].items() if " vs " in pair]
            lines += ["", "Max relative difference over every metric of every epoch, and max |Δθ| / max |θ| over the "
                      "parameters and running averages:", "",
                      markdown_table(["dtype", "runs", "history", "weights"], rows)]
        if name == "sync":
            lines += [f"- {k}: {v}" for k, v in stage.items() if k in ("eager epoch", "graph replay", "rnn updates")]
        if name == "timing":
            rows = [[KEYS.get(k, k), v["label"], f"{v['median_s']:.2f} s" if "median_s" in v else v.get("status", ""),
                     " ".join(f"{t:.2f}" for t in v.get("times_s", [])),
                     " ".join(f"{a} {100 * v[a]:.2f}%" for a in ("val_acc", "test_acc", "best_val_acc") if a in v),
                     f"{v['peak_memory_bytes'] / 2**20:.0f} MiB" if v.get("peak_memory_bytes") else ""]
                    for k, v in stage.get("methods", {}).items()]
            c = stage.get("config", {})
            lines += ["", f"{c.get('n_train')} training / {c.get('n_val')} validation / {c.get('n_test')} test "
                      f"images, batch {c.get('batch_size')}, {c.get('epochs')} epochs, median of {c.get('repeats')} "
                      "after a 1-epoch warm-up:", "",
                      markdown_table(["", "method", "median", "runs (s)", "accuracy", "peak GPU memory"], rows)]
            rnn = stage.get("rnn", {})
            if rnn:
                lines += ["", f"DD2424 A4's RNN, {rnn['updates']} updates (m = {rnn['hidden']}, "
                          f"τ = {rnn['seq_length']}, K = {rnn['K']}): " + "; ".join(
                              f"{k} {v['median_s']:.2f} s ({v['updates_per_s']:.0f} updates/s)" if "median_s" in v
                              else f"{k} {v['status']}" for k, v in rnn.items() if isinstance(v, dict))]
            if "ratios" in stage:
                lines += ["", "Ratios: " + ", ".join(f"{k.replace('a_graphs', KEYS['a_graphs'])} {v:.2f}x"
                                                     for k, v in stage["ratios"].items())]
        if name == "convnet":
            rows = [[dtype, f"{c['history_max']:.1e}", f"{c['weights_max']:.1e}"]
                    for dtype in ("float64", "float32") for c in [stage.get(dtype, {}).get("cpu vs cuda")] if c]
            rows += [[f"({k}) time", f"{v['median_s']:.2f} s" if "median_s" in v else v.get("status", ""), ""]
                     for k, v in stage.get("timing", {}).items()]
            lines += ["", markdown_table(["", "history / time", "weights"], rows)] if rows else []
        if "error" in stage:
            lines += ["", "```", stage["error"], "```"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ the run

def body(args, out):
    results = {"status": "running", "stage": None, "quick": args.quick, "command": args.command,
               "cuda_version": torch.version.cuda if args.cuda else None,
               "env": env_info("cuda" if args.cuda else "cpu"), "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
               "stages": {}}
    if args.cuda:
        props = torch.cuda.get_device_properties(0)
        results["gpu"] = {"name": props.name, "memory_bytes": props.total_memory,
                          "sm_count": props.multi_processor_count}

    def save(stage=None, partial=None):
        """Rewrite results.json and report.md; with a stage, its partial result first."""
        if stage is not None:
            results["stages"][stage] = {"status": "running", **partial}
        results["wall_time_s"] = time.perf_counter() - args.start
        results["targets"] = targets(args, results["stages"])
        save_json(out / "results.json", results)
        write_atomic(out / "report.md", lambda tmp: Path(tmp).write_text(report(results)))

    base = TrainConfig(seed=args.seed)  # DD2424's baseline
    if args.quick:
        base = replace(base, epochs=2, batch_size=10, eta=0.01)
    raw = functools.cache(lambda: bench.synthetic_cifar(400, 200, batch_size=100, seed=args.seed, signal=20)
                          if args.quick else bench.synthetic_cifar(50000, 10000, batch_size=10000, seed=args.seed))
    tests = ROOT / "tests" / "test_graphs.py" if args.quick else ROOT / "tests"
    stages = {"tests": lambda: tests_stage(args, out, [tests]),
              "agreement": lambda: agreement_stage(args, raw(), base, functools.partial(save, "agreement")),
              "sync": lambda: sync_stage(args, raw(), base),
              "timing": lambda: timing_stage(args, raw(), base, functools.partial(save, "timing")),
              "convnet": lambda: convnet_stage(args, raw(), functools.partial(save, "convnet"))}
    try:
        for stage in (s for s in stages if s in args.stages):
            results["stage"] = stage
            log(args, f"{stage} ...")
            try:
                results["stages"][stage] = {"status": "done", **stages[stage]()}
            except Exception:  # noqa: BLE001 (a bug in one stage must not cost the others their GPU time)
                results["stages"][stage] = {"status": "crashed", "error": traceback.format_exc()[-4000:]}
            save()
            log(args, f"{stage}: {results['stages'][stage]['status']}, met: {results['stages'][stage].get('met')}")
        results["status"], results["stage"] = "completed", None
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM / SIGHUP (errors.Terminated): keep what is done
        results["status"] = f"{Terminated.in_words(e)} during {results['stage']}"
        save()
        log(args, results["status"])
        return Terminated.exit_code(e)
    save()
    print(report(results))
    ok = all(s.get("met") is not False and s["status"] != "crashed" for s in results["stages"].values())
    return 0 if ok else 1


def main(argv=None):
    p = build_parser()
    args = p.parse_args(argv)
    args.command = " ".join(["python", p.prog, *(sys.argv[1:] if argv is None else argv)])
    args.start = time.perf_counter()
    args.deadline = args.start + args.budget_s
    args.cuda = torch.cuda.is_available()
    if not args.cuda and not args.quick:
        print("error: experiments/gpu_check.py needs a CUDA GPU and PyTorch sees none; "
              "--quick runs its smoke test on the CPU", file=sys.stderr)
        return 2
    try:
        if args.repeats < 1:
            raise LinclfError(f"--repeats must be ≥ 1 (got {args.repeats})")
        out = check_out_dir(args.out, args.overwrite)
        set_threads(args.threads)
    except LinclfError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.quick:
        args.repeats = 1
    out.mkdir(parents=True, exist_ok=True)
    previous = Terminated.handle()
    try:
        return body(args, out)
    finally:
        Terminated.restore(previous)


if __name__ == "__main__":
    sys.exit(main())
