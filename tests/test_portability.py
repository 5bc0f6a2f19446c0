"""Any machine, any folder: start-up without torch, help, the thread default, where data and
results go, and what a log sees (issue "portability")."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
import torchvision.datasets.utils

from helpers import ENV, ROOT
from linclf_torch import threads
from linclf_torch.cli.parse import main, parser
from linclf_torch.data.prepare import load_data
from linclf_torch.errors import LinclfError
from linclf_torch.runs.run import run
from linclf_torch.training.config import TrainConfig


def train(data_dir, out, *extra):
    return main(["train", "--data-dir", str(data_dir), "--out", str(out), "--epochs", "2", "--batch-size", "10",
                 "--no-verify", "--device", "cpu", *extra])


@pytest.fixture
def offline(monkeypatch):
    """Any download attempt fails the test: these commands must not try one."""
    def refuse(*args, **kwargs):
        pytest.fail("a download was attempted")
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", refuse)


# ------------------------------------------------------------------------------ start-up

PARSE_ONLY = """
import sys
from linclf_torch.cli.parse import main
for argv in {argvs!r}:
    try:
        code = main(argv)
    except SystemExit as e:  # --help and --version exit through argparse
        code = e.code
    assert code in (0, 2), (argv, code)
heavy = sorted(m for m in ("torch", "torchvision", "matplotlib", "numpy") if m in sys.modules)
print(",".join(heavy) or "none")
"""


def test_help_and_every_argument_error_import_no_torch():
    """The command is parsed and validated before torch (seconds to import) is: --help and
    every mistake in the flags answer at once."""
    argvs = [["--help"], ["--version"], ["train", "--help"], ["grid", "--help"], ["evaluate", "--help"],
             ["train", "--eta", "0"], ["train", "--loss", "hinge"], ["train", "--decay", "cosine"],
             ["train", "--threads", "0"], ["train", "--split", "half"], ["grid", "--lam", "0", "-1"],
             ["grid", "--top", "0"], ["train", "--resume", "r", "--out", "o"], ["train", "--bogus"], []]
    done = subprocess.run([sys.executable, "-c", PARSE_ONLY.format(argvs=argvs)], capture_output=True, text=True,
                          env=ENV, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "none"


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("linclf_torch 0.")


@pytest.mark.parametrize("argv, code, out, err", [
    (["--version"], 0, "linclf_torch 0.", ""),
    (["train", "--eta", "0"], 2, "", "linclf: error: --eta must be > 0"),
    (["train", "--epochs", "2", "--batch-size", "10", "--no-verify", "--device", "cpu"], 0,
     "wrote RUN/: accuracy.png, curves.png, model.pt, results.json, weights.png", "train: 2/2 epochs done"),
])
def test_the_command_loses_no_output(pickles, tmp_path, argv, code, out, err):
    """The command as a process: every line reaches the pipes (block-buffered), the exit code
    is main's, every file is written."""
    if argv[0] == "train":
        argv = [*argv, "--data-dir", str(pickles), "--out", str(tmp_path / "RUN")]
    buffered = {k: v for k, v in ENV.items() if k != "PYTHONUNBUFFERED"}  # pipes block-buffered, as usual
    done = subprocess.run([sys.executable, "-m", "linclf_torch", *argv], capture_output=True, text=True,
                          env=buffered, cwd=tmp_path)
    assert done.returncode == code, done.stderr
    assert out in done.stdout.replace(str(tmp_path) + os.sep, "") and err in done.stderr
    if code == 0 and argv[0] == "train":
        assert json.loads((tmp_path / "RUN" / "results.json").read_text())["status"] == "completed"


def test_help_lists_the_choices_and_only_flags_the_command_takes():
    top = parser()
    helps = {name: sub.format_help() for name, sub in top._subparsers._group_actions[0].choices.items()}
    for choices in ("{a1,full,random}", "{ce,mbce}", "{linear,mlp,conv}", "{pixel,channel}", "{auto,cpu,cuda}",
                    "{float32,float64}"):
        assert choices in helps["train"] and choices in helps["grid"], choices
    assert "--resume" in helps["train"]
    assert "--resume" not in helps["grid"] and "--resume" not in helps["evaluate"]
    assert "--epochs" not in helps["evaluate"] and "--overwrite" not in helps["evaluate"]


# ---------------------------------------------------------------------------- threads

@pytest.mark.parametrize("cores, others, default, expected", [
    (2, 0.0, 2, 2),    # idle: every core
    (2, 1.0, 2, 1),    # one core busy elsewhere: the other one
    (2, 0.3, 2, 2),    # a light load rounds away
    (2, 0.7, 2, 1),
    (2, 3.5, 2, 1),    # overloaded: never fewer than one
    (16, 4.2, 8, 8),   # never more than PyTorch's own default (physical cores)
    (16, 4.2, 16, 12),
])
def test_auto_threads_takes_the_idle_cores(cores, others, default, expected):
    assert threads.auto_threads(cores, others, default) == expected


def test_others_load_subtracts_this_process():
    start, end = (10.0, 100.0, 5.0), (12.0, 104.0, 7.0)  # 4 CPU s on the machine, 2 of them ours, in 2 s
    assert threads.others_load(start, end) == pytest.approx(1.0)
    assert threads.others_load(start, (12.0, 101.0, 7.0)) == 0.0  # never negative (counter granularity)


def test_auto_is_chosen_once_and_recorded(pickles, tmp_path, monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "_chosen", None)
    monkeypatch.setattr(threads, "others_load", lambda start, end: 0.0)
    try:
        n = threads.set_threads("auto")
        assert 1 <= n <= before and torch.get_num_threads() == n
        monkeypatch.setattr(threads, "others_load", lambda start, end: 99.0)
        assert threads.set_threads(None) == n  # chosen once per process: runs in it sum alike
        assert train(pickles, tmp_path / "run", "--no-progress") == 0
        assert json.loads((tmp_path / "run" / "results.json").read_text())["env"]["threads"] == n
    finally:
        torch.set_num_threads(before)


# ----------------------------------------------------------------- folders and data

def test_run_refuses_a_folder_with_files_unless_overwrite(pickles, tmp_path):
    data = load_data(pickles, verify=False, cache_dir=None)
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.json").write_text("precious")
    cfg = TrainConfig(epochs=1, batch_size=10, device="cpu")
    with pytest.raises(LinclfError, match="already holds files; choose another --out or pass --overwrite"):
        run(cfg, data, out, progress=False)
    assert (out / "results.json").read_text() == "precious"
    results, _ = run(cfg, data, out, overwrite=True, progress=False)
    assert json.loads((out / "results.json").read_text())["history"] == results["history"]


def test_evaluate_uses_the_runs_data_folder_from_anywhere(pickles, tmp_path, monkeypatch, capsys, offline):
    assert train(pickles, tmp_path / "run", "--no-progress") == 0
    test_acc = json.loads((tmp_path / "run" / "results.json").read_text())["final"]["test_acc"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run" / "model.pt"), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert f"test accuracy {test_acc:.4f}" in printed
    assert "automobile" in printed and "airplane" in printed  # whole class names, not 5 letters
    assert list(elsewhere.iterdir()) == []  # no data/ made here


@pytest.mark.parametrize("command", ["evaluate", "resume"])
def test_a_moved_data_folder_is_named_and_nothing_is_created_or_downloaded(pickles, tmp_path, capsys, offline,
                                                                          command):
    data = shutil.copytree(pickles.parent, tmp_path / "data")
    assert train(data, tmp_path / "run", "--no-progress") == 0
    shutil.rmtree(data)
    argv = {"evaluate": ["evaluate", str(tmp_path / "run")],
            "resume": ["train", "--resume", str(tmp_path / "run"), "--epochs", "3", "--no-progress"]}[command]
    capsys.readouterr()
    assert main([*argv, "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"the run's data folder {data} no longer exists: pass --data-dir" in err
    assert not data.exists()
    assert main([*argv, "--device", "cpu", "--data-dir", str(pickles)]) == 0  # where the data is now


def test_a_log_gets_one_plain_line_per_epoch(pickles, tmp_path, capsys):
    """stderr is not a terminal here (pytest captures it), as under nohup, CI or SLURM."""
    assert train(pickles, tmp_path / "run", "--epochs", "3") == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = [line for line in err.splitlines() if line.startswith("train: epoch")]
    assert [line.split()[2] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all("cost" in line and "val acc" in line and line.endswith(" s") for line in lines)
    assert train(pickles, tmp_path / "quiet", "--no-progress") == 0
    assert capsys.readouterr().err == ""


def test_cache_dir_flag_puts_the_decoded_images_there(pickles, tmp_path):
    assert train(pickles, tmp_path / "run", "--no-progress", "--cache-dir", str(tmp_path / "mycache")) == 0
    assert len(list((tmp_path / "mycache").glob("*.pt"))) == 1
