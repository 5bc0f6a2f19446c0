"""Grid search: every combination of hyperparameter lists, ranked by validation accuracy.

Selection uses validation accuracy only; the test set is for the one configuration chosen.
A configuration whose cost becomes NaN or inf stops there ("status": "diverged", as in
run.py) while the others go on; it ranks last and the table says so.
"""
import itertools
import time
from dataclasses import asdict, replace

from pathlib import Path

from tqdm.auto import tqdm

from .experiment import markdown_table, pct
from .files import save_figure, save_json, write_atomic
from .models import build_model
from .plots import grid_heatmaps
from .state import TrainState
from .train import accuracy, train


def expand_grid(base, **lists):
    """Every combination of the given TrainConfig fields' value lists, the rest from base.

    expand_grid(cfg, eta=[0.001, 0.01], lam=[0, 0.1]) -> 4 configs, eta varying slowest.
    """
    names = list(lists)
    return [replace(base, **dict(zip(names, values))) for values in itertools.product(*lists.values())]


def run_grid(configs, data, *, progress=True):
    """Train one fresh model per config on the same data.

    Returns (results, models), in the order of configs; each result holds config, status,
    diverged_epoch, history, final (train_acc, val_acc: no test accuracy, nothing is chosen
    on test; None if diverged) and wall_time_s.
    """
    results, models = [], []
    d, K, device = data.X_train.shape[1], len(data.classes), data.X_train.device
    for cfg in tqdm(configs, desc="grid", unit="config", disable=not progress):
        model = build_model(cfg, d, K, device)
        start = time.perf_counter()
        state = TrainState.start(model, cfg, device)
        history = train(model, data, cfg, progress=False, state=state)
        diverged = state.diverged_epoch
        final = None if diverged else {"train_acc": history[-1]["train_acc"], "val_acc": history[-1]["val_acc"]}
        results.append({"config": asdict(cfg), "status": "diverged" if diverged else "completed",
                        "diverged_epoch": diverged, "history": history, "final": final,
                        "wall_time_s": time.perf_counter() - start})
        models.append(model)
    return results, models


def ranking(results):
    """Indices of results, best validation accuracy first (ties: lower validation loss first).

    Diverged configurations come last.
    """
    def key(i):
        if results[i].get("final") is None:
            return (2, 0)
        last = results[i]["history"][-1]
        return (-results[i]["final"]["val_acc"], last["val_loss"])
    return sorted(range(len(results)), key=key)


def grid_table(results, order, varied, top=10):
    """Markdown table of the top configurations: rank, the varied hyperparameters, accuracies."""
    def accuracies(r):
        if r.get("final") is None:
            return [f"diverged in epoch {r['diverged_epoch']}", "—"]
        return [pct(r["final"]["train_acc"]), pct(r["final"]["val_acc"])]
    rows = [[rank, *(results[i]["config"][k] for k in varied), *accuracies(results[i])]
            for rank, i in enumerate(order[:top], start=1)]
    return markdown_table(["rank", *varied, "train acc", "val acc"], rows)


def write_grid(out, results, models, data, varied, top=10):
    """Rank, test the best once, write results.json, report.md and (eta × lam) heatmap.png.

    Returns the report's text.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    order = ranking(results)
    best = order[0]
    finite = [r for r in results if r.get("final") is not None]
    if finite:
        test_acc = accuracy(models[best], data.X_test, data.y_test)  # the one look at the test set
        verdict = f"Rank 1, evaluated once on the test set: test accuracy {pct(test_acc)}"
    else:
        test_acc, verdict = None, "Every configuration diverged: try smaller values of --eta"
    report = (f"# Grid search: {len(results)} configurations, ranked by validation accuracy\n\n"
              f"{grid_table(results, order, varied or ['eta'], top)}\n\n{verdict}\n")
    save_json(out / "results.json", {"runs": results, "ranking": order,
                                      "best": {"index": best, "config": results[best]["config"], "test_acc": test_acc}})
    write_atomic(out / "report.md", lambda tmp: Path(tmp).write_text(report))
    if {"eta", "lam"} <= set(varied) and finite:
        save_figure(out / "heatmap.png", grid_heatmaps(finite))  # a diverged cell stays empty
    return report
