"""The wait around training: loading CIFAR-10, and the whole `linclf train` beside its training time.

Question: how long does a user wait for the data, and how much memory does it take?
  - cached `load_data(split=...)` for split a1 and full: time and the process's peak RSS
    (resource.getrusage ru_maxrss, in a fresh Python process each time, after `import torch`,
    whose own peak is reported for scale), then the time to the test split (`data.X_test`);
  - the first load of an image folder: decoding every file and writing the cache, into a
    fresh, empty cache folder each time;
  - beside each time, the CPU time the process spent (user + system): on a machine shared
    with other jobs, the wall time of parallel work can be read against it;
  - `linclf train --epochs 1` and the 40-epoch baseline: the command's wall time (Python
    start-up included) next to the training time that its results.json records, and the
    rest (wall time minus training time) run by run.
Every child runs with --threads (default 1). The loads use caches this script builds in a
temporary folder; `linclf train` uses its default cache, which is beside the data when the
data folder is writable (else in a temporary $XDG_CACHE_HOME). The median of --repeats runs
is reported.

    python experiments/bench_load.py --data-dir PATH --threads 1 --repeats 3

Evidence: docs/performance.md, "Data loading".
"""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from linclf_torch.cli.experiment import script
from linclf_torch.data.prepare import resolve_device
from linclf_torch.figures.tables import markdown_table
from linclf_torch.threads import threads_in_words

# One measurement in a fresh process: its peak RSS is the load's alone. Prints one JSON line.
CHILD = r"""
import json, resource, sys, time
a = json.loads(sys.argv[1])
import torch
torch.set_num_threads(a["threads"])
from linclf_torch.data.cifar import load_cifar10
from linclf_torch.data.prepare import load_data, resolve_device
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
cpu = lambda: (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(resource.RUSAGE_SELF))
out = {"import_peak_gb": peak()}
start, cpu0 = time.perf_counter(), cpu()
if a["what"] == "decode":
    load_cifar10(a["data_dir"], cache_dir=a["cache_dir"], verify=a["verify"])
else:
    data = load_data(a["data_dir"], split=a["what"], n_val=a["n_val"], cache_dir=a["cache_dir"],
                     verify=a["verify"], device=resolve_device(a["device"]))
    out.update(load_s=time.perf_counter() - start, load_cpu_s=cpu() - cpu0, load_peak_gb=peak(),
               n_train=len(data.y_train))
    data.X_test
out.update(total_s=time.perf_counter() - start, cpu_s=cpu() - cpu0, peak_gb=peak())
print(json.dumps(out))
"""


def child(what, args, cache_dir):
    a = dict(what=what, data_dir=str(Path(args.data_dir).resolve()), cache_dir=str(cache_dir),
             verify=not args.no_verify, threads=args.threads, n_val=args.n_val, device=args.device)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(a)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
    if done.returncode:
        sys.exit(f"bench_load: the {what} measurement failed:\n{done.stderr}")
    return {**json.loads(done.stdout.splitlines()[-1]), "wall_s": time.perf_counter() - start}


def train(args, work, epochs, i):
    """`linclf train` as a user runs it, from the folder `work`: (wall time, training time, CPU time)."""
    out = work / f"run-{epochs}-{i}"
    cmd = [sys.executable, "-m", "linclf_torch", "train", "--data-dir", str(Path(args.data_dir).resolve()),
           "--epochs", str(epochs), "--threads", str(args.threads), "--device", args.device,
           "--no-progress", "--out", str(out), *(["--no-verify"] if args.no_verify else []),
           *(["--batch-size", "10"] if args.quick else [])]
    # The default cache is keyed by the data folder; the user cache folder is the temporary one.
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "XDG_CACHE_HOME": str(work / "xdg")}
    start, cpu0 = time.perf_counter(), children_cpu()
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, children_cpu() - cpu0
    if done.returncode:
        sys.exit(f"bench_load: {' '.join(cmd)} failed:\n{done.stderr}")
    return wall, json.loads((out / "results.json").read_text())["wall_time_s"], cpu


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def median(runs, key):
    return statistics.median(r[key] for r in runs)


@script("bench_load", __doc__,
        ("--repeats", {"type": int, "default": 3, "help": "runs of each measurement; the median is reported"}),
        ("--n-val", {"type": int, "default": 1000, "help": "validation images of split full"}),
        ("--epochs", {"type": int, "nargs": "+", "default": [1, 40], "help": "the `linclf train` runs to time"}),
        defaults={"threads": 1})
def main(args, exp):
    if args.quick:
        args.repeats, args.n_val, args.epochs = 1, 10, [1]
    work = Path(tempfile.mkdtemp(prefix="bench_load-"))
    results = {"data": str(args.data_dir), "threads": args.threads, "repeats": args.repeats,
               "load_average_before": os.getloadavg()}
    rows = []
    try:
        decodes = []
        for i in range(args.repeats):  # each into an empty cache folder; the last one stays for the cached loads
            cache = work / f"cache{i}"
            decodes.append(child("decode", args, cache))
            print(f"first load (decode + cache): {decodes[-1]['total_s']:.2f} s", file=sys.stderr)
        results["first_load"] = decodes
        rows.append(["first load: decode every image, write the cache", f"{median(decodes, 'total_s'):.2f} s",
                     f"{median(decodes, 'cpu_s'):.2f} s", f"{median(decodes, 'peak_gb'):.2f} GB", ""])
        for split in ("a1", "full"):
            runs = [child(split, args, cache) for _ in range(args.repeats)]
            results[f"cached_{split}"] = runs
            rows.append([f"cached `load_data(split=\"{split}\")`, {runs[0]['n_train']} training images",
                         f"{median(runs, 'load_s'):.2f} s", f"{median(runs, 'load_cpu_s'):.2f} s",
                         f"{median(runs, 'load_peak_gb'):.2f} GB",
                         f"{median(runs, 'total_s'):.2f} s, {median(runs, 'peak_gb'):.2f} GB"])
            print(f"cached {split}: {median(runs, 'load_s'):.2f} s, {median(runs, 'load_peak_gb'):.2f} GB",
                  file=sys.stderr)
        results["import_torch_peak_gb"] = median(decodes, "import_peak_gb")
        if not args.quick:
            train(args, work, 1, "warm-up")  # builds the default cache of the data folder for the runs below
        for epochs in args.epochs:
            runs = [dict(zip(("wall_s", "training_s", "cpu_s"), train(args, work, epochs, i)))
                    for i in range(args.repeats)]
            for r in runs:  # the wait around training, run by run (the medians of wall and training mix runs)
                r["rest_s"] = r["wall_s"] - r["training_s"]
            results[f"train_{epochs}"] = runs
            rows.append([f"`linclf train --epochs {epochs}`: whole command / training",
                         f"{median(runs, 'wall_s'):.2f} s", f"{median(runs, 'cpu_s'):.2f} s", "",
                         f"training {median(runs, 'training_s'):.2f} s, the rest {median(runs, 'rest_s'):.2f} s"])
            print(f"train {epochs} epochs: {median(runs, 'wall_s'):.2f} s wall, "
                  f"{median(runs, 'training_s'):.2f} s training", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_average_after"] = os.getloadavg()
    report = (f"# Data loading ({args.data_dir}, {threads_in_words(args.threads)}, median of {args.repeats})\n\n"
              f"Each load in a fresh process; peak = ru_maxrss, `import torch` alone "
              f"{results['import_torch_peak_gb']:.2f} GB. Load average before "
              f"{results['load_average_before'][0]:.2f}, after {results['load_average_after'][0]:.2f}.\n\n"
              + markdown_table(["what", "time", "CPU time", "peak memory", "then data.X_test (total)"], rows))
    exp.write(results, report, device=resolve_device(args.device))


if __name__ == "__main__":
    sys.exit(main())
