"""Checking a student's gradient in the 2026 DD2424 skeletons' forms (yourgrad/forms.py): A1's
BackwardPass(X, Y, P, network, lam) returning a dict, and A2's two-layer network, with the
student's own forward (ApplyNetwork) or without; right ones pass, each known mistake is named
with its layer, and a function of no known form is one line naming the forms."""
import numpy as np
import pytest
import torch

from helpers import failed_cases
from linclf_torch.yourgrad.engine import YourFunctionError, check_gradients
from linclf_torch.yourgrad.families.two_layer import CASES as TWO_LAYER_CASES


def check(fn, layout, loss, **kw):
    """check_gradients with this file's argument order: the linear family unless model= says otherwise."""
    return check_gradients(fn, kw.pop("model", "linear"), layout, loss, **kw)

WITH_LAM = {i for i, case in enumerate(TWO_LAYER_CASES, start=1) if case.lam > 0}
MANY = {i for i, case in enumerate(TWO_LAYER_CASES, start=1) if case.n > 1}
EVERY = set(range(1, len(TWO_LAYER_CASES) + 1))


pytestmark = pytest.mark.usefixtures("one_thread")


def ApplyNetwork(X, net):
    """A numpy student's forward, X (d, n): the hidden layer and P, softmax after the max subtraction."""
    h = np.maximum(0, net["W"][0] @ X + net["b"][0])            # (m, n)
    s = net["W"][1] @ h + net["b"][1]                           # (K, n)
    E = np.exp(s - s.max(axis=0, keepdims=True))
    return {"h": h, "P": E / E.sum(axis=0, keepdims=True)}      # (K, n)


def numpy_student(*, mask=True, l2=(2.0, 2.0), mean=True, transpose=False):
    """A numpy student's BackwardPass(X, Y, fp_data, net, lam), dd2424 layout; each keyword a way to get it wrong."""
    def BackwardPass(X, Y, fp_data, net, lam):
        n = X.shape[1] if mean else 1
        G = fp_data["P"] - Y                                    # (K, n)
        grad_W2 = G @ fp_data["h"].T / n + l2[1] * lam * net["W"][1]
        grad_b2 = G.sum(axis=1, keepdims=True) / n
        G = net["W"][1].T @ G                                   # (m, n)
        if mask:
            G = G * (fp_data["h"] > 0)
        grad_W1 = G @ X.T / n + l2[0] * lam * net["W"][0]       # (m, d)
        return {"W": [grad_W1.T if transpose else grad_W1, grad_W2], "b": [G.sum(axis=1, keepdims=True) / n, grad_b2]}
    return BackwardPass


def plain(X, Y, net, lam):
    """The form without forward data: f(X, Y, net, lam), its forward inside."""
    return numpy_student()(X, Y, ApplyNetwork(X, net), net, lam)


def torch_student(*, mask=True):
    """A torch student's f(X, y, net, lam), torch layout: X (n, d), y (n,), W_l (out, in), b_l (out,)."""
    def f(X, y, net, lam):
        (W1, W2), (b1, b2) = net["W"], net["b"]
        n = X.shape[0]
        h = (X @ W1.T + b1).clamp(min=0)                        # (n, m)
        G = (h @ W2.T + b2).softmax(1)                          # (n, K)
        G[torch.arange(n), y] -= 1
        G = G / n
        grad_W2, grad_b2 = G.T @ h + 2 * lam * W2, G.sum(0)
        G = G @ W2 * (h > 0) if mask else G @ W2                # (n, m)
        return {"W": [G.T @ X + 2 * lam * W1, grad_W2], "b": [G.sum(0), grad_b2]}
    return f


def two_layer(fn, layout="dd2424", **kw):
    return check(fn, layout, "ce", model="two-layer", **kw)


def test_right_two_layer_functions_pass_in_every_form():
    report = two_layer(numpy_student(), forward=ApplyNetwork, arrays="numpy")
    assert report.passed and report.arrays == "numpy arrays", str(report)
    assert "Recognised as BackwardPass(X, Y, fp_data, net, lam) -> grads like net, fp_data = ApplyNetwork(X, net), " \
           "net = {'W': [W1, W2], 'b': [b1, b2]}." in str(report)
    assert [r.param for r in report.results[:4]] == ["grad_W1", "grad_b1", "grad_W2", "grad_b2"]
    # rounding only: measured at most 2.5e-11 (grad_W1 of the 3072-dimensional case); 1e-9 leaves 40 times that
    assert all(r.max_rel <= 1e-9 for r in report.results)
    report = two_layer(plain, arrays="numpy")
    assert report.passed and "Recognised as f(X, Y, net, lam)" in str(report)
    report = two_layer(torch_student(), "torch")
    assert report.passed and report.arrays == "torch tensors" and "Recognised as f(X, y, net, lam)" in str(report)


def test_the_torch_layouts_forward_form():
    def forward(X, net):
        return (X @ net["W"][0].T + net["b"][0]).clamp(min=0)  # (n, m): all this backward needs of it

    def backward(X, y, h, net, lam):
        assert torch.equal(h, forward(X, net))
        return torch_student()(X, y, net, lam)
    assert two_layer(backward, "torch", forward=forward).passed


MISTAKES = [  # (the student, the sentences, the cases that fail)
    (numpy_student(mask=False), ["- grad_W1, every case: your grad_W1 equals the reference without the ReLU's mask",
                                 "- grad_b1, every case: your grad_b1 equals the reference without the ReLU's mask"],
     EVERY),
    (numpy_student(l2=(0.0, 2.0)), ["- grad_W1, cases 2, 3, 5, 6: your grad_W1 equals the reference without the 2λW1 "
                                    "term\n"], WITH_LAM),
    (numpy_student(l2=(2.0, 0.0)), ["- grad_W2, cases 2, 3, 5, 6: your grad_W2 equals the reference without the 2λW2 "
                                    "term\n"], WITH_LAM),
    (numpy_student(l2=(1.0, 1.0)), ["your grad_W1 equals the reference with λW1 in place of 2λW1\n",
                                    "your grad_W2 equals the reference with λW2 in place of 2λW2\n"], WITH_LAM),
    (numpy_student(mean=False), [f"- {p}, cases 1, 2, 4, 5, 6: your {p} equals the reference without the 1/n average\n"
                                 for p in ("grad_W1", "grad_b1", "grad_W2", "grad_b2")], MANY),
    (numpy_student(transpose=True), ["- grad_W1, every case: your grad_W1 is the transpose of the reference ((d, m) "
                                     "in place of (m, d))\n"], EVERY),
]


@pytest.mark.parametrize("student, sentences, cases", MISTAKES,
                         ids=["no-mask", "no-2λW1", "no-2λW2", "λW", "no-1/n", "transposed"])
def test_each_two_layer_mistake_is_named_with_its_layer(student, sentences, cases):
    report = two_layer(student, forward=ApplyNetwork, arrays="numpy")
    text = str(report)
    assert not report.passed and failed_cases(report) == cases, text
    assert all(s in text for s in sentences), text
    assert "in no way this check knows" not in text


def test_a_torch_layout_mistake_is_named_too():
    text = str(two_layer(torch_student(mask=False), "torch"))
    assert "- grad_W1, every case: your grad_W1 equals the reference without the ReLU's mask [h > 0]" in text
    assert "grad_W2, " not in text and text.endswith("FAIL: 6 of 6 cases")


# --------------------------------------------------------------- A1's dict form, unknown forms

def kid_1412(l2=2.0):
    """A1 as the 2026 texts write it (K-I-D-1412's form): BackwardPass(X, Y, P, network, lam) -> dict."""
    def BackwardPass(X, Y, P, network, lam):
        n = X.shape[1]
        G = P - Y                                                              # (K, n)
        return {"W": G @ X.T / n + l2 * lam * network["W"], "b": np.sum(G, axis=1, keepdims=True) / n}
    return BackwardPass


def test_a1s_dict_form_passes_when_right_and_names_lambda_w_when_wrong():
    report = check(kid_1412(), "dd2424", "ce", arrays="numpy")
    assert report.passed and "Recognised as BackwardPass(X, Y, P, network, lam) -> {'W': grad_W, 'b': grad_b}" \
        in str(report)
    report = check(kid_1412(l2=1.0), "dd2424", "ce", arrays="numpy")
    assert "- grad_W, cases 2, 3, 5, 6: your grad_W equals the reference with λW in place of 2λW\n" in str(report)


def test_a1s_dict_form_is_found_whatever_its_fourth_argument_is_called():
    """Tried as ComputeGradients first (the name says nothing), it raises there, and runs as the dict form."""
    def BackwardPass(X, Y, P, weights, lam):
        return kid_1412()(X, Y, P, weights, lam)
    report = check(BackwardPass, "dd2424", "ce", arrays="numpy")
    assert report.passed and "Recognised as BackwardPass(X, Y, P, network, lam)" in str(report)


@pytest.mark.parametrize("model", ["linear", "two-layer"])
def test_a_function_of_no_known_form_is_one_line_naming_the_forms(model):
    def f(X, Y, net):
        return net
    with pytest.raises(YourFunctionError) as e:
        check(f, "dd2424", "ce", model=model)
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"f(X, Y, net) fits no form the check knows for --model {model}: ")
    assert ("ComputeGradients(X, Y, P, W, lam) -> (grad_W, grad_b)" if model == "linear" else
            "f(X, Y, net, lam) -> grads like net") in message
    assert message.endswith("(only required parameters count)")


def test_the_forward_form_without_a_forward_says_so():
    """Beside it (a module of its own) no function reads as a forward pass, so there is none to take."""
    namespace = {}
    exec("def BackwardPass(X, Y, fp_data, net, lam):\n    return fp_data\n", namespace)
    with pytest.raises(YourFunctionError, match=r"\(if it takes your forward's result, fp_data: name your forward with "
                       r"--forward FUNCTION\)$"):
        two_layer(namespace["BackwardPass"], arrays="numpy")


def test_grads_not_structured_like_net_is_one_line():
    with pytest.raises(YourFunctionError, match=r"f returned a list of 2; it must return grads structured like net, "
                       r"with flat keys \(W1, b1, W2, b2\) or as a tuple \(grad_W1, grad_b1, grad_W2, grad_b2\)"):
        two_layer(lambda X, Y, net, lam: net["W"], name="f")
