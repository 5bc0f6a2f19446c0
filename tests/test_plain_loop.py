"""experiments/plain_loop.py, the loop a student reads, trains what `linclf train` trains."""
import re

import pytest

from helpers import load_experiment
from linclf_torch import TrainConfig, load_data
from linclf_torch.runs.run import run
from synthetic import write_image_folder


def test_the_plain_loop_gives_the_numbers_of_run(tmp_path, capsys):
    """The same seed, init, batches and SGD steps as run() with TrainConfig's defaults: the same
    float operations in the same order, so the same accuracies to the last printed digit."""
    folder = write_image_folder(tmp_path / "images", n_train_per_class=60, n_test_per_class=4)  # a1: 120 / 120 / 40
    load_experiment("plain_loop").main(["--data-dir", str(folder), "--epochs", "3"])
    printed = capsys.readouterr().out
    assert len(re.findall(r"^epoch +\d+  training cost \d+\.\d{4}$", printed, flags=re.M)) == 3
    got = dict(re.findall(r"^(train|val|test) accuracy (\d+\.\d\d%)$", printed, flags=re.M))

    results, _ = run(TrainConfig(epochs=3), load_data(folder, split="a1"), progress=False)
    f = results["final"]
    assert got == {"train": f"{f['train_acc']:.2%}", "val": f"{f['val_acc']:.2%}", "test": f"{f['test_acc']:.2%}"}


def test_bad_data_is_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("not CIFAR-10")
    with pytest.raises(SystemExit) as e:
        load_experiment("plain_loop").main(["--data-dir", str(tmp_path / "notes.txt")])
    assert str(e.value.code).startswith("error: ") and "\n" not in str(e.value.code)


def test_the_plain_rnn_loop_gives_the_smooth_loss_of_train_rnn(tmp_path, capsys):
    """experiments/plain_rnn.py against training/rnn_loop.py with the same seed and settings (m = 100, τ = 25,
    Adam η 0.001): the same float operations in the same order, so the same smooth loss to the last digit,
    across a pass over the text (1,001 characters: 40 updates a pass)."""
    import torch

    from linclf_torch.data.text import load_text
    from linclf_torch.training.rnn_config import RNNConfig
    from linclf_torch.training.rnn_loop import RNNState, train_rnn
    path = tmp_path / "text.txt"
    path.write_text(("the quick brown fox jumps over the lazy dog " * 23)[:1001])
    load_experiment("plain_rnn").main(["--text", str(path), "--updates", "90"])
    lines = capsys.readouterr().out.splitlines()
    text = load_text(path)
    assert lines[0] == f"update {90:6d}  smooth loss {lines[0].split()[-1]}" and len(lines) == 2
    assert len(lines[1]) == 200 and set(lines[1]) <= set(text.chars)
    cfg = RNNConfig(text=str(path), updates=90, record_every=90, sample_every=90, sample_length=0, device="cpu")
    state = train_rnn(text.encode(), cfg, RNNState.start(len(text.chars), cfg, torch.device("cpu")), progress=False)
    assert lines[0].split()[-1] == f"{state.history[-1]['smooth_loss']:.4f}"
