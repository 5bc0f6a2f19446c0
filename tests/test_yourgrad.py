"""Checking a student's own gradient function (yourgrad/check.py): the library's own functions pass
in both layouts, and each known mistake, made on purpose by a student function below, is named."""
import numpy as np
import pytest
import torch

from helpers import failed_cases
from linclf_torch.nn.models import LinearClassifier
from linclf_torch.yourgrad import engine as yourgrad
from linclf_torch.yourgrad.engine import YourFunctionError, check_gradients
from linclf_torch.yourgrad.families.linear import CASES


def check(fn, layout, loss, **kw):
    """check_gradients with this file's argument order: the linear family unless model= says otherwise."""
    return check_gradients(fn, kw.pop("model", "linear"), layout, loss, **kw)

LAMS = [case.lam for case in CASES]
WITH_LAM = {i for i, lam in enumerate(LAMS, start=1) if lam > 0}       # where λW vs 2λW shows
MANY = {i for i, case in enumerate(CASES, start=1) if case.n > 1}      # where the 1/n shows
LARGE = {i for i, case in enumerate(CASES, start=1) if case.scores}    # scores ≈ ±1000
EVERY = set(range(1, len(CASES) + 1))


pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------- the library, in both layouts

def library_torch(loss):
    """LinearClassifier.gradients as a torch-layout function."""
    def gradients(X, y, W, b, lam):
        model = LinearClassifier(W.shape[1], W.shape[0], loss=loss, lam=lam, dtype=torch.float64)
        model.params = {"W": W, "b": b}
        g = model.gradients(X, y)
        return g["W"], g["b"]
    return gradients


def library_dd2424(loss):
    """LinearClassifier.gradients as DD2424's ComputeGradients(X, Y, P, W, lam): the scores it
    differentiates are log P (CE: softmax(log P) = P) or logit P (MBCE: σ(logit P) = P)."""
    def ComputeGradients(X, Y, P, W, lam):
        model = LinearClassifier(W.shape[1], W.shape[0], loss=loss, lam=lam, dtype=torch.float64)
        model.params["W"] = W
        S = P.T.log() if loss == "ce" else torch.logit(P.T)  # (n, K)
        model.scores = lambda X: S
        g = model.gradients(X.T, Y.argmax(0))
        return g["W"], g["b"][:, None]
    return ComputeGradients


@pytest.mark.parametrize("loss", ["ce", "mbce"])
@pytest.mark.parametrize("layout", ["torch", "dd2424"])
def test_the_librarys_own_gradients_pass_in_both_layouts(layout, loss):
    fn = (library_torch if layout == "torch" else library_dd2424)(loss)
    report = check(fn, layout, loss)
    assert report.passed and {r.status for r in report.results} == {"pass"}, str(report)
    # rounding only, far below the 1e-6 bar: float64's 1e-16 times the cancellation in the 3072-dim case's
    # smallest entries (the dd2424 adapter's scores log P and logit P add their own). Measured at most 9.5e-12
    # (dd2424, MBCE) with AVX-512, AVX2 and SSE4.2 kernels alike; other kernels sum in another order, which
    # moves it by a small factor (1.7e-12 to 2.8e-12 for dd2424 CE): 1e-10 leaves ten times that.
    assert len(report.results) == 2 * len(CASES) and all(r.max_rel <= 1e-10 for r in report.results)
    assert str(report).endswith(f"PASS: all {len(CASES)} cases")


# --------------------------------------------------------------- students, right and wrong

def student_torch(loss, *, l2=2.0, mean=True, one_over_K=True, transpose=False, bias_l2=0.0, naive=False):
    """A student's f(X, y, W, b, lam) in torch; each keyword a way to get it wrong."""
    def f(X, y, W, b, lam):
        n, K = X.shape[0], W.shape[0]
        S = X @ W.T + b                                               # (n, K)
        if loss == "ce":
            E = S.exp() if naive else (S - S.max(1, keepdim=True).values).exp()
            P = E / E.sum(1, keepdim=True)                            # (n, K)
        else:
            P = S.exp() / (1 + S.exp()) if naive else torch.sigmoid(S)
        Y = torch.zeros_like(P)
        Y[torch.arange(n), y] = 1
        G = (P - Y) / ((n if mean else 1) * (K if loss == "mbce" and one_over_K else 1))
        grad_W = G.T @ X + l2 * lam * W                               # (K, d)
        return (grad_W.T if transpose else grad_W), G.sum(0) + bias_l2 * lam * b
    return f


def student_dd2424(loss, *, l2=2.0, mean=True, one_over_K=True, transpose=False):
    """A student's ComputeGradients(X, Y, P, W, lam), written for numpy (it runs on torch tensors too)."""
    def ComputeGradients(X, Y, P, W, lam):
        n, K = X.shape[1], W.shape[0]
        G = (P - Y) / ((n if mean else 1) * (K if loss == "mbce" and one_over_K else 1))   # (K, n)
        grad_W = G @ X.T + l2 * lam * W                                                  # (K, d)
        return (grad_W.T if transpose else grad_W), G.sum(1, keepdims=True)
    return ComputeGradients


STUDENTS = {"torch": student_torch, "dd2424": student_dd2424}
MISTAKES = [  # (layout, loss, mistake, the sentence, the cases that fail)
    *[(layout, "ce", {"l2": 1.0}, "your grad_W equals the reference with λW in place of 2λW", WITH_LAM)
      for layout in STUDENTS],
    *[(layout, loss, {"mean": False}, "your grad_W equals the reference without the 1/n average", MANY)
      for layout in STUDENTS for loss in ("ce", "mbce")],
    *[(layout, "mbce", {"one_over_K": False}, "your grad_W equals the reference without MBCE's 1/K", EVERY)
      for layout in STUDENTS],
    *[(layout, "ce", {"transpose": True}, "your grad_W is the transpose of the reference ((d, K) in place of "
       "(K, d))\n", EVERY) for layout in STUDENTS],
    ("torch", "ce", {"bias_l2": 2.0}, "your grad_b equals the reference with the bias regularized (+ 2λb", WITH_LAM),
    ("torch", "mbce", {"bias_l2": 1.0}, "your grad_b equals the reference with the bias regularized (+ λb", WITH_LAM),
    ("torch", "ce", {"naive": True}, "softmax overflows at scores of 1000 (no max subtraction)", LARGE),
    ("torch", "mbce", {"naive": True}, "the sigmoid overflows at scores of ±1000", LARGE),
    ("torch", "ce", {"mean": False, "l2": 1.0, "bias_l2": 2.0}, "your grad_W equals the reference without the "
     "1/n average and with λW in place of 2λW", EVERY),
]


@pytest.mark.parametrize("layout, loss, mistake, sentence, cases", MISTAKES,
                         ids=[f"{m[0]}-{m[1]}-{'-'.join(m[2])}" for m in MISTAKES])
def test_each_known_mistake_is_named_on_the_cases_it_shows_in(layout, loss, mistake, sentence, cases):
    report = check(STUDENTS[layout](loss, **mistake), layout, loss)
    text = str(report)
    assert not report.passed and failed_cases(report) == cases, text
    assert sentence in text
    assert text.endswith(f"FAIL: {len(cases)} of {len(CASES)} cases")
    assert "in no way this check knows" not in text


@pytest.mark.parametrize("layout", STUDENTS)
@pytest.mark.parametrize("loss", ["ce", "mbce"])
def test_a_right_student_passes(layout, loss):
    assert check(STUDENTS[layout](loss), layout, loss).passed


def test_a_combination_is_said_once_for_every_case_that_shows_part_of_it():
    """One image hides the 1/n and λ = 0 hides the bias's L2: one sentence still covers every case."""
    text = str(check(student_torch("ce", mean=False, bias_l2=2.0), "torch", "ce"))
    assert ("- grad_b, every case: your grad_b equals the reference without the 1/n average and with the bias "
            "regularized (+ 2λb; J = L + λ‖W‖² penalises W only)") in text
    assert "- grad_W, cases 1, 2, 4, 5, 6: your grad_W equals the reference without the 1/n average" in text


def test_an_unknown_mistake_is_said_with_its_size_and_what_to_compare():
    def off_by_one_image(X, y, W, b, lam):  # drops the last image from the sums
        gW, gb = student_torch("ce")(X, y, W, b, lam)
        return (gW, gb) if len(y) == 1 else student_torch("ce")(X[:-1], y[:-1], W, b, lam)
    report = check(off_by_one_image, "torch", "ce")
    assert failed_cases(report) == MANY
    assert "differs from the reference (norm-wise" in str(report) and "in no way this check knows" in str(report)


# --------------------------------------------------------------- numpy, float32, the contract

def numpy_torch_layout(X, y, W, b, lam):
    """A right numpy student in the torch layout: CE, softmax after subtracting the row max."""
    n = X.shape[0]
    S = X @ W.T + b
    E = np.exp(S - S.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    P[np.arange(n), y] -= 1
    return P.T @ X / n + 2 * lam * W, P.sum(axis=0) / n


def test_numpy_arrays_in_and_out_in_both_layouts():
    seen = []

    def dd2424(X, Y, P, W, lam):
        seen.append((type(X), str(X.dtype), type(lam)))
        return student_dd2424("ce", l2=1.0)(X, Y, P, W, lam)
    report = check(dd2424, "dd2424", "ce", arrays="numpy")
    assert set(seen) == {(np.ndarray, "float64", float)}
    assert "your grad_W equals the reference with λW in place of 2λW" in str(report)
    assert failed_cases(report) == WITH_LAM
    assert check(numpy_torch_layout, "torch", "ce", arrays="numpy").passed


def numpy_file(source):
    """The function `f` of a file that imports numpy and not torch, as a student's numpy file does."""
    namespace = {"np": np}
    exec(source, namespace)
    return namespace["f"]


def test_auto_calls_a_numpy_files_function_with_numpy_arrays_only():
    """Its module imports numpy and not torch: numpy arrays from the first call on, no try with tensors."""
    f = numpy_file("seen = []\n"
                   "def f(X, y, W, b, lam):\n"
                   "    seen.append(type(X))\n"
                   "    return W, b\n")
    report = check(f, "torch", "ce")
    assert set(f.__globals__["seen"]) == {np.ndarray} and len(f.__globals__["seen"]) == len(CASES)
    assert report.arrays == "numpy arrays" and "(layout torch, loss CE, numpy arrays)" in str(report)


def test_auto_tries_numpy_arrays_when_a_function_fails_on_tensors():
    """This file imports torch too, so numpy_torch_layout is tried with tensors first; it raises
    TypeError on them (a tensor's max is values and indices) and works on numpy arrays."""
    report = check(numpy_torch_layout, "torch", "ce")
    assert report.passed and report.arrays == "numpy arrays"


@pytest.mark.parametrize("layout", STUDENTS)
def test_auto_calls_a_torch_function_with_tensors(layout):
    seen = []

    def f(*args):
        seen.append(type(args[0]))
        return STUDENTS[layout]("ce")(*args)
    report = check(f, layout, "ce")
    assert set(seen) == {torch.Tensor} and report.arrays == "torch tensors" and report.passed


def test_forced_arrays_are_used_even_where_they_fail():
    with pytest.raises(YourFunctionError, match=r"with torch tensors \(numpy code given tensors, or the other way\? "
                       r"see --arrays\)$"):
        check(numpy_torch_layout, "torch", "ce", arrays="torch")
    with pytest.raises(YourFunctionError, match=r"\(10,\), 0.0\) with numpy arrays \("):
        check(student_torch("ce"), "torch", "ce", arrays="numpy")


def test_a_function_failing_on_both_kinds_is_one_line_with_the_tensors_error_first():
    def f(X, y, W, b, lam):
        return W.transposed(), b
    with pytest.raises(YourFunctionError) as e:
        check(f, "torch", "ce")
    assert str(e.value) == ("f raised AttributeError: 'Tensor' object has no attribute 'transposed' on case d=10 n=3 "
                            "λ=0 (the reports'), called as f((3, 10), (3,), (10, 10), (10,), 0.0) with torch tensors "
                            "(numpy code given tensors, or the other way? see --arrays) (nor with the 1 other ways "
                            "tried, e.g. AttributeError: 'numpy.ndarray' object has no attribute 'transposed')")


def test_without_numpy_installed_auto_stays_with_tensors(monkeypatch):
    monkeypatch.setattr(yourgrad, "find_spec", lambda name: None)
    with pytest.raises(YourFunctionError, match=r"with torch tensors \(numpy code given tensors, or the other way\? "
                       r"see --arrays\)$"):
        check(numpy_torch_layout, "torch", "ce")
    with pytest.raises(YourFunctionError, match="numpy is not installed: pip install numpy$"):
        check(numpy_torch_layout, "torch", "ce", arrays="numpy")


def test_float32_gradients_pass_as_float32_and_their_mistakes_are_still_named():
    def float32(student):
        def f(X, y, W, b, lam):
            return student(X.float(), y, W.float(), b.float(), lam)
        return f
    report = check(float32(student_torch("ce")), "torch", "ce")
    # float32 rounding: entry-wise up to 6.5e-4, 650 times the float64 bar 1e-6, and norm-wise at most 4.4e-6,
    # 23 times below the float32 bar 1e-4 (the same with AVX-512, AVX2 and SSE4.2 kernels)
    assert report.passed and "pass (float32)" in {r.status for r in report.results}
    assert "agree with the reference to float32 precision only" in str(report)
    report = check(float32(student_torch("ce", l2=1.0)), "torch", "ce")
    assert failed_cases(report) == WITH_LAM and "with λW in place of 2λW" in str(report)


def test_each_call_gets_its_own_copies():
    def vandal(X, y, W, b, lam):
        grads = [g.clone() for g in student_torch("ce")(X, y, W, b, lam)]
        for a in (X, W, b):
            a.zero_()
        return grads
    assert check(vandal, "torch", "ce").passed


@pytest.mark.parametrize("returns, message", [
    (lambda X, y, W, b, lam: 1 / 0, "f raised ZeroDivisionError: division by zero on case d=10 n=3 λ=0 (the reports'), "
     "called as f((3, 10), (3,), (10, 10), (10,), 0.0) with torch tensors"),
    (lambda X, y, W, b, lam: W, "f returned a Tensor; it must return its gradients (grad_W, grad_b)"),
    (lambda X, y, W, b, lam: (W, [0.0] * 10), "f's grad_b is a list, not a torch tensor or numpy array"),
    (lambda X, y, W, b, lam: (W[:, :5], b), "f's grad_W has shape (10, 5); the torch layout wants (10, 10)"),
    (lambda X, y, W, b, lam: (W, b[:5]), "f's grad_b has shape (5,); the torch layout wants (10,)"),
    (lambda X, y, W, b, lam: (W, y), "f's grad_b holds torch.int64 values, not floating-point numbers"),
])
def test_a_broken_contract_is_one_line_naming_it(returns, message):
    def f(X, y, W, b, lam):
        return returns(X, y, W, b, lam)
    with pytest.raises(YourFunctionError) as e:
        check(f, "torch", "ce")
    assert message in str(e.value) and "\n" not in str(e.value)


def test_grad_b_as_a_column_or_a_row_is_taken():
    def column(X, y, W, b, lam):
        gW, gb = student_torch("ce")(X, y, W, b, lam)
        return gW, gb[None, :] if len(y) == 1 else gb[:, None]
    assert check(column, "torch", "ce").passed
