"""Grid search: expansion, ranking on validation only, and `linclf grid` end to end."""
import json
import math
from dataclasses import replace

import pytest
import torch

from helpers import rounding_tolerance
from linclf_torch.cli.parse import main
from linclf_torch.data.prepare import load_data
from linclf_torch.grid.group import group_configs
from linclf_torch.grid.search import grid_table, ranking, run_grid, write_grid
from linclf_torch.grid.stacked import StackedClassifier, StackedSGD
from linclf_torch.nn import accuracy
from linclf_torch.runs.checkpoint import read_checkpoint
from linclf_torch.training.config import TrainConfig, expand_grid
from linclf_torch.training.loop import build_model, train_epoch

BASE = TrainConfig(epochs=2, batch_size=10, device="cpu")


PICKLES_PER_BATCH = 40  # the conftest's pickles fixture: images per batch


def test_expand_grid_is_the_cartesian_product():
    configs = expand_grid(BASE, eta=[0.1, 0.01], lam=[0.0, 0.5, 1.0])
    assert [(c.eta, c.lam) for c in configs] == [(0.1, 0.0), (0.1, 0.5), (0.1, 1.0), (0.01, 0.0), (0.01, 0.5), (0.01, 1.0)]
    assert all(c.batch_size == 10 and c.epochs == 2 for c in configs)


def test_ranking_uses_validation_accuracy_then_loss():
    results = [{"status": "completed", "final": {"val_acc": a}, "history": [{"val_loss": l}]}
               for a, l in ((0.3, 1.0), (0.5, 2.0), (0.5, 1.5))]
    diverged = {"status": "diverged", "final": None, "history": []}
    assert ranking([diverged, *results]) == [3, 2, 1, 0]


# Every per-configuration knob varies within one group: two losses, λ zero and not, step and
# plateau decay; shuffle and flip make the shared data order matter.
MIXED = [replace(c, decay=["none", "step:2:0.5", "plateau:1:0.5"][i % 3]) for i, c in enumerate(
    expand_grid(replace(BASE, epochs=4, shuffle=True, flip=0.5), loss=["ce", "mbce"], eta=[0.05, 0.005], lam=[0.0, 0.1]))]


def assert_same_runs(batched, alone, models_b, models_a, rtol, acc_tol=0.0):
    """eta identical, accuracies within acc_tol, losses and weights equal to rtol."""
    for i, (rb, ra) in enumerate(zip(batched, alone)):
        assert [r["epoch"] for r in rb["history"]] == [r["epoch"] for r in ra["history"]], f"config {i}"
        for hb, ha in zip(rb["history"], ra["history"]):
            assert hb["eta"] == ha["eta"], f"config {i}"
            for k in ("train_acc", "val_acc"):
                assert abs(hb[k] - ha[k]) <= acc_tol, f"config {i} epoch {hb['epoch']} {k}"
            for k in ("train_loss", "train_cost", "val_loss", "val_cost"):
                assert hb[k] == pytest.approx(ha[k], rel=rtol), f"config {i} epoch {hb['epoch']} {k}"
        assert (rb["status"], rb["diverged_epoch"]) == (ra["status"], ra["diverged_epoch"])
        for name, p in models_b[i].params.items():
            q = models_a[i].params[name]
            assert p.shape == q.shape
            err = ((p - q).abs().max() / q.abs().max()).item()
            assert err <= rtol, f"config {i} {name}: max |Δ| / max |θ| = {err:.2e} > {rtol:.0e}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batched_grid_equals_each_config_alone(pickles, dtype):
    data = load_data(pickles, flip=True, verify=False, cache_dir=None, dtype=getattr(torch, dtype))
    configs = [replace(c, dtype=dtype) for c in MIXED]
    assert len(group_configs(configs)) == 1
    batched, models_b = run_grid(configs, data, progress=False)
    alone, models_a = run_grid(configs, data, progress=False, batched=False)
    d, n = data.X_train.shape[1], min(len(data.y_train), len(data.y_val))
    rtol = max(rounding_tolerance(getattr(torch, dtype), d), 1e-12)
    assert_same_runs(batched, alone, models_b, models_a, rtol, acc_tol=1 / n + 1e-12 if dtype == "float32" else 0.0)
    assert len({r["final"]["val_acc"] for r in batched}) > 3  # the configurations really differ
    assert all("test_acc" not in r["final"] for r in batched)  # nothing is chosen on test
    assert models_b[0].params["W"].shape == (10, 3072)  # per-config views keep the model contract
    # one model's product against its slice of the wide one: the same near-tie bound as above;
    # 1e-6 covers the float32 division count/n
    acc_tol = 1 / n if dtype == "float32" else 0.0
    assert accuracy(models_b[5].predict(data.X_val), data.y_val).item() == pytest.approx(batched[5]["final"]["val_acc"], abs=acc_tol + 1e-6)


def test_groups_split_what_cannot_share_batches():
    configs = expand_grid(BASE, batch_size=[10, 20], loss=["mbce", "ce"], seed=[0, 1])
    groups = group_configs(configs)
    assert [[configs[i].batch_size for i in g] for g in groups] == [[10] * 4, [20] * 4]  # seeds only init
    assert [configs[i].loss for i in groups[0]] == ["ce", "ce", "mbce", "mbce"]  # each loss one slice
    shuffled = [replace(c, shuffle=True) for c in configs]
    assert len(group_configs(shuffled)) == 4  # now the seed draws the data order too


def test_a_diverging_config_is_marked_and_disturbs_no_other(pickles, tmp_path):
    data = load_data(pickles, verify=False, cache_dir=None, dtype=torch.float64)
    healthy = expand_grid(replace(BASE, epochs=4, dtype="float64"), eta=[0.05, 0.005], loss=["ce", "mbce"])
    wild = replace(healthy[0], eta=1e200, lam=1.0)  # float64 overflows within an epoch or two
    results, models = run_grid([healthy[0], wild, *healthy[1:]], data, progress=False)
    bad = results[1]
    assert bad["status"] == "diverged" and bad["diverged_epoch"] == len(bad["history"]) + 1 <= 4
    assert bad["final"] is None and all(math.isfinite(r["train_cost"]) for r in bad["history"])
    alone, models_a = run_grid(healthy, data, progress=False, batched=False)
    assert_same_runs(results[:1] + results[2:], alone, models[:1] + models[2:], models_a, 1e-12)
    assert all(r["status"] == "completed" and r["diverged_epoch"] is None for r in alone)
    order = ranking(results)
    assert order[-1] == 1
    table = grid_table(results, order, ["eta", "loss"], top=len(results))
    assert table.splitlines()[-1].endswith(f"diverged in epoch {bad['diverged_epoch']} | — |")
    report = write_grid(tmp_path, results, models, data, ["eta", "lam", "loss"])
    assert report.count("diverged in epoch") == 1 and (tmp_path / "heatmap.png").is_file()
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["ranking"][-1] == 1 and saved["runs"][1]["diverged_epoch"] == bad["diverged_epoch"]
    assert saved["env"]["threads"] == torch.get_num_threads() and saved["env"]["device"] == "cpu"


def test_batched_training_reads_nothing_back_inside_an_epoch(pickles, monkeypatch):
    """The epoch's mini-batch loop never asks the device for a number (a host sync on CUDA)."""
    data = load_data(pickles, flip=True, verify=False, cache_dir=None)
    configs = MIXED[:5]
    models = [build_model(c, 3072, 10, "cpu") for c in configs]
    model = StackedClassifier(models)
    optimizer = StackedSGD(model.params, torch.tensor([c.eta for c in configs]))
    for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__"):
        monkeypatch.setattr(torch.Tensor, name, lambda *a, name=name: pytest.fail(f"Tensor.{name} in the batch loop"))
    train_epoch(model, optimizer, data, configs[0], torch.Generator().manual_seed(0))
    monkeypatch.undo()
    assert not torch.equal(model.params["W"][0], models[0].params["W"])  # it trained


@pytest.mark.cuda
def test_batched_grid_on_cuda_equals_each_config_alone_and_never_syncs(pickles):
    data = load_data(pickles, flip=True, device="cuda", verify=False, cache_dir=None, dtype=torch.float64)
    configs = [replace(c, device="cuda", dtype="float64") for c in MIXED]
    batched, models_b = run_grid(configs, data, progress=False)
    alone, models_a = run_grid(configs, data, progress=False, batched=False)
    assert_same_runs(batched, alone, models_b, models_a, 1e-12)
    model = StackedClassifier([build_model(c, 3072, 10, "cuda") for c in configs])
    optimizer = StackedSGD(model.params, torch.tensor([c.eta for c in configs], device="cuda", dtype=torch.float64))
    torch.cuda.set_sync_debug_mode("error")  # any host sync in the batch loop raises
    try:
        train_epoch(model, optimizer, data, configs[0], torch.Generator(device="cuda").manual_seed(0))
    finally:
        torch.cuda.set_sync_debug_mode("default")


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
    for png in ("heatmap.png", "curves.png", "accuracy.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    # the winner's parameters alone: each is a view of its group's stack, saved as a copy, not
    # with the stack's whole storage (torch.save keeps a view's storage)
    params = read_checkpoint(out)[1]["params"]
    assert params["W"].shape == (10, 3072) and params["W"].untyped_storage().nbytes() == 10 * 3072 * 4
    # the winner's model, evaluable as a run's, on the data it was trained on by default
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.pt"), "--device", "cpu"]) == 0
    # both the single model's predict on the same test set: the same computation, the same digits
    assert f"test accuracy {saved['best']['test_acc']:.4f}" in capsys.readouterr().out


def test_linclf_grid_refuses_bad_values(pickles, tmp_path, capsys):
    assert main(["grid", "--data-dir", str(pickles), "--no-verify", "--eta", "0.01", "-1", "--out", str(tmp_path / "g")]) == 2
    assert "--eta must be > 0" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()
