"""Every script in experiments/ end to end with --quick on a small synthetic image folder."""
import json

import pytest

from helpers import load_experiment as script
from synthetic import write_image_folder

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    # 200 training images in 5 pseudo-batches of 40: split a1 is 40 / 40, test 40
    return write_image_folder(tmp_path_factory.mktemp("images"), n_train_per_class=20, n_test_per_class=4)


def quick(name, folder, tmp_path, monkeypatch, *extra, figures=()):
    """Run the script with --quick; check and return its results.json, report.md and folder."""
    monkeypatch.chdir(tmp_path)  # anything a script wrote to its working folder would land here
    out = tmp_path / "out"
    argv = ["--data-dir", str(folder), "--device", "cpu", "--quick", "--no-progress", "--out", str(out), *extra]
    assert script(name).main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    report = (out / "report.md").read_text()
    assert results["command"].startswith(f"python experiments/{name}.py --data-dir")
    assert results["script_wall_time_s"] > 0 and results["env"]["device"] == "cpu"
    assert "wall time" in report and "QUICK" in report
    for fig in figures:
        assert (out / f"{fig}.png").read_bytes()[:8] == PNG, fig
    return results, report, out


def table_rows(report):
    return [line for line in report.splitlines() if line.startswith("| ") and not line.startswith("| rank |")]


def test_a1_settings(folder, tmp_path, monkeypatch):
    results, report, _ = quick("a1_settings", folder, tmp_path, monkeypatch, figures=("curves", "weights"))
    runs = results["settings"]
    assert [(r["config"]["eta"], r["config"]["lam"]) for r in runs] == [(0.1, 0), (0.001, 0), (0.001, 0.1), (0.001, 1)]
    assert all(r["config"]["split"] == "a1" and len(r["history"]) == 2 for r in runs)
    assert all(0 <= r["final"][k] <= 1 for r in runs for k in ("train_acc", "val_acc", "test_acc"))
    assert runs[0]["final"]["train_acc"] > 0.5  # the synthetic classes are easy: η = 0.1 learns them at once
    assert len(table_rows(report)) == 5 and "39.2–39.9%" in report  # header + 4 settings, reports beside


def test_a1_improvements(folder, tmp_path, monkeypatch):
    results, report, _ = quick("a1_improvements", folder, tmp_path, monkeypatch, "--n-val", "20",
                               figures=("heatmap", "curves"))
    s, grid = results["strategies"], results["grid"]
    assert list(s) == list("abcdef")
    assert all(0 <= r["final"]["test_acc"] <= 1 for r in s.values())
    assert [s[k]["config"]["split"] for k in "abcdef"] == ["full", "full", "a1", "a1", "a1", "full"]
    assert s["b"]["config"]["flip"] == 0.5 and s["b"]["config"]["lam"] == 0.001
    # (c) is the grid's rank 1, chosen on validation accuracy
    assert len(grid["runs"]) == 8
    vals = [r["final"]["val_acc"] for r in grid["runs"]]
    assert s["c"]["final"]["val_acc"] == max(vals) == vals[grid["ranking"][0]]
    assert s["c"]["config"] == grid["best"]["config"]
    assert s["d"]["config"]["decay"].startswith("step") and s["e"]["config"]["decay"].startswith("plateau")
    # (f) follows the documented rule
    f, c = s["f"]["config"], s["c"]["config"]
    assert (f["eta"], f["lam"], f["batch_size"]) == (c["eta"], c["lam"], c["batch_size"])
    decay_from = max("cde", key=lambda k: s[k]["final"]["val_acc"])
    assert f["decay"] == s[decay_from]["config"]["decay"] and results["choice_f"]["decay_from"] == decay_from
    assert f["flip"] == (0.5 if s["b"]["final"]["val_acc"] > s["a"]["final"]["val_acc"] else 0.0)
    assert len(table_rows(report)) == 7 + 8  # strategies: header + 6; grid: 8 rows (its "| rank |" header left out)


def test_ce_vs_mbce(folder, tmp_path, monkeypatch):
    results, report, _ = quick("ce_vs_mbce", folder, tmp_path, monkeypatch, "--n-val", "20",
                               figures=("curves", "histograms", "reliability"))
    runs = results["runs"]
    assert (runs["CE"]["config"]["eta"], runs["MBCE"]["config"]["eta"]) == (0.001, 0.01)
    assert all(r["config"]["flip"] == 0.5 and r["config"]["split"] == "full" for r in runs.values())
    for r in runs.values():
        cal = r["calibration"]
        assert cal["accuracy"] == pytest.approx(r["final"]["test_acc"])  # the same model, the same test set
        assert sum(cal["bins"]["count"]) == 40 and len(cal["bins"]["count"]) == 15
        assert 0 <= cal["ece"] <= 1 and 0 <= cal["mean_confidence_wrong"] <= 1
    assert runs["MBCE"]["calibration_normalised"]["accuracy"] == runs["MBCE"]["calibration"]["accuracy"]
    assert len(table_rows(report)) == 4  # header, CE, MBCE, MBCE normalised


def test_gradcheck(folder, tmp_path, monkeypatch):
    results, report, _ = quick("gradcheck", folder, tmp_path, monkeypatch)
    checks = results["checks"]
    assert {(c["loss"], c["lam"]) for c in checks} == {("ce", 0.0), ("ce", 0.1), ("mbce", 0.0), ("mbce", 0.1)}
    assert len(checks) == 8 and {(c["n"], c["d"]) for c in checks} == {(3, 10), (10, 20)}
    errors = [e for c in checks for e in c["errors"].values()]
    assert len(errors) == 16 and all(e["norm_rel"] < 1e-7 and e["max_abs"] < 1e-8 * e["max_grad"] for e in errors)
    assert all(e["max_rel"] < 1e-5 for c in checks if c["n"] == 3 for e in c["errors"].values())
    assert len(table_rows(report)) == 9


def test_a2_two_layer(folder, tmp_path, monkeypatch):
    results, report, out = quick("a2_two_layer", folder, tmp_path, monkeypatch,
                                 figures=("exercise3_curves", "exercise4_eta", "final_accuracy"))
    assert all(float(max_rel) < 1e-6 for _, _, max_rel, _ in results["gradient_check"])  # float64, centred
    assert len(results["gradient_check"]) == 8  # W1, b1, W2, b2 at λ 0 and 0.01
    runs = results["runs"]
    assert list(runs) == ["overfit", "exercise 3", "exercise 4", "final"]
    overfit = runs["overfit"]["history"]  # --quick: 20 epochs of a 6-unit network, not yet memorised
    assert overfit[-1]["train_loss"] < overfit[0]["train_loss"] / 2 and runs["overfit"]["final"]["train_acc"] > 0.5
    assert all(runs[k]["config"]["hidden"] == [6] and runs[k]["config"]["init"] == "dd2424" for k in runs)
    assert (runs["exercise 3"]["config"]["cycles"], runs["exercise 4"]["config"]["cycles"]) == (1, 3)
    assert runs["exercise 4"]["history"][-1]["step"] == 2 * 3 * 8  # three cycles of n_s = 8
    # the searches rank on validation accuracy; the final λ is the best of both rank 1s; test never seen by them
    for stage in ("coarse", "fine"):
        ranked = results["searches"][stage]
        assert [r["final"]["val_acc"] for r in ranked] == sorted((r["final"]["val_acc"] for r in ranked), reverse=True)
        assert all("test_acc" not in r["final"] for r in ranked)
        assert all(-5 <= r["l"] <= -1 for r in ranked) if stage == "coarse" else True
    best = max((results["searches"][s][0] for s in ("coarse", "fine")), key=lambda r: r["final"]["val_acc"])
    assert results["final_lam"] == best["lam"] == runs["final"]["config"]["lam"]
    fine_ls = [r["l"] for r in results["searches"]["fine"]]
    assert all(abs(l - results["searches"]["coarse"][0]["l"]) <= 0.5 for l in fine_ls)
    assert "45.85% / 46.29%" in report and "| exercise 4 |" in report


def test_a3_batchnorm(folder, tmp_path, monkeypatch):
    results, report, _ = quick("a3_batchnorm", folder, tmp_path, monkeypatch,
                               figures=("3layers_curves", "9layers_bn_curves", "final_curves", "sensitivity_loss"))
    checks = results["gradient_check"]
    assert sorted({(r["layers"], r["batchnorm"]) for r in checks}) == [(2, False), (2, True), (3, False), (3, True),
                                                                       (4, False)]
    zero = [r for r in checks if r["error"].startswith("max abs")]  # b_l before a batch norm: true gradient 0
    assert [(r["layers"], r["parameter"]) for r in zero] == [(2, "b1"), (3, "b1"), (3, "b2")]
    assert all(r["value"] < 1e-8 for r in zero) and all(r["value"] < 1e-5 for r in checks if r not in zero)
    assert {r["parameter"] for r in checks if r["layers"] == 3 and r["batchnorm"]} >= {"gamma1", "beta2"}
    runs = results["runs"]
    assert list(runs)[:5] == ["3 layers", "3 layers, BN", "9 layers", "9 layers, BN", "final, BN"]
    for name in ("3 layers", "3 layers, BN", "9 layers", "9 layers, BN"):
        c = runs[name]["config"]
        assert (c["batchnorm"], len(c["hidden"]) + 1) == ("BN" in name, int(name[0]))
        assert (c["init"], c["lam"], c["cycles"], c["split"], c["shuffle"]) == ("he", 0.005, 2, "full", True)
    assert runs["3 layers, BN"]["final"]["train_acc"] > 0.4  # the synthetic classes are easy
    # the searches rank on validation accuracy and never see the test set; the final run takes the best λ
    searches = results["searches"]
    for ranked in searches.values():
        assert [r["final"]["val_acc"] for r in ranked] == sorted((r["final"]["val_acc"] for r in ranked), reverse=True)
        assert all("test_acc" not in r["final"] and r["config"]["batchnorm"] for r in ranked)
    assert all(-5 <= r["l"] <= -1 for r in searches["coarse"])
    assert all(abs(r["l"] - searches["coarse"][0]["l"]) <= 0.5 for r in searches["fine"])
    best = max((searches[s][0] for s in ("coarse", "fine")), key=lambda r: r["final"]["val_acc"])
    final = runs["final, BN"]["config"]
    assert results["final_lam"] == best["lam"] == final["lam"] and final["cycles"] == 3
    # σ = 1e-4: without batch norm the loss stays at ln 10, with it the network learns
    sens = {(r["config"]["init"], r["config"]["batchnorm"]): r for name, r in runs.items() if name.startswith("σ")}
    assert sorted(sens) == sorted((f"normal:{s}", bn) for s in ("0.1", "0.001", "0.0001") for bn in (False, True))
    assert sens[("normal:0.0001", False)]["history"][-1]["train_loss"] > 2.29
    assert sens[("normal:0.0001", True)]["history"][-1]["train_loss"] < 2.1
    assert [t["met"] in (True, False) for t in results["targets"]] == [True] * 5
    assert "51.45–53.76%" in report and "true gradient 0" in report and "| 9 layers, BN |" in report


def test_bad_flag_is_one_line_and_exit_2(folder, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["--data-dir", str(folder), "--quick", "--no-progress", "--out", str(tmp_path / "out")]
    assert script("ce_vs_mbce").main([*argv, "--n-val", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: --n-val 0 must be between 1 and")
    assert script("gradcheck").main([*argv, "--threads", "0"]) == 2
    assert capsys.readouterr().err == "error: --threads must be ≥ 1 (got 0)\n"
    assert not (tmp_path / "out").exists()


def test_a4_rnn(folder, tmp_path, monkeypatch):
    """The gradient check table, a short training run and its samples, on a text written here."""
    text = tmp_path / "words.txt"
    text.write_text(" ".join(["to be or not to be that is the question"] * 60), encoding="utf-8")
    results, report, out = quick("a4_rnn", folder, tmp_path, monkeypatch, "--text", str(text), "--threads", "1",
                                 figures=("smooth_loss",))
    rows = results["gradient_check"]
    assert [(r[0], r[1]) for r in rows] == [(h0, p) for h0 in ("0", "random") for p in ("U", "W", "V", "b", "c")]
    # float64: autograd agrees to rounding; centred differences norm-wise to their own error (≈ 1e-8)
    assert all(float(r[2]) < 1e-10 and float(r[4]) < 1e-6 for r in rows)
    training = results["training"]
    assert training["status"] == "completed" and training["updates_completed"] == 500
    assert [s["update"] for s in training["samples"]] == [250, 500] and len(training["best_sample"]) == 1000
    assert (out / "run" / "model.pt").is_file() and "| 1,000 | – | 3.381 |" in report


def test_a4_rnn_refuses_a_short_text(folder, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "short.txt").write_text("to be or not")
    argv = ["--text", str(tmp_path / "short.txt"), "--quick", "--no-progress", "--out", str(tmp_path / "out")]
    assert script("a4_rnn").main(argv) == 2
    assert capsys.readouterr().err == ("error: --text " + str(tmp_path / "short.txt") + " has 12 characters; the "
                                       "gradient check and the training read chunks of τ + 1 = 26: use a longer text\n")
    assert not (tmp_path / "out").exists()


def test_a3_convnet(folder, tmp_path, monkeypatch):
    results, report, _ = quick("a3_convnet", folder, tmp_path, monkeypatch, "--n-val", "20",
                               figures=("architectures_accuracy", "architectures_time", "arch5_curves",
                                        "arch5_smoothing_filters", "arch3_filters"))
    checks = results["gradient_check"]
    assert {(r["bias"], r["lam"], r["eps"]) for r in checks} == {(False, 0.0, 0.0), (True, 0.0, 0.0),
                                                                 (False, 0.01, 0.0), (True, 0.01, 0.0), (True, 0.01, 0.1)}
    # float64 against autograd: the same sums in other orders (tests/test_conv.py's bound); centred differences:
    # gradcheck.py's norm-wise bound
    assert all(r["autograd_max_abs_vs_max"] <= 1e-12 and r["numerical_norm_rel"] <= 1e-7 for r in checks)
    runs = results["runs"]
    assert list(runs) == ["arch 1", "exercise 3 (arch 2)", "arch 3", "arch 4", "arch 2, longer", "arch 3, longer",
                          "arch 2, nf = 40, longer", "arch 5, longer", "arch 5, longer, ε = 0.1"]
    shapes = [(r["config"]["filter_size"], r["config"]["filters"], r["config"]["hidden"][0]) for r in runs.values()]
    assert shapes == [(2, 3, 50), (4, 10, 50), (8, 40, 50), (16, 160, 50), (4, 10, 50), (8, 40, 50), (4, 40, 50),
                      (4, 40, 300), (4, 40, 300)]
    assert [r["config"]["cycle_growth"] for r in runs.values()] == [1] * 4 + [2] * 5
    assert runs["arch 5, longer, ε = 0.1"]["config"]["label_smoothing"] == 0.1
    assert runs["arch 5, longer"]["config"]["cycles"] == 4 and runs["arch 5, longer"]["config"]["lam"] == 0.0025
    assert all(r["status"] == "completed" and 0 <= r["final"]["test_acc"] <= 1 for r in runs.values())
    assert len(results["targets"]) == 8 and "57.61%" in report and "66.10%" in report
