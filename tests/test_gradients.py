"""Every hand-written gradient against autograd (to 1e-12) and centered differences (to 1e-7), in float64.

Why these tolerances hold on any CPU: the hand-written code and autograd compute the same float64
sums (length ≤ 100 here) in orders that differ with the BLAS and SIMD kernels, so they agree to
about n·ε·|terms| ≈ 2e-14 of the terms; 1e-12 (entry-wise, relative to |a| + |b|) leaves a
factor ~50 for cancellation inside an entry, and the worst entry seen on AVX-512, AVX2 and
SSE4.2 kernels is 8e-14. The finite-difference bound is gradcheck.py's: h² + ε·|J|/h ≈ 1e-10."""
import math

import pytest
import torch
import torch.nn.functional as F

from conftest import GRADIENT_TABLE
from helpers import assert_close
from linclf_torch.nn.gradcheck import check_model_gradients, gradient_errors
from linclf_torch.nn.layers import linear_backward, linear_forward
from linclf_torch.nn.losses import LOSSES as LOSS_PAIRS
from linclf_torch.nn.losses import l2_penalty_backward, l2_penalty_forward, sigmoid_mbce_forward
from linclf_torch.nn.mlp import MLPClassifier
from linclf_torch.nn.models import LinearClassifier

# (n, d, K): the reports' check (3 images, the first 10 dimensions), odd sizes that catch
# transposes, and a larger case
SHAPES = [(3, 10, 10), (7, 5, 4), (64, 100, 10)]
LOSSES = ["ce", "mbce"]


def reference_cost(W, b, X, y, loss, lam):
    """The cost written with torch.nn.functional, for autograd to differentiate."""
    scores = F.linear(X, W, b)
    if loss == "ce":
        data = F.cross_entropy(scores, y)
    else:  # mean over n·K binary problems = (1/n) Σ_rows (1/K) Σ_k
        data = F.binary_cross_entropy_with_logits(scores, F.one_hot(y, W.shape[0]).double())
    return data + lam * (W ** 2).sum()


def random_problem(n, d, K, gen, scale=1.0, loss="ce", lam=0.0):
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randint(K, (n,), generator=gen)
    model = LinearClassifier(d, K, loss=loss, lam=lam, generator=gen, std=scale, dtype=torch.float64)
    model.params["b"] = torch.randn(K, generator=gen, dtype=torch.float64)  # non-zero: zeros hide bugs
    return X, y, model


@pytest.mark.parametrize("n,d,K", SHAPES)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_model_gradients_match_autograd(n, d, K, loss, lam, gen):
    X, y, model = random_problem(n, d, K, gen, loss=loss, lam=lam)
    cost, grads = model.loss(X, y)
    for name, g in model.gradients(X, y).items():  # a training step's gradients: same ops, bit for bit
        assert torch.equal(g, grads[name]), name

    W = model.params["W"].clone().requires_grad_()
    b = model.params["b"].clone().requires_grad_()
    ref = reference_cost(W, b, X, y, loss, lam)
    ref.backward()

    # the cost: a mean of positive terms plus λ‖W‖², no cancellation: n·K·ε ≈ 1.4e-13 at worst
    assert abs(cost.item() - ref.item()) <= 1e-12 * abs(ref.item()), f"cost {cost.item()} != {ref.item()}"
    for name, reference in (("W", W.grad), ("b", b.grad)):
        err = assert_close(name, grads[name], reference, tol=1e-12)
        GRADIENT_TABLE.append((f"autograd {loss} n={n} d={d} K={K} λ={lam}", name, err))


@pytest.mark.parametrize("n,d,K", SHAPES[:2])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_model_gradients_match_finite_differences(n, d, K, loss, lam, gen):
    X, y, model = random_problem(n, d, K, gen, loss=loss, lam=lam)
    for name, (max_err, norm_err) in check_model_gradients(model, X, y).items():
        assert norm_err <= 1e-7, f"{name}: norm-wise relative error {norm_err:.3e} > 1e-7 ({loss}, λ={lam})"
        GRADIENT_TABLE.append((f"finite diff {loss} n={n} d={d} K={K} λ={lam}", name, max_err))


def test_gradient_errors_put_relative_errors_in_proportion(gen):
    X, y, model = random_problem(7, 5, 4, gen)
    errors = gradient_errors(model, X, y)
    _, grads = model.loss(X, y)
    for name, e in errors.items():  # max_grad: the same model.loss, same kernels: exact
        assert e["max_grad"] == grads[name].abs().max().item()
        assert e["max_abs"] <= 1e-8 * e["max_grad"] and e["norm_rel"] <= 1e-7
        # the same computation run twice in one process: bit for bit
    assert (e["max_rel"], e["norm_rel"]) == check_model_gradients(model, X, y)[name]


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_linear_gradient_written_out_equals_general_backprop(loss, lam, gen):
    """LinearClassifier.gradients (dW = dSᵀX + 2λW, db = Σ dS, written out) against the MLP's
    layer-by-layer backprop with no hidden layer, on the same parameters. Both run the same
    tensor operations in the same order (S = X Wᵀ + b, dS from the same loss function,
    dSᵀX, + 2λW, Σᵢ), so they must agree exactly, not just to rounding."""
    n, d, K = 7, 5, 4
    X, y, linear = random_problem(n, d, K, gen, loss=loss, lam=lam)
    mlp = MLPClassifier(d, (), K, loss=loss, lam=lam, dtype=torch.float64)
    mlp.params = {"W1": linear.params["W"], "b1": linear.params["b"]}
    written_out, backprop = linear.gradients(X, y), mlp.gradients(X, y)
    assert torch.equal(written_out["W"], backprop["W1"]) and torch.equal(written_out["b"], backprop["b1"])
    assert torch.equal(linear.evaluate(X, y)[1], mlp.evaluate(X, y)[1])


def test_linear_layer_backward_matches_autograd(gen):
    """llm.c's fake loss: J = Σ out ⊙ dout, so dJ/dout = dout and autograd gives the oracle."""
    n, d, K = 7, 5, 4
    X = torch.randn(n, d, generator=gen, dtype=torch.float64, requires_grad=True)
    W = torch.randn(K, d, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(K, generator=gen, dtype=torch.float64, requires_grad=True)
    out, cache = linear_forward(X, W, b)
    assert out.shape == (n, K)
    dout = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    (out * dout).sum().backward()
    dX, dW, db = linear_backward(dout, cache)
    for name, mine, ref in (("X", dX, X.grad), ("W", dW, W.grad), ("b", db, b.grad)):
        assert_close(name, mine, ref, tol=1e-12)
    assert linear_backward(dout, cache, input_grad=False)[0] is None


def test_l2_penalty_adds_its_gradient_into_a_given_one(gen):
    """R = λ‖W‖² and dW + 2λW against autograd, accumulated into dW in place.

    The penalty is the same ops in the same order as the reference (λ·Σ W⊙W): bit for bit. The
    update is not: add_(W, alpha=2λ) may fuse the multiply-add (FMA on AVX kernels, not on
    SSE), autograd rounds 2λW first, so an entry may differ by one rounding of each, ≤ ε·(|dW| +
    |2λW|) entry by entry, however much dW and 2λW cancel."""
    W = torch.randn(4, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    dW = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    lam = 0.3
    reference = lam * (W * W).sum()
    reference.backward()
    assert_close("penalty", l2_penalty_forward(W.detach(), lam), reference.detach(), tol=1e-15)
    total = dW.clone()
    returned = l2_penalty_backward(W.detach(), lam, total)
    assert returned is total  # accumulated in place, no new tensor
    bound = torch.finfo(torch.float64).eps * (dW.abs() + (2 * lam * W.detach()).abs())
    assert ((total - (dW + W.grad)).abs() <= bound).all(), (total - (dW + W.grad)).abs().max()


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_losses_are_stable_for_huge_scores(scale, gen):
    scores = scale * torch.randn(5, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(4, (5,), generator=gen)
    S = scores.clone().requires_grad_()
    for (forward, backward), ref in ((LOSS_PAIRS["ce"], lambda s: F.cross_entropy(s, y)),
                                     (LOSS_PAIRS["mbce"],
                                      lambda s: F.binary_cross_entropy_with_logits(s, F.one_hot(y, 4).double()))):
        S.grad = None
        value = ref(S)
        value.backward()
        loss, dscores = forward(scores, y), backward(scores, y)
        assert torch.isfinite(loss) and torch.isfinite(dscores).all()
        # positive terms (no cancellation) of ≤ 20 float64 roundings each: ≪ 1e-12 relative
        assert abs(loss.item() - value.item()) <= 1e-12 * max(1.0, abs(value.item()))
        assert_close("dscores", dscores, S.grad, tol=1e-12)


@pytest.mark.parametrize("loss,ref", [
    ("ce", lambda s, y: F.cross_entropy(s, y)),
    ("mbce", lambda s, y: F.binary_cross_entropy_with_logits(s, F.one_hot(y, s.shape[1]).to(s.dtype))),
])
def test_loss_values_match_torch(loss, ref, gen):
    scores = torch.randn(9, 6, generator=gen, dtype=torch.float64)
    y = torch.randint(6, (9,), generator=gen)
    # two float64 formulas of the same mean of 9 (ce) or 54 (mbce) positive terms, each a few
    # roundings of numbers ≤ ~3: ≤ ~60·u ≈ 7e-15 relative, within 1e-14
    assert torch.allclose(LOSS_PAIRS[loss][0](scores, y), ref(scores, y), rtol=1e-14, atol=0)


def test_mbce_has_its_one_over_K_factor():
    """All-zero scores: every binary problem costs ln 2, so MBCE = ln 2 (without 1/K it would be K ln 2).
    The mean of 30 rounded ln 2 is within (30 + 1)·u·ln 2 of it whatever the summation order."""
    loss = sigmoid_mbce_forward(torch.zeros(3, 10, dtype=torch.float64), torch.tensor([0, 4, 9]))
    assert abs(loss.item() - math.log(2)) <= 31 * torch.finfo(torch.float64).eps / 2 * math.log(2)
