"""Grid search: every combination of hyperparameter lists, ranked by validation accuracy.

Configurations that would see the same mini-batches in the same order train together as one
tensor program (group.py); the results equal training each configuration alone
(tests/test_grid.py), up to float rounding in the order of the sums.

Selection uses validation accuracy only; the test set is for the one configuration chosen.
A configuration whose cost becomes NaN or inf stops there ("status": "diverged", as in
runs/run.py) while the others go on; it ranks last and the table says so.
"""
import time
from dataclasses import asdict
from pathlib import Path

from ..figures.tables import markdown_table, pct
from ..files import save_figure, write_atomic
from ..nn import accuracy
from ..progress import bar as progress_bar
from ..runs.checkpoint import save_checkpoint
from ..runs.results import env_info, write_results
from ..training.config import TrainConfig
from ..training.loop import (
    build_model,
    planned_epochs,
    train,
)
from ..training.state import TrainState
from .group import group_configs, train_group


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
            results[i] = train_alone(models[i], data, cfg)
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


def train_alone(model, data, cfg):
    """Train one configuration by itself (training/loop.train); its grid_result."""
    start = time.perf_counter()
    state = TrainState.start(model, cfg, data.X_train.device)
    history = train(model, data, cfg, progress=False, state=state)
    return grid_result(cfg, history, state.diverged_epoch, time.perf_counter() - start)


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
