"""Classifiers with hand-written backward passes.

The model contract (cs231n's Solver), which the trainer, CLI and plots rely on:
    model.params           dict[str, Tensor]; weight matrices are named "W..." and carry L2
                           (LinearClassifier: W, b; MLPClassifier: W1, b1, W2, b2, ...)
    model.scores(X)        class scores (n, K), forward only
    model.loss(X, y)       (cost, grads) with grads.keys() == params.keys()
    model.gradients(X, y)  grads alone, what a training step uses (no cost value computed)
    model.predict(X)       (n,) predicted labels
    model.evaluate(X, y)   (loss, cost, accuracy) as device tensors, no gradients

Because layers and losses broadcast over leading dimensions, the same classes also hold G
models at once (stack_models): every parameter gains a leading configuration dimension
(W (G, K, d), b (G, K)), λ is a (G, 1, 1) tensor and the outputs gain a leading G.
"""
import copy
import math

import torch

from .errors import LinclfError
from .layers import linear_backward, linear_forward, relu_backward, relu_forward
from .losses import LOSSES, l2_penalty_backward, l2_penalty_forward


class Classifier:
    """What every classifier shares: linear layers with ReLU between them, the loss, L2, metrics.

    Scores are s = f_L(… relu(f_2(relu(f_1(X))))), with f_l(h) = h W_lᵀ + b_l and
    self.layers naming each (W_l, b_l) pair in self.params, input to output. One layer is
    the linear classifier. Leading dimensions of the parameters broadcast (see layers.py).
    """

    def __init__(self, loss="ce", lam=0.0):
        if loss not in LOSSES:
            raise LinclfError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)}")
        self.loss_name, self.lam = loss, lam
        self.loss_forward, self.loss_backward = LOSSES[loss]
        self.params = {}
        self.layers = []  # (weight name, bias name) of each linear layer, input to output

    def forward(self, X):
        """Scores and, per layer, the caches its backward needs: (ReLU cache or None, linear cache)."""
        h, caches = X, []
        for i, (w, b) in enumerate(self.layers):
            relu_cache = None
            if i > 0:
                h, relu_cache = relu_forward(h)                       # (..., n, m)
            h, linear_cache = linear_forward(h, self.params[w], self.params[b])  # (..., n, out)
            caches.append((relu_cache, linear_cache))
        return h, caches

    def scores(self, X):
        return self.forward(X)[0]  # (..., n, K)

    def backward(self, dscores, caches):
        """Gradients of the cost J = L + λ Σ_l ‖W_l‖² from dscores = dL/dS, by backpropagation.

        Math (layer l, from the output back; dh_L = dS from the loss, losses.py):
            dW_l = dh_lᵀ a_(l−1) + 2λW_l,   db_l = Σₙ dh_l[n]
            da_(l−1) = dh_l W_l,            dh_(l−1) = da_(l−1) ⊙ [h_(l−1) > 0]
        where h_l is layer l's output before ReLU and a_l = relu(h_l), a_0 = X.
        Inputs:  dscores (..., n, K); caches from forward
        Returns: grads: a tensor like each parameter, same keys as params
        """
        dh, grads = dscores, {}
        for (w, b), (relu_cache, linear_cache) in zip(reversed(self.layers), reversed(caches)):
            # only the first layer has no ReLU before it; its input is X, whose gradient is never needed
            da, grads[w], grads[b] = linear_backward(dh, linear_cache, input_grad=relu_cache is not None)
            if relu_cache is not None:
                dh = relu_backward(da, relu_cache)        # (..., n, in)
        if torch.is_tensor(self.lam) or self.lam != 0:    # at λ = 0 (a number) there is nothing to add
            for w, _ in self.layers:
                l2_penalty_backward(self.params[w], self.lam, grads[w])  # dW_l += 2λW_l
        return {k: grads[k] for k in self.params}

    def gradients(self, X, y):
        """The gradients of J on (X, y), what a training step needs: J's value is never computed.

        Inputs:  X (..., n, d), y (n,)
        Returns: grads: a tensor like each parameter, same keys as params
        """
        scores, caches = self.forward(X)                  # (..., n, K)
        return self.backward(self.loss_backward(scores, y), caches)

    def loss(self, X, y):
        """Cost J = L(s(X), y) + λ Σ_l ‖W_l‖² and its gradients (the model contract; gradient checks).

        Inputs:  X (..., n, d), y (n,)
        Returns: cost (...,), grads: a tensor like each parameter, same keys as params
        """
        scores, caches = self.forward(X)                  # (..., n, K)
        cost = self.loss_forward(scores, y) + self.penalty()  # (...,)
        return cost, self.backward(self.loss_backward(scores, y), caches)

    def penalty(self):
        """λ Σ_l ‖W_l‖², the cost's L2 term (its gradient is added in backward)."""
        return sum(l2_penalty_forward(self.params[w], self.lam) for w, _ in self.layers)

    def predict(self, X):
        return self.scores(X).argmax(-1)  # (..., n)

    def evaluate(self, X, y):
        """Data loss, cost J = loss + λΣ‖W‖² and accuracy on (X, y), as tensors on the device."""
        scores = self.scores(X)                                   # (..., n, K)
        loss = self.loss_forward(scores, y)                       # (...,)
        accuracy = (scores.argmax(-1) == y).to(scores.dtype).mean(-1)  # (...,)
        return loss, loss + self.penalty(), accuracy


class LinearClassifier(Classifier):
    """One-layer classifier s = X Wᵀ + b, with W (K, d) and b (K,).

    Init as in DD2424: W ~ N(0, std²) with std = 0.01, b = 0, drawn on the CPU from
    `generator` so that the same seed gives the same weights on every device.
    The gradients (Classifier.loss with one layer): dW = dSᵀ X + 2λW, db = Σₙ dS[n].
    """

    def __init__(self, d, K, *, loss="ce", lam=0.0, generator=None, std=0.01,
                 device="cpu", dtype=torch.float32):
        super().__init__(loss, lam)
        W = torch.randn(K, d, generator=generator, dtype=torch.float64) * std  # (K, d)
        self.params = {"W": W.to(device=device, dtype=dtype),
                       "b": torch.zeros(K, device=device, dtype=dtype)}  # (K,)
        self.layers = [("W", "b")]


class MLPClassifier(Classifier):
    """Multi-layer perceptron d → hidden[0] → … → hidden[-1] → K, ReLU after every hidden layer.

    Parameters W1, b1, …, W_L, b_L with W_l (out, in) like nn.Linear.weight. Init follows
    nn.Linear's default rule: W_l and b_l ~ U(−1/√in, 1/√in) (kaiming_uniform_ with a = √5),
    drawn in float64 on the CPU from `generator`, W_l then b_l, layer by layer.
    """

    def __init__(self, d, hidden, K, *, loss="ce", lam=0.0, generator=None,
                 device="cpu", dtype=torch.float32):
        super().__init__(loss, lam)
        sizes = [d, *hidden, K]
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            bound = 1 / math.sqrt(n_in)
            W = (torch.rand(n_out, n_in, generator=generator, dtype=torch.float64) * 2 - 1) * bound  # (out, in)
            b = (torch.rand(n_out, generator=generator, dtype=torch.float64) * 2 - 1) * bound       # (out,)
            self.params[f"W{l}"] = W.to(device=device, dtype=dtype)
            self.params[f"b{l}"] = b.to(device=device, dtype=dtype)
            self.layers.append((f"W{l}", f"b{l}"))


def build_model(cfg, d, K, device):
    """A freshly initialised model for TrainConfig cfg, from a generator seeded with cfg.seed."""
    generator = torch.Generator().manual_seed(cfg.seed)
    common = dict(loss=cfg.loss, lam=cfg.lam, generator=generator, device=device, dtype=cfg.torch_dtype)
    if cfg.model == "mlp":
        return MLPClassifier(d, cfg.hidden, K, **common)
    return LinearClassifier(d, K, **common)


def stack_models(models):
    """G models of one architecture and shape as one model with a leading configuration dimension.

    The result's params are the models' params stacked, (G, ...), so training it trains all G
    in one tensor program; its λ is the (G, 1, 1) tensor of their λ (the l2_penalty pair broadcasts it)
    and configuration g keeps its own loss. unstack_models makes the models views of it again.
    """
    batched = copy.copy(models[0])
    batched.params = {k: torch.stack([m.params[k] for m in models]) for k in models[0].params}
    lams = [m.lam for m in models]
    if any(lams):
        W = batched.params[next(k for k in batched.params if k.startswith("W"))]
        batched.lam = torch.tensor(lams, dtype=W.dtype, device=W.device).view(-1, 1, 1)  # (G, 1, 1)
    batched.loss_forward, batched.loss_backward = per_config_loss([m.loss_name for m in models])
    return batched


def unstack_models(batched, models):
    """Point each model's params at its slice of the batched params (views: no copy)."""
    for g, model in enumerate(models):
        model.params = {k: v[g] for k, v in batched.params.items()}


def per_config_loss(names):
    """The (forward, backward) loss pair of G stacked models whose configuration g uses names[g].

    One loss for all: that loss's pair. Mixed: each run of equal names (a slice of the
    configuration dimension, so a view) goes to its own loss and the results are concatenated.
    """
    if len(set(names)) == 1:
        return LOSSES[names[0]]
    runs, start = [], 0
    for stop in range(1, len(names) + 1):
        if stop == len(names) or names[stop] != names[start]:
            runs.append((LOSSES[names[start]], slice(start, stop)))
            start = stop

    def per_run(i):  # i = 0: forward, each (G', ...); i = 1: backward, each (G', n, K)
        return lambda scores, y: torch.cat([pair[i](scores[rows], y) for pair, rows in runs])
    return per_run(0), per_run(1)
