"""Smoke test of experiments/mlp_car_cat.py --quick on synthetic CIFAR-10 pickles."""
import json

from helpers import load_experiment
from synthetic import write_pickles


def load_script():
    return load_experiment("mlp_car_cat")


def test_quick_run_writes_the_table_figures_and_one_test_evaluation(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # anything the script wrote to its working folder would land here
    root = write_pickles(tmp_path / "cifar", n_per_batch=40)  # 4 images of each class per batch
    out = tmp_path / "out"
    assert load_script().main(["--data-dir", str(root), "--no-verify", "--device", "cpu", "--out", str(out),
                               "--quick", "--no-progress"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["classes"] == ["automobile", "cat"] and results["config"]["image_size"] == 16
    assert results["config"]["n_val"] == 4  # 10% of the 40 training images of the two classes
    runs = results["runs"]
    assert [(r["config"]["eta"], r["config"]["momentum"], r["config"]["weight_decay"]) for r in runs] == \
        [(0.01, 0.0, 0.0), (0.01, 0.0, 0.01), (0.01, 0.85, 0.0), (0.01, 0.85, 0.01), (0.05, 0.85, 0.01)]
    assert all("test_acc" not in r["final"] for r in runs)  # selected on validation only
    best = results["best"]
    assert best["model"] - 1 == max(range(5), key=lambda i: (runs[i]["final"]["val_acc"], -runs[i]["history"][-1]["val_loss"]))
    assert sum(map(sum, best["confusion"])) == 8 and 0 <= best["test_acc"] <= 1
    assert results["script_wall_time_s"] > 0 and "torch" in results["env"]
    report = (out / "report.md").read_text()
    assert report.count("\n| ") >= 7 and f"model {best['model']}" in report
    for name in ("loss", "accuracy", "confusion"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_a_last_epoch_below_the_best_is_called_a_spike():
    history = [{"epoch": e, "val_acc": v, "train_loss": l} for e, v, l in ((1, 0.80, 0.5), (2, 0.925, 0.2), (3, 0.884, 0.6))]
    steady = [{"epoch": e, "val_acc": v, "train_loss": 0.1} for e, v in ((1, 0.80), (2, 0.90), (3, 0.905))]
    runs = [{"history": history}, {"history": steady}]
    peaks = [max(r["history"], key=lambda h: h["val_acc"]) for r in runs]
    lines = load_script().spikes(runs, peaks)
    assert lines == ["Model 1 ends on a spike: its training loss goes from 0.2000 to 0.6000 in the last epoch, "
                     "and its validation accuracy is 88.40%, against 92.50% at epoch 2."]
