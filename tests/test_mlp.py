"""The MLP: ReLU and every layer's gradient against autograd (1e-12) and finite differences, its init.

Tolerances as in test_gradients.py: float64 sums of ≤ 9 terms in other kernel orders agree to
~n·ε of the terms, 1e-12 leaves room for cancellation in an entry; ReLU is a selection: exact."""
import math

import pytest
import torch
import torch.nn.functional as F

from conftest import GRADIENT_TABLE
from helpers import assert_close
from linclf_torch.nn.gradcheck import check_model_gradients
from linclf_torch.nn.layers import relu_backward, relu_forward
from linclf_torch.nn.mlp import MLPClassifier

# hidden sizes: one to three hidden layers, odd sizes that catch transposes
DEPTHS = [(6,), (6, 3), (9, 5, 4)]


def reference_cost(params, X, y, loss, lam):
    """The MLP's cost written with torch.nn.functional, for autograd to differentiate."""
    L = len(params) // 2
    h = X
    for l in range(1, L + 1):
        h = F.linear(F.relu(h) if l > 1 else h, params[f"W{l}"], params[f"b{l}"])
    if loss == "ce":
        data = F.cross_entropy(h, y)
    else:
        data = F.binary_cross_entropy_with_logits(h, F.one_hot(y, h.shape[-1]).double())
    return data + lam * sum((params[f"W{l}"] ** 2).sum() for l in range(1, L + 1))


def mlp(d, hidden, K, gen, loss="ce", lam=0.0):
    return MLPClassifier(d, hidden, K, loss=loss, lam=lam, generator=gen, dtype=torch.float64)


def test_relu_backward_matches_autograd(gen):
    X = torch.randn(7, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    out, cache = relu_forward(X)
    assert torch.equal(out, F.relu(X))
    dout = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    (out * dout).sum().backward()  # llm.c's fake loss: dJ/dout = dout
    assert_close("X", relu_backward(dout, cache), X.grad, tol=0)  # dout or 0 per entry: exact


def test_relu_gradient_at_zero_is_zero_like_autograd():
    X = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
    F.relu(X).sum().backward()
    assert relu_backward(torch.ones(3, dtype=torch.float64), relu_forward(X.detach())[1]).tolist() == X.grad.tolist() == [0, 0, 1]


@pytest.mark.parametrize("hidden", DEPTHS)
@pytest.mark.parametrize("loss", ["ce", "mbce"])
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_every_layer_gradient_matches_autograd(hidden, loss, lam, gen):
    n, d, K = 7, 5, 4
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randint(K, (n,), generator=gen)
    model = mlp(d, hidden, K, gen, loss, lam)
    cost, grads = model.loss(X, y)
    assert list(grads) == list(model.params) == [f"{p}{l}" for l in range(1, len(hidden) + 2) for p in "Wb"]

    leaves = {k: p.clone().requires_grad_() for k, p in model.params.items()}
    ref = reference_cost(leaves, X, y, loss, lam)
    ref.backward()
    assert abs(cost.item() - ref.item()) <= 1e-12 * abs(ref.item())
    for name, leaf in leaves.items():
        assert grads[name].abs().max() > 0, f"{name}: zero gradient, the check would be empty"
        err = assert_close(name, grads[name], leaf.grad, tol=1e-12)
        GRADIENT_TABLE.append((f"autograd mlp {loss} hidden={hidden} λ={lam}", name, err))


@pytest.mark.parametrize("loss", ["ce", "mbce"])
def test_mlp_gradients_match_finite_differences(loss, gen):
    n, d, K = 7, 5, 4
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randint(K, (n,), generator=gen)
    model = mlp(d, (6, 3), K, gen, loss, lam=0.1)
    for name, (max_err, norm_err) in check_model_gradients(model, X, y).items():
        assert norm_err <= 1e-7, f"{name}: norm-wise relative error {norm_err:.3e} > 1e-7 ({loss})"
        GRADIENT_TABLE.append((f"finite diff mlp {loss} hidden=(6, 3) λ=0.1", name, max_err))


def test_init_follows_nn_linear_default_rule():
    """W and b ~ U(−1/√in, 1/√in): the bounds, and the quantiles of nn.Linear's own draw."""
    d, m = 768, 128
    model = MLPClassifier(d, (m,), 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        reference = torch.nn.Linear(d, m, dtype=torch.float64)
    bound = 1 / math.sqrt(d)
    W, b = model.params["W1"], model.params["b1"]
    assert W.shape == reference.weight.shape and b.shape == reference.bias.shape
    assert W.abs().max() <= bound and b.abs().max() <= bound
    assert W.abs().max() > 0.999 * bound  # the whole interval is used, not a narrower one
    q = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    diff = (torch.quantile(W.flatten(), q) - torch.quantile(reference.weight.detach().flatten(), q)).abs().max()
    assert diff < 0.02 * bound, f"quantiles differ from nn.Linear's by {diff / bound:.3f} of the bound"
    assert model.params["W2"].abs().max() <= 1 / math.sqrt(m)


def test_init_is_seeded_and_dtype_independent():
    a = MLPClassifier(5, (6,), 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    b = MLPClassifier(5, (6,), 4, generator=torch.Generator().manual_seed(1), dtype=torch.float32)
    c = MLPClassifier(5, (6,), 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for k in a.params:
        assert torch.equal(a.params[k].float(), b.params[k])  # the same draw, rounded once: exact
        assert not torch.equal(a.params[k], c.params[k])
