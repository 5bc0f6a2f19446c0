"""Students' real forms, each re-made as a file written for the tests (tests/students/): right
code passes (with a note where its own softmax overflows), a wrong forward is named first, a
notebook's definitions are checked without its data and training cells, and nothing exits 2
unless the file is broken. The issue's table, row by row."""
import json

import pytest
import torch

from helpers import ROOT
from linclf_torch.cli.parse import main
from linclf_torch.yourgrad import names
from linclf_torch.yourgrad.families import FAMILIES

STUDENTS = ROOT / "tests" / "students"
OVERFLOW = "overflows on case 6: its P holds NaN or inf, so your gradients there are not judged"


@pytest.fixture(autouse=True)
def threads_restored():
    """The command sets one thread for the process; the other tests keep their own."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def gradcheck(capsys, spec, *flags):
    code = main(["gradcheck", str(spec), *flags])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("spec, flags, said", [
    ("a1_backward_pass.py:BackwardPass", (), "Recognised as BackwardPass(X, Y, P, network, lam)"),
    ("a2_tuple_forward.py:BackwardPass", ("--model", "two-layer"),
     "fp_data = element 1 of the tuple apply_network returns"),
    ("a2_takes_p.py:Backward2LayerPass", ("--model", "two-layer"), "fp_data = Apply2LayerNetwork(X, net)"),
    ("a2_index_items.py:backward", ("--model", "two-layer"), "net = {'W': {0: W1, 1: W2}, 'b': {0: b1, 1: b2}}"),
    ("a2_spread.py:backward_pass", ("--model", "two-layer"), "BackwardPass(X, Y, P, H, net, lam) -> grads like net, "
     "(P, H) = forward_pass(X, net), net = {'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2}"),
    ("a2_flat_keys.py:ComputeGradients", ("--model", "two-layer"), "net = {'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2}"),
    ("a2_own_softmax.py:ComputeGradients", ("--model", "two-layer"), "Your forward EvaluateClassifier " + OVERFLOW),
    ("a2_classes.py:TwoLayer.gradients", ("--model", "two-layer"), "Your gradients: "),
    ("a3_rows_autograd.py:network_gradients", ("--model", "k-layer-bn"), "Layout torch, found by trying"),
    ("bn_layer.py:BatchNormBackPass", ("--model", "batchnorm"), "Your ε: 1e-05"),
])
def test_right_student_code_in_each_form_passes(capsys, spec, flags, said):
    code, out, err = gradcheck(capsys, STUDENTS / spec, *flags)
    assert code == 0 and err == "", err
    assert said in out and out.endswith("PASS: all 6 cases\n" if "two-layer" in flags or "a1" in spec else "cases\n")


def test_an_overflowing_forward_is_a_note_not_a_fail(capsys):
    """Its tuple's P holds NaN at scores of ±1000 (no max subtraction): case 6 is not judged, the
    others pass, and the note says how to fix the softmax."""
    code, out, _ = gradcheck(capsys, STUDENTS / "a2_tuple_forward.py:BackwardPass", "--model", "two-layer")
    assert code == 0
    assert "| 6 | d=10 m=6 n=3 λ=0.1, scores ≈ ±1000   | NaN/inf     |" in out and "| not judged |" in out
    assert f"- Your forward apply_network {OVERFLOW}" in out and "Subtract each column's max score before exp" in out


def test_a_backward_that_overflows_on_finite_inputs_still_fails():
    """The torch layout's f(X, y, W, b, lam) computes P itself: no forward of its own to blame."""
    from test_yourgrad import check, student_torch
    report = check(student_torch("ce", naive=True), "torch", "ce")
    assert not report.passed and "softmax overflows at scores of 1000" in str(report)


def test_a_wrong_forward_is_named_first(capsys):
    code, out, err = gradcheck(capsys, STUDENTS / "a3_wrong_forward.py:BackwardPass", "--model", "k-layer-bn")
    assert code == 1 and err == ""
    findings = [line for line in out.splitlines() if line.startswith("- ")]
    assert findings[0].startswith("- P (forward), every case: your forward pass ApplyNetwork is wrong: its P differs "
                                  "from the reference's"), findings
    assert "see your forward above" in findings[1] and "in no way this check knows" not in out
    assert out.endswith("FAIL: 5 of 5 cases\n")


def test_a_batch_norm_function_without_its_model_is_asked_did_you_mean(capsys):
    code, _, err = gradcheck(capsys, STUDENTS / "bn_layer.py:BatchNormBackPass")
    assert code == 2 and err.endswith("(did you mean --model batchnorm?)\n") and err.count("\n") == 1


def test_a_class_that_needs_data_points_to_the_adapter(capsys):
    code, _, err = gradcheck(capsys, STUDENTS / "a2_classes.py:Trainer.compute_gradients", "--model", "two-layer")
    assert code == 2 and "Trainer() needs arguments" in err and "docs/gradcheck.md#classes" in err


def test_the_class_adapter_example_passes(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, err = gradcheck(capsys, "experiments/examples/a2_class.py:f", "--model", "two-layer")
    assert code == 0 and err == "" and out.endswith("PASS: all 6 cases\n")


def test_a_forward_that_returns_none_is_blamed_not_the_backward(capsys, tmp_path):
    (tmp_path / "mine.py").write_text("def ApplyNetwork(X, net):\n    h = X\n\n"
                                      "def BackwardPass(X, Y, fp_data, net, lam):\n    return fp_data['h']\n")
    code, _, err = gradcheck(capsys, tmp_path / "mine.py:BackwardPass", "--model", "two-layer")
    assert code == 2 and "your forward ApplyNetwork returned None on case" in err
    assert "(a missing return statement?)" in err


def notebook(path, *cells):
    """A Jupyter notebook (nbformat 4) of these code cells."""
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": cell} for cell in cells]}))
    return path


RIGHT_A2 = (STUDENTS / "a2_flat_keys.py").read_text()


def test_a_notebook_with_a_right_and_a_wrong_backward(capsys, tmp_path):
    """Its data and training cells (and their magics) are not run; the right backward passes, the
    wrong one (λW in place of 2λW) has its mistake named."""
    nb = notebook(tmp_path / "a2.ipynb", "%matplotlib inline\nimport numpy as np\n",
                  "X, Y, y = LoadBatch('data_batch_1')\n",
                  RIGHT_A2.split('"""', 2)[2],
                  "def WrongGradients(X, Y, net, lam):\n    g = ComputeGradients(X, Y, net, lam)\n"
                  "    g['dW2'] = g['dW2'] - lam * net['W2']\n    return g\n",
                  "%%time\nfor epoch in range(40):\n    train(X, Y)\n")
    code, out, err = gradcheck(capsys, f"{nb}:ComputeGradients", "--model", "two-layer")
    assert code == 0 and out.endswith("PASS: all 6 cases\n"), err
    code, out, err = gradcheck(capsys, f"{nb}:WrongGradients", "--model", "two-layer")
    assert code == 1 and "- grad_W2, cases 2, 3, 5, 6: your grad_W2 equals the reference with λW2 in place of 2λW2" \
        in out


def test_the_clis_models_and_options_are_the_families():
    assert tuple(FAMILIES) == names.MODELS
    assert {option: model for model, family in FAMILIES.items()
                             for option in getattr(family, "OPTIONS", ())} == names.OPTIONS


@pytest.mark.parametrize("model, example, function", [
    ("linear", "gradients_right", "ComputeGradients"), ("two-layer", "a2_right", "BackwardPass"),
    ("batchnorm", "a3_bn_right", "BatchNormBackPass"), ("k-layer-bn", "a3_bn_right", "BackwardPass"),
    ("conv", "a3_conv_right", "BackwardPass"),
])
def test_check_gradients_from_python_for_every_family(model, example, function):
    """One function for every family; its report prints as tables of at most 120 columns (the
    k-layer network's split in several) and shows in a notebook as one Markdown table."""
    from helpers import load_experiment
    from linclf_torch import check_gradients
    fn = getattr(load_experiment(f"examples/{example}"), function)
    report = check_gradients(fn, model=model)
    assert report.passed
    text = str(report)
    tables = [line for line in text.splitlines() if line.startswith("|")]
    assert tables and max(map(len, tables)) <= 120
    markdown = report._repr_markdown_()
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    assert rows[0].startswith("| # | case ") and rows[1].startswith("|---") and len(rows) == 2 + len(report.cases)
    assert rows[0].count("grad_") == len(report.results) // len(report.cases)  # every column in one table


COST = """
import numpy as np

def ComputeCost(X, Y, net, lam):
    h = np.maximum(0, net['W'][0] @ X + net['b'][0])
    s = net['W'][1] @ h + net['b'][1]
    P = np.exp(s - s.max(axis=0)) / np.exp(s - s.max(axis=0)).sum(axis=0)
    return -np.mean(np.log(np.sum(Y * P, axis=0))) + lam * sum(np.sum(W ** 2) for W in net['W'])
"""


@pytest.mark.parametrize("example, code, said", [
    ("a2_right", 0, "your gradients match centred differences of your own cost ComputeCost (norm-wise ≤ "),
    ("a2_wrong", 1, "your gradients do not match centred differences of your own cost ComputeCost (norm-wise up to "),
])
def test_cost_tells_a_wrong_backward(capsys, tmp_path, example, code, said):
    """--cost: a right backward matches its own cost; a2_wrong.py's (no ReLU mask) does not: the backward is wrong."""
    (tmp_path / "mine.py").write_text((ROOT / "experiments" / "examples" / f"{example}.py").read_text() + COST)
    got, out, err = gradcheck(capsys, f"{tmp_path / 'mine.py'}:BackwardPass", "--model", "two-layer",
                              "--cost", "ComputeCost")
    assert got == code and err == "" and said in out
    assert ("the mistake is in your backward" in out) == (code == 1)


def test_cost_tells_a_wrong_forward(capsys):
    """A forward that forgets b2, with a cost and a backward right for it: the forward is named first, and the
    backward matches its own cost, so the mistake is in the cost or forward."""
    code, out, _ = gradcheck(capsys, STUDENTS / "a2_no_b2.py:BackwardPass", "--model", "two-layer", "--cost",
                             "ComputeCost")
    findings = [line for line in out.splitlines() if line.startswith("- ")]
    assert code == 1 and findings[0].startswith("- P (forward), every case: your forward pass ApplyNetwork is wrong")
    assert findings[1].endswith("your backward is right for the function your code computes, so the mistake is in "
                                "your cost or forward")


def test_a_cost_of_no_form_is_one_line(capsys):
    code, _, err = gradcheck(capsys, STUDENTS / "a2_no_b2.py:BackwardPass", "--model", "two-layer", "--cost",
                             "ApplyNetwork")
    assert code == 2 and err.count("\n") == 1 and "fits no form of a cost for this family: cost(X, Y, net, lam) -> J" in err
