"""The MLP through the same trainer and CLI as the linear classifier."""
import json
import math

import pytest
import torch

from linclf_torch.cli.parse import main
from linclf_torch.data.prepare import load_data
from linclf_torch.runs.checkpoint import load_checkpoint, read_checkpoint
from linclf_torch.runs.run import run
from linclf_torch.training.config import TrainConfig
from linclf_torch.training.loop import build_model

PICKLES_PER_BATCH = 40  # the conftest's pickles fixture: images per batch


def test_mlp_overfits_a_tiny_training_set(pickles, device):
    data = load_data(pickles, flip=False, device=device, verify=False, cache_dir=None)
    cfg = TrainConfig(model="mlp", hidden=(8, 8), eta=0.01, momentum=0.9, epochs=20, batch_size=10,
                      shuffle=True, device=str(device))
    model = build_model(cfg, data.X_train.shape[1], 10, device)
    loss, _, _ = model.evaluate(data.X_train, data.y_train)
    assert abs(loss.item() - math.log(10)) < 0.2, f"initial loss {loss.item():.3f}, expected ≈ ln 10"
    results, _ = run(cfg, data, progress=False)
    assert results["history"][-1]["train_acc"] == 1.0
    assert results["final"]["test_acc"] > 0.5  # chance is 0.1


MLP_RUN = ["--no-verify", "--no-progress", "--device", "cpu", "--model", "mlp", "--hidden", "8", "4",
           "--momentum", "0.85", "--weight-decay", "0.01", "--classes", "automobile", "cat", "--image-size", "16",
           "--normalize", "channel", "--split", "random", "--n-val", "8", "--batch-size", "8", "--eta", "0.05",
           "--shuffle", "--dtype", "float64"]


def test_train_and_evaluate_an_mlp_on_two_resized_classes(pickles, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data-dir", str(pickles), "--out", str(out), "--epochs", "2", *MLP_RUN]) == 0
    results = json.loads((out / "results.json").read_text())
    cfg = results["config"]
    assert (cfg["model"], cfg["hidden"], cfg["momentum"], cfg["weight_decay"]) == ("mlp", [8, 4], 0.85, 0.01)
    assert (cfg["classes"], cfg["image_size"], cfg["dtype"]) == (["automobile", "cat"], 16, "float64")
    assert sorted(f.name for f in out.iterdir()) == ["accuracy.png", "curves.png", "model.pt", "results.json"]  # no weights.png
    capsys.readouterr()

    assert main(["evaluate", str(out / "model.pt"), "--data-dir", str(pickles), "--no-verify", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert f"test accuracy {results['final']['test_acc']:.4f} on 8 images" in printed
    model, checkpoint = load_checkpoint(out / "model.pt")
    assert [tuple(p.shape) for p in model.params.values()] == [(8, 768), (8,), (4, 8), (4,), (2, 4), (2,)]
    assert checkpoint["classes"] == ["automobile", "cat"] and checkpoint["mean"].shape == (3, 1, 1)


def test_a_batchnorm_run_evaluates_with_its_saved_running_averages(pickles, tmp_path, capsys):
    """`linclf evaluate` rebuilds the network with the running averages of model.pt: its test
    accuracy is the run's own; running averages that do not fit the model are refused."""
    out = tmp_path / "bn"
    assert main(["train", "--data-dir", str(pickles), "--out", str(out), "--epochs", "2", "--batchnorm",
                 "--init", "he", *MLP_RUN]) == 0
    results = json.loads((out / "results.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", str(out), "--data-dir", str(pickles), "--no-verify", "--device", "cpu"]) == 0
    assert f"test accuracy {results['final']['test_acc']:.4f} on 8 images" in capsys.readouterr().out
    model, checkpoint = load_checkpoint(out / "model.pt")
    assert sorted(model.buffers) == ["mu1", "mu2", "v1", "v2"]
    for name, b in model.buffers.items():
        assert torch.equal(b, checkpoint["buffers"][name]) and b.dtype == torch.float64
    assert (model.buffers["v1"] > 0).all()

    checkpoint = torch.load(out / "model.pt", weights_only=True)
    checkpoint["buffers"]["v2"] = torch.ones(3, dtype=torch.float64)
    torch.save(checkpoint, out / "model.pt")
    assert main(["evaluate", str(out), "--data-dir", str(pickles), "--no-verify", "--device", "cpu"]) == 2
    assert "running average v2 has shape (3,), expected (4,)" in capsys.readouterr().err


def test_resumed_mlp_run_ends_with_the_weights_of_an_unbroken_one(pickles, tmp_path):
    """The momentum buffers of W1, b1, ... and the data options survive --resume."""
    assert main(["train", "--data-dir", str(pickles), "--out", str(tmp_path / "a"), "--epochs", "3", *MLP_RUN]) == 0
    assert main(["train", "--data-dir", str(pickles), "--out", str(tmp_path / "b"), "--epochs", "2", *MLP_RUN]) == 0
    assert main(["train", "--resume", str(tmp_path / "b"), "--epochs", "3", "--no-progress"]) == 0
    a, b = read_checkpoint(tmp_path / "a")[1]["params"], read_checkpoint(tmp_path / "b")[1]["params"]
    assert list(a) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("flags,message", [
    (["--model", "mlp"], "--hidden"),
    (["--hidden", "8"], "--model mlp"),
    (["--model", "mlp", "--hidden", "0"], "--hidden"),
    (["--normalize", "image"], "--normalize"),
    (["--classes", "cat", "dragon"], "--classes"),
])
def test_bad_mlp_and_data_flags_give_one_line(pickles, tmp_path, capsys, flags, message):
    assert main(["train", "--data-dir", str(pickles), "--no-verify", "--out", str(tmp_path / "r"),
                 "--no-progress", "--device", "cpu", *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
