"""DD2424 Assignment 2's two-layer network (MLPClassifier, hidden=(m,)): its written-out gradient
against autograd and centred differences in float64 on the assignment's reduced problem
(d = 5 or 10, n = 3, m = 6), and the init options.

Tolerances as in test_mlp.py: float64 sums of a few terms in other kernel orders agree to ~n·ε
of the terms; 1e-12 leaves room for cancellation in an entry. Centred differences (h = 1e-6):
norm-wise 1e-7 (nn/gradcheck.py explains the bound)."""
import math

import pytest
import torch
import torch.nn.functional as F

from conftest import GRADIENT_TABLE
from helpers import assert_close
from linclf_torch.nn.gradcheck import check_model_gradients
from linclf_torch.nn.mlp import MLPClassifier

K, N, M = 10, 3, 6


def two_layer(d, lam, gen):
    """The assignment's network on a reduced problem, dd2424 init, biases made non-zero (a zero
    bias hides a wrong backward)."""
    model = MLPClassifier(d, (M,), K, lam=lam, generator=gen, init="dd2424", dtype=torch.float64)
    for b in ("b1", "b2"):
        model.params[b] = torch.randn(model.params[b].shape, generator=gen, dtype=torch.float64) * 0.1
    return model


def written_out(params, X, y, lam):
    """MLPClassifier's docstring, line by line: the two-layer gradient by hand."""
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    H = torch.relu(X @ W1.T + b1)                                   # (n, m)
    S = H @ W2.T + b2                                               # (n, K)
    dS = (torch.softmax(S, 1) - F.one_hot(y, K).double()) / len(y)  # (n, K)
    dH = dS @ W2 * (H > 0)                                          # (n, m)
    return {"W1": dH.T @ X + 2 * lam * W1, "b1": dH.sum(0), "W2": dS.T @ H + 2 * lam * W2, "b2": dS.sum(0)}


@pytest.mark.parametrize("d", [5, 10])
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_two_layer_gradient_matches_autograd_and_the_docstring(d, lam, gen):
    X = torch.randn(N, d, generator=gen, dtype=torch.float64)
    y = torch.randint(K, (N,), generator=gen)
    model = two_layer(d, lam, gen)
    grads = model.gradients(X, y)
    assert list(grads) == ["W1", "b1", "W2", "b2"]

    leaves = {k: p.clone().requires_grad_() for k, p in model.params.items()}
    h = F.relu(F.linear(X, leaves["W1"], leaves["b1"]))
    cost = F.cross_entropy(F.linear(h, leaves["W2"], leaves["b2"]), y)
    (cost + lam * (leaves["W1"].pow(2).sum() + leaves["W2"].pow(2).sum())).backward()
    by_hand = written_out(model.params, X, y, lam)
    for name, leaf in leaves.items():
        assert grads[name].abs().max() > 0, f"{name}: zero gradient, the check would be empty"
        err = assert_close(name, grads[name], leaf.grad, tol=1e-12)
        assert_close(name, grads[name], by_hand[name], tol=1e-12)
        GRADIENT_TABLE.append((f"autograd two-layer d={d} n={N} m={M} λ={lam}", name, err))


@pytest.mark.parametrize("d", [5, 10])
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_two_layer_gradient_matches_centred_differences(d, lam, gen):
    X = torch.randn(N, d, generator=gen, dtype=torch.float64)
    y = torch.randint(K, (N,), generator=gen)
    for name, (max_err, norm_err) in check_model_gradients(two_layer(d, lam, gen), X, y).items():
        assert norm_err <= 1e-7, f"{name}: norm-wise relative error {norm_err:.3e} > 1e-7 (d={d}, λ={lam})"
        GRADIENT_TABLE.append((f"finite diff two-layer d={d} n={N} m={M} λ={lam}", name, max_err))


@pytest.mark.parametrize("init, std", [("dd2424", lambda n_in: 1 / math.sqrt(n_in)),
                                       ("he", lambda n_in: math.sqrt(2 / n_in)),
                                       (0.05, lambda n_in: 0.05)])
def test_gaussian_inits_have_their_std_and_zero_biases(init, std):
    """W_l ~ N(0, std²): the sample mean within 5 standard errors (std/√N) of 0, the sample std
    within 5 of its standard errors (≈ std/√(2N)) of std; every bias exactly 0."""
    d, m = 3072, 50
    model = MLPClassifier(d, (m,), K, init=init, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for w, n_in in (("W1", d), ("W2", m)):
        W, s, count = model.params[w], std(n_in), model.params[w].numel()
        assert abs(W.mean().item()) < 5 * s / math.sqrt(count), w
        assert abs(W.std().item() / s - 1) < 5 / math.sqrt(2 * count), f"{w}: std {W.std().item():.5f}, expected {s:.5f}"
    assert model.params["b1"].eq(0).all() and model.params["b2"].eq(0).all()


@pytest.mark.parametrize("init", ["torch", "dd2424", "he", 0.01])
def test_init_is_seeded(init):
    def draw(seed):
        return MLPClassifier(7, (6,), 4, init=init, generator=torch.Generator().manual_seed(seed)).params
    a, b, c = draw(0), draw(0), draw(1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["W1"], c["W1"])


def test_torch_init_is_the_default():
    """init="torch" draws what MLPClassifier drew before init existed: INF265 results do not move."""
    a = MLPClassifier(7, (6, 5), 4, generator=torch.Generator().manual_seed(3)).params
    b = MLPClassifier(7, (6, 5), 4, init="torch", generator=torch.Generator().manual_seed(3)).params
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("init", ["xavier", 0.0, -1.0, True])
def test_unknown_init_is_refused(init):
    with pytest.raises(ValueError, match="init must be"):
        MLPClassifier(7, (6,), 4, init=init)


def test_l2_covers_every_weight_matrix_and_no_bias():
    model = MLPClassifier(7, (6, 5), 4, lam=0.3, init=0.5, generator=torch.Generator().manual_seed(0),
                          dtype=torch.float64)
    expected = 0.3 * sum(model.params[w].pow(2).sum() for w in ("W1", "W2", "W3"))
    assert torch.allclose(model.penalty(), expected, rtol=1e-14, atol=0)


def test_two_layer_gradient_on_the_device_matches_the_cpu(device, gen):
    """The same float64 network on CPU and CUDA: other kernels, other summation orders, so
    agreement to float64 rounding of sums of 3 terms (1e-12 relative), not bit for bit."""
    X = torch.randn(N, 10, generator=gen, dtype=torch.float64)
    y = torch.randint(K, (N,), generator=gen)
    model = two_layer(10, 0.1, gen)
    cpu = model.gradients(X, y)
    model.params = {k: v.to(device) for k, v in model.params.items()}
    on_device = model.gradients(X.to(device), y.to(device))
    for name in cpu:
        assert_close(name, on_device[name].cpu(), cpu[name], tol=1e-12)
