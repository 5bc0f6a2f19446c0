"""Reliability: bad input, divergence, Ctrl-C, --resume, safe loading, determinism.

Every user mistake goes through the CLI (`main([...])`) and must give exit code 2, one line
on stderr that names the problem, no traceback, nothing on stdout and no file created or
changed. The loaders' own checks are tested in detail in test_cifar.py; here they are seen
from the command line.
"""
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torchvision.datasets.utils

import linclf_torch
from helpers import Exploit
from linclf_torch import files
from linclf_torch.cli.parse import main
from linclf_torch.data import cifar
from linclf_torch.data.prepare import load_data
from linclf_torch.figures import plots
from linclf_torch.files import write_atomic
from linclf_torch.grid import search as grid_search
from linclf_torch.runs import folder as runfolder
from linclf_torch.runs.checkpoint import read_checkpoint
from linclf_torch.runs.run import Interrupted, run
from linclf_torch.training import loop as train_module
from linclf_torch.training.config import TrainConfig
from synthetic import write_image, write_image_folder, write_pickles

CUDA = torch.cuda.is_available()


@pytest.fixture(scope="module", autouse=True)
def no_figure_drawing():
    """Figures are not what these tests check, and drawing them is most of a tiny run's time."""
    with pytest.MonkeyPatch.context() as m:
        for name in ("curves_figure", "accuracy_figure", "weights_figure"):  # run.figures still picks which
            m.setattr(plots, name, lambda *args, **kwargs: None)
        for module in (runfolder, grid_search):
            m.setattr(module, "save_figure", lambda path, fig: path.write_bytes(b"figure"))
        yield


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("jpg"), n_train_per_class=2, n_test_per_class=1)


@pytest.fixture(scope="module")
def runs(pickles, tmp_path_factory):
    """A completed run folder and a diverged one, 2 and (3 + 1) epochs."""
    root = tmp_path_factory.mktemp("runs")
    assert train(pickles, root / "done", "--epochs", "2") == 0
    assert train(pickles, root / "diverged", "--eta", "1", "--lam", "100", "--epochs", "10") == 3
    return root


def train(data_dir, out, *extra):
    return main(["train", "--data-dir", str(data_dir), "--out", str(out), "--batch-size", "10",
                 "--no-progress", "--device", "cpu", "--no-verify", *extra])


def snapshot(root):
    """Every file under root with its bytes, but the decoded-data cache (a cache, not a result)."""
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "cache" not in p.parts}


class Box:
    """The sandbox one bad-input case runs in: it sets up its files here, the CLI's cwd."""

    def __init__(self, root, pickles, images, runs, monkeypatch):
        self.root, self.pickles, self.images, self.runs, self.monkeypatch = root, pickles, images, runs, monkeypatch
        self.out = str(root / "out")

    def copy(self, src, name):
        return shutil.copytree(src, self.root / name)

    def train(self, *extra, data_dir=None, verify=False):
        return ["train", "--data-dir", str(data_dir or self.pickles), "--out", self.out, "--batch-size", "10",
                "--no-progress", "--device", "cpu", *([] if verify else ["--no-verify"]), *extra]

    def evaluate(self, checkpoint):
        return ["evaluate", str(checkpoint), "--data-dir", str(self.pickles), "--no-verify", "--device", "cpu"]


# ------------------------------------------------------------------------ case set-ups

def broken_image(box, write):
    root = box.copy(box.images, "jpg")
    write(root / "train" / "cat" / "bad.png")
    return box.train(data_dir=root)


def changed_folders(box, change):
    root = box.copy(box.images, "jpg")
    change(root)
    return box.train(data_dir=root)


def changed_pickle(box, change, *extra):
    root = box.copy(box.pickles, "pickles")
    change(root)
    return box.train(*extra, data_dir=root)


def truncate(path):
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def plant_exploit(path, marker, save=pickle.dump):
    """Write to path a pickle that creates `marker` when loaded without restrictions."""
    with open(path, "wb") as f:
        save({"data": Exploit((Path.touch, (marker,))), "labels": []}, f)


def edited_checkpoint(box, edit):
    """A copy of a good run's model.pt changed by edit(checkpoint) -> the evaluate command on it."""
    path = box.root / "model.pt"
    checkpoint = torch.load(box.runs / "done" / "model.pt", weights_only=True)
    edit(checkpoint)
    torch.save(checkpoint, path)
    return box.evaluate(path)


def resume_case(box, *extra, run="done", edit=None):
    folder = box.copy(box.runs / run, "run")
    if edit is not None:
        edit(folder)
    return ["train", "--resume", str(folder), "--no-progress", *extra]


def nan_data(box):
    """A loader that hands back images holding a NaN (as floats: uint8 cannot)."""
    def load(*args, **kwargs):
        raw = cifar.load_cifar10(box.pickles, cache_dir=None, verify=False)
        images = raw.train_images.double()
        images[3, 0, 5, 5] = float("nan")
        return replace(raw, train_images=images)
    box.monkeypatch.setattr(linclf_torch.data.prepare, "load_cifar10", load)
    return box.train()


def other_pickles(box):
    write_pickles(box.root / "other", n_per_batch=20, seed=1)
    return resume_case(box, "--epochs", "3", "--data-dir", str(box.root / "other"))


def existing_out(box, name):
    Path(box.out).mkdir()
    (Path(box.out) / name).write_text("precious")
    return box.train()


def not_writable(box):
    box.monkeypatch.setattr(files.os, "access", lambda path, mode: False)
    return box.train()


def case(name, make, error, marks=()):
    """One bad input: make(box) sets up its files and returns the argv; error is a regex for the line."""
    return pytest.param(make, error, id=name, marks=marks)


CASES = [
    case("eta-zero", lambda b: b.train("--eta", "0"), r"--eta must be > 0"),
    case("eta-negative", lambda b: b.train("--eta", "-1"), r"--eta must be > 0"),
    case("eta-inf", lambda b: b.train("--eta", "inf"), r"--eta must be > 0 and finite"),
    case("eta-not-a-number", lambda b: b.train("--eta", "abc"),
         r"bad --eta 'abc': use a number \(e.g. 0.001\) or cyclic:MIN:MAX:N_S"),
    case("eta-cyclic-min-equals-max", lambda b: b.train("--eta", "cyclic:0.1:0.1:5"),
         r"bad --eta 'cyclic:0.1:0.1:5': MIN must be smaller than MAX"),
    case("eta-cyclic-min-above-max", lambda b: b.train("--eta", "cyclic:0.2:0.1:5"), r"MIN must be smaller than MAX"),
    case("eta-cyclic-min-zero", lambda b: b.train("--eta", "cyclic:0:0.1:5"), r"MIN and MAX must be > 0 and finite"),
    case("eta-cyclic-min-negative", lambda b: b.train("--eta", "cyclic:-1e-5:0.1:5"), r"MIN and MAX must be > 0"),
    case("eta-cyclic-max-inf", lambda b: b.train("--eta", "cyclic:1e-5:inf:5"), r"MIN and MAX must be > 0 and finite"),
    case("eta-cyclic-n-s-zero", lambda b: b.train("--eta", "cyclic:1e-5:0.1:0"), r"N_S, .* must be ≥ 1"),
    case("eta-cyclic-not-a-number", lambda b: b.train("--eta", "cyclic:abc:0.1:5"),
         r"bad --eta 'cyclic:abc:0.1:5': use cyclic:MIN:MAX:N_S with numbers MIN and MAX and an integer N_S"),
    case("eta-cyclic-n-s-not-an-integer", lambda b: b.train("--eta", "cyclic:1e-5:0.1:2.5"), r"an integer N_S"),
    case("eta-cyclic-missing-n-s", lambda b: b.train("--eta", "cyclic:1e-5:0.1"), r"use cyclic:MIN:MAX:N_S"),
    case("records-per-cycle-negative", lambda b: b.train("--eta", "cyclic:1e-5:0.1:5", "--records-per-cycle", "-1"),
         r"--records-per-cycle must be an integer ≥ 0 \(got -1\)"),
    case("cycles-zero", lambda b: b.train("--eta", "cyclic:1e-5:0.1:5", "--cycles", "0"),
         r"--cycles must be an integer ≥ 1 \(got 0\)"),
    case("cycles-negative", lambda b: b.train("--eta", "cyclic:1e-5:0.1:5", "--cycles", "-1"), r"--cycles must be"),
    case("cycles-not-a-number", lambda b: b.train("--eta", "cyclic:1e-5:0.1:5", "--cycles", "two"),
         r"argument --cycles: invalid int value: 'two'"),
    case("cycles-without-cyclic-eta", lambda b: b.train("--cycles", "1"),
         r"--cycles needs a cyclic learning rate: --eta cyclic:MIN:MAX:N_S"),
    case("cycles-and-epochs", lambda b: b.train("--eta", "cyclic:1e-5:0.1:5", "--cycles", "1", "--epochs", "3"),
         r"--cycles and --epochs both set the length of the run: give one of them"),
    case("cyclic-eta-with-decay", lambda b: b.train("--eta", "cyclic:1e-5:0.1:5", "--decay", "step:1:0.5"),
         r"--decay is a per-epoch schedule: drop it with --eta cyclic"),
    case("cyclic-eta-with-cuda-graphs", lambda b: b.train("--eta", "cyclic:1e-5:0.1:5", "--cuda-graphs"),
         r"--cuda-graphs replays whole epochs at one rate"),
    case("init-unknown", lambda b: b.train("--model", "mlp", "--hidden", "5", "--init", "xavier"),
         r"bad --init 'xavier': choose one of torch, dd2424, he or normal:SIGMA with a number σ > 0"),
    case("init-normal-zero", lambda b: b.train("--model", "mlp", "--hidden", "5", "--init", "normal:0"),
         r"bad --init 'normal:0': .* σ > 0"),
    case("init-normal-negative", lambda b: b.train("--model", "mlp", "--hidden", "5", "--init", "normal:-1e-4"),
         r"bad --init 'normal:-1e-4'"),
    case("init-normal-word", lambda b: b.train("--model", "mlp", "--hidden", "5", "--init", "normal:small"),
         r"bad --init 'normal:small'"),
    case("batchnorm-for-linear", lambda b: b.train("--batchnorm"), r"--batchnorm normalises hidden layers: use it "
         r"with --model mlp"),
    case("batchnorm-hidden-zero", lambda b: b.train("--model", "mlp", "--hidden", "50", "0", "--batchnorm"),
         r"--hidden sizes must be ≥ 1 \(got 50 0\)"),
    case("batchnorm-cuda-graphs", lambda b: b.train("--model", "mlp", "--hidden", "5", "--batchnorm",
                                                    "--cuda-graphs"), r"--cuda-graphs cannot replay batch norm"),
    case("init-zero", lambda b: b.train("--model", "mlp", "--hidden", "5", "--init", "0"), r"bad --init '0'"),
    case("init-for-linear", lambda b: b.train("--init", "he"), r"--init is for --model mlp"),
    case("lam-negative", lambda b: b.train("--lam", "-0.1"), r"--lam must be ≥ 0"),
    case("batch-size-zero", lambda b: b.train("--batch-size", "0"), r"--batch-size must be ≥ 1"),
    case("batch-larger-than-training-set", lambda b: b.train("--batch-size", "21"),
     r"--batch-size 21 is larger than the training set \(20 images\)"),
    case("epochs-zero", lambda b: b.train("--epochs", "0"), r"--epochs must be ≥ 1"),
    case("unknown-loss", lambda b: b.train("--loss", "hinge"), r"unknown --loss 'hinge': choose one of ce, mbce"),
    case("unknown-model", lambda b: b.train("--model", "cnn"), r"unknown --model 'cnn'"),
    case("unknown-device", lambda b: b.train("--device", "tpu"), r"argument --device: invalid choice: 'tpu'"),
    case("cuda-without-gpu", lambda b: b.train("--device", "cuda"), r"--device cuda: PyTorch sees no CUDA GPU",
         marks=pytest.mark.skipif(CUDA, reason="a GPU is here")),
    case("flip-above-1", lambda b: b.train("--flip", "1.5"), r"--flip is a probability in \[0, 1\] \(got 1.5\)"),
    case("flip-below-0", lambda b: b.train("--flip", "-0.5"), r"--flip is a probability in \[0, 1\]"),
    case("decay-malformed", lambda b: b.train("--decay", "step:0:0.1"), r"bad --decay 'step:0:0.1': use none, step"),
    case("decay-unknown", lambda b: b.train("--decay", "cosine"), r"bad --decay 'cosine'"),
    case("split-unknown", lambda b: b.train("--split", "half"), r"unknown --split 'half'"),
    case("n-val-too-large", lambda b: b.train("--split", "full", "--n-val", "100"), r"--n-val 100 must be between 1 and 99"),
    case("seed-too-large", lambda b: b.train("--seed", str(2**64)), r"--seed must be an integer in \[0, 2\^63\)"),
    case("unknown-flag", lambda b: b.train("--learning-rate", "0.1"), r"unrecognized arguments: --learning-rate 0.1"),
    case("no-command", lambda b: [], r"the following arguments are required: command"),
    case("grid-bad-value", lambda b: ["grid", "--data-dir", str(b.pickles), "--no-verify", "--out", b.out,
                                      "--eta", "0.01", "abc"], r"bad --eta 'abc'"),
    case("grid-eta-numbers-and-cyclic", lambda b: ["grid", "--data-dir", str(b.pickles), "--no-verify", "--out", b.out,
                                                   "--eta", "0.01", "cyclic:1e-5:0.1:5"],
         r"--eta takes numbers or cyclic:MIN:MAX:N_S specs, not both in one grid"),
    case("grid-bad-config", lambda b: ["grid", "--data-dir", str(b.pickles), "--no-verify", "--out", b.out,
                                       "--lam", "0", "-1"], r"--lam must be ≥ 0"),
    # --data-dir (downloads are offline here: see the fixture below)
    case("data-dir-missing", lambda b: b.train(data_dir=b.root / "nowhere"),
     r"no CIFAR-10 found: '.*nowhere' does not exist, and downloading CIFAR-10 into it failed .*check the path; "
     r"or put the official cifar-10-batches-py"),
    case("data-dir-empty", lambda b: b.train(data_dir=(b.root / "empty").mkdir() or b.root / "empty"),
     r"no CIFAR-10 found: '.*empty' is empty, and downloading CIFAR-10 into it failed"),
    case("data-dir-half-an-image-folder", lambda b: b.train(data_dir=b.images / "train"),
     r"no CIFAR-10 found: '.*train' holds class folders \(airplane, automobile, bird, ...\): it looks like the "
     r"train/ half of an image folder: pass its parent, '.*', as --data-dir"),
    case("image-wrong-size", lambda b: broken_image(b, lambda p: write_image(p, torch.zeros(3, 32, 31, dtype=torch.uint8))),
     r"train/cat/bad\.png is 31x32 with 3 channel\(s\), not 32x32 RGB"),
    case("image-not-an-image", lambda b: broken_image(b, lambda p: p.write_text("hello")),
     r"cannot decode .*train/cat/bad\.png as an image"),
    case("class-folder-missing", lambda b: changed_folders(b, lambda r: shutil.rmtree(r / "train" / "cat")),
     r"missing class folder .*train/cat"),
    case("class-folders-differ", lambda b: changed_folders(b, lambda r: (r / "test" / "dog").rename(r / "test" / "doggo")),
     r"unexpected folder .*test/doggo: class folders must be exactly the 10 CIFAR-10 classes"),
    case("pickle-truncated", lambda b: changed_pickle(b, lambda r: truncate(r / "data_batch_3")),
     r"data_batch_3 is not a readable CIFAR-10 pickle"),
    case("pickle-checksum", lambda b: b.train(verify=True), r"data_batch_1 does not match the official CIFAR-10 MD5: .*--no-verify"),
    case("pickle-that-runs-code", lambda b: changed_pickle(
        b, lambda r: plant_exploit(r / "data_batch_1", b.root / "pwned")),
     r"data_batch_1: the loader refuses to load global pathlib.Path.touch"),
    case("data-not-finite", nan_data, r"the train images hold NaN or inf values"),
    # --out
    case("out-holds-results", lambda b: existing_out(b, "results.json"),
     r"--out .*out already holds files; choose another --out or pass --overwrite"),
    case("out-holds-other-files", lambda b: existing_out(b, "notes.txt"), r"already holds files"),
    case("out-is-a-file", lambda b: (Path(b.out).write_text("a file"), b.train())[1], r"out is a file, not a folder"),
    case("out-not-writable", not_writable, r"is not writable; choose another --out"),
    # checkpoints, through `linclf evaluate`
    case("checkpoint-missing", lambda b: b.evaluate(b.root / "nope.pt"), r"checkpoint .*nope\.pt does not exist"),
    case("checkpoint-truncated", lambda b: truncate(Path(shutil.copy(b.runs / "done" / "model.pt", b.root)))
     or b.evaluate(b.root / "model.pt"), r"model\.pt is not a readable linclf checkpoint"),
    case("checkpoint-not-a-checkpoint", lambda b: b.evaluate(b.runs / "done" / "results.json"),
     r"results\.json is not a readable linclf checkpoint"),
    case("checkpoint-other-torch-file", lambda b: torch.save({"W": torch.zeros(2)}, b.root / "w.pt")
     or b.evaluate(b.root / "w.pt"), r"w\.pt is not a linclf checkpoint \(no 'linclf-checkpoint-1' marker\)"),
    case("checkpoint-that-runs-code", lambda b: plant_exploit(b.root / "model.pt", b.root / "pwned", torch.save)
     or b.evaluate(b.root / "model.pt"), r"model\.pt is not a readable linclf checkpoint \(UnpicklingError\)"),
    case("checkpoint-other-shape", lambda b: edited_checkpoint(b, lambda s: s["params"].update(W=torch.zeros(10, 100))),
     r"parameter W has shape \(10, 100\), expected \(10, 3072\)"),
    case("checkpoint-other-images", lambda b: edited_checkpoint(b, lambda s: s.update(
        image_shape=[3, 16, 16], mean=torch.zeros(3, 16, 16), std=torch.ones(3, 16, 16),
        params={"W": torch.zeros(10, 768), "b": torch.zeros(10)})), r"was trained on 3x16x16 images"),
    case("checkpoint-damaged-config", lambda b: edited_checkpoint(b, lambda s: s["config"].update(eta=-1.0)),
     r"model\.pt is a damaged linclf checkpoint"),
    # --resume
    case("resume-missing", lambda b: ["train", "--resume", str(b.root / "nope")], r"--resume .*nope is not a folder"),
    case("resume-empty-folder", lambda b: (b.root / "empty").mkdir() or ["train", "--resume", str(b.root / "empty")],
     r"empty holds no completed epoch yet .*start it again with `linclf train --out .*empty`"),
    case("resume-not-a-run", lambda b: resume_case(b, edit=lambda f: (f / "model.pt").unlink()),
     r"checkpoint .*run/model\.pt does not exist"),
    case("resume-truncated", lambda b: resume_case(b, edit=lambda f: truncate(f / "model.pt")),
     r"model\.pt is not a readable linclf checkpoint"),
    case("resume-no-training-state", lambda b: resume_case(b, "--epochs", "3", edit=lambda f: torch.save(
        {k: v for k, v in torch.load(f / "model.pt", weights_only=True).items() if k != "train_state"},
        f / "model.pt")), r"holds parameters but no training state to resume from"),
    case("resume-conflicting-flag", lambda b: resume_case(b, "--epochs", "3", "--eta", "0.1"),
     r"--eta 0.1 conflicts with the run's 0.001: --resume continues .* only --epochs may change"),
    case("resume-conflicting-switch", lambda b: resume_case(b, "--epochs", "3", "--shuffle"),
     r"--shuffle True conflicts with the run's False"),
    case("resume-with-out", lambda b: resume_case(b, "--out", b.out), r"--resume continues in .*run itself; drop --out"),
    case("resume-completed", lambda b: resume_case(b), r"has already completed 2 epochs; pass --epochs N with N > 2"),
    case("resume-diverged", lambda b: resume_case(b, "--epochs", "20", run="diverged"),
     r"diverged in epoch 4; resuming would diverge again"),
    case("resume-other-data", other_pickles, r"was trained on other images"),
]


@pytest.fixture
def offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("no network")
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", no_network)


@pytest.mark.parametrize("make, error", CASES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(make, error, pickles, images, runs, tmp_path, monkeypatch,
                                                         capsys, offline):
    monkeypatch.chdir(tmp_path)  # a default runs/ or data/ would land here, where the snapshot sees it
    argv = make(Box(tmp_path, pickles, images, runs, monkeypatch))
    before = snapshot(tmp_path)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, f"exit code {code}, stderr {err!r}"
    assert "Traceback" not in err and out == "", f"stdout {out!r}"
    assert err.count("\n") == 1 and err.startswith("linclf: error: "), f"not one line: {err!r}"
    assert re.search(error, err), f"{err!r} does not say {error!r}"
    assert snapshot(tmp_path) == before, "files were created or changed"


# ------------------------------------------------------------------------------ safe loading

def test_checkpoint_loading_never_runs_code(runs, tmp_path):
    path, marker = tmp_path / "model.pt", tmp_path / "pwned"
    plant_exploit(path, marker, torch.save)
    with pytest.raises(linclf_torch.LinclfError, match="not a readable linclf checkpoint"):
        linclf_torch.load_checkpoint(path)
    assert not marker.exists()
    torch.load(path, weights_only=False)  # the payload is live: an unrestricted load runs it
    assert marker.exists()


# ------------------------------------------------------------------------------- divergence

def strict_json(path):
    """results.json as strict JSON: NaN and Infinity, which Python would accept, are refused."""
    def refuse(constant):
        raise ValueError(f"{path.name} holds {constant}, which is not JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


def test_divergence_stops_keeps_the_last_finite_epoch_and_exits_3(runs, capsys):
    # |1 − 2·eta·lam| = 199 > 1: the L2 term makes W grow 199-fold per step until the cost is inf
    folder = runs / "diverged"
    results = strict_json(folder / "results.json")
    assert results["status"] == "diverged" and results["diverged_epoch"] == 4
    assert results["epochs_completed"] == 3 and results["final"] is None
    assert [r["epoch"] for r in results["history"]] == [1, 2, 3]
    _, checkpoint = read_checkpoint(folder)
    assert checkpoint["train_state"]["epoch"] == 3 and checkpoint["train_state"]["history"] == results["history"]
    assert all(torch.isfinite(p).all() for p in checkpoint["params"].values())
    assert (folder / "curves.png").exists() and not (folder / "weights.png").exists()


def test_eta_1e38_diverges_in_the_first_epoch(pickles, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(pickles, out, "--eta", "1e38") == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "diverged: the cost became NaN or inf in epoch 1" in err and "--eta" in err
    results = strict_json(out / "results.json")
    assert (results["status"], results["diverged_epoch"], results["history"]) == ("diverged", 1, [])
    assert sorted(p.name for p in out.iterdir()) == ["results.json"]  # no epoch was finite: no checkpoint


def test_overwrite_replaces_the_old_run_files_and_nothing_else(pickles, runs, tmp_path):
    out = shutil.copytree(runs / "done", tmp_path / "run")
    (out / "notes.txt").write_text("mine")
    assert train(pickles, out, "--eta", "1e38", "--overwrite") == 3
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "results.json"]  # no stale model.pt
    assert (out / "notes.txt").read_text() == "mine"


def test_train_stops_at_the_first_non_finite_epoch_and_returns_the_last_finite_model(pickles):
    data = load_data(pickles, device="cpu", verify=False, cache_dir=None)
    cfg = TrainConfig(eta=1, lam=100, batch_size=10, epochs=10, device="cpu")
    results, model = run(cfg, data, progress=False)
    assert results["status"] == "diverged" and len(results["history"]) == results["diverged_epoch"] - 1
    last = results["history"][-1]
    _, before = run(replace(cfg, epochs=results["diverged_epoch"] - 1), data, progress=False)
    assert all(torch.equal(model.params[k], before.params[k]) for k in model.params)  # the same process: bit for bit
    assert model.evaluate(data.X_train, data.y_train)[1].item() == last["train_cost"]  # the history's last record


# ------------------------------------------------------------------- Ctrl-C and exact resume

RESUMABLE = ["--shuffle", "--flip", "0.5", "--decay", "plateau:1:0.5", "--eta", "0.05", "--epochs", "6"]


def interrupt_in_epoch(epoch, monkeypatch):
    """Ctrl-C while epoch `epoch` measures its metrics: epochs before it are complete."""
    calls, metrics = [], train_module.epoch_metrics

    def interrupted(model, data):
        calls.append(1)
        if len(calls) == epoch:
            raise KeyboardInterrupt
        return metrics(model, data)
    monkeypatch.setattr(train_module, "epoch_metrics", interrupted)


def assert_same_run(a, b):
    """Bit for bit: every parameter, momentum buffer and the generator; the history exactly."""
    _, ca = read_checkpoint(a)
    _, cb = read_checkpoint(b)
    for name in ca["params"]:
        assert torch.equal(ca["params"][name], cb["params"][name]), name
    ta, tb = ca["train_state"], cb["train_state"]
    assert ta["optimizer"]["lr"] == tb["optimizer"]["lr"] and ta["schedule"] == tb["schedule"]
    assert ta["optimizer"]["buffers"].keys() == tb["optimizer"]["buffers"].keys()
    for name in ta["optimizer"]["buffers"]:
        assert torch.equal(ta["optimizer"]["buffers"][name], tb["optimizer"]["buffers"][name]), name
    assert torch.equal(ta["generator"], tb["generator"])
    ra, rb = (json.loads((f / "results.json").read_text()) for f in (a, b))
    assert ra["history"] == rb["history"] and ra["final"] == rb["final"]


def test_ctrl_c_keeps_the_last_epoch_and_resume_is_bit_exact(pickles, tmp_path, monkeypatch, capsys):
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert train(pickles, full, *RESUMABLE) == 0
    etas = [r["eta"] for r in json.loads((full / "results.json").read_text())["history"]]
    assert len(set(etas)) > 1, f"the plateau schedule never acted ({etas}): its state would go untested"

    with monkeypatch.context() as m:
        interrupt_in_epoch(4, m)
        assert train(pickles, cut, *RESUMABLE) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted during epoch 4 of 6" in err and f"--resume {cut}" in err
    results = strict_json(cut / "results.json")
    assert results["status"] == "interrupted" and results["epochs_completed"] == 3
    assert results["history"] == json.loads((full / "results.json").read_text())["history"][:3]
    assert read_checkpoint(cut)[1]["train_state"]["epoch"] == 3

    assert main(["train", "--resume", str(cut), "--no-progress"]) == 0  # data dir and flags from the run
    assert strict_json(cut / "results.json")["status"] == "completed"
    assert_same_run(full, cut)
    capsys.readouterr()
    assert main(["evaluate", str(cut), "--data-dir", str(pickles), "--no-verify", "--device", "cpu"]) == 0  # a folder
    test_acc = json.loads((cut / "results.json").read_text())["final"]["test_acc"]
    assert f"test accuracy {test_acc:.4f}" in capsys.readouterr().out


def test_resume_with_more_epochs_equals_one_long_run_with_momentum(pickles, tmp_path):
    """Through the Python API: 2 epochs, then --epochs 5 from the folder, against 5 at once, twice."""
    data = load_data(pickles, flip=True, device="cpu", verify=False, cache_dir=None)
    cfg = TrainConfig(eta=0.02, batch_size=10, epochs=5, shuffle=True, flip=0.5, momentum=0.9,
                      weight_decay=1e-3, decay="plateau:1:0.5", device="cpu")
    run(cfg, data, tmp_path / "long", progress=False)
    run(cfg, data, tmp_path / "again", progress=False)
    assert_same_run(tmp_path / "long", tmp_path / "again")  # same seed, same everything
    run(replace(cfg, epochs=2), data, tmp_path / "short", progress=False)
    saved_cfg, checkpoint = read_checkpoint(tmp_path / "short")
    assert checkpoint["train_state"]["optimizer"]["buffers"], "momentum buffers are part of the state"
    results, _ = run(replace(saved_cfg, epochs=5), data, tmp_path / "short", progress=False, resume=checkpoint)
    assert results["epochs_completed"] == 5
    assert_same_run(tmp_path / "long", tmp_path / "short")


def test_interrupted_run_without_a_folder_raises_with_its_results(pickles, monkeypatch):
    data = load_data(pickles, device="cpu", verify=False, cache_dir=None)
    interrupt_in_epoch(3, monkeypatch)
    with pytest.raises(Interrupted) as caught:
        run(TrainConfig(batch_size=10, epochs=5, device="cpu"), data, progress=False)
    assert isinstance(caught.value, KeyboardInterrupt)  # a script's own Ctrl-C handling still sees it
    assert caught.value.results["status"] == "interrupted"


@pytest.mark.parametrize("epoch", [1, 3])
def test_ctrl_c_just_after_a_checkpoint_is_written_keeps_the_folder_consistent(pickles, tmp_path, monkeypatch, epoch):
    """Ctrl-C between model.pt's rename and the bookkeeping after it (the first save too):
    results.json must describe the epoch model.pt holds, so that --resume continues from it."""
    out, save = tmp_path / "run", runfolder.save_checkpoint

    def save_then_interrupt(path, model, data, cfg, state, source):
        save(path, model, data, cfg, state, source)
        if state.epoch == epoch:
            raise KeyboardInterrupt
    monkeypatch.setattr(runfolder, "save_checkpoint", save_then_interrupt)
    data = load_data(pickles, device="cpu", verify=False, cache_dir=None)
    with pytest.raises(Interrupted) as caught:
        run(TrainConfig(batch_size=10, epochs=5, device="cpu"), data, out, progress=False)
    results = strict_json(out / "results.json")
    assert results["status"] == "interrupted" and results["epochs_completed"] == epoch == len(results["history"])
    assert read_checkpoint(out)[1]["train_state"]["epoch"] == epoch == caught.value.results["epochs_completed"]


def test_real_ctrl_c_on_the_command_line(pickles, tmp_path):
    """SIGINT to a running `python -m linclf_torch train`: exit 130, the folder resumable."""
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(linclf_torch.__file__).parents[1]),
                                                       os.environ.get("PYTHONPATH", "")]))
    argv = [sys.executable, "-m", "linclf_torch", "train", "--data-dir", str(pickles), "--no-verify",
            "--out", str(out), "--batch-size", "10", "--epochs", "1000000", "--device", "cpu", "--no-progress"]
    child = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not a background job's SIG_IGN
    try:
        deadline = time.monotonic() + 120
        while not (out / "results.json").exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr and stderr.count("\n") == 1 and "interrupted during epoch" in stderr, stderr
    results = strict_json(out / "results.json")
    done = results["epochs_completed"]
    assert results["status"] == "interrupted" and done >= 1 and len(results["history"]) == done, (results["status"], stderr)
    assert read_checkpoint(out)[1]["train_state"]["epoch"] == done
    assert main(["train", "--resume", str(out), "--epochs", str(done + 1), "--no-progress"]) == 0
    assert strict_json(out / "results.json")["epochs_completed"] == done + 1


# --------------------------------------------------------------------------- atomic writes

@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_debris(tmp_path, failure):
    path = tmp_path / "results.json"
    path.write_text("the previous epoch")

    def write(tmp):
        Path(tmp).write_text("half of the ne")
        raise failure
    with pytest.raises(linclf_torch.LinclfError if isinstance(failure, OSError) else KeyboardInterrupt):
        write_atomic(path, write)
    assert path.read_text() == "the previous epoch"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


# ------------------------------------------------------------------------------- devices

@pytest.mark.cuda
def test_cpu_and_cuda_runs_agree(tmp_path):
    pickles = write_pickles(tmp_path, n_per_batch=1000)
    cfg = TrainConfig(eta=0.001, batch_size=100, epochs=5, shuffle=True, device="cpu")
    results = {}
    for device in ("cpu", "cuda"):
        data = load_data(pickles, device=device, verify=False, cache_dir=None)
        results[device] = run(replace(cfg, device=device), data, progress=False)[0]
    for key in ("train_acc", "val_acc", "test_acc"):
        cpu, cuda = results["cpu"]["final"][key], results["cuda"]["final"][key]
        assert abs(cpu - cuda) <= 0.005, f"{key}: cpu {cpu:.4f}, cuda {cuda:.4f}"
    for a, b in zip(results["cpu"]["history"], results["cuda"]["history"]):
        assert a["train_cost"] == pytest.approx(b["train_cost"], rel=1e-3)


def test_grid_goes_on_past_a_diverged_configuration_and_marks_it(pickles, tmp_path, capsys):
    out = tmp_path / "grid"
    assert main(["grid", "--data-dir", str(pickles), "--no-verify", "--device", "cpu", "--no-progress",
                 "--eta", "1e38", "0.01", "--lam", "0", "0.1", "--batch-size", "10", "--epochs", "2",
                 "--out", str(out)]) == 0
    saved = strict_json(out / "results.json")
    statuses = [(r["config"]["eta"], r["status"], r["diverged_epoch"]) for r in saved["runs"]]
    assert statuses == [(1e38, "diverged", 1)] * 2 + [(0.01, "completed", None)] * 2
    assert sorted(saved["ranking"][:2]) == [2, 3] and saved["best"]["test_acc"] is not None
    report = (out / "report.md").read_text()
    assert report.count("diverged in epoch 1") == 2 and "test accuracy" in report
