"""Checking a student's ConvNet gradient (yourgrad/families/conv.py, DD2424 Assignment 3, 2025/26):
right functions in every form students write pass (the course's X, images or MX; filters flat
or 4-D under F, Fs or Fs_flat; the torch layout; numpy and torch; a conv bias; label smoothing
given as the smoothed Y or as ε), and each mistake is named, by wrong functions written for the
tests (tests/students/conv_*.py), not by the check's own variants."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import ROOT
from linclf_torch.cli.parse import main
from linclf_torch.nn.losses import one_hot
from linclf_torch.yourgrad.engine import YourFunctionError, check_gradients
from linclf_torch.yourgrad.families.conv import CASES, ConvProblem, Variant
from linclf_torch.yourgrad.mistakes import mistake_sentence
from linclf_torch.yourgrad.usercode import load_function

STUDENTS = ROOT / "tests" / "students"
ORDER = ("read back in another order in the backward than the forward flattened them (filter-major k·n_p + p "
         "where the forward's is patch-major p·nf + k: a reshape with order='F'?)")
MASK = "without the ReLU's mask [C > 0] on the conv outputs (dC = unflatten(dh) ⊙ [C > 0] in the backward)"

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def threads_restored():
    """The command sets one thread for the process; the other tests keep their own."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def student(spec):
    file, name = spec.split(":")
    return load_function(STUDENTS / file, name)


def failing(report):
    return {r.param.removeprefix("grad_") for r in report.results if r.status == "FAIL"}


def said(report):
    """{gradient: the sentences naming its mistakes} of the failing gradients."""
    found = {}
    for r in report.results:
        if r.status == "FAIL":
            assert r.mistakes, f"{r.param} on {r.case.name}: no mistake named\n{report}"
            found.setdefault(r.param.removeprefix("grad_"), set()).add(mistake_sentence(r.param, r.mistakes))
    return found


def test_the_course_arrays_the_check_makes_are_the_courses_and_conv2d_agrees():
    """X (3072, n) is a CIFAR-10 row per column; the images are numpy's X.reshape((32, 32, 3, n),
    order='F') transposed to (row, column, channel, n); MX with Fs_flat in the course's einsum gives
    F.conv2d of the library's images with the library's F. The patches are a permutation (equal
    exactly); the two convolutions sum the same 48 float64 products in another order (1e-12)."""
    p = ConvProblem(CASES[0], "ce", 0)
    n, (nf, _, f, _) = p.case.n, p.params["F"].shape
    X = p.data("X", "dd2424", Variant()).numpy()
    assert np.array_equal(X, p.X.T.numpy())
    images = p.data("X", "dd2424", Variant(data="images")).numpy()
    assert np.array_equal(images, np.transpose(X.reshape((32, 32, 3, n), order="F"), (1, 0, 2, 3)))
    MX = p.data("X", "dd2424", Variant(data="MX")).numpy()                       # (n_p, f·f·3, n)
    assert np.array_equal(MX[1, :, 0], images[0:f, f:2 * f, :, 0].reshape(-1))  # patch (0, 1), C order
    Fs_flat = p.net("dd2424", Variant())["F"].numpy()                            # (f·f·3, nf)
    conv = torch.from_numpy(np.einsum("ijn,jl->iln", MX, Fs_flat))               # (n_p, nf, n)
    ref = F.conv2d(p.X.view(n, 3, 32, 32), p.params["F"], stride=f)              # (n, nf, 32/f, 32/f)
    torch.testing.assert_close(conv, ref.flatten(2).permute(2, 1, 0), rtol=0, atol=1e-12)
    assert p.net("dd2424", Variant(filters="4-D"))["F"].shape == (f, f, 3, nf)
    assert p.net("torch", Variant(filters="flat", layout="torch"))["F"].shape == (nf, 3 * f * f)


def test_the_cases_parameters_are_not_zero_and_smoothing_smooths_y():
    """Biases N(0, 0.1²) (zeros hide a missing bias gradient); Y is the smoothed targets, Y_one_hot not."""
    p = ConvProblem(CASES[1], "ce", 0, conv_bias=True, label_smoothing=0.1)
    assert all((v != 0).all() for v in p.params.values()) and set(p.keys) == {"F", "bF", "W1", "b1", "W2", "b2"}
    Y, hot = p.data("Y", "dd2424", Variant()), p.data("Y_one_hot", "dd2424", Variant())
    torch.testing.assert_close(hot, one_hot(p.y, 10, torch.float64).T)
    torch.testing.assert_close(Y, hot * 0.9 + (1 - hot) * 0.1 / 9)


RIGHT = [
    ("conv_mx_loops.py:BackwardPass", {}, "fp_data = ApplyNetwork(X, net), net = {'F': F, 'W': [W1, W2], 'b': [b1, b2]};"
     " the filters as Fs_flat (f·f·3, nf)", "numpy arrays"),
    ("conv_mx_loops.py:BackwardPass", {"conv_bias": True, "label_smoothing": 0.1}, "'b': [b1, b2], 'bf': bf}",
     "numpy arrays"),
    ("conv_images.py:ComputeGradients", {"label_smoothing": 0.1}, "f(X, Y, net, lam) -> grads like net, net = "
     "{'Fs': Fs, 'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2}; X as images (32, 32, 3, n), (row, column, channel, n); "
     "the filters as Fs (f, f, 3, nf)", "numpy arrays"),
    ("conv_mx_spread.py:backward_pass", {}, "(P, H) = forward_pass(X, net), net = {'Fs_flat': Fs_flat, 'W1': W1, "
     "'b1': b1, 'W2': W2, 'b2': b2}; X as MX (n_p, f·f·3, n), the course's patch matrix", "numpy arrays"),
    ("conv_torch_rows.py:conv_gradients", {}, "f(X, y, net, lam, eps) -> grads like net, net = {'F': F, 'W': [W1, "
     "W2], 'b': [b1, b2]}; X as images (n, 3, 32, 32); the filters as (nf, 3, f, f)", "torch tensors"),
    ("conv_torch_rows.py:conv_gradients", {"conv_bias": True, "label_smoothing": 0.2}, "'bf': bf}", "torch tensors"),
    ("conv_torch_flat.py:conv_net_grads", {}, "f(X, y, net, lam) -> grads like net, net = {'F': F, 'W': [W1, W2], "
     "'b': [b1, b2]}; the filters flattened, (nf, 3·f·f)", "torch tensors"),
    ("conv_mistakes.py:right", {"conv_bias": False}, "f(X, Y, net, lam) -> grads like net", "numpy arrays"),
    ("conv_mistakes.py:smooths_right", {"label_smoothing": 0.1}, "f(X, Y, net, lam, eps) -> grads like net, Y one-hot",
     "numpy arrays"),
]


@pytest.mark.parametrize("spec, options, form, arrays", RIGHT)
def test_right_student_code_in_each_form_passes(spec, options, form, arrays):
    report = check_gradients(student(spec), model="conv", **options)
    assert report.passed, str(report)
    assert form in report.form and report.arrays == arrays
    assert len(report.results) == len(CASES) * (6 if options.get("conv_bias") else 5)
    assert all(r.max_rel < 1e-10 for r in report.results + report.forward)  # float64 rounding: 2.5e-11 at most


def test_the_smoothing_and_the_bias_are_said():
    report = check_gradients(student("conv_mx_loops.py:BackwardPass"), model="conv", conv_bias=True,
                             label_smoothing=0.1)
    assert report.loss == "CE with label smoothing ε = 0.1"
    assert all(case.name.endswith(", conv bias, ε=0.1") for case in report.cases)


MISTAKES = [
    ("filters_without_1_over_n", {}, {"F": "your grad_F equals the reference without the 1/n average"}),
    ("no_relu_mask_on_conv", {}, {"F": f"your grad_F equals the reference {MASK}"}),
    ("flattened_in_another_order", {}, {"F": f"your grad_F equals the reference with the conv outputs {ORDER}"}),
    ("filters_without_l2", {}, {"F": "your grad_F equals the reference without the 2λF term"}),
    ("filters_with_lam_F", {}, {"F": "your grad_F equals the reference with λF in place of 2λF"}),
    ("filters_transposed", {}, {"F": "your grad_F is the transpose of the reference ((nf, f·f·3) in place of "
                                     "Fs_flat's (f·f·3, nf))"}),
    ("l2_over_n", {}, {k: f"your grad_{k} equals the reference with (λ/n){k} in place of 2λ{k} (the cost written "
                          f"as λ‖{k}‖²/(2n), not λ‖{k}‖²)" for k in ("F", "W1", "W2")}),
    ("smooths_with_eps_over_K", {"label_smoothing": 0.1},
     {k: f"your grad_{k} equals the reference with label smoothing's ε/K on the other classes where ε/(K − 1) "
         "belongs" for k in ("F", "W1", "b1", "W2", "b2")}),
    ("forgets_to_smooth", {"label_smoothing": 0.1},
     {k: f"your grad_{k} equals the reference with the one-hot Y where the label-smoothed Y belongs"
      for k in ("F", "W1", "b1", "W2", "b2")}),
]


@pytest.mark.parametrize("name, options, sentences", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_mistake_is_named(name, options, sentences):
    """The gradients the mistake leaves alone pass; each wrong one is named with the one sentence
    on every case where it shows (λ's mistakes: the cases with λ > 0)."""
    report = check_gradients(student(f"conv_mistakes.py:{name}"), model="conv", **options)
    assert not report.passed and failing(report) == set(sentences), str(report)
    assert said(report) == {k: {s} for k, s in sentences.items()}, str(report)


def test_a_torch_layout_function_that_ignores_eps_is_named():
    """f(X, y, net, lam) cannot smooth: its one-hot Y is named, in every gradient."""
    right = student("conv_torch_rows.py:conv_gradients")
    report = check_gradients(lambda X, y, net, lam: right(X, y, net, lam, 0.0), model="conv", label_smoothing=0.1)
    assert failing(report) == {"F", "W1", "b1", "W2", "b2"}
    assert {s for ss in said(report).values() for s in ss} == {
        f"your grad_{k} equals the reference with the one-hot Y where the label-smoothed Y belongs"
        for k in ("F", "W1", "b1", "W2", "b2")}


def test_a_wrong_filter_shape_is_one_line():
    right = student("conv_mistakes.py:right")

    def f(X, Y, net, lam):
        grads = right(X, Y, net, lam)
        grads["F"] = grads["F"][:-1]
        return grads
    with pytest.raises(YourFunctionError) as e:
        check_gradients(f, model="conv")
    assert "'s grad_F has shape (47, 2); the dd2424 layout wants (4, 4, 3, 2) for Fs or (48, 2) for Fs_flat" \
        in str(e.value) and "\n" not in str(e.value)


def test_options_are_the_convs():
    right = student("conv_mistakes.py:right")
    with pytest.raises(ValueError, match=r"label_smoothing is ε in \[0, 1\) \(got 1.0\)"):
        check_gradients(right, model="conv", label_smoothing=1.0)
    with pytest.raises(ValueError, match="--model two-layer takes no option conv_bias"):
        check_gradients(right, model="two-layer", conv_bias=True)


@pytest.mark.parametrize("flags, error", [
    (("--model", "conv", "--label-smoothing", "1"), "--label-smoothing is ε in [0, 1), with --loss ce (got 1.0"),
    (("--model", "conv", "--label-smoothing", "-0.1"), "--label-smoothing is ε in [0, 1)"),
    (("--model", "conv", "--label-smoothing", "0.1", "--loss", "mbce"), "with --loss ce (got 0.1, --loss mbce)"),
    (("--conv-bias",), "--conv-bias: for --model conv only (add --model conv)"),
    (("--model", "two-layer", "--label-smoothing", "0.1"), "for --model conv only (got --model two-layer)"),
])
def test_bad_flags_are_one_line_and_exit_2(capsys, monkeypatch, flags, error):
    monkeypatch.chdir(ROOT)
    assert main(["gradcheck", "experiments/examples/a3_conv_right.py:BackwardPass", *flags]) == 2
    err = capsys.readouterr().err
    assert error in err and err.count("\n") == 1


def test_the_examples_on_the_command_line(capsys, monkeypatch):
    """a3_conv_right.py passes with and without a bias and smoothing (exit 0); a3_conv_wrong.py's
    order='F' and λW1 are named (exit 1), and docs/gradcheck.md quotes its output."""
    monkeypatch.chdir(ROOT)
    right = "experiments/examples/a3_conv_right.py:BackwardPass"
    assert main(["gradcheck", right, "--model", "conv"]) == 0
    assert main(["gradcheck", right, "--model", "conv", "--conv-bias", "--label-smoothing", "0.1"]) == 0
    assert capsys.readouterr().out.endswith("PASS: all 4 cases\n")
    assert main(["gradcheck", "experiments/examples/a3_conv_wrong.py:BackwardPass", "--model", "conv"]) == 1
    out = capsys.readouterr().out
    assert f"- grad_F, every case: your grad_F equals the reference with the conv outputs {ORDER}" in out
    assert "- grad_W1, cases 2, 3, 4: your grad_W1 equals the reference with λW1 in place of 2λW1" in out
    page = (ROOT / "docs" / "gradcheck.md").read_text()
    from test_gradcheck_cli import rounding_masked
    quoted = "\n".join(f"    {line}".rstrip() for line in out.splitlines())
    assert rounding_masked(quoted) in rounding_masked(page), "docs/gradcheck.md: paste a3_conv_wrong.py's output again"
