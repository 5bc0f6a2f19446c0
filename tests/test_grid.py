"""Grid search: expansion, ranking on validation only, and `linclf grid` end to end."""
import json
from dataclasses import replace

import pytest

from linclf_torch.cli import main
from linclf_torch.data import load_data
from linclf_torch.grid import expand_grid, ranking, run_grid
from linclf_torch.run import run
from linclf_torch.train import TrainConfig
from synthetic import write_pickles

BASE = TrainConfig(epochs=2, batch_size=10, device="cpu")


@pytest.fixture(scope="module")
def pickles(tmp_path_factory):
    return write_pickles(tmp_path_factory.mktemp("cifar"), n_per_batch=40)


def test_expand_grid_is_the_cartesian_product():
    configs = expand_grid(BASE, eta=[0.1, 0.01], lam=[0.0, 0.5, 1.0])
    assert [(c.eta, c.lam) for c in configs] == [(0.1, 0.0), (0.1, 0.5), (0.1, 1.0), (0.01, 0.0), (0.01, 0.5), (0.01, 1.0)]
    assert all(c.batch_size == 10 and c.epochs == 2 for c in configs)


def test_ranking_uses_validation_accuracy_then_loss():
    results = [{"final": {"val_acc": a}, "history": [{"val_loss": l}]} for a, l in ((0.3, 1.0), (0.5, 2.0), (0.5, 1.5))]
    assert ranking(results) == [2, 1, 0]


def test_each_grid_run_equals_a_single_run(pickles):
    data = load_data(pickles, verify=False, cache_dir=None)
    configs = expand_grid(BASE, eta=[0.01, 0.001], lam=[0.0, 0.1])
    results, models = run_grid(configs, data, progress=False)
    for cfg, result in zip(configs, results):
        alone, _ = run(cfg, data, progress=False)
        assert result["history"] == alone["history"]
        assert "test_acc" not in result["final"]  # nothing is chosen on test


def test_linclf_grid_writes_ranking_heatmap_and_one_test_accuracy(pickles, tmp_path, capsys):
    out = tmp_path / "grid"
    code = main(["grid", "--data-dir", str(pickles), "--no-verify", "--device", "cpu", "--no-progress",
                 "--eta", "0.01", "0.001", "--lam", "0", "0.1", "--batch-size", "10", "20", "--epochs", "2",
                 "--out", str(out), "--top", "3"])
    assert code == 0
    saved = json.loads((out / "results.json").read_text())
    assert len(saved["runs"]) == 8 and sorted(saved["ranking"]) == list(range(8))
    best = saved["runs"][saved["ranking"][0]]
    assert best["final"]["val_acc"] == max(r["final"]["val_acc"] for r in saved["runs"])
    assert 0 <= saved["best"]["test_acc"] <= 1
    report = (out / "report.md").read_text()
    assert report.count("\n| ") == 4  # header + 3 rows (--top 3)
    assert (out / "heatmap.png").read_bytes()[:4] == b"\x89PNG"


def test_linclf_grid_refuses_bad_values(pickles, tmp_path, capsys):
    assert main(["grid", "--data-dir", str(pickles), "--no-verify", "--eta", "0.01", "-1", "--out", str(tmp_path / "g")]) == 2
    assert "--eta must be > 0" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()
