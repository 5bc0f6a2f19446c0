"""Training the ConvNet from the command line: growing cycles, every bad value of its flags,
--resume inside a grown cycle bit for bit, evaluate, and the grid.

50 training images, batch 10: 5 updates an epoch. n_s = 4, growth 2, two cycles: 8 + 16 = 24
updates (4.8 epochs), a record after every update (2·n_s/10 rounds down to 0: at least 1)."""
import json
from dataclasses import replace

import pytest
import torch

from linclf_torch.cli.parse import main
from linclf_torch.data.prepare import load_data
from linclf_torch.grid.search import run_grid
from linclf_torch.nn.schedules import Cyclic, cyclic_eta
from linclf_torch.runs.checkpoint import read_checkpoint
from linclf_torch.training import loop as train_module
from linclf_torch.training.config import TrainConfig

PICKLES_PER_BATCH = 50
LO, HI, NS = 1e-3, 0.1, 4
CONV = ["--model", "conv", "--filter-size", "8", "--filters", "3", "--hidden", "6"]


def flags(pickles, *extra):
    return [*CONV, "--eta", f"cyclic:{LO}:{HI}:{NS}", "--cycles", "2", "--cycle-growth", "2", "--batch-size", "10",
            "--data-dir", str(pickles), "--no-verify", "--device", "cpu", "--no-progress", *extra]


def test_growing_cycles_double_each_half_cycle():
    """Cycle i rises over n_s·2^(i−1) steps and falls over as many: the triangles by hand."""
    schedule = Cyclic(LO, HI, 3, growth=2)
    assert schedule.steps(1) == 6 and schedule.steps(3) == 2 * 3 * (1 + 2 + 4)
    by_hand = [cyclic_eta(t, LO, HI, n_s) for n_s in (3, 6, 12) for t in range(2 * n_s)]
    assert [schedule(t) for t in range(schedule.steps(3))] == by_hand
    assert schedule(6) == LO and schedule(6 + 6) == HI and schedule(18) == LO and schedule(18 + 12) == HI
    assert Cyclic(1e-5, 1e-1, 800, growth=2).steps(4) == 24_000  # exercise 4: 1,600 + 3,200 + 6,400 + 12,800
    plain = Cyclic(LO, HI, 3)
    assert [plain(t) for t in range(40)] == [cyclic_eta(t, LO, HI, 3) for t in range(40)]  # growth 1: as before


@pytest.mark.parametrize("extra,error", [
    (["--filter-size", "5"], "--filter-size must divide the image side 32"),
    (["--filter-size", "0"], "--filter-size must divide the image side 32"),
    (["--filter-size", "64"], "--filter-size must divide the image side 32"),
    (["--filters", "0"], "--filters must be an integer ≥ 1"),
    (["--label-smoothing", "1"], "--label-smoothing ε must be in [0, 1)"),
    (["--label-smoothing", "-0.1"], "--label-smoothing ε must be in [0, 1)"),
    (["--label-smoothing", "nan"], "--label-smoothing ε must be in [0, 1)"),
    (["--label-smoothing", "0.1", "--loss", "mbce"], "use it with --loss ce"),
    (["--cycle-growth", "0"], "--cycle-growth must be an integer ≥ 1"),
    (["--cycle-growth", "1.5"], "invalid int value"),
    (["--hidden", "6", "5"], "--model conv has one hidden layer"),
    (["--model", "mlp"], "--filter-size is for --model conv"),
    (["--init", "he"], "--init is for --model mlp (the ConvNet draws He's"),
])
def test_bad_values_are_one_line_and_exit_2(pickles, tmp_path, capsys, extra, error):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *flags(pickles, *extra)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and error in err and "Traceback" not in err, err
    assert not out.exists()


@pytest.mark.parametrize("argv,error", [
    (["--model", "conv", "--hidden", "6", "--epochs", "1"], "--model conv needs --filter-size F and --filters NF"),
    (["--model", "conv", "--filter-size", "4", "--filters", "2", "--epochs", "1"], "give one --hidden size"),
    (["--eta", "0.01", "--cycle-growth", "2"], "--cycle-growth needs a cyclic learning rate"),
    (["--conv-bias"], "--conv-bias is for --model conv"),
])
def test_conv_settings_need_each_other(tmp_path, capsys, argv, error):
    assert main(["train", "--out", str(tmp_path / "run"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and error in err, err


def test_resume_inside_a_grown_cycle_is_bit_for_bit(pickles, tmp_path, monkeypatch):
    """Ctrl-C in epoch 3 (update 12, inside the second, twice as long cycle): --resume ends with
    the parameters, momentum, generator and history of the run never stopped; evaluate reads it."""
    extra = ["--conv-bias", "--label-smoothing", "0.1", "--lam", "0.01", "--shuffle", "--flip", "0.5",
             "--momentum", "0.9", "--dtype", "float64"]
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", "--out", str(full), *flags(pickles, *extra)]) == 0
    calls, metrics = [], train_module.epoch_metrics

    def interrupted(model, data):
        calls.append(1)
        if len(calls) == 12:  # a record after every update: the twelfth is in epoch 3
            raise KeyboardInterrupt
        return metrics(model, data)
    with monkeypatch.context() as m:
        m.setattr(train_module, "epoch_metrics", interrupted)
        assert main(["train", "--out", str(cut), *flags(pickles, *extra)]) == 130
    assert read_checkpoint(cut)[1]["train_state"]["step"] == 10
    assert main(["train", "--resume", str(cut), "--no-progress"]) == 0
    (_, a), (_, b) = read_checkpoint(full), read_checkpoint(cut)
    assert set(a["params"]) == {"F", "bF", "W1", "b1", "W2", "b2"} and a["params"]["F"].shape == (3, 3, 8, 8)
    for name in a["params"]:
        assert torch.equal(a["params"][name], b["params"][name]), name
    for name, buffer in a["train_state"]["optimizer"]["buffers"].items():
        assert torch.equal(buffer, b["train_state"]["optimizer"]["buffers"][name]), name
    assert torch.equal(a["train_state"]["generator"], b["train_state"]["generator"])
    assert a["train_state"]["step"] == b["train_state"]["step"] == 24
    full_results, cut_results = (json.loads((f / "results.json").read_text()) for f in (full, cut))
    assert full_results["history"] == cut_results["history"] and full_results["final"] == cut_results["final"]
    assert [r["eta"] for r in full_results["history"]][7:] == [Cyclic(LO, HI, NS, growth=2)(t) for t in range(8, 25)]
    assert main(["evaluate", str(full), "--device", "cpu"]) == 0


def test_grid_trains_conv_configurations(pickles, tmp_path, capsys):
    out = tmp_path / "grid"
    assert main(["grid", "--out", str(out), *flags(pickles, "--lam", "0", "0.01", "--split", "full", "--n-val",
                                                   "20")]) == 0
    results = json.loads((out / "results.json").read_text())
    assert [r["config"]["lam"] for r in results["runs"]] == [0.0, 0.01]
    assert all(r["status"] == "completed" and r["config"]["filters"] == 3 for r in results["runs"])
    assert (out / "model.pt").exists()


@pytest.mark.parametrize("extra", [{}, {"conv_bias": True, "label_smoothing": 0.1}], ids=["", "bias, smoothing"])
def test_stacked_conv_grid_equals_each_configuration_alone(pickles, extra):
    """A λ search of three ConvNets trained as one (grid/stackedconv.py) against each trained by
    itself: the same products, summed in another order (one wide product for the G filters), so
    equal to float64 rounding of sums of ≤ 3·8·8·16·10 terms of order 1 over 24 steps: 1e-10."""
    data = load_data(pickles, flip=False, device="cpu", dtype=torch.float64, verify=False, cache_dir=None)
    base = TrainConfig(model="conv", filter_size=8, filters=3, hidden=(6,), eta_cycle=f"cyclic:{LO}:{HI}:{NS}",
                       cycles=2, cycle_growth=2, batch_size=10, device="cpu", dtype="float64", **extra)
    configs = [replace(base, lam=lam) for lam in (0.0, 0.01, 0.1)]
    batched, models_b = run_grid(configs, data, progress=False)
    alone, models_a = run_grid(configs, data, progress=False, batched=False)
    for b, a, mb, ma in zip(batched, alone, models_b, models_a):
        assert b["status"] == a["status"] == "completed"
        for name in ma.params:
            assert mb.params[name] == pytest.approx(ma.params[name], rel=1e-10, abs=1e-12), name
        for rb, ra in zip(b["history"], a["history"]):
            assert rb["train_cost"] == pytest.approx(ra["train_cost"], rel=1e-10)


@pytest.mark.cuda
def test_conv_training_on_cuda_follows_the_cpu(pickles):
    """A growing-cycle ConvNet run with bias and smoothing on both devices, float64: every record
    and every weight within 1e-9 (gpu_check's tolerance)."""
    cfg = TrainConfig(model="conv", filter_size=8, filters=3, hidden=(6,), conv_bias=True, label_smoothing=0.1,
                      lam=0.01, eta_cycle=f"cyclic:{LO}:{HI}:{NS}", cycles=2, cycle_growth=2, batch_size=10,
                      dtype="float64")
    runs = {}
    for device in ("cpu", "cuda"):
        data = load_data(pickles, device=device, dtype=torch.float64, verify=False, cache_dir=None)
        model = train_module.build_model(replace(cfg, device=device), data.X_train.shape[1], 10, device)
        history = train_module.train(model, data, replace(cfg, device=device), progress=False)
        runs[device] = history, {k: v.cpu() for k, v in model.params.items()}
    (h_cpu, p_cpu), (h_cuda, p_cuda) = runs["cpu"], runs["cuda"]
    assert [r["step"] for r in h_cpu] == [r["step"] for r in h_cuda] and len(h_cpu) == 24
    for a, b in zip(h_cpu, h_cuda):
        for k in a:
            assert abs(a[k] - b[k]) <= 1e-9 * max(abs(a[k]), 1), (a["step"], k, a[k], b[k])
    for k in p_cpu:
        assert torch.allclose(p_cpu[k], p_cuda[k], rtol=0, atol=1e-9), k
