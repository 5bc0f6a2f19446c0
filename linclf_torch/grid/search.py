"""Grid search: every combination of hyperparameter lists, ranked by validation accuracy.

Configurations that would see the same mini-batches in the same order (same batch size,
epochs, shuffling, flipping and model shape) train together as one tensor program: their
parameters are stacked along a leading configuration dimension (stacked.py), each
mini-batch is read once for all of them, and each keeps its own eta, lam, decay schedule and
loss. The step code is training/loop.py's; the results equal training each configuration alone
(tests/test_grid.py), up to float rounding in the order of the sums.

Selection uses validation accuracy only; the test set is for the one configuration chosen.
A configuration whose cost becomes NaN or inf stops there ("status": "diverged", as in
runs/run.py) while the others go on; it ranks last and the table says so.
"""
import time
from dataclasses import asdict
from pathlib import Path

import torch

from ..figures.tables import markdown_table, pct
from ..files import save_figure, write_atomic
from ..nn import accuracy
from ..progress import bar as progress_bar
from ..runs.checkpoint import save_checkpoint
from ..runs.results import env_info, write_results
from ..training.config import TrainConfig
from ..training.loop import (
    build_model,
    check_data,
    cyclic_epoch,
    epoch_metrics,
    epoch_runner,
    finite,
    planned_epochs,
    planned_steps,
    train,
)
from ..training.state import TrainState, make_cycle
from .stacked import PerConfig, StackedClassifier, StackedSGD

# What configurations of one group must share; eta, lam, decay and loss may differ.
# A cyclic η (eta_cycle, cycles) is shared too: one per-step rate for the whole group.
GROUP_FIELDS = ("model", "hidden", "batch_size", "epochs", "eta_cycle", "cycles", "shuffle", "flip", "momentum",
                "weight_decay", "split", "n_val", "device", "dtype")


def group_key(cfg):
    """Configurations with equal keys see the same batches and can be stacked.

    The seed draws each model's init (stacked freely) and the data order (shared), so it
    separates groups only when there is an order to draw: with shuffle or flip.
    """
    return tuple(getattr(cfg, f) for f in GROUP_FIELDS) + (cfg.seed if cfg.shuffle or cfg.flip else None,)


def group_configs(configs):
    """Indices of configs in groups that train together; within a group sorted by loss,
    so that each loss is one slice of the configuration dimension (stacked.loss_runs)."""
    groups = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(group_key(cfg), []).append(i)
    return [sorted(group, key=lambda i: configs[i].loss) for group in groups.values()]


@torch.no_grad()
def train_group(models, data, cfgs, *, bar=None):
    """Train the G models of one group (group_key) in place, at once; return their G histories.

    Records are train's (epoch, eta, epoch_metrics' six numbers); all G metrics are read
    back in one host sync per epoch. Returns (histories, diverged_epochs): as in train, a
    configuration whose metrics are NaN or inf diverged in that epoch, its history stops
    before it, and its eta becomes 0 so its parameters stop moving. It cannot disturb the
    others: in every product and reduction a configuration's numbers meet only the shared
    data and its own parameters.
    """
    cfg = cfgs[0]
    check_data(data, cfg)
    model = StackedClassifier(models)
    param = next(iter(model.params.values()))
    etas = [c.eta for c in cfgs]
    lr = torch.tensor(etas, dtype=param.dtype, device=param.device)  # (G,)
    optimizer = StackedSGD(model.params, lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.eta_cycle != "none":
        return train_group_cyclic(model, optimizer, data, cfg, len(cfgs), bar)
    schedules = PerConfig([c.decay for c in cfgs])
    generator = torch.Generator(device=data.X_train.device).manual_seed(cfg.seed)
    run_epoch = epoch_runner(model, optimizer, data, cfg)  # a CUDA graph with --cuda-graphs: lr is updated in place
    histories, diverged, live = [[] for _ in cfgs], [None] * len(cfgs), set(range(len(cfgs)))
    for epoch in range(1, cfg.epochs + 1):
        run_epoch(generator)
        metrics = epoch_metrics(model, data)  # each value: a list of G numbers
        for g in sorted(live):
            record = {"epoch": epoch, "eta": etas[g], **{k: v[g] for k, v in metrics.items()}}
            if finite(record):
                histories[g].append(record)
            else:
                diverged[g] = epoch
                live.discard(g)
        etas = [eta if g in live else 0.0 for g, eta in enumerate(schedules(etas, epoch, metrics["val_loss"]))]
        optimizer.lr.copy_(torch.tensor(etas, dtype=lr.dtype))
        if bar is not None:
            bar.update(len(cfgs))
            bar.set_postfix(best_val_acc=f"{max((metrics['val_acc'][g] for g in live), default=0):.4f}")
        if not live:
            break
    model.unstack()
    return histories, diverged


def train_group_cyclic(model, optimizer, data, cfg, G, bar):
    """train_group for a group with one cyclic η (cfg.eta_cycle): before every update t the
    G rates become η_t in place (0 for a diverged configuration); the records are train's
    cyclic records (step, epoch, eta, the six metrics), G of them per record step."""
    cycle = make_cycle(cfg)
    total, _ = planned_steps(cfg, len(data.y_train))
    generator = torch.Generator(device=data.X_train.device).manual_seed(cfg.seed)
    histories, diverged, live = [[] for _ in range(G)], [None] * G, set(range(G))
    alive = torch.ones_like(optimizer.lr)  # (G,) 1 while a configuration trains, then 0

    def set_eta(eta):
        torch.mul(alive, eta, out=optimizer.lr)  # in place: a CUDA graph would keep its pointer

    step = 0
    for epoch in range(1, planned_epochs(cfg, len(data.y_train)) + 1):
        def record(step, epoch=epoch):
            metrics = epoch_metrics(model, data)  # each value: a list of G numbers
            for g in sorted(live):
                r = {"step": step, "epoch": epoch, "eta": cycle(step), **{k: v[g] for k, v in metrics.items()}}
                if finite(r):
                    histories[g].append(r)
                else:
                    diverged[g] = epoch
                    live.discard(g)
                    alive[g] = 0.0
            if bar is not None:
                bar.set_postfix(best_val_acc=f"{max((metrics['val_acc'][g] for g in live), default=0):.4f}")
            return bool(live)

        step = cyclic_epoch(model, optimizer, data, cfg, generator, cycle, step, total, set_eta, record)
        if bar is not None:
            bar.update(G)
        if not live:
            break
    model.unstack()
    return histories, diverged


def grid_result(cfg, history, diverged_epoch, wall_time_s):
    """One configuration's entry in run_grid's results, in runs/run.py's terms: status "completed",
    or "diverged" with the history ending before diverged_epoch and final None."""
    final = None if diverged_epoch else {"train_acc": history[-1]["train_acc"], "val_acc": history[-1]["val_acc"]}
    return {"config": asdict(cfg), "status": "diverged" if diverged_epoch else "completed",
            "diverged_epoch": diverged_epoch, "history": history, "final": final, "wall_time_s": wall_time_s}


def run_grid(configs, data, *, progress=True, batched=True):
    """Train one fresh model per config on the same data.

    Returns (results, models), in the order of configs; each result holds config, status
    ("completed" or "diverged"), diverged_epoch (the epoch whose cost was NaN or infinite,
    else None), history, final (train_acc, val_acc: no test accuracy, nothing is chosen on
    test; None if diverged) and wall_time_s.
    batched=True trains each group of configs at once (train_group; wall_time_s is then the
    group's time divided by its size); batched=False trains them one after another (train).
    Each model is a view of its group's stacked parameters and keeps the model contract.
    """
    d, K, device = data.X_train.shape[1], len(data.classes), data.X_train.device
    results, models = [None] * len(configs), [build_model(cfg, d, K, device) for cfg in configs]
    if not batched:
        for i, cfg in enumerate(progress_bar(configs, desc="grid", unit="config", enabled=progress)):
            start = time.perf_counter()
            state = TrainState.start(models[i], cfg, device)
            history = train(models[i], data, cfg, progress=False, state=state)
            results[i] = grid_result(cfg, history, state.diverged_epoch, time.perf_counter() - start)
        return results, models
    bar = progress_bar(total=sum(planned_epochs(cfg, len(data.y_train)) for cfg in configs), desc="grid",
                       unit="config·epoch", enabled=progress)
    for group in group_configs(configs):
        start = time.perf_counter()
        histories, diverged = train_group([models[i] for i in group], data, [configs[i] for i in group], bar=bar)
        share = (time.perf_counter() - start) / len(group)
        for i, history, epoch in zip(group, histories, diverged):
            results[i] = grid_result(configs[i], history, epoch, share)
    bar.close()
    return results, models


def ranking(results):
    """Indices of results, best validation accuracy first (ties: lower validation loss first);
    diverged configurations last, in their original order."""
    def key(i):
        if results[i]["status"] == "diverged":
            return (1, 0.0, 0.0)
        return (0, -results[i]["final"]["val_acc"], results[i]["history"][-1]["val_loss"])
    return sorted(range(len(results)), key=key)


def grid_table(results, order, varied, top=10):
    """Markdown table of the top configurations: rank, the varied hyperparameters, accuracies."""
    def accuracies(r):
        if r["status"] == "diverged":
            return [f"diverged in epoch {r['diverged_epoch']}", "—"]
        return [pct(r["final"]["train_acc"]), pct(r["final"]["val_acc"])]
    rows = [[rank, *(results[i]["config"][k] for k in varied), *accuracies(results[i])]
            for rank, i in enumerate(order[:top], start=1)]
    return markdown_table(["rank", *varied, "train acc", "val acc"], rows)


def write_grid(out, results, models, data, varied, top=10, source=None):
    """Rank, test the best once, and write into out: results.json (with env_info), report.md,
    the winner's model.pt (for `linclf evaluate`; source: the data folder, as a run's) with its
    curves.png and accuracy.png, and the (eta × lam) heatmap.png when both vary.

    Returns the report's text.
    """
    from ..figures.plots import accuracy_figure, curves_figure, grid_heatmaps  # matplotlib: only when drawing
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    order = ranking(results)
    best = order[0]
    winner = results[best]
    if winner["status"] == "completed":
        test_acc = accuracy(models[best].predict(data.X_test), data.y_test).item()  # the one look at the test set
        verdict = f"Rank 1, evaluated once on the test set: test accuracy {pct(test_acc)}; its model is model.pt"
        save_checkpoint(out / "model.pt", models[best], data, TrainConfig.from_dict(winner["config"]), source=source)
        save_figure(out / "curves.png", curves_figure(winner["history"], title="rank 1"))
        save_figure(out / "accuracy.png", accuracy_figure(winner["history"], title="rank 1"))
    else:
        test_acc, verdict = None, "Every configuration diverged: try smaller values of --eta"
    report = (f"# Grid search: {len(results)} configurations, ranked by validation accuracy\n\n"
              f"{grid_table(results, order, varied or ['eta'], top)}\n\n{verdict}\n")
    write_results(out, {"runs": results, "ranking": order,
                        "best": {"index": best, "config": winner["config"], "test_acc": test_acc}},
                  env_info(data.X_train.device))
    write_atomic(out / "report.md", lambda tmp: Path(tmp).write_text(report))
    if {"eta", "lam"} <= set(varied):
        save_figure(out / "heatmap.png", grid_heatmaps(results))  # a diverged cell reads "div"
    return report
