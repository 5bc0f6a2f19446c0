"""Stochastic gradient descent by hand: torch.optim.SGD's documented update rule.

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
