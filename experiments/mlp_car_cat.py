"""UiB INF265 Project 1: a small ReLU MLP, car vs cat, hand-written backprop and SGD.

Question: on CIFAR-10's automobile and cat images at 16x16, how do momentum and weight decay
change a 768 → 128 → 32 → 2 MLP trained with the manual SGD (the same updates as
torch.optim.SGD), and does the model chosen on validation reach the report's test accuracy?

    OMP_NUM_THREADS=1 python experiments/mlp_car_cat.py --data-dir ../shared/datasets/cifar10-jpg --device cpu

Measured (CPU, 2 cores shared with other jobs, JPEG copy of CIFAR-10, seed 0): validation
accuracy 0.850–0.909 over the five models; best model 3 (lr 0.01, momentum 0.85, no weight
decay), val 0.909, test 0.9015 (the report: val 0.885–0.921, best model 4, test 0.917), at
commit f420357 with OMP_NUM_THREADS=1: 22.5 s for the whole script, data loading included. With the
default two threads on the same machine, busy with other jobs (load average 3–5), 183–364 s
for identical numbers: every op big enough to be split across threads waited for a core.

Protocol: classes automobile → 0, cat → 1, resized to 16x16 (antialiased),
standardized per channel with the training split's mean and std; the 10,000 training
images split 90/10 at random (seeded) into training and validation, the 2,000 test images
for test. Batch 256, 30 epochs, reshuffled every epoch; each model starts from the same
seeded initial weights and batch order. Five (lr, momentum, weight decay) settings; the
best validation accuracy picks the one model evaluated on test, once.
"""
import time
from dataclasses import asdict, replace

from linclf_torch.cifar import load_cifar10
from linclf_torch.data import prepare, resolve_device, select
from linclf_torch.experiment import parser, script_main, write_outputs
from linclf_torch.grid import ranking, run_grid
from linclf_torch.nn import accuracy
from linclf_torch.plots import confusion_figure, histories_figure
from linclf_torch.tables import markdown_table, pct
from linclf_torch.config import TrainConfig
from linclf_torch.train import confusion_matrix

CLASSES = ("automobile", "cat")
SETTINGS = [  # (lr, momentum, weight decay) of the report's models 1-5
    (0.01, 0.0, 0.0),
    (0.01, 0.0, 0.01),
    (0.01, 0.85, 0.0),
    (0.01, 0.85, 0.01),
    (0.05, 0.85, 0.01),
]
REPORT = "validation accuracy 0.885–0.921 over the five models; best model 4, test accuracy 0.917"


def build_parser():
    return parser("mlp_car_cat", __doc__.split("\n\n")[0])


def body(args):
    start = time.perf_counter()
    device = resolve_device(args.device)
    base = TrainConfig(model="mlp", hidden=(128, 32), batch_size=16 if args.quick else 256,
                       epochs=2 if args.quick else 30, shuffle=True, split="random", classes=CLASSES,
                       image_size=16, normalize="channel", seed=args.seed, device=args.device)
    raw = select(load_cifar10(args.data_dir, verify=not args.no_verify, cache_dir=args.cache_dir or "auto",
                              progress=not args.no_progress),
                 base.classes, base.image_size)
    base = replace(base, n_val=len(raw.train_labels) // 10)  # 90/10
    data = prepare(raw, split=base.split, n_val=base.n_val, normalize=base.normalize, seed=base.seed,
                   device=device, dtype=base.torch_dtype)
    configs = [replace(base, eta=lr, momentum=mu, weight_decay=wd) for lr, mu, wd in SETTINGS]
    runs, models = run_grid(configs, data, progress=not args.no_progress)

    best = ranking(runs)[0]  # on validation accuracy
    pred = models[best].predict(data.X_test)  # the one look at the test set
    test_acc = accuracy(pred, data.y_test).item()
    C = confusion_matrix(data.y_test, pred, len(CLASSES))
    wall = time.perf_counter() - start

    rows = [[i + 1, c.eta, c.momentum, c.weight_decay, pct(r["final"]["train_acc"]), pct(r["final"]["val_acc"]),
             f"{r['history'][-1]['train_loss']:.4f}", f"{r['wall_time_s']:.1f} s"]
            for i, (c, r) in enumerate(zip(configs, runs))]
    report = "\n\n".join([
        f"# INF265 MLP, car vs cat ({len(data.y_train)} train / {len(data.y_val)} val / {len(data.y_test)} test, "
        f"{base.epochs} epochs)",
        markdown_table(["model", "lr", "momentum", "weight decay", "train acc", "val acc", "final train loss",
                        "training time"], rows),
        f"Best on validation: model {best + 1}; test accuracy {pct(test_acc)} (evaluated once).",
        "Test confusion matrix (rows true, columns predicted):\n\n"
        + markdown_table(["", *CLASSES], [[c, *row] for c, row in zip(CLASSES, C.tolist())]),
        f"The report: {REPORT}.",
        f"Wall time {wall:.1f} s on {device}, data loading included.",
    ])
    labels = [f"model {i + 1}: lr {c.eta}, μ {c.momentum}, wd {c.weight_decay}" for i, c in enumerate(configs)]
    histories = [r["history"] for r in runs]
    figures = {
        "loss": histories_figure(histories, labels, ["train_loss"], "cross-entropy"),
        "accuracy": histories_figure(histories, labels, ["train_acc", "val_acc"], "accuracy"),
        "confusion": confusion_figure(C, CLASSES, title=f"model {best + 1} on test: {pct(test_acc)}"),
    }
    results = {"config": asdict(base), "settings": SETTINGS, "runs": runs,
               "best": {"model": best + 1, "config": runs[best]["config"], "test_acc": test_acc,
                        "confusion": C.tolist()},
               "report_reference": REPORT, "wall_time_s": wall}
    write_outputs(args.out, results, report, figures, device)


def main(argv=None):
    return script_main(body, build_parser, argv)


if __name__ == "__main__":
    raise SystemExit(main())
