"""Classifiers with hand-written backward passes.

The model contract (cs231n's Solver), which the trainer, CLI and plots rely on:
    model.params           dict[str, Tensor]; weight matrices are named "W..." and carry L2
    model.scores(X)        class scores (n, K), forward only
    model.loss(X, y)       (cost, grads) with grads.keys() == params.keys()
    model.predict(X)       (n,) predicted labels
    model.evaluate(X, y)   (loss, cost, accuracy) as device tensors, no gradients

Because layers and losses broadcast over leading dimensions, the same classes also hold G
models at once (stack_models): every parameter gains a leading configuration dimension
(W (G, K, d), b (G, K)), λ is a (G, 1, 1) tensor and the outputs gain a leading G.
"""
import copy

import torch

from .errors import LinclfError
from .layers import linear_backward, linear_forward
from .losses import LOSSES, l2_penalty


class Classifier:
    """What every classifier shares: the loss choice, the L2 term, prediction and metrics."""

    def __init__(self, loss="ce", lam=0.0):
        if loss not in LOSSES:
            raise LinclfError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)}")
        self.loss_name, self.loss_fn, self.lam = loss, LOSSES[loss], lam
        self.params = {}

    def penalty(self):
        """λ Σ ‖W‖² over the weight matrices, and its gradient for each of them."""
        terms = {k: l2_penalty(p, self.lam) for k, p in self.params.items() if k.startswith("W")}
        total = sum(penalty for penalty, _ in terms.values())
        return total, {k: dW for k, (_, dW) in terms.items()}

    def add_penalty(self, loss, grads):
        """Cost J = loss + λ Σ ‖W‖² and its gradients: each weight matrix's gradient gains 2λW,
        added in place (grads are the fresh output of a backward pass).

        At λ = 0 (a number, not a tensor of per-configuration λ) there is nothing to add.
        """
        if not torch.is_tensor(self.lam) and self.lam == 0:
            return loss, grads
        for k in grads:
            if k.startswith("W"):
                penalty, grads[k] = l2_penalty(self.params[k], self.lam, grads[k])
                loss = loss + penalty
        return loss, grads

    def predict(self, X):
        return self.scores(X).argmax(-1)  # (..., n)

    def evaluate(self, X, y):
        """Data loss, cost J = loss + λΣ‖W‖² and accuracy on (X, y), as tensors on the device."""
        scores = self.scores(X)                                   # (..., n, K)
        loss, _ = self.loss_fn(scores, y)                         # (...,)
        accuracy = (scores.argmax(-1) == y).to(scores.dtype).mean(-1)  # (...,)
        return loss, loss + self.penalty()[0], accuracy


class LinearClassifier(Classifier):
    """One-layer classifier s = X Wᵀ + b, with W (K, d) and b (K,).

    Init as in DD2424: W ~ N(0, std²) with std = 0.01, b = 0, drawn on the CPU from
    `generator` so that the same seed gives the same weights on every device.
    """

    def __init__(self, d, K, *, loss="ce", lam=0.0, generator=None, std=0.01,
                 device="cpu", dtype=torch.float32):
        super().__init__(loss, lam)
        W = torch.randn(K, d, generator=generator, dtype=torch.float64) * std  # (K, d)
        self.params = {"W": W.to(device=device, dtype=dtype),
                       "b": torch.zeros(K, device=device, dtype=dtype)}  # (K,)

    def scores(self, X):
        return linear_forward(X, self.params["W"], self.params["b"])[0]  # (n, K)

    def loss(self, X, y):
        """Cost J = L(s(X), y) + λ‖W‖² and its gradients.

        Math:  dS = loss gradient (losses.py),  dW = dSᵀ X + 2λW,  db = Σₙ dS[n]
        Inputs:  X (n, d), y (n,)
        Returns: cost (scalar tensor), {"W": dW (K, d), "b": db (K,)}
        """
        scores, cache = linear_forward(X, self.params["W"], self.params["b"])  # (n, K)
        loss, dscores = self.loss_fn(scores, y)                                # (n, K)
        _, dW, db = linear_backward(dscores, cache, input_grad=False)          # (K, d), (K,)
        return self.add_penalty(loss, {"W": dW, "b": db})


MODELS = ("linear",)


def build_model(cfg, d, K, device):
    """A freshly initialised model for TrainConfig cfg, from a generator seeded with cfg.seed."""
    generator = torch.Generator().manual_seed(cfg.seed)
    common = dict(loss=cfg.loss, lam=cfg.lam, generator=generator, device=device, dtype=cfg.torch_dtype)
    return LinearClassifier(d, K, **common)


def stack_models(models):
    """G models of one architecture and shape as one model with a leading configuration dimension.

    The result's params are the models' params stacked, (G, ...), so training it trains all G
    in one tensor program; its λ is the (G, 1, 1) tensor of their λ (l2_penalty broadcasts it)
    and configuration g keeps its own loss. unstack_models makes the models views of it again.
    """
    batched = copy.copy(models[0])
    batched.params = {k: torch.stack([m.params[k] for m in models]) for k in models[0].params}
    lams = [m.lam for m in models]
    if any(lams):
        W = batched.params[next(k for k in batched.params if k.startswith("W"))]
        batched.lam = torch.tensor(lams, dtype=W.dtype, device=W.device).view(-1, 1, 1)  # (G, 1, 1)
    batched.loss_fn = per_config_loss([m.loss_name for m in models])
    return batched


def unstack_models(batched, models):
    """Point each model's params at its slice of the batched params (views: no copy)."""
    for g, model in enumerate(models):
        model.params = {k: v[g] for k, v in batched.params.items()}


def per_config_loss(names):
    """The loss function of G stacked models whose configuration g uses the loss names[g].

    One loss for all: that loss. Mixed: each run of equal names (a slice of the configuration
    dimension, so a view) goes to its own loss and the results are concatenated.
    """
    if len(set(names)) == 1:
        return LOSSES[names[0]]
    runs, start = [], 0
    for stop in range(1, len(names) + 1):
        if stop == len(names) or names[stop] != names[start]:
            runs.append((LOSSES[names[start]], slice(start, stop)))
            start = stop

    def loss_fn(scores, y):
        parts = [fn(scores[rows], y) for fn, rows in runs]  # each: (G', ...), (G', n, K)
        return torch.cat([loss for loss, _ in parts]), torch.cat([dscores for _, dscores in parts])
    return loss_fn
