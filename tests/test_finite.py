"""No NaN is ever saved or reported (issue 31).

A cyclic rate reads the metrics every n_s/5 updates (or, with --records-per-cycle 0, only at
the end) while model.pt is written after every epoch; a run that diverges between two records
must still stop at the epoch whose parameters became NaN or inf, keep the last finite epoch in
model.pt, and end its history with that epoch's record. `linclf evaluate` and load_checkpoint
refuse a model.pt holding a NaN. Each model the trainer trains is run to divergence here.

50 training images. With n_s = 40 a record is taken every 40 updates (2 a cycle) or only
at the end; each configuration below blows up in an epoch that holds no record step.
"""
import json
import math
import shutil

import pytest
import torch

from linclf_torch.cli.parse import main
from linclf_torch.data.prepare import load_data
from linclf_torch.errors import LinclfError
from linclf_torch.nn.optim import SGD
from linclf_torch.runs.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from linclf_torch.training.batches import batches
from linclf_torch.training.finite import nonfinite_tensor
from linclf_torch.training.loop import build_model
from linclf_torch.training.state import make_cycle

PICKLES_PER_BATCH = 50  # split a1 trains on data_batch_1: 50 images
NS = 40
# model flags, batch size, cyclic η. The linear model's cost J = L + λ‖W‖² overflows (‖W‖² > 3e38)
# before W does, so its η must leap within one epoch: 2 updates an epoch, η_t = 1e13·t.
MODELS = {
    "linear": (["--lam", "1"], 25, f"cyclic:1e-5:{1e13 * NS:g}:{NS}"),
    "mlp": (["--model", "mlp", "--hidden", "6", "--init", "dd2424"], 10, f"cyclic:1e-5:1e4:{NS}"),
    "mlp-batchnorm": (["--model", "mlp", "--hidden", "6", "5", "--batchnorm", "--init", "he"], 10,
                      f"cyclic:1e-5:1e4:{NS}"),
    "conv": (["--model", "conv", "--filter-size", "8", "--filters", "3", "--hidden", "6", "--conv-bias", "--lam", "0.1"],
             10, f"cyclic:1e-5:3e1:{NS}"),
}


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def common(pickles):
    return ["--data-dir", str(pickles), "--no-verify", "--device", "cpu", "--no-progress", "--threads", "1"]


def strict_json(path):
    """results.json, refusing the NaN and Infinity that Python's json would accept."""
    def refuse(constant):
        raise ValueError(f"{path} holds {constant}")
    return json.loads(path.read_text(), parse_constant=refuse)


def one_line(err):
    return err.count("\n") == 1 and "Traceback" not in err and err.startswith("linclf: ")


def finite(tensors):
    return all(torch.isfinite(t).all() for t in tensors.values())


def trained_by_hand(cfg, data, steps):
    """The model after `steps` updates of a plain loop over nn/ (η_t before update t, batches in
    order): what the trainer's last finite epoch must hold, computed without the trainer."""
    model = build_model(cfg, data.X_train.shape[1], len(data.classes), "cpu")
    optimizer, cycle, t = SGD(model.params, cfg.eta), make_cycle(cfg), 0
    while t < steps:
        for Xb, yb in batches(data, cfg):
            if t == steps:
                break
            optimizer.lr = cycle(t)
            optimizer.step(model.gradients(Xb, yb))
            t += 1
    return model


@pytest.mark.parametrize("records", [2, 0])
@pytest.mark.parametrize("name", MODELS)
def test_a_run_diverging_between_records_keeps_its_last_finite_epoch(pickles, tmp_path, capsys, restore_threads,
                                                                     name, records):
    flags, batch_size, eta = MODELS[name]
    out = tmp_path / "run"
    code = main(["train", *common(pickles), *flags, "--batch-size", str(batch_size), "--eta", eta, "--epochs", "12",
                 "--records-per-cycle", str(records), "--out", str(out)])
    err = capsys.readouterr().err
    results = strict_json(out / "results.json")
    cfg, checkpoint = read_checkpoint(out)
    diverged, kept, per_epoch = results["diverged_epoch"], results["epochs_completed"], math.ceil(PICKLES_PER_BATCH / batch_size)
    every = make_cycle(cfg).record_every
    # the case this tests: no record falls in the epoch that diverged (else its record would catch it)
    assert not any(every and t % every == 0 for t in range((diverged - 1) * per_epoch + 1, diverged * per_epoch + 1))

    assert code == 3 and one_line(err) and f"model.pt keeps epoch {kept}" in err, err
    assert results["status"] == "diverged" and kept == diverged - 1 >= 1 and results["final"] is None
    assert checkpoint["train_state"]["epoch"] == kept and checkpoint["train_state"]["step"] == kept * per_epoch
    assert finite(checkpoint["params"]) and finite(checkpoint["buffers"])
    data = load_data(pickles, device="cpu", verify=False, cache_dir=None)
    by_hand = trained_by_hand(cfg, data, kept * per_epoch)
    assert checkpoint["params"].keys() == by_hand.params.keys()
    assert checkpoint["buffers"].keys() == by_hand.buffers.keys() == ({"mu1", "v1", "mu2", "v2"} if "batch" in name
                                                                      else set())
    for part in ("params", "buffers"):  # the same process and thread count: bit for bit
        for k, v in getattr(by_hand, part).items():
            assert torch.equal(checkpoint[part][k], v), (part, k)

    last = results["history"][-1]  # the record of the epoch model.pt keeps, measured if the schedule took none
    assert (last["step"], last["epoch"]) == (kept * per_epoch, kept)
    model, _ = load_checkpoint(out)
    assert model.evaluate(data.X_train, data.y_train)[1].item() == last["train_cost"]
    assert all(r["step"] <= last["step"] for r in results["history"])
    assert main(["evaluate", str(out), "--data-dir", str(pickles), "--no-verify", "--device", "cpu"]) == 0


@pytest.mark.parametrize("name", MODELS)
def test_a_grid_never_saves_a_diverged_model(pickles, tmp_path, capsys, restore_threads, name):
    """The grid saves only its best configuration's model.pt: never one that diverged between
    records, which ranks last; when all diverged, none."""
    flags, batch_size, eta = MODELS[name]
    tame = eta.split(":")
    tame[2] = "0.01"
    grid = ["grid", *common(pickles), *flags, "--batch-size", str(batch_size), "--epochs", "12",
            "--records-per-cycle", "0"]
    assert main([*grid, "--eta", eta, ":".join(tame), "--out", str(tmp_path / "grid")]) == 0
    runs = strict_json(tmp_path / "grid" / "results.json")["runs"]
    assert [r["status"] for r in runs] == ["diverged", "completed"]
    _, checkpoint = read_checkpoint(tmp_path / "grid")
    assert checkpoint["config"]["eta_cycle"] == ":".join(tame)
    assert finite(checkpoint["params"]) and finite(checkpoint["buffers"])

    assert main([*grid, "--eta", eta, "--out", str(tmp_path / "all")]) == 0
    assert "Every configuration diverged" in capsys.readouterr().out
    assert not (tmp_path / "all" / "model.pt").exists()


@pytest.fixture(scope="module")
def done(pickles, tmp_path_factory):
    """A completed batch-norm run: its model.pt has parameters and running averages."""
    out = tmp_path_factory.mktemp("done") / "run"
    assert main(["train", *common(pickles), *MODELS["mlp-batchnorm"][0], "--batch-size", "10", "--epochs", "1",
                 "--out", str(out)]) == 0
    return out


def damaged(done, tmp_path, part, name, value):
    """A copy of done's run folder whose model.pt has checkpoint[part][name] set to value."""
    out = shutil.copytree(done, tmp_path / "run")
    checkpoint = torch.load(out / "model.pt", weights_only=True)
    checkpoint[part][name] = value(checkpoint[part][name])
    torch.save(checkpoint, out / "model.pt")
    return out


@pytest.mark.parametrize("part, name, value, says", [
    ("params", "W1", lambda W: W.index_fill(0, torch.tensor([2]), float("nan")), "parameter W1 holds NaN or inf"),
    ("params", "b2", lambda b: b.index_fill(0, torch.tensor([0]), float("inf")), "parameter b2 holds NaN or inf"),
    ("buffers", "v1", lambda v: v.index_fill(0, torch.tensor([1]), float("nan")), "running average v1 holds NaN or inf"),
    ("params", "W2", lambda W: torch.full_like(W, 3e38), "scores on the test images are NaN or inf"),  # finite
], ids=["nan-weight", "inf-bias", "nan-running-variance", "overflowing-weights"])
def test_evaluate_refuses_a_model_that_is_not_finite(done, pickles, tmp_path, capsys, part, name, value, says):
    out = damaged(done, tmp_path, part, name, value)
    before = (out / "model.pt").read_bytes()
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.pt"), "--data-dir", str(pickles), "--no-verify", "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and one_line(captured.err) and captured.err.startswith(f"linclf: error: {out / 'model.pt'}: ")
    assert says in captured.err and "train the model again" in captured.err, captured.err
    assert (out / "model.pt").read_bytes() == before
    if part == "params" and name == "W2":
        return  # its parameters are finite: loading it is fine, only its scores are not
    with pytest.raises(LinclfError, match=f"{out / 'model.pt'}: its {says}"):
        load_checkpoint(out)
    assert main(["train", "--resume", str(out), "--epochs", "2", "--no-progress"]) == 2  # nor trained further
    assert says in capsys.readouterr().err


def test_nonfinite_tensor_names_the_first_parameter_then_running_average(done):
    model, _ = load_checkpoint(done)
    assert nonfinite_tensor(model.params, model.buffers) is None
    model.buffers["mu2"][0] = float("-inf")
    assert nonfinite_tensor(model.params, model.buffers) == "running average mu2"
    model.params["gamma1"][3] = float("nan")
    assert nonfinite_tensor(model.params, model.buffers) == "parameter gamma1"


def test_save_checkpoint_refuses_a_model_with_a_nan(done, pickles, tmp_path):
    model, checkpoint = load_checkpoint(done)
    model.params["W1"][0, 0] = float("nan")
    data = load_data(pickles, device="cpu", verify=False, cache_dir=None)
    with pytest.raises(LinclfError, match="not writing .*model.pt: the model's parameter W1 holds NaN or inf"):
        save_checkpoint(tmp_path / "model.pt", model, data, read_checkpoint(done)[0])
    assert list(tmp_path.iterdir()) == []


def test_resuming_a_cycles_run_with_epochs_says_its_length_cannot_change(pickles, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *common(pickles), "--batch-size", "10", "--eta", f"cyclic:1e-5:0.01:{NS}", "--cycles", "1",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--epochs", "10", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "--epochs 10 does not apply" in err and "is a --cycles run" in err, err
    assert "conflicts with the run's 40" not in err and "start a new run with more --cycles" in err
