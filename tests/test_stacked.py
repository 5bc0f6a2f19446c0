"""G models stacked (grid/stacked.py) against each model alone (nn/), in float64.

Tolerances: products and sums batched over G run in other BLAS orders than each alone, so
1e-12 as in test_gradients.py (n·ε of the terms, room for cancellation in an entry); the loss
backward is the same row-wise ops on the same rows, hence 1e-15."""
import pytest
import torch

from helpers import assert_close
from linclf_torch.grid.stacked import (
    StackedClassifier,
    StackedSGD,
    batched_linear_backward,
    batched_linear_forward,
    loss_runs,
    wide_linear_backward,
    wide_linear_forward,
)
from linclf_torch.nn.losses import LOSSES
from linclf_torch.nn.mlp import MLPClassifier
from linclf_torch.nn.models import LinearClassifier
from linclf_torch.nn.optim import SGD

# the losses of G = 4 configurations: each loss one slice, as grid/search.py sorts them
LOSS_NAMES = ["ce", "ce", "mbce", "mbce"]


def test_wide_linear_layer_matches_autograd(gen):
    """llm.c's fake loss: J = Σ out ⊙ dout, so dJ/dout = dout and autograd gives the oracle."""
    n, d, K, G = 7, 5, 4, 3
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    W = torch.randn(G, K, d, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(G, K, generator=gen, dtype=torch.float64, requires_grad=True)
    out, cache = wide_linear_forward(X, W, b)
    assert out.shape == (G, n, K)
    dout = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    (out * dout).sum().backward()
    dW, db = wide_linear_backward(dout, cache)
    assert_close("W", dW, W.grad, tol=1e-12)
    assert_close("b", db, b.grad, tol=1e-12)


def test_batched_linear_layer_matches_autograd(gen):
    """G layers, each on its own input (an MLP's later layers), with llm.c's fake loss."""
    n, m, K, G = 7, 5, 4, 3
    H = torch.randn(G, n, m, generator=gen, dtype=torch.float64, requires_grad=True)
    W = torch.randn(G, K, m, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(G, K, generator=gen, dtype=torch.float64, requires_grad=True)
    out, cache = batched_linear_forward(H, W, b)
    assert out.shape == (G, n, K)
    dout = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    (out * dout).sum().backward()
    for name, mine, ref in zip("HWb", batched_linear_backward(dout, cache), (H.grad, W.grad, b.grad)):
        assert_close(name, mine, ref, tol=1e-12)


@pytest.mark.parametrize("loss", ["ce", "mbce"])
def test_nn_loss_backward_applies_to_a_stack_of_scores(loss, gen):
    """nn's loss backward, given scores (G, n, K) and the shared labels, is each configuration's dS."""
    backward = LOSSES[loss][1]
    scores = torch.randn(3, 7, 4, generator=gen, dtype=torch.float64)  # (G, n, K)
    y = torch.randint(4, (7,), generator=gen)
    dscores = backward(scores, y)
    assert dscores.shape == scores.shape
    for g in range(3):
        assert_close(f"dscores[{g}]", dscores[g], backward(scores[g], y), tol=1e-15)


def test_loss_runs_are_slices_of_equal_names():
    assert loss_runs(["ce", "ce", "mbce"]) == [("ce", slice(0, 2)), ("mbce", slice(2, 3))]
    assert loss_runs(["mbce"]) == [("mbce", slice(0, 1))]


@pytest.mark.parametrize("hidden,batchnorm", [(None, False), ((6, 3), False), ((6, 3), True)])
@pytest.mark.parametrize("lams", [(0.0, 0.1, 0.0, 2.0), (0.0, 0.0, 0.0, 0.0)])
def test_stacked_models_equal_each_model_alone(hidden, batchnorm, lams, gen):
    """Linear or MLP (with batch norm too), per-configuration loss and λ, sharing X (n, d):
    gradients, loss, cost and accuracy of the stack against each nn model (the float sums
    differ only in order), and with batch norm the running averages that a step moves and
    evaluation uses. A hidden layer's bias before batch norm has the true gradient 0: both
    sides are rounding noise there, compared within 1e-12 absolutely, not relatively."""
    n, d, K = 7, 5, 4
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randint(K, (n,), generator=gen)
    if hidden is None:
        models = [LinearClassifier(d, K, loss=loss, lam=lam, generator=gen, std=1.0, dtype=torch.float64)
                  for loss, lam in zip(LOSS_NAMES, lams)]
        for m in models:  # non-zero biases: zeros hide bugs
            m.params["b"] = torch.randn(K, generator=gen, dtype=torch.float64)
    else:
        models = [MLPClassifier(d, hidden, K, loss=loss, lam=lam, generator=gen, batchnorm=batchnorm,
                                dtype=torch.float64) for loss, lam in zip(LOSS_NAMES, lams)]
        for m in models:  # γ, β away from 1, 0: those would hide a swapped or missing factor
            for name in m.params:
                if name.startswith(("gamma", "beta")):
                    m.params[name] = m.params[name] + torch.rand(m.params[name].shape, generator=gen, dtype=torch.float64)
    zero_grads = {f"b{l}" for l in range(1, len(hidden) + 1)} if batchnorm else set()
    stacked = StackedClassifier(models)
    grads = stacked.gradients(X, y)
    loss, cost, acc = stacked.evaluate(X, y)
    assert loss.shape == cost.shape == acc.shape == (len(models),)
    for g, model in enumerate(models):
        for name, value in model.gradients(X, y).items():
            if name in zero_grads:
                assert (grads[name][g] - value).abs().max() <= 1e-12, name
                continue
            assert value.abs().max() > 0, f"{name}: zero gradient, the check would be empty"
            assert_close(f"{name}[{g}]", grads[name][g], value, tol=1e-12)
        for name, value in model.buffers.items():  # batch norm's running averages, set by the step
            assert_close(f"{name}[{g}]", stacked.buffers[name][g], value, tol=1e-12)
        for what, mine, alone in zip(("loss", "cost", "accuracy"), (loss, cost, acc), model.evaluate(X, y)):
            assert_close(f"{what}[{g}]", mine[g], alone, tol=1e-12)
    assert len(stacked.buffers) == (2 * len(hidden) if batchnorm else 0)
    assert len({round(c, 6) for c in cost.tolist()}) == len(models)  # the configurations really differ
    stacked.unstack()
    for g, model in enumerate(models):
        assert model.params["b" if hidden is None else "b1"].data_ptr() == stacked.params[stacked.layers[0][1]][g].data_ptr()
        assert all(model.buffers[k].data_ptr() == v[g].data_ptr() for k, v in stacked.buffers.items())


@pytest.mark.parametrize("momentum,weight_decay", [(0.0, 0.0), (0.85, 0.01)])
def test_stacked_sgd_steps_each_configuration_with_its_own_rate(momentum, weight_decay, gen):
    """Three steps of StackedSGD with lr (G,) equal nn's SGD on each configuration alone."""
    lrs = [0.5, 0.05, 0.0]
    params = [{"W": torch.randn(4, 5, generator=gen, dtype=torch.float64)} for _ in lrs]
    stacked = {"W": torch.stack([p["W"] for p in params])}
    mine = StackedSGD(stacked, torch.tensor(lrs, dtype=torch.float64), momentum=momentum, weight_decay=weight_decay)
    alone = [SGD(p, lr, momentum=momentum, weight_decay=weight_decay) for p, lr in zip(params, lrs)]
    for _ in range(3):
        grads = [torch.randn(4, 5, generator=gen, dtype=torch.float64) for _ in lrs]
        mine.step({"W": torch.stack(grads)})
        for optimizer, g in zip(alone, grads):
            optimizer.step({"W": g})
    # addcmul_(lr, d) and add_(d, alpha=-lr) may fuse the multiply-add on one CPU and not on
    # another: each step may differ by one rounding of θ and of η·d, |η·d| ≲ max|θ| here, so
    # 3 steps stay within 6u·max|θ| = 3ε of max|θ| (an entry near 0 can lose all its digits)
    for i, p in enumerate(params):
        err = ((stacked["W"][i] - p["W"]).abs().max() / p["W"].abs().max()).item()
        assert err <= 3 * torch.finfo(torch.float64).eps, f"W[{i}]: max |Δ| / max |θ| = {err:.2e}"
