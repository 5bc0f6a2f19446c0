"""Which CPU thread count should `linclf` use by default, on an idle machine and on a busy one?

PyTorch's default, one thread per core, stalls on a machine whose cores other processes
also use; one thread wastes an idle machine's other cores. `--threads auto` (the default of
`linclf` and every experiment script) takes the cores that other processes left idle while
it started. This benchmark trains DD2424's baseline (split a1's shape, 10,000 synthetic
images, batch 100, --epochs epochs with per-epoch metrics, as `linclf train` does) in a
fresh process per measurement, with --threads 1, 2, ..., the machine's cores, and auto:
    idle   nothing else running (as far as this machine lets us)
    busy   one other process spinning on one core (`python -c "while True: pass"`)
and reports each median training time and auto's against the best fixed count.

    python experiments/bench_threads.py [--epochs 10] [--repeats 3] [--out DIR]

Evidence: docs/performance.md, "Threads".
"""
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from linclf_torch.threads import usable_cores

ROOT = Path(__file__).resolve().parents[1]
ONE_RUN = """
import sys, time
from linclf_torch import threads           # before torch: auto measures from here
import torch
from linclf_torch.training.config import TrainConfig
from linclf_torch.data.prepare import prepare
from linclf_torch.training.loop import build_model, train
sys.path.insert(0, {experiments!r})
from bench import synthetic_cifar
n = threads.set_threads({threads!r})
data = prepare(synthetic_cifar(20000, 1000, 10000), split="a1", device="cpu")
cfg = TrainConfig(epochs={epochs}, device="cpu")
model = build_model(cfg, data.X_train.shape[1], 10, "cpu")
start = time.perf_counter()
train(model, data, cfg, progress=False)
print(n, time.perf_counter() - start)
"""


def measure(threads, epochs):
    """(threads used, training seconds) of one fresh process."""
    code = ONE_RUN.format(threads=threads, epochs=epochs, experiments=str(ROOT / "experiments"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    n, seconds = done.stdout.split()
    return int(n), float(seconds)


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(prog="experiments/bench_threads.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default="experiments/results/bench_threads")
    args = p.parse_args(argv)
    cores = usable_cores()
    settings = [*range(1, cores + 1), "auto"]
    results = {"cores": cores, "epochs": args.epochs, "repeats": args.repeats, "conditions": {}}
    for condition in ("idle", "busy"):
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if condition == "busy" else None
        try:
            if spinner is not None:
                time.sleep(1.0)  # let it settle on its core
            times = {str(s): [] for s in settings}
            used = {}
            for _ in range(args.repeats):  # interleaved, so that a change of load hits every setting alike
                for s in settings:
                    used[str(s)], seconds = measure(s, args.epochs)
                    times[str(s)].append(seconds)
                    print(f"{condition}: --threads {s} ({used[str(s)]} threads): {seconds:.2f} s", flush=True)
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
        medians = {s: statistics.median(t) for s, t in times.items()}
        best = min((s for s in medians if s != "auto"), key=medians.get)
        results["conditions"][condition] = {"times": times, "median": medians, "auto_threads": used["auto"],
                                            "best_fixed": best, "auto_vs_best": medians["auto"] / medians[best]}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["| load | " + " | ".join(f"--threads {s}" for s in settings) + " | auto chose | auto / best |",
             "|---|" + "---|" * (len(settings) + 2)]
    for condition, r in results["conditions"].items():
        lines.append(f"| {condition} | " + " | ".join(f"{r['median'][str(s)]:.2f} s" for s in settings) +
                     f" | {r['auto_threads']} | {r['auto_vs_best']:.2f}× (best: {r['best_fixed']}) |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
