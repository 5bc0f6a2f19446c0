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
