"""The RNN of nn/rnn.py: its BPTT gradients against autograd and centred differences (float64),
the loss at init, the mean/sum factor τ, h0 in W's gradient, and sampling (nn/sampling.py)."""
import math

import pytest
import torch

from conftest import GRADIENT_TABLE
from helpers import assert_close, load_experiment
from linclf_torch.nn.gradcheck import norm_rel_error, numerical_gradient
from linclf_torch.nn.rnn import PARAMS, init_rnn, rnn_cost, rnn_forward, rnn_gradients
from linclf_torch.nn.sampling import draw, next_char_probabilities, sample


def random_rnn(gen, K, m, device="cpu"):
    """Non-zero random parameters (zero b and c would hide a wrong db or dc), float64."""
    params = init_rnn(K, m, gen, device, torch.float64)
    params["b"] = torch.randn(m, generator=gen, dtype=torch.float64).to(device) * 0.1
    params["c"] = torch.randn(K, generator=gen, dtype=torch.float64).to(device) * 0.1
    return params


def sequence(gen, K, tau, m, device="cpu"):
    x = torch.randint(K, (tau,), generator=gen).to(device)
    y = torch.randint(K, (tau,), generator=gen).to(device)
    h0 = (torch.randn(m, generator=gen, dtype=torch.float64) * 0.5).to(device)  # ≠ 0: h0 must enter dW
    return x, y, h0


# the course's ComputeGradsWithTorch (the same network in torch ops, autograd), as the A4 script checks with it
autograd_rnn = load_experiment("a4_rnn").autograd_gradients


# (K, m, τ): the text's check (m = 10, τ = 25), one step, a long sequence; odd sizes catch transposes
SHAPES = [(7, 10, 25), (5, 6, 1), (4, 3, 100)]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("K,m,tau", SHAPES)
def test_gradients_match_autograd(gen, one_thread, device, K, m, tau, reduction):
    """Float64, the same math in another order: agreement to ~1e-13 relative per entry; 1e-9
    leaves room for entries near zero (the reports' relative error divides by |a| + |b|)."""
    params = random_rnn(gen, K, m, device)
    x, y, h0 = sequence(gen, K, tau, m, device)
    loss, grads, h_last = rnn_gradients(x, y, h0, params, reduction)
    ref_loss, ref, ref_h = autograd_rnn(x, y, h0, params, reduction)
    assert set(grads) == set(PARAMS)
    assert abs(loss.item() - ref_loss.item()) <= 1e-12 * abs(ref_loss.item())
    assert_close("h_last", h_last, ref_h, 1e-12)
    for name in PARAMS:
        err = assert_close(name, grads[name], ref[name], 1e-9)
        GRADIENT_TABLE.append((f"rnn vs autograd K={K} m={m} τ={tau} {reduction}", name, err))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_gradients_match_centred_differences(gen, one_thread, reduction):
    """h = 1e-6 in float64: truncation O(h²) ≈ 1e-12 and rounding ≈ ε·|L|/h ≈ 3e-9 for the sum's
    L ≈ 14, so each entry within 1e-7 absolute, and the whole gradient within 1e-7 norm-wise
    (gradient entries here are 1e-4 to 1: an entry-wise relative bound would judge rounding)."""
    K, m, tau = 5, 6, 9
    params = random_rnn(gen, K, m)
    x, y, h0 = sequence(gen, K, tau, m)
    _, grads, _ = rnn_gradients(x, y, h0, params, reduction)
    for name in PARAMS:
        numeric = numerical_gradient(lambda: rnn_cost(x, y, h0, params, reduction), params[name])
        diff = (grads[name] - numeric).abs().max().item()
        err = norm_rel_error(grads[name], numeric)
        assert diff < 1e-7 and err < 1e-7, f"{name}: max abs diff {diff:.2e}, norm-wise relative error {err:.2e}"
        GRADIENT_TABLE.append((f"rnn vs centred differences {reduction} (norm-wise)", name, err))


def test_sum_is_tau_times_mean(gen):
    """Same math scaled by τ = 8 (a power of two): exactly equal."""
    params = random_rnn(gen, 5, 4)
    x, y, h0 = sequence(gen, 5, 8, 4)
    mean_loss, mean_grads, _ = rnn_gradients(x, y, h0, params, "mean")
    sum_loss, sum_grads, _ = rnn_gradients(x, y, h0, params, "sum")
    assert torch.equal(sum_loss, mean_loss * 8)
    for name in PARAMS:
        assert torch.equal(sum_grads[name], mean_grads[name] * 8), name


def test_h0_enters_W_gradient(gen):
    """With τ = 1, dW = da_1 h0ᵀ: zero when h0 is zero, the outer product otherwise."""
    params = random_rnn(gen, 5, 4)
    x, y, h0 = sequence(gen, 5, 1, 4)
    _, grads, _ = rnn_gradients(x, y, torch.zeros_like(h0), params)
    assert torch.equal(grads["W"], torch.zeros_like(grads["W"]))
    _, grads, _ = rnn_gradients(x, y, h0, params)
    assert torch.linalg.matrix_rank(grads["W"]) == 1
    assert_close("dW", grads["W"], torch.outer(grads["b"], h0), 1e-12)  # da_1 = db when τ = 1


def test_loss_at_init_is_log_K(gen):
    """b = c = 0 and V ~ N(0, 1/m) with h entries ≲ 0.3: scores near 0, p ≈ 1/K, L ≈ ln K (the
    text's 4.605 at update 1 is ln 100)."""
    K, m = 65, 100
    params = init_rnn(K, m, gen, dtype=torch.float64)
    x = torch.randint(K, (25,), generator=gen)
    loss, _, _ = rnn_gradients(x, x.roll(-1), torch.zeros(m, dtype=torch.float64), params)
    assert abs(loss.item() - math.log(K)) < 0.1


def test_init_scales(gen):
    """The course's standard deviations 1/√(2K), 1/√(2m), 1/√m, to 5 % on these many draws."""
    K, m = 50, 200
    params = init_rnn(K, m, gen, dtype=torch.float64)
    for name, std in (("U", 1 / math.sqrt(2 * K)), ("W", 1 / math.sqrt(2 * m)), ("V", 1 / math.sqrt(m))):
        assert abs(params[name].std().item() / std - 1) < 0.05, name
    assert not params["b"].any() and not params["c"].any()


def test_probabilities_temperature_and_top_p():
    o = torch.tensor([2.0, 1.0, 0.0, -1.0], dtype=torch.float64)
    p = torch.softmax(o, 0)
    assert_close("T=1", next_char_probabilities(o), p, 1e-15)
    assert_close("T=0.5", next_char_probabilities(o, temperature=0.5), torch.softmax(2 * o, 0), 1e-15)
    # p ≈ 0.64, 0.24, 0.09, 0.03: top-p 0.7 keeps the first two (0.64 < 0.7), renormalised
    q = next_char_probabilities(o, top_p=0.7)
    assert_close("top-p", q, torch.cat([p[:2] / p[:2].sum(), torch.zeros(2, dtype=p.dtype)]), 1e-15)
    assert torch.equal(next_char_probabilities(o, top_p=1e-9), torch.tensor([1.0, 0, 0, 0], dtype=p.dtype))


def test_draw_is_the_inverse_cumulative_distribution():
    p = torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64)
    assert [draw(p, torch.tensor(u)).item() for u in (0.0, 0.24, 0.25, 0.74, 0.75, 0.999)] == [0, 0, 1, 1, 2, 2]


def test_sample_follows_the_forward_pass(gen):
    """With top-p tiny each step takes the most probable character: the same chain as argmax
    over rnn_forward's scores, fed back one step at a time."""
    K, m, n = 6, 8, 12
    params = random_rnn(gen, K, m)
    h0 = torch.zeros(m, dtype=torch.float64)
    got = sample(params, h0, 3, n, torch.Generator().manual_seed(0), top_p=1e-9)
    x, h, want = 3, h0, []
    for _ in range(n):
        O, H, _ = rnn_forward(torch.tensor([x]), h, params)
        x, h = O[0].argmax().item(), H[-1]
        want.append(x)
    assert got.tolist() == want


def test_sample_is_seeded(gen):
    params = random_rnn(gen, 6, 8)
    h0 = torch.zeros(8, dtype=torch.float64)
    a, b, c = (sample(params, h0, 0, 50, torch.Generator().manual_seed(s), temperature=1.5) for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.dtype == torch.int64 and a.shape == (50,) and a.min() >= 0 and a.max() < 6


def test_sample_frequencies(gen):
    """A 1-state chain: with W = 0, U = 0, the next-character distribution is softmax(c) at every
    step; 4,000 draws match it within 5 standard errors (√(p(1−p)/n) ≤ 0.008)."""
    K, m = 3, 2
    params = {"U": torch.zeros(m, K), "W": torch.zeros(m, m), "V": torch.zeros(K, m), "b": torch.zeros(m),
              "c": torch.tensor([0.0, 1.0, 2.0])}
    got = sample(params, torch.zeros(m), 0, 4000, torch.Generator().manual_seed(0))
    freq = torch.bincount(got, minlength=K).double() / 4000
    assert (freq - torch.softmax(params["c"].double(), 0)).abs().max() < 5 * 0.008


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_batch_is_the_mean_over_its_sequences(gen, one_thread, device, reduction):
    """n = 3 sequences at once (x (τ, n), h0 (n, m)): the loss and gradients are the mean of the three
    sequences' own, each h_τ its own. The same float64 terms summed in another order: gradients of size
    ≲ 1 summed over ≤ 3·τ = 33 terms agree to ~1e-14; 1e-12 absolute leaves room."""
    K, m, tau, n = 5, 6, 11, 3
    params = random_rnn(gen, K, m, device)
    seqs = [sequence(gen, K, tau, m, device) for _ in range(n)]
    x, y, h0 = (torch.stack([s[i] for s in seqs], dim=1 if i < 2 else 0) for i in range(3))  # (τ, n), (τ, n), (n, m)
    loss, grads, h_last = rnn_gradients(x, y, h0, params, reduction)
    alone = [rnn_gradients(*s, params, reduction) for s in seqs]
    assert abs(loss.item() - sum(a[0].item() for a in alone) / n) < 1e-12
    for i, a in enumerate(alone):
        assert (h_last[i] - a[2]).abs().max() < 1e-14
    for name in PARAMS:
        mean = sum(a[1][name] for a in alone) / n
        assert (grads[name] - mean).abs().max() < 1e-12, name
