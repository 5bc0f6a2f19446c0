"""Training with a cyclic learning rate: η_t before every update, exactly 2·cycles·n_s updates,
metrics every n_s/5 steps, --resume in the middle of a cycle bit for bit, the batched grid,
the command line and the figures.

50 training images, batch 10: 5 updates an epoch. n_s = 12: a record every 2 updates, one
cycle is 24 updates = 4.8 epochs, so the fifth epoch stops after 4 updates."""
import json
import math
from dataclasses import replace

import pytest
import torch

from helpers import rounding_tolerance
from linclf_torch.cli.parse import main
from linclf_torch.data.prepare import load_data
from linclf_torch.grid.search import run_grid
from linclf_torch.nn.optim import SGD
from linclf_torch.nn.schedules import cyclic_eta
from linclf_torch.runs.checkpoint import read_checkpoint
from linclf_torch.runs.run import figures, run
from linclf_torch.training import loop as train_module
from linclf_torch.training.batches import batches
from linclf_torch.training.config import TrainConfig
from linclf_torch.training.loop import build_model, train
from linclf_torch.training.state import TrainState

PICKLES_PER_BATCH = 50
LO, HI, NS = 1e-3, 0.1, 12
CFG = TrainConfig(model="mlp", hidden=(6,), init="dd2424", eta_cycle=f"cyclic:{LO}:{HI}:{NS}", cycles=1,
                  batch_size=10, lam=0.01, device="cpu", dtype="float64")


@pytest.fixture(scope="module")
def data(pickles):
    return load_data(pickles, flip=True, device="cpu", dtype=torch.float64, verify=False, cache_dir=None)


def test_cyclic_config_reads_well():
    assert CFG.eta == LO  # η starts at MIN
    assert replace(CFG, eta=0.5).eta == LO
    assert TrainConfig(eta=0.01).eta_cycle == "none" and TrainConfig().cycles is None


def test_one_cycle_is_exactly_2_n_s_updates_of_a_plain_loop(data):
    """The trainer against a loop over nn/ by hand: lr = η_t before update t, 24 updates, bit for bit."""
    model = build_model(CFG, data.X_train.shape[1], 10, "cpu")
    state = TrainState.start(model, CFG, "cpu")
    history = train(model, data, CFG, progress=False, state=state)
    assert state.step == 2 * NS and state.epoch == 5

    by_hand = build_model(CFG, data.X_train.shape[1], 10, "cpu")
    optimizer, t = SGD(by_hand.params, LO), 0
    while t < 2 * NS:
        for Xb, yb in batches(data, CFG):
            if t == 2 * NS:
                break
            optimizer.lr = cyclic_eta(t, LO, HI, NS)
            optimizer.step(by_hand.gradients(Xb, yb))
            t += 1
    for name in model.params:
        assert torch.equal(model.params[name], by_hand.params[name]), name

    assert [r["step"] for r in history] == list(range(2, 2 * NS + 1, 2))  # every n_s/5 = 2 steps: 12 a cycle
    assert [r["epoch"] for r in history] == [math.ceil(r["step"] / 5) for r in history]
    assert [r["eta"] for r in history] == [cyclic_eta(r["step"], LO, HI, NS) for r in history]
    assert history[5]["eta"] == HI and history[-1]["eta"] == LO  # step 12 = n_s, step 24 = 2n_s
    assert set(history[0]) == {"step", "epoch", "eta", "train_loss", "train_cost", "train_acc",
                               "val_loss", "val_cost", "val_acc"}


def test_cyclic_rate_with_epochs_trains_whole_epochs_and_records_the_end(data):
    cfg = replace(CFG, cycles=None, epochs=3)  # 15 updates: records at 2, 4, …, 14 and 15
    history = train(build_model(cfg, data.X_train.shape[1], 10, "cpu"), data, cfg, progress=False)
    assert [r["step"] for r in history] == [*range(2, 15, 2), 15]


@pytest.mark.parametrize("batchnorm", [[], ["--batchnorm", "--hidden", "6", "5"]], ids=["", "batchnorm"])
def test_resume_in_the_middle_of_a_cycle_is_bit_for_bit(pickles, tmp_path, monkeypatch, batchnorm):
    """Ctrl-C in epoch 3 (step 12 of a 48-step run): epochs 1–2 are kept (step 10), and --resume
    ends with the parameters, momentum, generator, history and (with batch norm) the running
    averages of the run never stopped."""
    flags = ["--model", "mlp", "--hidden", "6", "--init", "dd2424", "--eta", f"cyclic:{LO}:{HI}:{NS}", "--cycles",
             "2", "--shuffle", "--flip", "0.5", "--momentum", "0.9", "--lam", "0.01", "--batch-size", "10",
             "--data-dir", str(pickles), "--no-verify", "--device", "cpu", "--no-progress", *batchnorm]
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", "--out", str(full), *flags]) == 0
    calls, metrics = [], train_module.epoch_metrics

    def interrupted(model, data):
        calls.append(1)
        if len(calls) == 6:  # records at steps 2, 4 | 6, 8, 10 | 12: the sixth is in epoch 3
            raise KeyboardInterrupt
        return metrics(model, data)
    with monkeypatch.context() as m:
        m.setattr(train_module, "epoch_metrics", interrupted)
        assert main(["train", "--out", str(cut), *flags]) == 130
    saved = json.loads((cut / "results.json").read_text())
    assert saved["status"] == "interrupted" and saved["epochs_completed"] == 2
    assert read_checkpoint(cut)[1]["train_state"]["step"] == 10
    assert [r["step"] for r in saved["history"]] == [2, 4, 6, 8, 10]

    assert main(["train", "--resume", str(cut), "--no-progress"]) == 0
    (_, a), (_, b) = read_checkpoint(full), read_checkpoint(cut)
    for name in a["params"]:
        assert torch.equal(a["params"][name], b["params"][name]), name
    assert a["buffers"].keys() == b["buffers"].keys() == ({"mu1", "v1", "mu2", "v2"} if batchnorm else set())
    for name in a["buffers"]:
        assert torch.equal(a["buffers"][name], b["buffers"][name]), name
    for name in a["train_state"]["optimizer"]["buffers"]:
        assert torch.equal(a["train_state"]["optimizer"]["buffers"][name], b["train_state"]["optimizer"]["buffers"][name])
    assert torch.equal(a["train_state"]["generator"], b["train_state"]["generator"])
    assert a["train_state"]["step"] == b["train_state"]["step"] == 48
    assert a["train_state"]["history"] == b["train_state"]["history"]
    full_results, cut_results = (json.loads((f / "results.json").read_text()) for f in (full, cut))
    assert full_results["history"] == cut_results["history"] and full_results["final"] == cut_results["final"]
    assert (full / "eta.png").exists()
    config = full_results["config"]
    assert (config["eta_cycle"], config["eta"], config["cycles"], config["init"]) == \
        (f"cyclic:{LO}:{HI}:{NS}", LO, 2, "dd2424")

    assert main(["train", "--resume", str(full), "--no-progress"]) == 2  # its 2 cycles are done
    assert main(["train", "--resume", str(cut), "--no-progress", "--cycles", "3"]) == 2  # a --cycles run keeps its length


@pytest.mark.parametrize("net", [{}, {"hidden": (6, 5), "batchnorm": True, "init": "he"}],
                         ids=["two layers", "three layers, batch norm"])
def test_batched_grid_trains_a_lambda_search_with_one_cyclic_rate(data, net):
    """Three λ at once, as the assignment's search (A2's two layers; A3's with batch norm, whose
    running averages the evaluations use): each equals its run alone, up to float64 rounding of
    sums in another order (a few ulps of values of order 1, over 24 steps: 1e-10)."""
    configs = [replace(CFG, lam=lam, **net) for lam in (0.0, 0.01, 0.1)]
    batched, models_b = run_grid(configs, data, progress=False)
    alone, models_a = run_grid(configs, data, progress=False, batched=False)
    for mb, ma in zip(models_b, models_a):
        assert set(mb.buffers) == set(ma.buffers) == ({"mu1", "v1", "mu2", "v2"} if net else set())
        for k in ma.buffers:
            assert mb.buffers[k] == pytest.approx(ma.buffers[k], rel=1e-10, abs=1e-12), k
    for b, a in zip(batched, alone):
        assert b["status"] == a["status"] == "completed"
        assert [(r["step"], r["epoch"], r["eta"]) for r in b["history"]] == \
            [(r["step"], r["epoch"], r["eta"]) for r in a["history"]]
        for rb, ra in zip(b["history"], a["history"]):
            for key in ("train_loss", "train_cost", "val_loss", "val_cost"):
                assert rb[key] == pytest.approx(ra[key], rel=1e-10, abs=0), key


def test_grid_command_takes_a_cyclic_eta(pickles, tmp_path):
    out = tmp_path / "grid"
    assert main(["grid", "--data-dir", str(pickles), "--no-verify", "--device", "cpu", "--no-progress",
                 "--model", "mlp", "--hidden", "6", "--init", "dd2424", "--eta", f"cyclic:{LO}:{HI}:{NS}",
                 "--cycles", "1", "--lam", "0", "0.01", "--batch-size", "10", "--out", str(out)]) == 0
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert [r["config"]["lam"] for r in runs] == [0, 0.01]
    assert all(r["history"][-1]["step"] == 2 * NS for r in runs)


def test_grid_command_trains_batchnorm_configurations_stacked(pickles, tmp_path):
    """A --batchnorm λ search trains its configurations at once; its best model keeps its
    running averages (model.pt), and its history is that of its own `linclf train` run up to
    float32 rounding in another order (helpers.rounding_tolerance, d = 3072)."""
    flags = ["--data-dir", str(pickles), "--no-verify", "--device", "cpu", "--no-progress", "--model", "mlp",
             "--hidden", "6", "5", "--batchnorm", "--init", "he", "--eta", f"cyclic:{LO}:{HI}:{NS}", "--cycles", "1",
             "--batch-size", "10", "--threads", "1"]
    assert main(["grid", *flags, "--lam", "0", "0.01", "--out", str(tmp_path / "grid")]) == 0
    runs = json.loads((tmp_path / "grid" / "results.json").read_text())["runs"]
    assert [r["config"]["batchnorm"] for r in runs] == [True, True]
    assert {"mu1", "v1", "mu2", "v2"} == set(read_checkpoint(tmp_path / "grid")[1]["buffers"])
    assert main(["train", *flags, "--lam", "0.01", "--out", str(tmp_path / "alone")]) == 0
    alone = json.loads((tmp_path / "alone" / "results.json").read_text())["history"]
    stacked = [r for r in runs if r["config"]["lam"] == 0.01][0]["history"]
    assert [r["step"] for r in stacked] == [r["step"] for r in alone]
    rtol = rounding_tolerance(torch.float32, 3072)
    for rs, ra in zip(stacked, alone):
        assert rs["train_loss"] == pytest.approx(ra["train_loss"], rel=rtol)
        assert rs["val_loss"] == pytest.approx(ra["val_loss"], rel=rtol)


def test_cyclic_figures_plot_against_update_steps(data):
    results, model = run(CFG, data, progress=False)
    drawn = figures(True, results["history"], model, data, CFG)
    assert set(drawn) == {"curves", "accuracy", "eta"}
    assert drawn["curves"].axes[0].get_xlabel() == drawn["eta"].axes[0].get_xlabel() == "update step"
    assert "η cyclic 0.001–0.1, n_s = 12" in drawn["curves"]._suptitle.get_text()


@pytest.mark.parametrize("records, steps", [(0, [24]), (2, [12, 24]), (10, [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24])])
def test_records_per_cycle_sets_how_often_the_metrics_are_read(data, records, steps):
    """A λ search needs only the final validation accuracy: records_per_cycle=0 reads the
    metrics once, at the end, and trains the same weights (the records read, they do not write)."""
    cfg = replace(CFG, records_per_cycle=records)
    model = build_model(cfg, data.X_train.shape[1], 10, "cpu")
    history = train(model, data, cfg, progress=False)
    assert [r["step"] for r in history] == steps
    every = build_model(CFG, data.X_train.shape[1], 10, "cpu")
    train(every, data, CFG, progress=False)
    assert all(torch.equal(model.params[k], every.params[k]) for k in model.params)


@pytest.mark.cuda
def test_cyclic_two_layer_training_on_cuda_follows_the_cpu(data):
    """The same run (init drawn on the CPU, data in order, η_t per update) on both devices, float64:
    every record of the history agrees to 1e-9 (gpu_check's tolerance), the weights too."""
    runs = {}
    for device in ("cpu", "cuda"):
        on_device = replace(data, **{k: getattr(data, k).to(device) for k in ("X_train", "y_train", "X_val", "y_val")})
        cfg = replace(CFG, device=device)
        model = build_model(cfg, data.X_train.shape[1], 10, device)
        runs[device] = train(model, on_device, cfg, progress=False), {k: v.cpu() for k, v in model.params.items()}
    (h_cpu, p_cpu), (h_cuda, p_cuda) = runs["cpu"], runs["cuda"]
    assert [r["step"] for r in h_cpu] == [r["step"] for r in h_cuda]
    for a, b in zip(h_cpu, h_cuda):
        for k in a:
            assert abs(a[k] - b[k]) <= 1e-9 * max(abs(a[k]), 1), (a["step"], k, a[k], b[k])
    for k in p_cpu:
        assert torch.allclose(p_cpu[k], p_cuda[k], rtol=0, atol=1e-9), k
