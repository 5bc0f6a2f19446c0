"""The manual MLP + manual SGD against torch.nn + torch.optim.SGD: equal to 1e-10 after every step.

Why 1e-10: both sides compute the same float64 math in other kernels (BLAS sums, fused or unfused
multiply-adds), so each step's gradients differ by ~n·ε ≈ 1e-14 relative; 12 small steps carry
that into parameters of size ~0.1-1 as ≲ 1e-13, and 1e-10 entry-wise leaves room for an entry
near zero."""
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close
from linclf_torch.data.prepare import Data
from linclf_torch.nn.optim import SGD
from linclf_torch.training.batches import batches, draw_epoch
from linclf_torch.training.config import TrainConfig
from linclf_torch.training.loop import build_model, train

# (lr, momentum, weight_decay, dampening, nesterov): INF265's five models, then momentum
# without weight decay (where a buffer that aliases the gradient goes wrong), dampening, nesterov
CONFIGS = [
    (0.01, 0.0, 0.0, 0.0, False),
    (0.01, 0.0, 0.01, 0.0, False),
    (0.01, 0.85, 0.0, 0.0, False),
    (0.01, 0.85, 0.01, 0.0, False),
    (0.05, 0.85, 0.01, 0.0, False),
    (0.1, 0.9, 0.0, 0.0, False),
    (0.05, 0.85, 0.01, 0.3, False),
    (0.05, 0.85, 0.0, 0.0, True),
    (0.05, 0.85, 0.01, 0.0, True),
]
CFG = TrainConfig(model="mlp", hidden=(9, 5), batch_size=16, epochs=3, shuffle=True, dtype="float64", device="cpu")


def toy_data(gen, n=50, d=12, K=3):
    """Random float64 features; n = 50 in batches of 16 ends with a batch of 2."""
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randint(K, (n,), generator=gen)
    stats = torch.zeros(3, 2, 2, dtype=torch.float64)
    return Data(X_train=X, y_train=y, X_val=X[:10], y_val=y[:10], test_images=torch.zeros(10, 3, 2, 2, dtype=torch.uint8),
                y_test=y[:10], X_train_flipped=None, mean=stats, std=stats + 1, classes=tuple("abc"),
                image_shape=(3, 2, 2))  # the test split is never used


def torch_reference(model):
    """nn.Sequential(Linear, ReLU, ..., Linear) holding copies of the model's parameters."""
    modules = []
    for i, (w, b) in enumerate(model.layers):
        W = model.params[w]
        linear = torch.nn.Linear(W.shape[1], W.shape[0], dtype=W.dtype)
        with torch.no_grad():
            linear.weight.copy_(W)
            linear.bias.copy_(model.params[b])
        modules += [torch.nn.ReLU(), linear] if i else [linear]
    return torch.nn.Sequential(*modules)


def nn_params(net):
    """The nn model's parameters under the manual model's names W1, b1, W2, ..."""
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    return {name: p for l, m in enumerate(linears, 1) for name, p in ((f"W{l}", m.weight), (f"b{l}", m.bias))}


@pytest.mark.parametrize("lr,momentum,weight_decay,dampening,nesterov", CONFIGS)
def test_manual_sgd_matches_torch_optim_sgd_after_every_step(lr, momentum, weight_decay, dampening, nesterov, gen):
    data = toy_data(gen)
    cfg = replace(CFG, eta=lr, momentum=momentum, weight_decay=weight_decay)
    model = build_model(cfg, data.X_train.shape[1], 3, "cpu")
    initial = {k: p.clone() for k, p in model.params.items()}
    net = torch_reference(model)
    params = nn_params(net)
    hyper = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, dampening=dampening, nesterov=nesterov)
    mine, theirs = SGD(model.params, **hyper), torch.optim.SGD(net.parameters(), **hyper)

    step = 0
    for epoch in range(cfg.epochs):
        generator = torch.Generator().manual_seed(epoch)
        for Xb, yb in batches(data, cfg, *draw_epoch(data, cfg, generator)):
            _, grads = model.loss(Xb, yb)
            mine.step(grads)
            for g in grads.values():
                g.zero_()  # as zero_grad(set_to_none=False) does to p.grad: must not reach the buffers

            theirs.zero_grad(set_to_none=False)
            F.cross_entropy(net(Xb), yb).backward()
            theirs.step()
            step += 1
            for name, p in params.items():
                assert_close(f"step {step} {name}", model.params[name], p.detach(), tol=1e-10)
    assert step == 12
    moved = max((model.params[k] - initial[k]).abs().max().item() for k in initial)
    assert moved > 1e-3, f"the parameters moved by only {moved:.1e}: the comparison would be empty"


def test_trainer_steps_exactly_like_the_manual_loop(gen):
    """train() feeds model.loss's gradients to SGD with cfg's momentum and weight decay, in batches() order."""
    data = toy_data(gen)
    cfg = replace(CFG, eta=0.05, momentum=0.85, weight_decay=0.01)
    trained = build_model(cfg, 12, 3, "cpu")
    train(trained, data, cfg, progress=False)

    model = build_model(cfg, 12, 3, "cpu")
    optimizer = SGD(model.params, cfg.eta, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed)
    for _ in range(cfg.epochs):
        for Xb, yb in batches(data, cfg, *draw_epoch(data, cfg, generator)):
            optimizer.step(model.loss(Xb, yb)[1])
    for name, p in model.params.items():
        assert torch.equal(trained.params[name], p), name


def test_momentum_and_weight_decay_change_the_result(gen):
    """Each knob has an effect: the equivalence tests above do not compare no-ops."""
    data = toy_data(gen)
    finals = []
    for lr, momentum, weight_decay, *_ in CONFIGS[:4]:
        cfg = replace(CFG, eta=lr, momentum=momentum, weight_decay=weight_decay)
        model = build_model(cfg, 12, 3, "cpu")
        train(model, data, cfg, progress=False)
        finals.append(model.params["W1"])
    for i in range(4):
        for j in range(i):
            assert (finals[i] - finals[j]).abs().max() > 1e-6, f"configs {j} and {i} train the same weights"


def test_first_momentum_step_copies_the_gradient():
    """At t = 1 the buffer is g itself (no (1 − τ) factor), stored as a copy."""
    theta = {"W": torch.ones(3, dtype=torch.float64)}
    g = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    optimizer = SGD(theta, lr=0.1, momentum=0.9, dampening=0.5)
    optimizer.step({"W": g})
    assert torch.equal(optimizer.buffers["W"], g)  # a copy: exact
    assert optimizer.buffers["W"].data_ptr() != g.data_ptr()
    # 1 − 0.1·g, fused or not: at most a rounding of 0.1·g (≤ u·0.3) and of the difference (≤ u·1)
    assert torch.allclose(theta["W"], 1 - 0.1 * g, rtol=0, atol=1e-15)
    optimizer.step({"W": g})  # b = 0.9·g + 0.5·g
    # against 1.4·g: the roundings of 0.9, 0.9·g, the sum, 1.4 and 1.4·g, ≤ u·(0.9+0.9+1.4+1.4+1.4)·|g| = 3ε·|g|
    eps = torch.finfo(torch.float64).eps
    assert ((optimizer.buffers["W"] - 1.4 * g).abs() <= 3 * eps * g.abs()).all()


@pytest.mark.parametrize("momentum,dampening", [(0.0, 0.0), (0.9, 0.1)])
def test_nesterov_needs_momentum_and_no_dampening(momentum, dampening):
    with pytest.raises(ValueError, match="nesterov"):
        SGD({}, lr=0.1, momentum=momentum, dampening=dampening, nesterov=True)
