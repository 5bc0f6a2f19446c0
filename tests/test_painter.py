"""The painter process (painter.py): the same files as drawing in process, and whatever goes
wrong with it, the figures are still drawn, or the failure said in one line."""
import json
import os
import subprocess
import sys
import time

import pytest
import torch

from linclf_torch import painter
from linclf_torch.cli import main
from linclf_torch.errors import LinclfError
from linclf_torch.painter import Painter
from synthetic import write_pickles

pytestmark = pytest.mark.painter

HISTORY = [{"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.1 / e, "train_cost": 2.2 / e, "val_cost": 2.3 / e,
            "train_acc": 0.3 + e / 100, "val_acc": 0.28 + e / 100} for e in range(1, 6)]


def request(folder):
    """The three figures of a run, as run.figures hands them to the painter."""
    W = torch.randn(10, 3072, generator=torch.Generator().manual_seed(0), dtype=torch.float64).numpy()
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    return {folder / "curves.png": ("curves_figure", (HISTORY,), {"title": "CE"}),
            folder / "accuracy.png": ("accuracy_figure", (HISTORY,), {"title": "CE"}),
            folder / "weights.png": ("weights_figure", (W, classes, (3, 32, 32)), {})}


def paint(painter_, folder):
    folder.mkdir(exist_ok=True)
    with painter_:
        painter_.paint(request(folder))
        painter_.wait()
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def drawn_here(tmp_path_factory):
    return paint(Painter(start=False), tmp_path_factory.mktemp("here"))


def test_the_painter_writes_the_files_drawn_in_process_byte_for_byte(drawn_here, tmp_path, monkeypatch):
    monkeypatch.setattr(painter, "draw", lambda figures: pytest.fail("drawn in this process"))
    p = Painter()
    assert p.process is not None  # a second process started
    assert paint(p, tmp_path) == drawn_here
    assert sorted(drawn_here) == ["accuracy.png", "curves.png", "weights.png"]
    assert all(png.startswith(b"\x89PNG") for png in drawn_here.values())


@pytest.mark.parametrize("fault", ["cannot start", "died before", "no executable"])
def test_without_a_working_painter_the_figures_are_drawn_in_process(fault, drawn_here, tmp_path, monkeypatch):
    if fault == "cannot start":
        monkeypatch.setattr(painter.subprocess, "Popen", lambda *a, **k: (_ for _ in ()).throw(OSError("no fork")))
    if fault == "no executable":
        monkeypatch.setattr(painter.sys, "executable", "")
    p = Painter()
    if fault == "died before":
        p.process.kill()
        p.process.wait()
    else:
        assert p.process is None
    assert paint(p, tmp_path) == drawn_here


def test_a_file_the_painter_cannot_write_is_the_same_one_line_error_as_in_process(tmp_path):
    missing = tmp_path / "gone"  # its folder does not exist: write_atomic's LinclfError
    messages = []
    for p in (Painter(), Painter(start=False)):
        with p, pytest.raises(LinclfError) as e:
            p.paint(request(missing))
            p.wait()
        messages.append(str(e.value))
    assert messages[0] == messages[1] and "\n" not in messages[0]
    assert messages[0].startswith(f"cannot write {missing / 'curves.png'}: ")


def test_a_painter_given_nothing_ends_when_closed(tmp_path):
    p = Painter()
    process = p.process
    p.close()
    assert process.returncode is not None and p.process is None
    p.close()  # twice: nothing more


def test_a_painter_stopped_while_drawing_leaves_whole_files_or_none(tmp_path):
    """SIGTERM (close() while it draws: the command was interrupted) at any moment: no
    temporary file stays behind, and a file that is there is a whole PNG. paint() returns
    once the painter has read the request; it draws for about 0.5 s after that."""
    for delay_s in (0.1, 0.3):
        folder = tmp_path / str(delay_s)
        folder.mkdir()
        p = Painter()
        p.paint(request(folder))
        time.sleep(delay_s)
        p.close()
        for f in folder.iterdir():
            assert not f.name.startswith("."), f"{f.name} left behind"
            assert f.read_bytes().endswith(b"IEND\xaeB`\x82"), f"{f.name} is not a whole PNG"


@pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL and /proc")
def test_the_command_killed_outright_leaves_no_painter_behind(tmp_path):
    """The painter reads its request from a pipe: when the command is gone, it reads the end
    of the pipe and ends, instead of waiting for ever."""
    code = ("import os, signal, sys, time\nfrom linclf_torch.painter import Painter\n"
            "p = Painter()\nprint(p.process.pid, flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    pid = int(out.split()[0])
    for _ in range(100):  # it ends within seconds: once matplotlib is imported, it reads EOF
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{pid}/stat") as f:
            if f.read().split(") ")[1].startswith("Z"):  # ended, not yet reaped by init
                return
        time.sleep(0.1)
    pytest.fail(f"the painter {pid} still runs 10 s after its command was killed")


def test_linclf_train_draws_with_its_painter(tmp_path, monkeypatch, capsys):
    """The command as a user runs it: the figures come from the painter, not this process."""
    monkeypatch.setattr(painter, "draw", lambda figures: pytest.fail("drawn in the command's process"))
    pickles = write_pickles(tmp_path / "cifar", n_per_batch=20)
    out = tmp_path / "run"
    assert main(["train", "--data-dir", str(pickles), "--no-verify", "--out", str(out), "--epochs", "2",
                 "--batch-size", "10", "--no-progress", "--device", "cpu"]) == 0
    assert sorted(f.name for f in out.iterdir()) == ["accuracy.png", "curves.png", "model.pt", "results.json",
                                                     "weights.png"]
    assert json.loads((out / "results.json").read_text())["status"] == "completed"
    assert (out / "weights.png").read_bytes().startswith(b"\x89PNG")
