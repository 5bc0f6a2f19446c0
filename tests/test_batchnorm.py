"""Batch normalisation (DD2424 Assignment 3): the layer pair of nn/layers.py and the k-layer
network of nn/mlp.py with and without it, in float64, against autograd and centred differences.

The traps this guards against (DD2424 A3's usual mistakes): the checks use the batch statistics (the cost
gradients() differentiates, model.cost), a cross-entropy loss or a random upstream gradient
(never Σ output, which BN makes constant), the variance with 1/n, and a batch of n = 7 > 1.

Tolerances. Against autograd: both sides sum the same float64 terms in other orders, so they
agree to a few ε (2.2e-16) times the size of the terms; BN's backward subtracts two means from
dŜ, which can cancel an entry's leading digits, so entries are compared with 1e-10 relative,
and the whole tensor norm-wise with 1e-12. A bias before a batch norm has the true gradient 0
(μ absorbs it): its computed value is rounding, Σᵢ dSᵢ of n terms ≈ n·ε·max|dS|, so it is
compared with the absolute floor 1e-13 instead (a relative error of two rounding noises means
nothing). Centred differences (h = 1e-6): every entry within 1e-7·max|g| + 1e-8. The quotient's
own error is its truncation, O(h²) ≈ 1e-12, plus its rounding, ε·|J|/h ≈ 1e-9 here, whatever the
size of the entry: 1e-8 is that floor with room. It covers the true zeros and the 9-layer
network's first layers without batch norm, whose gradients are ~1e-3 (they vanish, the reason
for batch norm), where a norm-wise relative error would measure the rounding instead.
"""
import pytest
import torch
import torch.nn.functional as F

from conftest import GRADIENT_TABLE
from helpers import assert_close
from linclf_torch.nn.gradcheck import gradient_errors, norm_rel_error
from linclf_torch.nn.layers import batch_statistics, batchnorm_backward, batchnorm_forward, running_average
from linclf_torch.nn.mlp import MLPClassifier

N, D, K = 7, 10, 4
DEPTHS = {2: (6,), 3: (6, 5), 9: (8, 7, 6, 5, 5, 4, 4, 4)}  # layers: hidden sizes (the last layer is K)


def network(hidden, batchnorm, lam, gen):
    """A float64 k-layer network, He init, every bias, γ and β made non-trivial: a zero bias or
    γ = 1 hides a wrong backward."""
    model = MLPClassifier(D, hidden, K, lam=lam, generator=gen, init="he", batchnorm=batchnorm,
                          dtype=torch.float64)
    for name, p in model.params.items():
        if not name.startswith("W"):
            model.params[name] = p + 0.3 * torch.randn(p.shape, generator=gen, dtype=torch.float64)
    return model


def autograd_cost(params, X, y, n_layers, batchnorm, lam, eps):
    """The same network in autograd: torch.var(unbiased=False) is BN's 1/n variance."""
    a = X
    for l in range(1, n_layers + 1):
        s = F.linear(a, params[f"W{l}"], params[f"b{l}"])
        if l == n_layers:
            break
        if batchnorm:
            s_hat = (s - s.mean(0)) / torch.sqrt(s.var(0, unbiased=False) + eps)
            s = params[f"gamma{l}"] * s_hat + params[f"beta{l}"]
        a = F.relu(s)
    return F.cross_entropy(s, y) + lam * sum(params[f"W{l}"].pow(2).sum() for l in range(1, n_layers + 1))


def zero_bias(name, layers, batchnorm):
    """b_l of a hidden layer, followed by a batch norm: its true gradient is 0."""
    return batchnorm and name.startswith("b") and not name.startswith("beta") and name != f"b{layers}"


def data(gen):
    return torch.randn(N, D, generator=gen, dtype=torch.float64), torch.randint(K, (N,), generator=gen)


def test_batchnorm_layer_matches_autograd(gen):
    """The pair alone, with a random upstream gradient (llm.c's fake loss (out·dout).sum())."""
    S = torch.randn(N, 5, generator=gen, dtype=torch.float64) * 3 + 1
    gamma, beta = torch.randn(5, generator=gen, dtype=torch.float64), torch.randn(5, generator=gen, dtype=torch.float64)
    dout = torch.randn(N, 5, generator=gen, dtype=torch.float64)
    out, cache = batchnorm_forward(S, gamma, beta, *batch_statistics(S))
    dS, dgamma, dbeta = batchnorm_backward(dout, cache)

    leaves = [t.clone().requires_grad_() for t in (S, gamma, beta)]
    reference = F.batch_norm(leaves[0], None, None, leaves[1], leaves[2], training=True, eps=1e-5)
    assert_close("out", out, reference.detach(), tol=1e-12)
    (reference * dout).sum().backward()
    for name, ours, leaf in zip(("S", "gamma", "beta"), (dS, dgamma, dbeta), leaves):
        GRADIENT_TABLE.append(("autograd batch norm layer n=7 m=5", name, assert_close(name, ours, leaf.grad, 1e-10)))


def test_batchnorm_backward_is_the_assignments_batchnormbackpass(gen):
    """DD2424's column form (σ₁, σ₂, G₁, G₂, D, c), written as the assignment does, gives the same dS."""
    S = torch.randn(N, 5, generator=gen, dtype=torch.float64) * 2
    G = torch.randn(N, 5, generator=gen, dtype=torch.float64)
    mu, v = batch_statistics(S)
    dS, _, _ = batchnorm_backward(G, batchnorm_forward(S, torch.ones(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64), mu, v)[1])
    Gc, Sc, n, eps = G.T, S.T, N, 1e-5                # columns are samples: (m, n)
    sigma1, sigma2 = (v + eps) ** -0.5, (v + eps) ** -1.5
    G1, G2, Dm = Gc * sigma1[:, None], Gc * sigma2[:, None], Sc - mu[:, None]
    c = (G2 * Dm).sum(1)
    assignment = G1 - G1.sum(1, keepdim=True) / n - Dm * c[:, None] / n
    assert_close("BatchNormBackPass", dS, assignment.T, tol=1e-10)


def test_batch_statistics_use_1_over_n(gen):
    S = torch.randn(N, 3, generator=gen, dtype=torch.float64)
    mu, v = batch_statistics(S)
    hand = ((S - S.sum(0) / N) ** 2).sum(0) / N
    assert_close("v", v, hand, tol=1e-14)
    assert (v < S.var(0)).all()  # torch.var's n − 1 is larger by n/(n − 1): the trap the docstring names


@pytest.mark.parametrize("layers", sorted(DEPTHS))
@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_k_layer_gradient_matches_autograd(layers, batchnorm, lam, gen):
    X, y = data(gen)
    model = network(DEPTHS[layers], batchnorm, lam, gen)
    grads = model.gradients(X, y)
    assert list(grads) == list(model.params)
    leaves = {k: p.clone().requires_grad_() for k, p in model.params.items()}
    autograd_cost(leaves, X, y, layers, batchnorm, lam, model.eps).backward()
    assert torch.allclose(model.cost(X, y), autograd_cost(model.params, X, y, layers, batchnorm, lam, model.eps),
                          rtol=1e-13, atol=0)
    for name, leaf in leaves.items():
        if zero_bias(name, layers, batchnorm):
            assert grads[name].abs().max() <= 1e-13 and leaf.grad.abs().max() <= 1e-13, name
            continue
        assert grads[name].abs().max() > 0, f"{name}: zero gradient, the check would be empty"
        assert norm_rel_error(grads[name], leaf.grad) <= 1e-12, name
        err = assert_close(name, grads[name], leaf.grad, tol=1e-10)
        GRADIENT_TABLE.append((f"autograd {layers}-layer{' BN' if batchnorm else ''} λ={lam}", name, err))


@pytest.mark.parametrize("layers", sorted(DEPTHS))
@pytest.mark.parametrize("batchnorm", [False, True])
def test_k_layer_gradient_matches_centred_differences(layers, batchnorm, gen, one_thread):
    X, y = data(gen)
    for name, e in gradient_errors(network(DEPTHS[layers], batchnorm, 0.05, gen), X, y).items():
        bound = 1e-7 * e["max_grad"] + 1e-8
        assert e["max_abs"] <= bound, f"{name}: |analytic − numeric| {e['max_abs']:.1e} > {bound:.1e}"
        if not zero_bias(name, layers, batchnorm):
            GRADIENT_TABLE.append((f"finite diff {layers}-layer{' BN' if batchnorm else ''}", name, e["max_rel"]))


def test_running_averages_start_at_the_first_batch_then_move_by_alpha(gen):
    model = network((6, 5), True, 0.0, gen)
    batches = [data(gen) for _ in range(3)]
    s1 = []
    for X, y in batches:
        model.gradients(X, y)
        s1.append(batch_statistics(F.linear(X, model.params["W1"], model.params["b1"])))
    # the hand computation, layer 1: μ_av = μ₁, then μ_av ← 0.9 μ_av + 0.1 μ_t, the same for v
    mu_av, v_av = s1[0]
    for mu, v in s1[1:]:
        mu_av, v_av = 0.9 * mu_av + 0.1 * mu, 0.9 * v_av + 0.1 * v
    assert_close("mu1", model.buffers["mu1"], mu_av, tol=1e-14)
    assert_close("v1", model.buffers["v1"], v_av, tol=1e-14)


def test_running_averages_follow_batchnorm1d_where_the_conventions_agree(gen):
    """torch.nn.BatchNorm1d(momentum=1 − α) moves its running mean by the same rule; it starts at
    0 (not the first batch) and its running variance uses n − 1: started from our first-batch
    averages (its variance scaled by n/(n − 1)) it follows ours exactly, in training mode its
    output is ours, and in evaluation both normalise with the running averages."""
    m, alpha = 5, 0.9
    bn = torch.nn.BatchNorm1d(m, eps=1e-5, momentum=1 - alpha, dtype=torch.float64)
    gamma, beta = torch.randn(m, generator=gen, dtype=torch.float64), torch.randn(m, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(gamma), bn.bias.copy_(beta)
    S = [torch.randn(N, m, generator=gen, dtype=torch.float64) * 2 + 1 for _ in range(4)]
    mu_av, v_av = batch_statistics(S[0])
    with torch.no_grad():
        bn.running_mean.copy_(mu_av), bn.running_var.copy_(v_av * N / (N - 1))
    for s in S[1:]:
        mu, v = batch_statistics(s)
        out = batchnorm_forward(s, gamma, beta, mu, v)[0]
        assert_close("training output", out, bn(s).detach(), tol=1e-12)
        mu_av, v_av = running_average(mu_av, mu, alpha), running_average(v_av, v, alpha)
    assert_close("running mean", mu_av, bn.running_mean, tol=1e-14)
    assert_close("running var · n/(n − 1)", v_av * N / (N - 1), bn.running_var, tol=1e-14)
    bn.eval()
    assert_close("evaluation output", batchnorm_forward(S[0], gamma, beta, mu_av, bn.running_var)[0],
                 bn(S[0]).detach(), tol=1e-12)


def test_evaluation_uses_the_running_averages_and_training_the_batch(gen):
    model = network((6,), True, 0.0, gen)
    X, y = data(gen)
    before = model.scores(X[:3])  # no averages yet: the batch's own statistics
    assert torch.equal(before, model.forward(X[:3])[0])
    model.gradients(X, y)
    scores = model.scores(X[:3])
    s = F.linear(X[:3], model.params["W1"], model.params["b1"])
    h = F.relu(model.params["gamma1"] * (s - model.buffers["mu1"]) / torch.sqrt(model.buffers["v1"] + 1e-5)
               + model.params["beta1"])
    assert_close("scores", scores, F.linear(h, model.params["W2"], model.params["b2"]), tol=1e-12)
    assert not torch.allclose(scores, model.forward(X[:3])[0])  # three rows' own statistics differ


@pytest.mark.cuda
def test_batchnorm_agrees_on_cpu_and_cuda(gen):
    """The same float64 numbers on both devices: the layer pair with a random upstream gradient,
    then the 3- and 9-layer batch-norm networks' gradients and running averages after two steps."""
    S = torch.randn(N, 5, generator=gen, dtype=torch.float64) * 3 + 1
    gamma, beta = torch.randn(5, generator=gen, dtype=torch.float64), torch.randn(5, generator=gen, dtype=torch.float64)
    dout = torch.randn(N, 5, generator=gen, dtype=torch.float64)

    def layer(device):
        S_, gamma_, beta_, dout_ = (t.to(device) for t in (S, gamma, beta, dout))
        out, cache = batchnorm_forward(S_, gamma_, beta_, *batch_statistics(S_))
        return (out, *batchnorm_backward(dout_, cache))

    for name, cpu, cuda in zip(("out", "dS", "dgamma", "dbeta"), layer("cpu"), layer("cuda")):
        assert_close(name, cuda.cpu(), cpu, tol=1e-10)
    batches = [data(gen) for _ in range(2)]
    for layers in (3, 9):
        model = network(DEPTHS[layers], True, 0.1, gen)
        twin = MLPClassifier(D, DEPTHS[layers], K, lam=0.1, batchnorm=True, device="cuda", dtype=torch.float64)
        twin.params = {k: p.to("cuda") for k, p in model.params.items()}
        for X, y in batches:
            grads, grads_cuda = model.gradients(X, y), twin.gradients(X.to("cuda"), y.to("cuda"))
        for name, g in grads.items():
            if zero_bias(name, layers, True):  # rounding noise on both sides: an absolute floor
                assert grads_cuda[name].abs().max() <= 1e-13, name
                continue
            assert_close(f"{layers}-layer {name}", grads_cuda[name].cpu(), g, tol=1e-10)
        for name, average in model.buffers.items():
            assert_close(f"{layers}-layer {name}", twin.buffers[name].cpu(), average, tol=1e-10)
