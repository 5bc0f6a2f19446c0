"""experiments/bench_load.py end to end, in its tiny --quick form on a synthetic image folder."""
import json
import tempfile

from helpers import load_experiment
from synthetic import write_image_folder


def load_script():
    return load_experiment("bench_load")


def test_bench_load_quick_measures_each_step_and_cleans_up(tmp_path, monkeypatch):
    root = write_image_folder(tmp_path / "images", n_train_per_class=10, n_test_per_class=2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where its scratch folder goes
    (tmp_path / "tmp").mkdir()
    out = tmp_path / "out"
    assert load_script().main(["--quick", "--data-dir", str(root), "--device", "cpu", "--out", str(out)]) == 0
    r = json.loads((out / "results.json").read_text())
    [first] = r["first_load"]
    assert first["total_s"] > 0 and first["cpu_s"] > 0 and first["peak_gb"] >= first["import_peak_gb"] > 0
    for split, n_train in (("a1", 20), ("full", 90)):  # 100 images: batches of 20; full keeps 10 for validation
        [run] = r[f"cached_{split}"]
        assert run["n_train"] == n_train and 0 < run["load_s"] <= run["total_s"] < run["wall_s"]
        assert 0 < run["load_cpu_s"] <= run["cpu_s"]
        assert run["peak_gb"] >= run["load_peak_gb"] >= run["import_peak_gb"] > 0
    [train] = r["train_1"]
    assert train["wall_s"] > train["training_s"] > 0 and train["cpu_s"] > 0
    assert train["rest_s"] == train["wall_s"] - train["training_s"]
    assert r["threads"] == 1 and r["command"].startswith("python experiments/bench_load.py")
    report = (out / "report.md").read_text()
    assert report.count("\n| ") == 5  # header row + first load, a1, full, one train row
    assert list((tmp_path / "tmp").iterdir()) == []  # its caches and runs are gone
    assert sorted(p.name for p in root.iterdir()) == ["cache", "test", "train"]  # only linclf train's own cache
