"""What a real machine does to a run: a full disk, signals, a second process, a kill in the
first epoch, a thread count that changes (issue "reliability"). Signals are real ones, sent
to a real `python -m linclf_torch` process."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from helpers import ENV
from linclf_torch import files, threads
from linclf_torch.cli.parse import main
from linclf_torch.runs import checkpoint
from linclf_torch.runs.checkpoint import read_checkpoint
from linclf_torch.runs.folder import RunFolder

TORCH_FULL_DISK = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534")


def train(data_dir, out, *extra):
    return main(["train", "--data-dir", str(data_dir), "--out", str(out), "--batch-size", "10", "--no-progress",
                 "--no-verify", "--device", "cpu", *extra])


def one_line(err):
    return err.count("\n") == 1 and "Traceback" not in err


# ------------------------------------------------------------------------------ full disk

def test_a_full_disk_during_a_checkpoint_is_one_line_and_resumable(pickles, tmp_path, monkeypatch, capsys):
    """torch.save on a full disk raises a RuntimeError (not an OSError): exit 2, one line naming
    the file, the folder keeps the last epoch written, and --resume works once there is room."""
    out, save, calls = tmp_path / "run", torch.save, []

    def save_until_the_disk_fills(obj, f, *args, **kwargs):
        if ".model.pt." in str(f):  # model.pt's temporary file, not the data cache
            calls.append(f)
        if len(calls) == 3:  # the third epoch's model.pt
            Path(f).write_bytes(b"\0" * 100)  # what it managed to write before the disk filled
            raise TORCH_FULL_DISK
        return save(obj, f, *args, **kwargs)
    monkeypatch.setattr(checkpoint.torch, "save", save_until_the_disk_fills)
    monkeypatch.setattr(files.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(2**30, 2**30, 0))
    assert train(pickles, out, "--epochs", "4") == 2
    err = capsys.readouterr().err
    assert one_line(err) and f"cannot write {out / 'model.pt'}: the disk is full" in err and "intact" in err
    assert read_checkpoint(out)[1]["train_state"]["epoch"] == 2
    assert json.loads((out / "results.json").read_text())["epochs_completed"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["model.pt", "results.json"]  # no half-written debris
    monkeypatch.undo()  # space was freed
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    assert json.loads((out / "results.json").read_text())["status"] == "completed"


@pytest.fixture
def tiny_disk(tmp_path):
    """A 128 KiB tmpfs: a run's model.pt (W alone is 120 KiB, with mean and std 144 KiB) does not fit."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_really_full_disk(pickles, tiny_disk, capsys):
    assert train(pickles, tiny_disk / "run", "--epochs", "2") == 2
    err = capsys.readouterr().err
    assert one_line(err) and "the disk is full" in err and "run/" in err
    assert [p.name for p in (tiny_disk / "run").iterdir()] == []  # no half-written file left behind


# -------------------------------------------------------------------------------- signals

def default_sigint():
    """In the child: Ctrl-C as a terminal delivers it. A shell that starts a job in the
    background (`pytest &`, `nohup`) makes its children ignore SIGINT, and Python keeps an
    ignored SIGINT ignored; a test of Ctrl-C must not inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(argv, cwd):
    return subprocess.Popen([sys.executable, "-m", "linclf_torch", *argv], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)


def wait_for(condition, child, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert child.poll() is None, f"the process ended early: {child.communicate()}"


def long_run(pickles, out):
    return ["train", "--data-dir", str(pickles), "--no-verify", "--out", str(out), "--batch-size", "10",
            "--epochs", "1000000", "--device", "cpu", "--no-progress"]


@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                             (signal.SIGHUP, 129, "terminated (SIGHUP)")])
def test_sigterm_and_sighup_stop_a_run_like_ctrl_c(pickles, tmp_path, sig, code, word):
    out = tmp_path / "run"
    child = start(long_run(pickles, out), tmp_path)
    try:
        wait_for(lambda: (out / "results.json").exists(), child)
        child.send_signal(sig)
        _, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == code, err
    assert one_line(err) and err.startswith(f"linclf: {word} during epoch") and "--resume" in err
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "interrupted"
    assert results["epochs_completed"] == read_checkpoint(out)[1]["train_state"]["epoch"] >= 1


def loading_torch(pid):
    """Whether process pid has started loading torch's shared library (it is inside main())."""
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_torch_is_imported_is_one_line(pickles, tmp_path, sig, code):
    child = start(long_run(pickles, tmp_path / "run"), tmp_path)
    try:
        wait_for(lambda: loading_torch(child.pid), child)
        child.send_signal(sig)
        _, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == code, err
    assert one_line(err) and err.startswith("linclf: "), err


# ------------------------------------------------------------------- a second process

def test_a_second_run_in_the_same_folder_is_refused_at_once(pickles, tmp_path, capsys):
    out = tmp_path / "run"
    with RunFolder(out):  # another `linclf train --out run`, still running
        assert train(pickles, out, "--overwrite") == 2
        err = capsys.readouterr().err
        assert one_line(err) and f"{out} is in use by another running `linclf train`" in err
        assert main(["train", "--resume", str(out), "--no-progress"]) == 2  # not even to resume it
        assert "in use" in capsys.readouterr().err
    assert train(pickles, out, "--overwrite", "--epochs", "1") == 0  # free again


def test_a_killed_process_leaves_no_lock_and_an_empty_folder(pickles, tmp_path, capsys):
    """SIGKILL during the first epoch: nothing could be cleaned up. The folder it made stays,
    empty; the kernel released the lock; --resume says what happened; the same --out works."""
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", f"from linclf_torch.runs.folder import RunFolder\n"
                               f"RunFolder({str(out)!r}).open(); print('open', flush=True)\nimport time; time.sleep(60)"],
                              env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "open\n"
        assert train(pickles, out, "--epochs", "1") == 2  # locked while it lives
    finally:
        holder.kill()
        holder.wait()
    capsys.readouterr()
    assert list(out.iterdir()) == []
    assert main(["train", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and f"{out} holds no completed epoch yet" in err and f"linclf train --out {out}" in err
    assert train(pickles, out, "--epochs", "1") == 0  # no --overwrite needed: it is empty


def test_a_failed_start_leaves_no_folder(pickles, tmp_path, capsys):
    out = tmp_path / "a" / "b" / "run"
    assert train(pickles, out, "--batch-size", "1000") == 2  # refused after the folder was locked
    assert "larger than the training set" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


# ---------------------------------------------------------------------- threads and resume

@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_resume_keeps_the_runs_thread_count_bit_for_bit(pickles, tmp_path, restore_threads, capsys):
    flags = ["--shuffle", "--flip", "0.5", "--eta", "0.05", "--momentum", "0.9"]
    assert train(pickles, tmp_path / "full", *flags, "--epochs", "4", "--threads", "1") == 0
    assert train(pickles, tmp_path / "cut", *flags, "--epochs", "2", "--threads", "1") == 0
    torch.set_num_threads(2)
    assert main(["train", "--resume", str(tmp_path / "cut"), "--epochs", "4", "--threads", "2"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "--threads 2 conflicts with the run's 1" in err
    assert main(["train", "--resume", str(tmp_path / "cut"), "--epochs", "4", "--no-progress"]) == 0
    assert torch.get_num_threads() == 1
    a, b = read_checkpoint(tmp_path / "full")[1], read_checkpoint(tmp_path / "cut")[1]
    assert all(torch.equal(a["params"][k], b["params"][k]) for k in a["params"])
    history = [json.loads((tmp_path / f / "results.json").read_text())["history"] for f in ("full", "cut")]
    assert history[0] == history[1]


def test_threads_flag_rejects_nonsense():
    with pytest.raises(Exception, match="--threads must be ≥ 1"):
        threads.threads_value("0")
    assert threads.threads_value("auto") == "auto" and threads.threads_value("3") == 3
