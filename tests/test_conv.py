"""The patchify ConvNet (DD2424 A3, 2025/26): patches and conv against F.conv2d, every gradient
against autograd and centred differences in float64, label smoothing against torch's, the
course's column layout built the way students build it.

Tolerances: the library and the reference compute the same float64 sums (≤ n·n_p ≈ 1,300 terms
here) in other orders, so an entry differs by at most ~n·u·Σ|terms| (u = 1.1e-16), about 1e-13
of the largest entries of its tensor. An entry whose terms cancel can be far smaller than its
terms, so its own relative error says nothing (1.4e-12 seen for a W1 entry with SSE kernels,
an absolute difference of 2.8e-16): `matches` bounds each entry's difference by 1e-12 of its
tensor's largest entry. Patches move numbers without arithmetic: compared bit for bit.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import GRADIENT_TABLE
from linclf_torch.courselayout import course_patch_matrix, filters_from_course, filters_to_course, images_from_columns
from linclf_torch.nn.conv import conv_backward, conv_forward, patch_order, patchify
from linclf_torch.nn.convnet import ConvNet
from linclf_torch.nn.gradcheck import check_model_gradients, max_rel_error
from linclf_torch.nn.losses import smoothed_ce_backward, smoothed_ce_forward, smoothed_targets

# (n, s, f, nf, nh, K): odd sizes that catch transposes; the text's check (f = 4, nf = 2, nh = 10)
SHAPES = [(7, 12, 4, 5, 6, 4), (3, 8, 2, 3, 5, 10), (5, 32, 4, 2, 10, 10)]


def matches(name, mine, reference, tol=1e-12):
    """Every entry within tol of the reference's largest entry (the module docstring); returns
    the entry-wise max relative error, for the gradient table."""
    assert mine.shape == reference.shape, f"{name}: shape {tuple(mine.shape)} != {tuple(reference.shape)}"
    diff, scale = (mine - reference).abs().max().item(), reference.abs().max().item()
    assert diff <= tol * scale, f"{name}: max abs diff {diff:.3e} > {tol:.0e} × max |reference| {scale:.3e}"
    return max_rel_error(mine, reference)


def problem(n, s, f, nf, nh, K, gen, **kw):
    X = torch.randn(n, 3 * s * s, generator=gen, dtype=torch.float64)
    y = torch.randint(K, (n,), generator=gen)
    model = ConvNet(3 * s * s, K, f=f, nf=nf, nh=nh, generator=gen, dtype=torch.float64, **kw)
    for name, p in model.params.items():  # non-zero biases: zero init hides a wrong backward
        if name.startswith("b"):
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return X, y, model


def reference_cost(params, X, y, s, lam, eps):
    """The same network and cost written with torch.nn.functional, for autograd. torch's
    label_smoothing puts ε'/K on every class: ε' = ε·K/(K − 1) gives the course's targets."""
    n, K = len(X), params["W2"].shape[0]
    C = F.conv2d(X.view(n, 3, s, s), params["F"], params.get("bF"), stride=params["F"].shape[-1])  # (n, nf, s/f, s/f)
    h = F.relu(C).flatten(2).transpose(1, 2).flatten(1)  # (n, n_p·nf), patch-major as the course flattens
    x1 = F.relu(F.linear(h, params["W1"], params["b1"]))
    S = F.linear(x1, params["W2"], params["b2"])
    data = F.cross_entropy(S, y, label_smoothing=eps * K / (K - 1))
    return data + lam * sum((params[w] ** 2).sum() for w in ("F", "W1", "W2"))


def test_patches_and_conv_equal_conv2d(gen):
    X = torch.randn(5, 3, 16, 16, generator=gen, dtype=torch.float64)
    Fw = torch.randn(7, 3, 4, 4, generator=gen, dtype=torch.float64)
    b = torch.randn(7, generator=gen, dtype=torch.float64)
    order = patch_order(16, 4)
    assert torch.equal(order.flatten().sort().values, torch.arange(3 * 16 * 16))  # a permutation of the pixels
    P = patchify(X.flatten(1), order)
    assert P.shape == (5, 16, 48)
    assert torch.equal(P[2, 1 * 4 + 3], X[2, :, 4:8, 12:16].flatten())  # patch (row 1, column 3), channel first
    for bias in (None, b):
        out, _ = conv_forward(P, Fw, bias)
        ref = F.conv2d(X, Fw, bias, stride=4).flatten(2).transpose(1, 2)  # (n, n_p, nf)
        matches("conv", out, ref)


@pytest.mark.parametrize("bias", [False, True])
def test_conv_backward_matches_autograd(bias, gen):
    """llm.c's fake loss J = Σ C ⊙ dC: dJ/dF by autograd through F.conv2d."""
    X = torch.randn(4, 3, 12, 12, generator=gen, dtype=torch.float64)
    Fw = torch.randn(5, 3, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, generator=gen, dtype=torch.float64, requires_grad=True) if bias else None
    dC = torch.randn(4, 16, 5, generator=gen, dtype=torch.float64)
    (F.conv2d(X, Fw, b, stride=3).flatten(2).transpose(1, 2) * dC).sum().backward()
    P = patchify(X.flatten(1), patch_order(12, 3))
    dF, db = conv_backward(dC, conv_forward(P, Fw.detach(), None if b is None else b.detach())[1])
    matches("F", dF, Fw.grad)
    assert (db is None) == (not bias)
    if bias:
        matches("bF", db, b.grad)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "n{}s{}f{}nf{}nh{}K{}".format(*s))
@pytest.mark.parametrize("bias,lam,eps", [(False, 0.0, 0.0), (True, 0.0, 0.0), (False, 0.1, 0.0),
                                          (True, 0.1, 0.1), (False, 0.0, 0.1)])
def test_convnet_gradients_match_autograd(shape, bias, lam, eps, gen):
    n, s, f, nf, nh, K = shape
    X, y, model = problem(*shape, gen, conv_bias=bias, lam=lam, label_smoothing=eps)
    leaves = {k: v.clone().requires_grad_() for k, v in model.params.items()}
    ref = reference_cost(leaves, X, y, s, lam, eps)
    ref.backward()
    cost, grads = model.loss(X, y)
    assert grads.keys() == model.params.keys() == ({"F", "W1", "b1", "W2", "b2"} | ({"bF"} if bias else set()))
    assert abs(cost.item() - ref.item()) <= 1e-12 * abs(ref.item())  # positive terms: no cancellation
    for name, g in grads.items():
        err = matches(name, g, leaves[name].grad)
        GRADIENT_TABLE.append((f"autograd conv n={n} f={f} nf={nf} bias={bias} λ={lam} ε={eps}", name, err))


@pytest.mark.parametrize("bias,lam,eps", [(False, 0.0, 0.0), (True, 0.1, 0.1)])
def test_convnet_gradients_match_centred_differences(bias, lam, eps, gen, one_thread):
    X, y, model = problem(3, 8, 4, 2, 5, 4, gen, conv_bias=bias, lam=lam, label_smoothing=eps)
    for name, (max_err, norm_err) in check_model_gradients(model, X, y).items():
        assert norm_err <= 1e-7, f"{name}: norm-wise relative error {norm_err:.3e} > 1e-7"  # gradcheck.py's bound
        GRADIENT_TABLE.append((f"finite diff conv bias={bias} λ={lam} ε={eps}", name, max_err))


def test_label_smoothing_targets_value_and_gradient(gen):
    scores = torch.randn(9, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randint(6, (9,), generator=gen)
    Y = smoothed_targets(y, 6, 0.1, torch.float64)
    assert torch.allclose(Y.sum(1), torch.ones(9, dtype=torch.float64), rtol=0, atol=1e-15)
    assert Y[0, y[0]] == 0.9 and Y[0, (y[0] + 1) % 6] == 0.1 / 5  # ε/(K − 1), not ε/K
    ref = F.cross_entropy(scores, y, label_smoothing=0.1 * 6 / 5)
    ref.backward()
    # a mean of 54 terms of a few roundings each: ~1e-14 relative
    assert abs(smoothed_ce_forward(scores.detach(), y, 0.1).item() - ref.item()) <= 1e-13 * ref.item()
    matches("dscores", smoothed_ce_backward(scores.detach(), y, 0.1), scores.grad)


def test_he_init_and_a_loss_of_about_ln_K_at_the_start(gen):
    model = ConvNet(3072, 10, f=4, nf=40, nh=300, conv_bias=True, generator=gen, dtype=torch.float64)
    for name, fan_in in (("F", 48), ("W1", 64 * 40), ("W2", 300)):
        std = model.params[name].std().item()  # 1,920 to 768,000 draws: within 10% of √(2/in)
        assert abs(std / (2 / fan_in) ** 0.5 - 1) < 0.1, name
    assert all(not model.params[b].any() for b in ("bF", "b1", "b2"))
    X = torch.randn(50, 3072, generator=gen, dtype=torch.float64)
    loss = model.evaluate(X, torch.randint(10, (50,), generator=gen))[0].item()
    assert 1.5 < loss < 4  # ln 10 = 2.30, with the spread of random He scores


def test_convnet_overfits_a_tiny_set(gen):
    X, y, model = problem(10, 8, 4, 4, 20, 3, gen, conv_bias=True)
    for _ in range(300):
        for name, g in model.gradients(X, y).items():
            model.params[name] -= 0.1 * g
    assert model.evaluate(X, y)[2].item() == 1.0


def test_scores_in_chunks_equal_one_pass(gen, monkeypatch):
    """The chunked evaluation computes each image's scores with the same sums; BLAS may order a
    product of 3 rows differently from one of 7, so to float64 rounding of sums of ≤ 48 terms."""
    from linclf_torch.nn import convnet
    X, _, model = problem(7, 8, 2, 3, 5, 4, gen)
    whole = model.forward(X)[0]
    monkeypatch.setattr(convnet, "CHUNK", 3)
    matches("scores", model.scores(X), whole)


def course_mx(X, f):
    """MX as a student builds it with numpy, from X (3072, n) in the course's layout (the text's loops)."""
    n = X.shape[1]
    X_ims = np.transpose(X.reshape((32, 32, 3, n), order="F"), (1, 0, 2, 3))
    n_p = (32 // f) ** 2
    MX = np.zeros((n_p, f * f * 3, n))
    for i in range(n):
        l = 0
        for r in range(32 // f):
            for c in range(32 // f):
                MX[l, :, i] = X_ims[r * f:(r + 1) * f, c * f:(c + 1) * f, :, i].reshape((1, f * f * 3), order="C")
                l += 1
    return MX


@pytest.mark.parametrize("f", [4, 8])
def test_course_layout_mx_and_filters_against_conv2d(f, gen):
    """MX from the course's column layout and pixel order, the course's einsum with Fs_flat, and
    F.conv2d on the library's images: the same convolution; the helpers convert exactly."""
    n, nf = 3, 5
    X_rows = torch.randn(n, 3072, generator=gen, dtype=torch.float64)
    X = X_rows.T.numpy()  # the course's (3072, n): a column is a CIFAR-10 row
    Fs = torch.randn(f, f, 3, nf, generator=gen, dtype=torch.float64)
    MX = course_mx(X, f)
    assert np.array_equal(course_patch_matrix(torch.from_numpy(X), f).numpy(), MX)
    assert torch.equal(images_from_columns(torch.from_numpy(X)), X_rows.view(n, 3, 32, 32))
    Fs_flat = Fs.numpy().reshape((f * f * 3, nf), order="C")
    conv_outputs_mat = np.einsum("ijn,jl->iln", MX, Fs_flat)  # (n_p, nf, n)
    ref = F.conv2d(X_rows.view(n, 3, 32, 32), filters_from_course(Fs), stride=f)  # (n, nf, 32/f, 32/f)
    matches("MX ⋆ Fs", torch.from_numpy(conv_outputs_mat), ref.flatten(2).permute(2, 1, 0))
    assert torch.equal(filters_from_course(torch.from_numpy(Fs_flat)), filters_from_course(Fs))
    assert torch.equal(filters_to_course(filters_from_course(Fs)), Fs)
    assert np.array_equal(filters_to_course(filters_from_course(Fs), flat=True).numpy(), Fs_flat)


@pytest.mark.cuda
@pytest.mark.parametrize("bias,lam,eps", [(False, 0.0, 0.0), (True, 0.1, 0.1)])
def test_convnet_gradients_on_cuda_equal_the_cpus(bias, lam, eps, gen):
    """The same float64 model on both devices: the same sums in other orders, within 1e-12."""
    X, y, model = problem(7, 32, 4, 5, 6, 10, gen, conv_bias=bias, lam=lam, label_smoothing=eps)
    on_cpu = model.gradients(X, y)
    model.params = {k: v.cuda() for k, v in model.params.items()}
    on_cuda = model.gradients(X.cuda(), y.cuda())
    for name, g in on_cpu.items():
        assert on_cuda[name].device.type == "cuda"
        matches(name, on_cuda[name].cpu(), g)
