"""The checker's RNN family (DD2424 Assignment 4): the reference equals autograd's BPTT, right
student files in each form pass (one-hot or index vectors, a dict or an object, arguments in
their own order, a forward's fp_data, float32, the older texts' summed loss), and each mistake
is named by a wrong function written for the tests (tests/students/rnn_*.py)."""
import importlib.util

import pytest

from helpers import ROOT
from linclf_torch import check_gradients
from linclf_torch.cli.parse import main
from linclf_torch.nn.rnn import rnn_gradients
from linclf_torch.yourgrad.families import rnn
from linclf_torch.yourgrad.rnnmistakes import Variant, variant_gradients

pytestmark = pytest.mark.usefixtures("one_thread")
STUDENTS = ROOT / "tests" / "students"
H0 = {i for i, case in enumerate(rnn.CASES, start=1) if case.h0}           # where h0 ≠ 0 shows
LONG = {i for i, case in enumerate(rnn.CASES, start=1) if case.tau > 1}    # where W carries anything back


def student(name):
    """tests/students/<name>.py as a module."""
    spec = importlib.util.spec_from_file_location(f"student_{name}", STUDENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def findings(report):
    return [line for line in str(report).splitlines() if line.startswith("- ")]


def failed(report):
    return {i for i, case in enumerate(report.cases, start=1)
            if any(r.status == "FAIL" for r in report.results if r.case is case)}


def test_the_reference_is_autograds_and_the_right_variant_is_the_reference():
    """The family's reference against autograd in float64 (the same sums in other orders: 1e-12 of
    the largest entry), and rnnmistakes' right switches reproduce it to rounding."""
    for i, case in enumerate(rnn.CASES):
        p = rnn.problem(case, "ce", i)
        ref = p.reference()
        params = {k: v.clone().requires_grad_() for k, v in p.params.items()}
        rnn_gradients(p.x, p.y, p.h0, params)[0].backward()
        right = variant_gradients(p.x, p.y, p.h0, p.params, "mean", Variant())
        for k in rnn.PARAMS:
            bound = 1e-12 * ref[k].abs().max()
            assert (ref[k] - params[k].grad).abs().max() <= bound and (ref[k] - right[k]).abs().max() <= bound, k


def test_the_large_case_has_gradients_beyond_five():
    """Where clipping at ±5 inside the gradient function shows: only in the last case."""
    p = rnn.problem(rnn.CASES[-1], "ce", len(rnn.CASES) - 1)
    assert max(g.abs().max() for g in p.reference().values()) > 5


@pytest.mark.parametrize("name, function, options, said", [
    ("rnn_bptt", "ComputeGradients", {}, "Recognised as f(X, Y, h0, RNN) -> grads like RNN"),
    ("rnn_bptt", "ComputeGradientsSummed", {"loss_reduction": "sum"}, "loss sum over τ"),
    ("rnn_named", "backwardPass", {}, "f(RNN, X, Y, h0) -> grads like RNN (bound by the names), RNN = an object "
     "with attributes b, c, U, W, V; X and Y as index vectors (τ,)"),
    ("rnn_forward_backward", "backward", {}, "fp_data = forward(X, Y, h0, RNN)"),
])
def test_right_student_functions_pass(name, function, options, said):
    report = check_gradients(getattr(student(name), function), model="rnn", **options)
    assert report.passed, str(report)
    assert said in str(report)


def test_a_float32_student_passes_as_float32():
    report = check_gradients(student("rnn_named").backwardPass, model="rnn")
    assert "pass (float32)" in {r.status for r in report.results}


@pytest.mark.parametrize("function, sentence, cases", [
    ("NoTanhDerivative", "tanh's derivative (1 − h_t²) left out of da_t", set(range(1, 6))),
    ("Truncated", "da_t not carried back through W", LONG),
    ("WithoutH0", "h0 left out of W's gradient", H0),
    ("ComputeGradientsSummed", "the loss summed over the τ steps where the mean belongs (τ times too large)", LONG),
    ("Clipped", "equals the reference clipped to ±5: clipping belongs in the training step", {5}),
    ("TransposedW", "your grad_W is the transpose of the reference's", set(range(1, 6))),
    ("TransposedU", "your grad_U is the transpose of the reference's (30, 10) in place of (10, 30)", set(range(1, 6))),
])
def test_each_mistake_is_named_where_it_shows(function, sentence, cases):
    report = check_gradients(getattr(student("rnn_bptt"), function), model="rnn")
    assert not report.passed and failed(report) == cases, str(report)
    assert any(sentence in line for line in findings(report)) and "in no way this check knows" not in str(report)


def test_the_sum_checked_as_the_mean_and_back():
    report = check_gradients(student("rnn_bptt").ComputeGradients, model="rnn", loss_reduction="sum")
    assert "the mean over the τ steps where the sum belongs (τ times too small)" in str(report)
    with pytest.raises(ValueError, match="loss_reduction must be one of"):
        check_gradients(student("rnn_bptt").ComputeGradients, model="rnn", loss_reduction="total")


def test_the_command_line(capsys):
    spec = f"{STUDENTS / 'rnn_bptt.py'}:ComputeGradientsSummed"
    assert main(["gradcheck", spec, "--model", "rnn", "--loss-reduction", "sum"]) == 0
    assert capsys.readouterr().out.endswith("PASS: all 5 cases\n")
    assert main(["gradcheck", spec, "--model", "rnn"]) == 1
    assert "τ times too large" in capsys.readouterr().out
    assert main(["gradcheck", spec, "--loss-reduction", "sum"]) == 2
    assert "--loss-reduction: for --model rnn only (add --model rnn)" in capsys.readouterr().err


def test_the_examples_and_the_docs_quote(capsys, monkeypatch):
    """a4_rnn_right.py passes, a4_rnn_wrong.py's h0 is named, and docs/gradcheck.md quotes its output."""
    from test_gradcheck_cli import rounding_masked
    monkeypatch.chdir(ROOT)
    assert main(["gradcheck", "experiments/examples/a4_rnn_right.py:ComputeGradients", "--model", "rnn"]) == 0
    capsys.readouterr()
    assert main(["gradcheck", "experiments/examples/a4_rnn_wrong.py:ComputeGradients", "--model", "rnn"]) == 1
    out = capsys.readouterr().out
    assert "h0 left out of W's gradient" in out
    quoted = "\n".join(f"    {line}".rstrip() for line in out.splitlines())
    page = (ROOT / "docs" / "gradcheck.md").read_text()
    assert rounding_masked(quoted) in rounding_masked(page), "docs/gradcheck.md: paste a4_rnn_wrong.py's output again"


def test_a_notebook_with_the_rnn_as_a_class_and_its_steps_in_dicts(tmp_path, capsys):
    """A4 as a notebook: the book read and the training loop in cells not run, the RNN an object
    whose attributes the functions read, BackwardPass(RNN, X, Y, h0) bound by its names, and the
    forward's probabilities per step in a dict {t: p_t (K, 1)}, stacked to check the forward."""
    cells = [
        "import numpy as np\n%matplotlib inline\n",
        "book_data = open('the_book.txt').read()\nK = len(set(book_data))\n",
        "def ForwardPass(RNN, X, Y, h0):\n    hs, ps, loss = {-1: h0}, {}, 0\n"
        "    for t in range(X.shape[1]):\n        hs[t] = np.tanh(RNN.W @ hs[t-1] + RNN.U @ X[:, [t]] + RNN.b)\n"
        "        o = RNN.V @ hs[t] + RNN.c\n        ps[t] = np.exp(o - o.max()) / np.sum(np.exp(o - o.max()))\n"
        "        loss -= np.log(Y[:, [t]].T @ ps[t])[0, 0]\n    return loss / X.shape[1], hs, ps\n",
        "def BackwardPass(RNN, X, Y, h0):\n    loss, hs, ps = ForwardPass(RNN, X, Y, h0)\n    tau = X.shape[1]\n"
        "    g = {k: np.zeros_like(getattr(RNN, k)) for k in 'bcUWV'}\n    dh_next = np.zeros_like(h0)\n"
        "    for t in reversed(range(tau)):\n        do = (ps[t] - Y[:, [t]]) / tau\n        g['V'] += do @ hs[t].T\n"
        "        g['c'] += do\n        da = (RNN.V.T @ do + dh_next) * (1 - hs[t] ** 2)\n"
        "        g['W'] += da @ hs[t-1].T\n        g['U'] += da @ X[:, [t]].T\n        g['b'] += da\n"
        "        dh_next = RNN.W.T @ da\n    return g, loss, hs[tau - 1]\n",
        "for i in range(100000):\n    grads, loss, h = BackwardPass(rnn, X, Y, h)\n",
    ]
    from test_students import notebook
    nb = notebook(tmp_path / "a4.ipynb", *cells)
    assert main(["gradcheck", f"{nb}:BackwardPass", "--model", "rnn"]) == 0
    out = capsys.readouterr().out
    assert "f(RNN, X, Y, h0) -> grads like RNN (bound by the names), RNN = an object with attributes" in out
    rows = [line for line in out.splitlines() if line.startswith("| 1 ") and "e-" in line]
    assert rows and rows[0].split("|")[2].strip() != "—"  # the forward's P, found in {t: p_t} and checked
