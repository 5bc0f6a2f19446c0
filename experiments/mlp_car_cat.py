"""UiB INF265 Project 1: a small ReLU MLP, car vs cat, hand-written backprop and SGD.

Question: on CIFAR-10's automobile and cat images at 16x16, how do momentum and weight decay
change a 768 → 128 → 32 → 2 MLP trained with the manual SGD (the same updates as
torch.optim.SGD), and does the model chosen on validation reach the report's test accuracy?

    python experiments/mlp_car_cat.py --data-dir PATH

Result on the JPEG copy of CIFAR-10 (CPU: AMD EPYC, 1 thread; 31 s, data loading included):
validation accuracy at the last epoch 85.5–91.2% over the five models, each model's best
epoch 89.3–92.9%; best model 3 (lr 0.01, momentum 0.85, no weight decay), test 90.30%
(the report: validation 88.5–92.1%, best model 4, test 91.7%). Models 3, 4 and 5 end on a
spike of the training loss in the last epoch, 1.6 to 7.4 points of validation accuracy
below their best epoch, so the last-epoch protocol ranks a moment as much as a model.

Protocol: classes automobile → 0, cat → 1, resized to 16x16 (antialiased),
standardized per channel with the training split's mean and std; the 10,000 training
images split 90/10 at random (seeded) into training and validation, the 2,000 test images
for test. Batch 256, 30 epochs, reshuffled every epoch; each model starts from the same
seeded initial weights and batch order. Five (lr, momentum, weight decay) settings; the
best validation accuracy picks the one model evaluated on test, once.
"""
from dataclasses import asdict, replace

from linclf_torch.cli.experiment import script
from linclf_torch.data.prepare import prepare, resolve_device, select
from linclf_torch.figures.plots import confusion_figure, histories_figure
from linclf_torch.figures.tables import markdown_table, pct
from linclf_torch.grid.search import ranking, run_grid
from linclf_torch.nn import accuracy
from linclf_torch.training.config import TrainConfig
from linclf_torch.training.loop import confusion_matrix

CLASSES = ("automobile", "cat")
SETTINGS = [  # (lr, momentum, weight decay) of the report's models 1-5
    (0.01, 0.0, 0.0),
    (0.01, 0.0, 0.01),
    (0.01, 0.85, 0.0),
    (0.01, 0.85, 0.01),
    (0.05, 0.85, 0.01),
]
REPORT = "validation accuracy 0.885–0.921 over the five models; best model 4, test accuracy 0.917"


@script("mlp_car_cat", __doc__)
def main(args, exp):
    base = TrainConfig(model="mlp", hidden=(128, 32), batch_size=16 if args.quick else 256,
                       epochs=2 if args.quick else 30, shuffle=True, split="random", classes=CLASSES,
                       image_size=16, normalize="channel", seed=args.seed, device=args.device)
    raw = select(exp.raw, base.classes, base.image_size)
    base = replace(base, n_val=len(raw.train_labels) // 10)  # 90/10
    data = prepare(raw, split=base.split, n_val=base.n_val, normalize=base.normalize, seed=base.seed,
                   device=resolve_device(args.device), dtype=base.torch_dtype)
    configs = [replace(base, eta=lr, momentum=mu, weight_decay=wd) for lr, mu, wd in SETTINGS]
    runs, models = run_grid(configs, data, progress=not args.no_progress)

    best = ranking(runs)[0]  # on the last epoch's validation accuracy, the report's protocol
    pred = models[best].predict(data.X_test)  # the one look at the test set
    test_acc = accuracy(pred, data.y_test).item()
    C = confusion_matrix(data.y_test, pred, len(CLASSES))

    peaks = [max(r["history"], key=lambda h: h["val_acc"]) for r in runs]  # each model's best epoch
    rows = [[i + 1, c.eta, c.momentum, c.weight_decay, pct(r["final"]["train_acc"]), pct(r["final"]["val_acc"]),
             f"{pct(p['val_acc'])} (epoch {p['epoch']})", f"{r['history'][-1]['train_loss']:.4f}"]
            for i, (c, r, p) in enumerate(zip(configs, runs, peaks))]
    report = "\n\n".join([
        f"# INF265 MLP, car vs cat ({len(data.y_train)} train / {len(data.y_val)} val / {len(data.y_test)} test, "
        f"{base.epochs} epochs)",
        markdown_table(["model", "lr", "momentum", "weight decay", "train acc", "val acc (last epoch)",
                        "best val acc (its epoch)", "final train loss"], rows),
        f"Best on validation at the last epoch (the report's protocol): model {best + 1}; test accuracy "
        f"{pct(test_acc)} (evaluated once).",
        *spikes(runs, peaks),
        "Test confusion matrix (rows true, columns predicted):\n\n"
        + markdown_table(["", *CLASSES], [[c, *row] for c, row in zip(CLASSES, C.tolist())]),
        f"The report: {REPORT}.",
    ])
    labels = [f"model {i + 1}: lr {c.eta}, μ {c.momentum}, wd {c.weight_decay}" for i, c in enumerate(configs)]
    histories, reported = [r["history"] for r in runs], (base.epochs, "the epoch the table reports")
    figures = {
        "loss": histories_figure(histories, labels, ["train_loss"], "cross-entropy", reported),
        "accuracy": histories_figure(histories, labels, ["train_acc", "val_acc"], "accuracy", reported),
        "confusion": confusion_figure(C, CLASSES, title=f"model {best + 1} on test: {pct(test_acc)}"),
    }
    results = {"config": asdict(base), "settings": SETTINGS, "runs": runs,
               "best_epochs": [{"epoch": p["epoch"], "val_acc": p["val_acc"]} for p in peaks],
               "best": {"model": best + 1, "config": runs[best]["config"], "test_acc": test_acc,
                        "confusion": C.tolist()},
               "report_reference": REPORT}
    exp.write(results, report, figures, data.X_train.device)


def spikes(runs, peaks, points=1.0):
    """A sentence for each model whose last epoch is `points` or more below its best validation
    accuracy: the reported numbers then sit on a spike, which the table's last-epoch column hides."""
    lines = []
    for i, (r, p) in enumerate(zip(runs, peaks)):
        last = r["history"][-1]
        if 100 * (p["val_acc"] - last["val_acc"]) >= points:
            before = r["history"][-2]["train_loss"] if len(r["history"]) > 1 else float("nan")
            lines.append(f"Model {i + 1} ends on a spike: its training loss goes from {before:.4f} to "
                         f"{last['train_loss']:.4f} in the last epoch, and its validation accuracy is "
                         f"{pct(last['val_acc'])}, against {pct(p['val_acc'])} at epoch {p['epoch']}.")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
