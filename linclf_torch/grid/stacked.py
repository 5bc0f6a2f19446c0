"""G configurations trained at once: models that share their mini-batches, as one tensor program.

group.py trains the configurations of a group (same architecture, batch size, epochs and data
order) together: their parameters are stacked along a leading configuration dimension,
W (G, K, d), b (G, K), each mini-batch is read once for all of them, and each configuration
keeps its own η, λ, schedule and loss. The math is nn/'s: configuration g ends with the
numbers of its nn model trained alone, up to the order of float sums (tests/test_stacked.py,
tests/test_grid.py).

The wide layer. G linear layers on one shared input X (n, d) are one wide linear layer:
stacking their weights as rows, [W₁; …; W_G] (G·K, d), gives all their scores side by side
in one product X [W₁; …; W_G]ᵀ (n, G·K), and all their weight gradients in one product
[dS₁ … dS_G]ᵀ X (G·K, d). BLAS runs these 3–4× faster per FLOP than G thin (n, K) products,
which is where the batched grid's speed comes from (torch.func.vmap over nn's single-model
layer issues the G thin products: 4× slower here). An MLP's later layers see a different
input per configuration, (G, n, m): batched products, nn's linear layer with a leading G
(written out: vmap over nn's layer costs ~0.1 ms a call and made an MLP grid 18% slower).

The losses are nn.losses' own functions. Their backward acts row by row (softmax over the
last dimension, the one-hot of the shared labels, division by n = len(y)), so applied to a
stack (G, n, K) it gives every configuration's dS at once; the values, needed once per
epoch, go through vmap. The L2 gradient 2λW (nn.losses.l2_penalty_backward) is added into
dW in place, with λ (G, 1, 1): on CPU a fresh (G, K, d) temporary per step costs more than
the addition (the allocator returns such blocks to the OS and page-faults them back).
"""
import torch
from torch.func import vmap

from ..nn.layers import relu_backward, relu_forward
from ..nn.losses import LOSSES, l2_penalty_forward
from ..nn.models import accuracy
from ..nn.optim import SGD
from ..training.state import make_schedule


def wide_linear_forward(X, W, b):
    """G linear layers S_g = X W_gᵀ + b_g on one shared input, as one wide layer.

    Inputs:  X (n, d), W (G, K, d), b (G, K)
    Returns: out (G, n, K), a view of the wide product (n, G·K); cache (X, W)
    """
    G, K, d = W.shape
    wide = X @ W.reshape(G * K, d).T + b.reshape(G * K)  # (n, G·K)
    return wide.view(-1, G, K).transpose(0, 1), (X, W)   # (G, n, K), a view


def wide_linear_backward(dout, cache):
    """Backward of wide_linear_forward for the parameters (its input is data: no dX).

    Math:    dW_g = dout_gᵀ X, db_g = Σᵢ dout_g[i], for all g in one product [dout₁ … dout_G]ᵀ X
    Inputs:  dout (G, n, K); cache from wide_linear_forward
    Returns: dW (G, K, d), db (G, K)
    """
    X, W = cache
    G, K, d = W.shape
    wide = dout.transpose(0, 1).reshape(-1, G * K)  # (n, G·K)
    dW = (wide.T @ X).view(G, K, d)                 # (G, K, d)
    db = wide.sum(0).view(G, K)                     # (G, K)
    return dW, db


def batched_linear_forward(H, W, b):
    """G linear layers S_g = H_g W_gᵀ + b_g, each on its own input.

    Inputs:  H (G, n, m), W (G, K, m), b (G, K)
    Returns: out (G, n, K), cache (H, W)
    """
    out = H @ W.transpose(1, 2) + b.unsqueeze(1)  # (G, n, K)
    return out, (H, W)


def batched_linear_backward(dout, cache):
    """Backward of batched_linear_forward: nn.layers.linear_backward for each g.

    Math:    dH_g = dout_g W_g,   dW_g = dout_gᵀ H_g,   db_g = Σᵢ dout_g[i]
    Inputs:  dout (G, n, K); cache from batched_linear_forward
    Returns: dH (G, n, m), dW (G, K, m), db (G, K)
    """
    H, W = cache
    dH = dout @ W                   # (G, n, m)
    dW = dout.transpose(1, 2) @ H   # (G, K, m)
    db = dout.sum(1)                # (G, K)
    return dH, dW, db


class StackedClassifier:
    """G models of one architecture (nn/models.py) as one: the model contract (params,
    gradients, evaluate) with a leading configuration dimension on every parameter and result."""

    def __init__(self, models):
        self.models, self.layers = models, models[0].layers
        self.params = {k: torch.stack([m.params[k] for m in models]) for k in models[0].params}  # (G, ...)
        W = self.params[self.layers[0][0]]
        self.lam = torch.tensor([m.lam for m in models], dtype=W.dtype, device=W.device)  # (G,)
        self.any_lam = any(m.lam for m in models)  # known here: asking the tensor would sync
        self.losses = loss_runs([m.loss_name for m in models])

    def forward(self, X):
        """Scores (G, n, K) and, per layer, (ReLU cache or None, linear cache), as nn's MLP."""
        w, b = self.layers[0]
        h, cache = wide_linear_forward(X, self.params[w], self.params[b])  # (G, n, m)
        caches = [(None, cache)]
        for w, b in self.layers[1:]:
            h, relu_cache = relu_forward(h)                                    # (G, n, in)
            h, cache = batched_linear_forward(h, self.params[w], self.params[b])  # (G, n, out)
            caches.append((relu_cache, cache))
        return h, caches

    def backward(self, dscores, caches):
        """Every configuration's gradients from its dS (G, n, K), by nn's MLPClassifier.backward."""
        dh, grads, lam = dscores, {}, self.lam.view(-1, 1, 1)
        for (w, b), (relu_cache, cache) in zip(reversed(self.layers), reversed(caches)):
            if relu_cache is None:
                dW, grads[b] = wide_linear_backward(dh, cache)          # (G, K, d), (G, K)
            else:
                da, dW, grads[b] = batched_linear_backward(dh, cache)   # (G, n, in), (G, out, in), (G, out)
                dh = relu_backward(da, relu_cache)                      # (G, n, in)
            grads[w] = dW.addcmul_(lam, self.params[w], value=2) if self.any_lam else dW  # (G, out, in): + 2λW
        return {k: grads[k] for k in self.params}

    def gradients(self, X, y):
        scores, caches = self.forward(X)                                            # (G, n, K)
        parts = [LOSSES[name][1](scores[rows], y) for name, rows in self.losses]    # (G', n, K) each
        return self.backward(parts[0] if len(parts) == 1 else torch.cat(parts), caches)

    def evaluate(self, X, y):
        """(loss, cost, accuracy) of every configuration, each (G,), on the device."""
        scores = self.forward(X)[0]                                                      # (G, n, K)
        loss = torch.cat([vmap(LOSSES[name][0], in_dims=(0, None))(scores[rows], y)
                          for name, rows in self.losses])                                # (G,)
        penalty = sum(vmap(l2_penalty_forward)(self.params[w], self.lam) for w, _ in self.layers)  # (G,)
        return loss, loss + penalty, vmap(accuracy, in_dims=(0, None))(scores.argmax(-1), y)

    def unstack(self):
        """Point each model's params at its slice of the stacked params (views: no copy)."""
        for g, model in enumerate(self.models):
            model.params = {k: v[g] for k, v in self.params.items()}


def loss_runs(names):
    """[(loss name, slice of configurations)]: each run of equal names, in order (group.py sorts
    a group by loss, so each loss is one slice and a slice of the stack is a view)."""
    runs, start = [], 0
    for stop in range(1, len(names) + 1):
        if stop == len(names) or names[stop] != names[start]:
            runs.append((names[start], slice(start, stop)))
            start = stop
    return runs


class StackedSGD(SGD):
    """nn's SGD on stacked parameters with one learning rate per configuration, lr (G,)."""

    @torch.no_grad()
    def step(self, grads):
        for name, p in self.params.items():
            lr = self.lr.view(-1, *[1] * (p.dim() - 1))                  # (G, 1, …)
            p.addcmul_(lr, self.direction(name, grads[name]), value=-1)  # θ_g ← θ_g − η_g·g_g


class PerConfig:
    """G schedules side by side, one per configuration: each of the G etas moves by its own
    schedule and validation loss; etas and val_losses are sequences of G numbers."""

    def __init__(self, specs):
        self.schedules = [make_schedule(spec) for spec in specs]

    def __call__(self, etas, epoch, val_losses):
        return [s(eta, epoch, v) for s, eta, v in zip(self.schedules, etas, val_losses)]
