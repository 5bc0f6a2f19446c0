"""Adam and AdaGrad by hand (nn/optim.py) against torch.optim on the same gradients, and clipping.

Each optimizer does torch.optim's single-tensor arithmetic in the same order (lerp, mul/addcmul,
sqrt, division, addcdiv), so on the CPU the two agree bit for bit: the same computation, the same
process. On CUDA, torch.optim takes its multi-tensor path by default; foreach=False asks for the
same single-tensor one there too.
"""
from copy import deepcopy

import pytest
import torch

from linclf_torch.nn.optim import AdaGrad, Adam, clip_gradients

SHAPES = {"U": (6, 5), "W": (6, 6), "V": (5, 6), "b": (6,), "c": (5,)}


def trajectories(ours, theirs, gen, device, steps=25):
    """Run both optimizers on the same gradient sequence; yield both parameter dicts after each step."""
    params = {k: torch.randn(s, generator=gen, dtype=torch.float64).to(device) for k, s in SHAPES.items()}
    mine = {k: v.clone() for k, v in params.items()}
    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    opt, ref = ours(mine), theirs(list(leaves.values()))
    for _ in range(steps):
        grads = {k: torch.randn(s, generator=gen, dtype=torch.float64).to(device) * 3 for k, s in SHAPES.items()}
        opt.step(grads)
        for k, p in leaves.items():
            p.grad = grads[k].clone()
        ref.step()
        yield mine, {k: p.detach() for k, p in leaves.items()}


@pytest.mark.parametrize("lr,betas,eps", [(0.001, (0.9, 0.999), 1e-8), (0.05, (0.8, 0.99), 1e-6)])
def test_adam_equals_torch(gen, device, lr, betas, eps):
    for mine, theirs in trajectories(lambda p: Adam(p, lr, betas, eps),
                                     lambda p: torch.optim.Adam(p, lr, betas, eps, foreach=False), gen, device):
        for k in SHAPES:
            assert torch.equal(mine[k], theirs[k]), k


@pytest.mark.parametrize("lr", [0.1, 0.01])
def test_adagrad_equals_torch(gen, device, lr):
    for mine, theirs in trajectories(lambda p: AdaGrad(p, lr),
                                     lambda p: torch.optim.Adagrad(p, lr, foreach=False), gen, device):
        for k in SHAPES:
            assert torch.equal(mine[k], theirs[k]), k


@pytest.mark.parametrize("make", [lambda p: Adam(p, 0.01), lambda p: AdaGrad(p, 0.1)])
def test_state_dict_continues_bit_for_bit(gen, make):
    """Save after 5 steps, load into a fresh optimizer over copies: the next 5 steps are identical."""
    params = {k: torch.randn(s, generator=gen, dtype=torch.float64) for k, s in SHAPES.items()}
    grads = [{k: torch.randn(s, generator=gen, dtype=torch.float64) for k, s in SHAPES.items()} for _ in range(10)]
    opt = make(params)
    for g in grads[:5]:
        opt.step(g)
    copy = {k: v.clone() for k, v in params.items()}
    resumed = make(copy)
    resumed.load_state_dict(deepcopy(opt.state_dict()))  # a copy: as torch.load gives it back
    for g in grads[5:]:
        opt.step(g)
        resumed.step(g)
    for k in SHAPES:
        assert torch.equal(params[k], copy[k]), k


def test_clip_gradients():
    grads = {"W": torch.tensor([[-7.0, 0.5], [5.0, 6.0]]), "b": torch.tensor([-5.0, 4.9])}
    clip_gradients(grads, 5)
    assert torch.equal(grads["W"], torch.tensor([[-5.0, 0.5], [5.0, 5.0]]))
    assert torch.equal(grads["b"], torch.tensor([-5.0, 4.9]))
