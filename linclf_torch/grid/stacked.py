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

The losses are nn.losses' own functions (each run of equal losses uses its first model's pair,
which for a ConvNet includes its label smoothing, shared by its group). Their backward acts row by row (softmax over the
last dimension, the one-hot of the shared labels, division by n = len(y)), so applied to a
stack (G, n, K) it gives every configuration's dS at once; the values, needed once per
epoch, go through vmap. The L2 gradient 2λW (nn.losses.l2_penalty_backward) is added into
dW in place, with λ (G, 1, 1): on CPU a fresh (G, K, d) temporary per step costs more than
the addition (the allocator returns such blocks to the OS and page-faults them back).

Batch norm is nn.layers' own pair too. A stack of pre-activations (G, n, m) seen as (n, G, m)
(a transposed view) has the batch along dimension 0, where nn's functions reduce, and γ, β,
μ, v (G, m) broadcast over it: every configuration is normalised with its own batch
statistics, and its running averages, (G, m) buffers, move by mlp.py's rule.
"""
import torch
from torch.func import vmap

from ..nn.layers import batch_statistics, batchnorm_backward, batchnorm_forward, relu_backward, relu_forward
from ..nn.losses import l2_penalty_forward
from ..nn.mlp import MLPClassifier
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
        self.buffers = {k: torch.stack([m.buffers[k] for m in models]) for k in models[0].buffers}  # (G, m) each
        self.batchnorm = getattr(models[0], "batchnorm", False)
        if self.batchnorm:
            self.alpha, self.eps = models[0].alpha, models[0].eps

    def forward(self, X, train=True):
        """Scores (G, n, K), per layer (linear, batch norm or None, ReLU or None) caches, and the
        batch statistics {l: (μ_l, v_l)} used, each (G, m): MLPClassifier.forward for all G."""
        h, caches, stats = X, [], {}
        for l, (w, b) in enumerate(self.layers, start=1):
            linear = wide_linear_forward if l == 1 else batched_linear_forward  # the first input is shared
            s, linear_cache = linear(h, self.params[w], self.params[b])       # (G, n, out)
            if l == len(self.layers):
                caches.append((linear_cache, None, None))
                return s, caches, stats
            bn_cache = None
            if self.batchnorm:
                t = s.transpose(0, 1)                                          # (n, G, out): the batch first
                if train or not self.buffers:
                    stats[l] = batch_statistics(t)                             # (G, out), (G, out)
                mu, v = stats[l] if l in stats else (self.buffers[f"mu{l}"], self.buffers[f"v{l}"])
                t, bn_cache = batchnorm_forward(t, self.params[f"gamma{l}"], self.params[f"beta{l}"], mu, v,
                                                self.eps)                      # (n, G, out)
                s = t.transpose(0, 1)                                          # (G, n, out)
            h, relu_cache = relu_forward(s)                                    # (G, n, out)
            caches.append((linear_cache, bn_cache, relu_cache))

    def backward(self, dscores, caches):
        """Every configuration's gradients from its dS (G, n, K), by nn's MLPClassifier.backward."""
        dh, grads, lam = dscores, {}, self.lam.view(-1, 1, 1)
        for l in range(len(self.layers), 0, -1):
            (w, b), (linear_cache, bn_cache, relu_cache) = self.layers[l - 1], caches[l - 1]
            ds = dh if relu_cache is None else relu_backward(dh, relu_cache)                  # (G, n, out)
            if bn_cache is not None:
                dt, grads[f"gamma{l}"], grads[f"beta{l}"] = batchnorm_backward(ds.transpose(0, 1), bn_cache)
                ds = dt.transpose(0, 1)                                                       # (G, n, out)
            if l == 1:
                dW, grads[b] = wide_linear_backward(ds, linear_cache)         # (G, out, d), (G, out)
            else:
                dh, dW, grads[b] = batched_linear_backward(ds, linear_cache)  # (G, n, in), (G, out, in), (G, out)
            grads[w] = dW.addcmul_(lam, self.params[w], value=2) if self.any_lam else dW  # (G, out, in): + 2λW
        return {k: grads[k] for k in self.params}

    update_averages = MLPClassifier.update_averages  # the same rule, on (G, m) statistics

    def gradients(self, X, y):
        scores, caches, stats = self.forward(X)                                     # (G, n, K)
        self.update_averages(stats)
        parts = [self.models[rows.start].loss_backward(scores[rows], y) for _, rows in self.losses]  # (G', n, K) each
        return self.backward(parts[0] if len(parts) == 1 else torch.cat(parts), caches)

    def evaluate(self, X, y):
        """(loss, cost, accuracy) of every configuration, each (G,), on the device."""
        scores = self.forward(X, train=False)[0]                                         # (G, n, K)
        loss = torch.cat([vmap(self.models[rows.start].loss_forward, in_dims=(0, None))(scores[rows], y)
                          for _, rows in self.losses])                                   # (G,)
        penalty = sum(vmap(l2_penalty_forward)(self.params[w], self.lam) for w, _ in self.layers)  # (G,)
        return loss, loss + penalty, vmap(accuracy, in_dims=(0, None))(scores.argmax(-1), y)

    def unstack(self):
        """Point each model's params and buffers at its slice of the stacked ones (views: no copy)."""
        for g, model in enumerate(self.models):
            model.params = {k: v[g] for k, v in self.params.items()}
            model.buffers = {k: v[g] for k, v in self.buffers.items()}


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
