"""experiments/gpu_check.py without a GPU: --quick runs every stage it can on the CPU, a run
stopped by SIGTERM keeps its finished stages, and the pytest stage counts failures."""
import json
import os
import signal
import textwrap
from types import SimpleNamespace

import pytest
import torch

from helpers import load_experiment

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU behaviour (a GPU is here)")


@pytest.fixture(scope="module")
def gpu_check():
    return load_experiment("gpu_check")


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_quick_runs_every_stage_it_can_on_the_cpu(gpu_check, tmp_path, restore_threads):
    out = tmp_path / "gpu"
    assert gpu_check.main(["--quick", "--out", str(out), "--threads", "1"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "completed" and results["quick"] and results["env"]["device"] == "cpu"
    stages = results["stages"]
    assert list(stages) == ["tests", "agreement", "sync", "timing", "convnet"]
    tests = stages["tests"]  # the CUDA tests of test_graphs.py, each skipped: no GPU
    assert (tests["status"], tests["returncode"], tests["passed"], tests["failed"]) == ("done", 0, 0, 0)
    assert tests["skipped"] >= 3 and tests["met"]
    agreement = stages["agreement"]
    assert agreement["cuda"] == "skipped: no CUDA" and agreement["met"]
    for dtype in ("float64", "float32"):  # the epoch CUDA would capture, run eagerly: bit for bit the same
        same = agreement[dtype]["cpu vs cpu fixed buffers"]
        assert same["epochs"] == [2, 2] and same["history_max"] == 0 and same["weights_max"] == 0
        assert set(same["history"]) == {"eta", *(f"{s}_{m}" for s in ("train", "val") for m in ("loss", "cost", "acc"))}
        # A2's network and A3's 3-layer batch-norm network, one cycle each: at least ten records
        assert agreement[dtype]["two-layer cpu records"] >= 10 and agreement[dtype]["three-layer bn cpu records"] >= 10
        assert {"two-layer cpu", "three-layer bn cpu"} <= set(agreement[dtype]["wall_time_s"])
    assert stages["sync"]["status"] == "skipped: no CUDA"
    methods = stages["timing"]["methods"]
    assert list(methods) == ["a", "a_graphs", "b", "d_batched", "d_sequential", "c"]
    assert all(m["median_s"] > 0 and len(m["times_s"]) == 1 for m in methods.values())
    assert all(m["peak_memory_bytes"] is None for m in methods.values())  # no GPU
    assert methods["a_graphs"]["test_acc"] == methods["a"]["test_acc"] > 0.2  # learnable: chance is 0.1
    assert abs(methods["b"]["test_acc"] - methods["a"]["test_acc"]) <= 0.01
    assert methods["d_batched"]["best_val_acc"] == methods["d_sequential"]["best_val_acc"]
    assert stages["timing"]["config"]["n_train"] == 300 and stages["timing"]["config"]["grid"]["batch_size"] == [10, 20]
    assert list(results["targets"]) == ["CUDA tests pass"] and results["targets"]["CUDA tests pass"]["met"] is None
    report = (out / "report.md").read_text()
    assert report.startswith("# GPU check: ") and "| a' | linclf trainer, the fixed-buffer epoch" in report
    assert "| float64 | cpu vs cpu fixed buffers | 0.0e+00 | 0.0e+00 |" in report
    assert (out / "pytest-cuda.xml").is_file()
    conv = stages["convnet"]  # DD2424 A3's ConvNet: the CPU run CUDA would be compared with, one cycle
    assert conv["status"] == "done" and conv["cuda"] == "skipped: no CUDA" and conv["met"]
    assert conv["float64"]["cpu records"] == conv["float32"]["cpu records"] == 10


def test_without_cuda_it_exits_2_with_one_line(gpu_check, tmp_path, capsys):
    assert gpu_check.main(["--out", str(tmp_path / "gpu")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: experiments/gpu_check.py needs a CUDA GPU") and err.count("\n") == 1
    assert not (tmp_path / "gpu").exists()


def test_sigterm_keeps_the_finished_stages(gpu_check, tmp_path, monkeypatch, restore_threads):
    """A time limit's SIGTERM in the third stage: the first two stay on disk, the status says where it stopped."""
    monkeypatch.setattr(gpu_check, "sync_stage", lambda *a: os.kill(os.getpid(), signal.SIGTERM))
    out = tmp_path / "gpu"
    argv = ["--quick", "--out", str(out), "--threads", "1", "--stages", "agreement", "sync", "timing"]
    before = signal.getsignal(signal.SIGTERM)
    assert gpu_check.main(argv) == 143
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "terminated (SIGTERM) during sync"
    assert list(results["stages"]) == ["agreement"] and results["stages"]["agreement"]["status"] == "done"
    assert "Status: terminated (SIGTERM) during sync" in (out / "report.md").read_text()
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back


def test_a_crashed_stage_is_recorded_and_the_others_still_run(gpu_check, tmp_path, monkeypatch, restore_threads):
    monkeypatch.setattr(gpu_check, "sync_stage", lambda *a: 1 / 0)
    out = tmp_path / "gpu"
    assert gpu_check.main(["--quick", "--out", str(out), "--threads", "1", "--stages", "sync", "agreement"]) == 1
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "completed" and results["stages"]["agreement"]["status"] == "done"
    sync = results["stages"]["sync"]
    assert sync["status"] == "crashed" and "ZeroDivisionError" in sync["error"]


def test_the_tests_stage_counts_passes_failures_and_skips(gpu_check, tmp_path):
    (tmp_path / "test_fake.py").write_text(textwrap.dedent("""
        import pytest
        pytestmark = pytest.mark.cuda

        def test_passes():
            pass

        def test_fails():
            assert False

        @pytest.mark.skip(reason="no")
        def test_skipped():
            pass
    """))
    args = SimpleNamespace(cuda=True, deadline=float("inf"))
    result = gpu_check.tests_stage(args, tmp_path, [tmp_path / "test_fake.py"])
    assert (result["passed"], result["failed"], result["skipped"], result["returncode"]) == (1, 1, 1, 1)
    assert [f.split("::")[-1] for f in result["failures"]] == ["test_fails"] and not result["met"]
