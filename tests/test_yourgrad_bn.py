"""Checking a student's batch normalisation (yourgrad/bncheck.py, DD2424 Assignment 3): the
backward pass alone (--model batchnorm) and the 3-layer network with it (--model k-layer-bn).

Right functions pass whatever their ε (0 to 1e-3), in both layouts, with torch tensors or
numpy arrays, and the report says the ε it found; a hidden layer's bias (true gradient 0)
passes through the absolute floor; each mistake of the issue is named by a wrong function
written here as a student would, independently of bnmistakes.py's variants."""
import re

import numpy as np
import pytest
import torch

from helpers import ROOT
from linclf_torch.cli.parse import main
from linclf_torch.nn.layers import batch_statistics, batchnorm_backward, batchnorm_forward
from linclf_torch.yourgrad.bnmistakes import Variant, backpass, network_gradients
from linclf_torch.yourgrad.engine import YourFunctionError, check_gradients
from linclf_torch.yourgrad.families.batchnorm import CASES as LAYER_CASES
from linclf_torch.yourgrad.families.k_layer_bn import CASES as NETWORK_CASES
from linclf_torch.yourgrad.families.k_layer_bn import NetworkProblem


def check_bn(fn, layout, *, model, **kw):
    return check_gradients(fn, model, layout, **kw)

pytestmark = pytest.mark.usefixtures("one_thread")

CENTRING = "the centring term −(1/n)(G₁1)1ᵀ left out"
VARIANCE = "the variance term −(1/n) D ⊙ (c1ᵀ) left out"
SWAPPED = "σ₁ = (v + ε)^−½ and σ₂ = (v + ε)^−³⁄₂ swapped"
UNBIASED = "the variance v with 1/(n − 1)"
N_MINUS_1 = "1/(n − 1) in place of 1/n in the variance term"
GAMMA_N = "∂J/∂γ and ∂J/∂β without their 1/n"
TIMES_GAMMA = "G ← G ⊙ γ1ᵀ left out before the pass"


def numpy_backpass(eps=1e-5, *, centring=True, variance=True, swapped=False, ddof=0):
    """A numpy student's BatchNormBackPass(G, S, mu, v), dd2424 layout (m, n), as the assignment
    writes it; each keyword a way to get it wrong (ddof=1: the variance term's 1/(n − 1))."""
    def BatchNormBackPass(G, S, mu, v):
        n = S.shape[1]
        sigma1, sigma2 = (v + eps) ** -0.5, (v + eps) ** -1.5
        if swapped:
            sigma1, sigma2 = sigma2, sigma1
        G1, G2, D = G * sigma1, G * sigma2, S - mu
        c = np.sum(G2 * D, axis=1, keepdims=True)
        out = G1 - np.sum(G1, axis=1, keepdims=True) / n if centring else G1
        return out - D * c / (n - ddof) if variance else out
    return BatchNormBackPass


def torch_network(eps=1e-5, *, centring=True, variance=True, swapped=False, unbiased=False, gamma_n=True,
                  times_gamma=True):
    """A torch student's f(X, y, net, lam) for the 3-layer network with batch norm, torch layout
    X (n, d), written the compact way (Ŝ and means, not the assignment's σ₁, σ₂, D, c)."""
    def f(X, y, net, lam):
        n, k = X.shape[0], len(net["W"])
        x, saved = X, []
        for W, b, gamma, beta in zip(net["W"], net["b"], net["gamma"], net["beta"]):
            s = x @ W.T + b
            mu, var = s.mean(0), s.var(0, unbiased=unbiased)
            std = (var + eps).sqrt()
            h = (gamma * (s - mu) / std + beta).clamp(min=0)
            saved.append((x, (s - mu) / std, std, h))
            x = h
        P = (x @ net["W"][-1].T + net["b"][-1]).softmax(1)
        P[torch.arange(n), y] -= 1
        dS = P / n                                                         # (n, K)
        grads = {"W": [None] * k, "b": [None] * k, "gamma": [None] * (k - 1), "beta": [None] * (k - 1)}
        grads["W"][-1], grads["b"][-1] = dS.T @ x + 2 * lam * net["W"][-1], dS.sum(0)
        dS = dS @ net["W"][-1]
        for l in range(k - 2, -1, -1):
            x_in, s_hat, std, h = saved[l]
            dS = dS * (h > 0)
            per = 1 if gamma_n else n
            grads["gamma"][l], grads["beta"][l] = (dS * s_hat).sum(0) * per, dS.sum(0) * per
            dh = dS * net["gamma"][l] if times_gamma else dS                  # at Ŝ
            r1, r3 = 1 / std, 1 / std ** 3
            if swapped:
                r1, r3 = r3, r1
            D = s_hat * std
            dS = dh * r1
            if centring:
                dS = dS - (dh * r1).mean(0)
            if variance:
                dS = dS - D * r3 * (dh * D).mean(0)
            grads["W"][l], grads["b"][l] = dS.T @ x_in + 2 * lam * net["W"][l], dS.sum(0)
            dS = dS @ net["W"][l]
        return grads
    return f


def eps_found(report):
    return float(re.search(r"Your ε[^:]*: ([0-9.e+-]+)", str(report))[1])


def diagnoses(report):
    return {r.diagnosis for r in report.results if r.status == "FAIL"}


def test_the_variants_right_pass_is_the_librarys():
    """bnmistakes' right Variant, the assignment's form, equals nn/'s compact batchnorm_backward and
    MLPClassifier's gradients (rounding only: 1e-12 relative)."""
    g = torch.Generator().manual_seed(0)
    S, G = torch.randn(7, 4, generator=g, dtype=torch.float64), torch.randn(7, 4, generator=g, dtype=torch.float64)
    mu, v = batch_statistics(S)
    _, cache = batchnorm_forward(S, torch.ones(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64), mu, v)
    torch.testing.assert_close(backpass(G, S, mu, v, 1e-5, Variant()), batchnorm_backward(G, cache)[0],
                               rtol=1e-12, atol=1e-14)
    p = NetworkProblem(NETWORK_CASES[1], "ce", 0)
    mine = network_gradients(p.model.params, p.X, p.y, p.model.lam, 1e-5, Variant(), p.model.loss_backward)
    for key, ref in p.reference(1e-5).items():
        torch.testing.assert_close(mine[key], ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("eps", [0.0, 1e-12, 1e-8, 1e-5])
def test_a_right_backpass_passes_whatever_its_eps_and_the_report_says_it(eps):
    report = check_bn(numpy_backpass(eps), "dd2424", model="batchnorm")
    assert report.passed and len(report.results) == len(LAYER_CASES), str(report)
    assert abs(eps_found(report) - eps) <= 1e-3 * eps + 1e-14  # printed to two digits
    assert report.arrays == "numpy arrays"


def test_a_larger_eps_passes_with_a_note():
    report = check_bn(numpy_backpass(1e-3), "dd2424", model="batchnorm")
    assert report.passed and eps_found(report) == 1e-3 and "larger than the 1e-5 DD2424 suggests" in str(report)


def test_mu_and_v_as_vectors_in_the_dd2424_layout():
    """A function that wants mu and v as (m,) fails on (m, 1) columns, and is then called with vectors."""
    right = numpy_backpass()

    def vectors(G, S, mu, v):
        if mu.ndim != 1:
            raise ValueError("mu must be a vector")
        return right(G, S, mu[:, None], v[:, None])
    report = check_bn(vectors, "dd2424", model="batchnorm")
    assert report.passed and "mu and v as (m,) vectors" in str(report)


def test_the_torch_layout_and_tensors():
    def f(G, S, mu, v):  # rows are samples: the library's own pass
        _, cache = batchnorm_forward(S, torch.ones_like(mu), torch.zeros_like(mu), mu, v, 1e-5)
        return batchnorm_backward(G, cache)[0]
    report = check_bn(f, "torch", model="batchnorm")
    assert report.passed and report.arrays == "torch tensors" and eps_found(report) == 1e-5


@pytest.mark.parametrize("wrong, said", [
    (dict(centring=False), CENTRING),
    (dict(variance=False), VARIANCE),
    (dict(swapped=True), SWAPPED),
    (dict(ddof=1), N_MINUS_1),
    (dict(centring=False, variance=False), f"{CENTRING} (the gradient through μ) and {VARIANCE}"),
])
@pytest.mark.parametrize("eps", [0.0, 1e-5])
def test_each_mistake_in_the_backpass_is_named(wrong, said, eps):
    report = check_bn(numpy_backpass(eps, **wrong), "dd2424", model="batchnorm")
    assert not report.passed
    (sentence,) = diagnoses(report)
    assert sentence.startswith("your gradients equal the reference's computed with ") and said in sentence
    assert abs(eps_found(report) - eps) <= 1e-3 * eps + 1e-14


@pytest.mark.parametrize("eps", [0.0, 1e-8, 1e-5])
def test_a_right_network_passes_whatever_its_eps(eps):
    report = check_bn(torch_network(eps), "torch", model="k-layer-bn")
    assert report.passed, str(report)
    assert abs(eps_found(report) - eps) <= 1e-3 * eps + 1e-14
    biases = [r for r in report.results if r.param in ("grad_b1", "grad_b2")]
    assert len(biases) == 2 * len(NETWORK_CASES) and all(r.absolute is not None for r in biases)
    assert "b1, b2 precede a batch norm: their true gradient is 0" in str(report)


def test_a_hidden_bias_passes_on_the_floor_and_fails_above_it():
    """Exact zeros for b1, b2 pass (relative error would call them 100% wrong); 1e-3 fails."""
    right = torch_network()

    def zeros(X, y, net, lam):
        grads = right(X, y, net, lam)
        grads["b"][:2] = [torch.zeros_like(b) for b in grads["b"][:2]]
        return grads

    def off(X, y, net, lam):
        grads = right(X, y, net, lam)
        grads["b"][0] = grads["b"][0] + 1e-3
        return grads
    assert check_bn(zeros, "torch", model="k-layer-bn").passed
    report = check_bn(off, "torch", model="k-layer-bn")
    assert {r.param for r in report.results if r.status == "FAIL"} == {"grad_b1"}


@pytest.mark.parametrize("wrong, said, failing", [
    (dict(centring=False), CENTRING, {"W1", "b1", "W2", "b2", "gamma1", "beta1"}),
    (dict(variance=False), VARIANCE, {"W1", "W2", "gamma1", "beta1"}),  # still centred: Σᵢ dS = 0, b passes
    (dict(swapped=True), SWAPPED, {"W1", "W2", "gamma1", "beta1"}),
    (dict(unbiased=True), UNBIASED, None),
    (dict(gamma_n=False), GAMMA_N, {"gamma1", "beta1", "gamma2", "beta2"}),
    (dict(times_gamma=False), TIMES_GAMMA, {"W1", "W2", "gamma1", "beta1"}),
])
def test_each_mistake_in_the_network_is_named(wrong, said, failing):
    """Named with the ε the mistaken function has; the gradients the mistake leaves alone pass."""
    report = check_bn(torch_network(1e-5, **wrong), "torch", model="k-layer-bn")
    assert not report.passed
    (sentence,) = diagnoses(report)
    assert said in sentence, sentence
    assert eps_found(report) == 1e-5
    if failing is not None:
        assert {r.param.removeprefix("grad_") for r in report.results if r.status == "FAIL"} == failing


def test_the_dd2424_network_example_and_its_forward():
    """The numpy example in the skeleton's form, BackwardPass(X, Y, fp_data, net, lam) with ApplyNetwork."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("a3_bn_right", ROOT / "experiments" / "examples" / "a3_bn_right.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = check_bn(module.BackwardPass, "dd2424", model="k-layer-bn", forward=module.ApplyNetwork)
    assert report.passed and eps_found(report) == 1e-8 and "fp_data = ApplyNetwork(X, net)" in report.form


@pytest.mark.parametrize("fn, model, message", [
    (lambda G, S, mu: G, "batchnorm", "fits no form the check knows for --model batchnorm: f(G, S, mu, v)"),
    (lambda X, y, fp, net, lam: None, "k-layer-bn", "name the function that makes it with --forward FUNCTION"),
    (lambda G, S, mu, v: G[:1], "batchnorm", "returned shape (1, 5); the torch layout wants (8, 5)"),
    (lambda X, y, net, lam: {"W": net["W"], "b": net["b"]}, "k-layer-bn", "it must return grads structured like net"),
    (lambda G, S, mu, v: 1 / 0, "batchnorm", "raised ZeroDivisionError: division by zero on case m=5 n=8"),
])
def test_a_broken_contract_is_one_line(fn, model, message):
    with pytest.raises(YourFunctionError) as e:
        check_bn(fn, "torch", model=model)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_the_examples_on_the_command_line(capsys, monkeypatch):
    """a3_bn_right.py passes both checks (exit 0); a3_bn_wrong.py's forgotten centring term is
    named (exit 1), and docs/gradcheck.md quotes the layer's output."""
    monkeypatch.chdir(ROOT)
    for model, function in (("k-layer-bn", "BackwardPass"), ("batchnorm", "BatchNormBackPass")):
        flags = ("--layout", "dd2424", "--model", model)
        assert main(["gradcheck", f"experiments/examples/a3_bn_right.py:{function}", *flags]) == 0
        assert "Your ε: 1e-08" in capsys.readouterr().out
        assert main(["gradcheck", f"experiments/examples/a3_bn_wrong.py:{function}", *flags]) == 1
        out = capsys.readouterr().out
        assert f"computed with {CENTRING}" in out
    page = (ROOT / "docs" / "gradcheck.md").read_text()
    from test_gradcheck_cli import rounding_masked
    quoted = "\n".join(f"    {line}".rstrip() for line in out.splitlines())
    assert rounding_masked(quoted) in rounding_masked(page), "docs/gradcheck.md: paste a3_bn_wrong.py's output again"
