"""`linclf train` and `linclf evaluate` end to end on synthetic CIFAR-10 files."""
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from linclf_torch.cli.parse import main
from linclf_torch.data import cache
from linclf_torch.errors import LinclfError
from linclf_torch.figures.plots import curves_figure
from linclf_torch.files import save_figure
from linclf_torch.runs.checkpoint import load_checkpoint
from synthetic import write_image_folder

HISTORY_KEYS = {"epoch", "eta", "train_loss", "train_cost", "train_acc", "val_loss", "val_cost", "val_acc"}
PNG = b"\x89PNG\r\n\x1a\n"


PICKLES_PER_BATCH = 40  # the conftest's pickles fixture: images per batch


def train(data_dir, out, *extra):
    return main(["train", "--data-dir", str(data_dir), "--out", str(out), "--epochs", "3",
                 "--batch-size", "10", "--no-progress", "--device", "cpu", *extra])


def test_train_writes_results_checkpoint_and_figures(pickles, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(pickles, out, "--no-verify", "--lam", "0.01", "--flip", "0.5", "--decay", "step:2:0.1") == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["lam"] == 0.01 and results["config"]["flip"] == 0.5
    assert [r["epoch"] for r in results["history"]] == [1, 2, 3]
    assert all(set(r) == HISTORY_KEYS for r in results["history"])
    assert [r["eta"] for r in results["history"]] == pytest.approx([0.001, 0.001, 0.0001])
    assert all(0 <= results["final"][k] <= 1 for k in ("train_acc", "val_acc", "test_acc"))
    assert results["wall_time_s"] > 0
    assert {"torch", "torchvision", "device_name", "git_commit"} <= set(results["env"])
    for png in ("curves.png", "weights.png"):
        assert (out / png).read_bytes()[:8] == PNG
    assert f"test acc {results['final']['test_acc']:.4f}" in capsys.readouterr().out

    # the checkpoint reproduces the run's test accuracy, through the CLI and the Python API
    assert main(["evaluate", str(out / "model.pt"), "--data-dir", str(pickles), "--no-verify", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert f"test accuracy {results['final']['test_acc']:.4f}" in printed
    model, checkpoint = load_checkpoint(out / "model.pt")
    assert checkpoint["classes"][3] == "cat" and checkpoint["mean"].shape == (3, 32, 32)
    assert model.params["W"].shape == (10, 3072)


def test_a_resumed_run_says_this_sessions_time_and_the_total(pickles, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data-dir", str(pickles), "--no-verify", "--out", str(out), "--epochs", "1",
                 "--batch-size", "10", "--device", "cpu"]) == 0
    first = json.loads((out / "results.json").read_text())["wall_time_s"]
    printed = capsys.readouterr()
    assert "train: 1/1 epochs done in " in printed.err and f"({first:.1f} s on " in printed.out
    assert main(["train", "--resume", str(out), "--epochs", "3"]) == 0
    total = json.loads((out / "results.json").read_text())["wall_time_s"]
    printed = capsys.readouterr()
    assert "train: epochs 2–3 of 3 done in " in printed.err  # the progress output: this session's
    assert f"({total - first:.1f} s this session, {total:.1f} s in all on " in printed.out


def test_a_figure_that_cannot_be_written_is_a_one_line_error(tmp_path):
    """A figure file that cannot be written (here: its folder is gone) is one LinclfError line."""
    missing = tmp_path / "gone"
    history = [{"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.1 / e, "train_cost": 2.2 / e, "val_cost": 2.3 / e,
                "train_acc": 0.3 + e / 100, "val_acc": 0.28 + e / 100} for e in range(1, 3)]
    with pytest.raises(LinclfError) as e:
        save_figure(missing / "curves.png", curves_figure(history, title="CE"))
    assert "\n" not in str(e.value) and str(e.value).startswith(f"cannot write {missing / 'curves.png'}: ")


def test_train_on_an_image_folder(tmp_path):
    root = write_image_folder(tmp_path / "jpg", n_train_per_class=10, n_test_per_class=3)
    out = tmp_path / "run"
    assert train(root, out, "--split", "full", "--n-val", "20", "--shuffle") == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["split"] == "full" and len(results["history"]) == 3


def test_train_on_a_full_disk_without_its_cache(tmp_path, monkeypatch, capsys):
    """The decoded-image cache is only a speed-up: when it cannot be written, training goes on."""
    root = write_image_folder(tmp_path / "images", n_train_per_class=4, n_test_per_class=1)

    def full_disk(path, write):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(cache, "replace_atomic", full_disk)
    assert train(root, tmp_path / "run", "--split", "full", "--n-val", "10") == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("linclf: could not keep the decoded-image cache ")
    assert ": the disk is full; the data was loaded all the same" in err
    assert json.loads((tmp_path / "run" / "results.json").read_text())["status"] == "completed"
    assert not (root / "cache").exists()


def test_bad_flag_gives_one_line_and_exit_2_and_writes_nothing(pickles, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(pickles, out, "--no-verify", "--eta", "0") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--eta must be > 0" in err and "Traceback" not in err
    assert not out.exists()


def test_existing_run_folder_is_never_overwritten_without_asking(pickles, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.json").write_text("precious")
    assert train(pickles, out, "--no-verify") == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "results.json").read_text() == "precious"
    assert train(pickles, out, "--no-verify", "--overwrite") == 0
    assert json.loads((out / "results.json").read_text())["history"]


def test_python_dash_m_entry_point():
    done = subprocess.run([sys.executable, "-m", "linclf_torch", "train", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--batch-size" in done.stdout and "--decay" in done.stdout


def test_importing_the_package_does_not_import_torchvision():
    """torchvision takes seconds to import: only a download, image decoding or a resize need it."""
    code = "import sys, linclf_torch, linclf_torch.cli.parse, linclf_torch.cli.experiment; print('torchvision' in sys.modules)"
    root = Path(__file__).parents[1]  # `python -c` imports from its working directory first: this checkout
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "False\n"


@pytest.mark.cuda
def test_train_on_cuda(pickles, tmp_path):
    assert main(["train", "--data-dir", str(pickles), "--no-verify", "--out", str(tmp_path / "r"), "--epochs", "2",
                 "--no-progress", "--device", "cuda"]) == 0


def test_output_files_have_ordinary_permissions(pickles, tmp_path):
    out = tmp_path / "run"
    assert train(pickles, out, "--no-verify") == 0
    for f in out.iterdir():
        assert f.stat().st_mode & 0o644 == 0o644, f"{f.name} is not readable by others"


@pytest.fixture
def other_threads():
    """A CPU thread count other than the current one; restored after the test (it is process-wide)."""
    before = torch.get_num_threads()
    yield before % 2 + 1
    torch.set_num_threads(before)


def test_threads_is_applied_and_recorded(pickles, tmp_path, other_threads, capsys):
    assert train(pickles, tmp_path / "run", "--no-verify", "--threads", str(other_threads)) == 0
    assert json.loads((tmp_path / "run" / "results.json").read_text())["env"]["threads"] == other_threads
    assert {1: ", 1 thread)", 2: ", 2 threads)"}[other_threads] in capsys.readouterr().out


@pytest.mark.parametrize("command", ["grid", "evaluate"])
def test_threads_is_applied_before_grid_and_evaluate_start(pickles, tmp_path, other_threads, command, capsys):
    argv = {"grid": ["grid", "--data-dir", str(pickles), "--no-verify", "--batch-size", "1000", "--out", str(tmp_path)],
            "evaluate": ["evaluate", "missing/model.pt"]}[command]
    assert main([*argv, "--threads", str(other_threads)]) == 2  # the command fails: batch too large, no checkpoint
    assert torch.get_num_threads() == other_threads
    assert "--threads" not in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "grid", "evaluate"])
@pytest.mark.parametrize("value, error", [("0", "--threads must be ≥ 1 (got 0)"), ("two", "invalid int value: 'two'")])
def test_bad_threads_gives_one_line_and_exit_2(tmp_path, capsys, command, value, error):
    before, out = torch.get_num_threads(), tmp_path / "run"
    where = [str(tmp_path / "model.pt")] if command == "evaluate" else ["--out", str(out)]
    assert main([command, *where, "--threads", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and error in err and "Traceback" not in err
    assert torch.get_num_threads() == before and not out.exists()
