"""Optimizers by hand: SGD, Adam and AdaGrad, each torch.optim's documented update rule.

All three take params {name: tensor}, update them in place with step(grads) (grads: the
same keys) and save their moments with state_dict / load_state_dict (a resumed run goes on
bit for bit). clip_gradients is the older A4 texts' clipping, done by the training step
before step(), never inside a gradient function.

SGD:

For every parameter θ with gradient g at step t (lr η, momentum μ, dampening τ,
weight decay wd):
    g ← g + wd·θ
    if μ ≠ 0:  b ← g                       at t = 1 (a copy: never an alias of g)
               b ← μ·b + (1 − τ)·g         at t > 1
               g ← g + μ·b  if nesterov, else  g ← b
    θ ← θ − η·g
With μ = wd = 0 this is DD2424's mini-batch gradient descent, θ ← θ − η·∇J.
The first buffer must be a copy: an alias of g would be changed by whoever owns g (torch
zeroes or accumulates p.grad in place), and the in-place b ← μ·b + … would change g.
The tests check every setting against torch.optim.SGD, parameter by parameter, every step.

Adam (torch.optim.Adam, no weight decay, no amsgrad; DD2424 A4: β1 0.9, β2 0.999, ε 1e-8):
    m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²       (m = v = 0 before step 1)
    θ ← θ − (η / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
AdaGrad (torch.optim.Adagrad, no lr decay): G ← G + g²,  θ ← θ − η·g / (√G + ε), ε = 1e-10.
The older A4 texts put ε inside the root, √(G + ε): the two differ only where √G is not large
beside √ε (entries whose gradients have all been tiny, which the inside form moves less); the
torch form is kept, so that the tests can hold it to torch.optim.Adagrad.
The tests compare both with torch.optim on the same gradients (tests/test_rnn_optim.py).
"""
import torch


class SGD:
    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        if nesterov and (momentum <= 0 or dampening != 0):  # torch.optim.SGD's own rule
            raise ValueError("nesterov momentum needs momentum > 0 and dampening = 0")
        self.params, self.lr = params, lr
        self.momentum, self.dampening = momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self.buffers = {}  # name -> momentum buffer b, created at the first step

    @torch.no_grad()
    def step(self, grads):
        """θ ← θ − η·g for every parameter, in place; grads has the keys of params."""
        for name, p in self.params.items():
            p.add_(self.direction(name, grads[name]), alpha=-self.lr)  # fused: no temporary η·g

    def direction(self, name, g):
        """The g of the update θ ← θ − η·g: the gradient after weight decay and momentum.

        Advances parameter `name`'s momentum buffer; call it once per step.
        """
        if self.weight_decay:
            g = g + self.weight_decay * self.params[name]
        if self.momentum:
            b = self.buffers.get(name)
            if b is None:
                b = self.buffers[name] = g.clone()
            else:
                b.mul_(self.momentum).add_(g, alpha=1 - self.dampening)
            g = g + self.momentum * b if self.nesterov else b
        return g

    def state_dict(self):
        return {"lr": self.lr, "buffers": dict(self.buffers)}

    def load_state_dict(self, state):
        self.lr, self.buffers = state["lr"], dict(state["buffers"])


def clip_gradients(grads, bound):
    """Every gradient entry clipped to [−bound, bound] (the older A4 texts: 5), in place.

    Math:    g ← min(max(g, −bound), bound), entry-wise
    Returns: grads
    """
    for g in grads.values():
        g.clamp_(-bound, bound)
    return grads


class Adam:
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, tuple(betas), eps
        self.t = 0                                                       # steps taken
        self.m = {k: torch.zeros_like(p) for k, p in params.items()}    # first moments
        self.v = {k: torch.zeros_like(p) for k, p in params.items()}    # second moments

    @torch.no_grad()
    def step(self, grads):
        """One Adam update of every parameter, in place (the module docstring's rule)."""
        (beta1, beta2), self.t = self.betas, self.t + 1
        step_size = self.lr / (1 - beta1 ** self.t)
        root_bias = (1 - beta2 ** self.t) ** 0.5
        for name, p in self.params.items():
            g, m, v = grads[name], self.m[name], self.v[name]
            m.lerp_(g, 1 - beta1)                         # β1·m + (1 − β1)·g, as torch computes it
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            p.addcdiv_(m, (v.sqrt() / root_bias).add_(self.eps), value=-step_size)

    def state_dict(self):
        return {"lr": self.lr, "t": self.t, "m": dict(self.m), "v": dict(self.v)}

    def load_state_dict(self, state):
        self.lr, self.t = state["lr"], state["t"]
        for k, p in self.params.items():
            self.m[k], self.v[k] = state["m"][k].to(p), state["v"][k].to(p)


class AdaGrad:
    def __init__(self, params, lr=0.1, eps=1e-10):
        self.params, self.lr, self.eps = params, lr, eps
        self.G = {k: torch.zeros_like(p) for k, p in params.items()}  # sums of squared gradients

    @torch.no_grad()
    def step(self, grads):
        """One AdaGrad update of every parameter, in place (the module docstring's rule)."""
        for name, p in self.params.items():
            g, G = grads[name], self.G[name]
            G.addcmul_(g, g)
            p.addcdiv_(g, G.sqrt().add_(self.eps), value=-self.lr)

    def state_dict(self):
        return {"lr": self.lr, "G": dict(self.G)}

    def load_state_dict(self, state):
        self.lr = state["lr"]
        self.G = {k: state["G"][k].to(p) for k, p in self.params.items()}
