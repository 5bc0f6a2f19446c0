"""experiments/walkthrough.py end to end, cell by cell as a notebook runs it, on a tiny synthetic image folder."""
import json
import re
import runpy
import sys
import types
from pathlib import Path

import pytest
import torch

from synthetic import write_image_folder

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "walkthrough.py"
FIGURES = ["images", "curves", "accuracy", "weights", "ce_vs_mbce"]


def cells(source):
    """The `# %%` cells of a percent-format script (jupytext's, VS Code's): (kind, code) pairs."""
    parts = re.split(r"^(# %%.*)$", source, flags=re.M)[1:]
    return [("markdown" if "[markdown]" in marker else "code", code) for marker, code in zip(parts[::2], parts[1::2])]


@pytest.fixture
def threads_restored():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def notebook(monkeypatch):
    """What Jupyter provides: ipykernel loaded, IPython.display; returns the names of what was displayed."""
    shown = []
    display = types.ModuleType("IPython.display")
    display.Image = lambda filename: Path(filename)
    display.display = lambda image: shown.append(image.stem)
    ipython = types.ModuleType("IPython")
    ipython.display = display
    ipython.version_info = (9, 0, 0)  # matplotlib reads it when IPython is loaded
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    return shown


def test_the_walkthrough_runs_as_a_notebook(tmp_path, monkeypatch, notebook, threads_restored, capsys):
    """In experiments/, with data/ beside it and only WALKTHROUGH_ARGS set, as a student would open it."""
    write_image_folder(tmp_path / "data", n_train_per_class=20, n_test_per_class=4)  # split a1: 40 / 40, test 40
    (tmp_path / "experiments").mkdir()
    monkeypatch.chdir(tmp_path / "experiments")
    monkeypatch.setenv("WALKTHROUGH_ARGS", "--quick --no-progress --device cpu")
    kinds = cells(SCRIPT.read_text())
    assert kinds[0][0] == "code" and sum(k == "markdown" for k, _ in kinds) >= 8 and len(kinds) >= 18
    namespace = {"__name__": "__main__"}  # a notebook has no __file__
    for _kind, code in kinds:
        exec(compile(code, str(SCRIPT), "exec"), namespace)

    out = tmp_path / "experiments" / "results" / "walkthrough"
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{f}.png" for f in FIGURES] + ["results.json"])
    assert notebook == FIGURES  # each figure shown under its cell
    assert list((tmp_path / "experiments").iterdir()) == [tmp_path / "experiments" / "results"]
    numbers = json.loads((out / "results.json").read_text())
    assert numbers["command"] == "notebook, WALKTHROUGH_ARGS='--quick --no-progress --device cpu'"
    # the by-hand formula and the library's code: the same float64 math in another order
    assert max(numbers["by_hand_max_rel_error"].values()) <= 1e-12
    assert numbers["gradcheck_passed"] is True
    assert all(e["norm_rel"] <= 1e-7 for e in numbers["finite_differences"].values())
    for run in (numbers["baseline"], numbers["mbce"]):
        assert run["status"] == "completed" and len(run["history"]) == 3
        assert run["history"][-1]["train_loss"] < run["history"][0]["train_loss"]
        assert 0 <= run["calibration"]["ece"] <= 1
    assert numbers["mbce"]["config"]["eta"] == 10 * numbers["baseline"]["config"]["eta"]
    printed = capsys.readouterr().out
    assert "PASS: all 6 cases" in printed and "loss at init" in printed


def test_a_bad_flag_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, threads_restored):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--threads", "0"])
    with pytest.raises(SystemExit) as e:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert e.value.code == 2
    assert capsys.readouterr().err == "error: --threads must be ≥ 1 (got 0)\n"
    assert list(tmp_path.iterdir()) == []


def test_in_a_notebook_a_missing_data_folder_names_walkthrough_args(tmp_path, monkeypatch, notebook, capsys,
                                                                     threads_restored):
    """A notebook has no command line: the error says where its flags come from."""
    (tmp_path / "experiments").mkdir()
    monkeypatch.chdir(tmp_path / "experiments")
    monkeypatch.setenv("WALKTHROUGH_ARGS", f"--data-dir {tmp_path / 'absent'} --cache-dir {tmp_path / 'cache'}")
    namespace = {"__name__": "__main__"}
    with pytest.raises(SystemExit) as e:
        for _kind, code in cells(SCRIPT.read_text()):
            exec(compile(code, str(SCRIPT), "exec"), namespace)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "in a notebook the flags come from WALKTHROUGH_ARGS" in err and "%env WALKTHROUGH_ARGS=--data-dir PATH" in err


def test_in_a_notebook_training_shows_one_bar_not_a_line_per_epoch(notebook, capfd):
    """A notebook's stderr is no terminal, but it redraws a carriage return in place."""
    from linclf_torch.progress import bar
    with bar(range(40), desc="train", unit="epoch") as epochs:
        for _ in epochs:
            epochs.set_postfix(cost=1.0)
    err = capfd.readouterr().err
    assert err.count("\n") <= 1 and err.count("\r") >= 40, err
