"""Classifiers with hand-written backward passes.

The model contract (cs231n's Solver), which the trainer, CLI and plots rely on:
    model.params           dict[str, Tensor]; weight matrices are named "W..." and carry L2
                           (LinearClassifier: W, b; MLPClassifier: W1, b1, W2, b2, ...)
    model.scores(X)        class scores (n, K), forward only
    model.loss(X, y)       (cost, grads) with grads.keys() == params.keys()
    model.predict(X)       (n,) predicted labels
    model.evaluate(X, y)   (loss, cost, accuracy) as device tensors, no gradients
"""
import math

import torch

from .errors import LinclfError
from .layers import linear_backward, linear_forward, relu_backward, relu_forward
from .losses import LOSSES, l2_penalty


class Classifier:
    """What every classifier shares: linear layers with ReLU between them, the loss, L2, metrics.

    Scores are s = f_L(… relu(f_2(relu(f_1(X))))), with f_l(h) = h W_lᵀ + b_l and
    self.layers naming each (W_l, b_l) pair in self.params, input to output. One layer is
    the linear classifier. Leading dimensions of the parameters broadcast (see layers.py).
    """

    def __init__(self, loss="ce", lam=0.0):
        if loss not in LOSSES:
            raise LinclfError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)}")
        self.loss_name, self.loss_fn, self.lam = loss, LOSSES[loss], lam
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

    def loss(self, X, y):
        """Cost J = L(s(X), y) + λ Σ_l ‖W_l‖² and its gradients, by backpropagation.

        Math (layer l, from the output back; dh_L = dS from the loss, losses.py):
            dW_l = dh_lᵀ a_(l−1) + 2λW_l,   db_l = Σₙ dh_l[n]
            da_(l−1) = dh_l W_l,            dh_(l−1) = da_(l−1) ⊙ [h_(l−1) > 0]
        where h_l is layer l's output before ReLU and a_l = relu(h_l), a_0 = X.
        Inputs:  X (..., n, d), y (n,)
        Returns: cost (...,), grads: a tensor like each parameter, same keys as params
        """
        scores, caches = self.forward(X)                  # (..., n, K)
        loss, dh = self.loss_fn(scores, y)                # (...,), (..., n, K)
        penalty, dpenalty = self.penalty()
        grads = {}
        for (w, b), (relu_cache, linear_cache) in zip(reversed(self.layers), reversed(caches)):
            # only the first layer has no ReLU before it; its input is X, whose gradient is never needed
            da, dW, db = linear_backward(dh, linear_cache, input_grad=relu_cache is not None)
            grads[w], grads[b] = dW + dpenalty[w], db     # (..., out, in), (..., out)
            if relu_cache is not None:
                dh = relu_backward(da, relu_cache)        # (..., n, in)
        return loss + penalty, {k: grads[k] for k in self.params}

    def penalty(self):
        """λ Σ ‖W‖² over the weight matrices, and its gradient for each of them."""
        terms = {k: l2_penalty(p, self.lam) for k, p in self.params.items() if k.startswith("W")}
        total = sum(penalty for penalty, _ in terms.values())
        return total, {k: dW for k, (_, dW) in terms.items()}

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


MODELS = ("linear", "mlp")


def build_model(cfg, d, K, device):
    """A freshly initialised model for TrainConfig cfg, from a generator seeded with cfg.seed."""
    generator = torch.Generator().manual_seed(cfg.seed)
    common = dict(loss=cfg.loss, lam=cfg.lam, generator=generator, device=device, dtype=cfg.torch_dtype)
    if cfg.model == "mlp":
        return MLPClassifier(d, cfg.hidden, K, **common)
    return LinearClassifier(d, K, **common)
