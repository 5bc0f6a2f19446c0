"""The k-layer network of DD2424 Assignments 2 and 3, optionally with batch normalisation.

MLPClassifier follows the model contract of models.py and backpropagates layer by layer
through layers.py's forward/backward pairs.
"""
import math

import torch

from .layers import (
    batch_statistics,
    batchnorm_backward,
    batchnorm_forward,
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
    running_average,
)
from .losses import l2_penalty_backward
from .models import Classifier

INITS = ("torch", "dd2424", "he")  # or a float σ


class MLPClassifier(Classifier):
    """Multi-layer perceptron d → hidden[0] → … → hidden[-1] → K, ReLU after every hidden layer.

    S = f_L(… relu(f_2(relu(f_1(X))))), f_l(a) = a W_lᵀ + b_l. Parameters W1, b1, …, W_L, b_L
    with W_l (out, in) like nn.Linear.weight; the cost J = L + λ Σ_l ‖W_l‖² puts L2 on every
    weight matrix, no bias. hidden=() is the linear classifier.

    The two-layer network of DD2424 Assignment 2 is hidden=(m,): d → m, ReLU → K.
    Math (n examples, dS from the loss, losses.py; for CE dS = (P − Y) / n):
        H  = relu(X W1ᵀ + b1)               (n, m)   hidden activations
        S  = H W2ᵀ + b2                     (n, K)   scores
        J  = L(S, y) + λ (‖W1‖² + ‖W2‖²)
        dW2 = dSᵀ H + 2λ W2                 (K, m)
        db2 = Σᵢ dSᵢ                         (K,)
        dH  = dS W2 ⊙ [H > 0]               (n, m)   back through the ReLU
        dW1 = dHᵀ X + 2λ W1                 (m, d)
        db1 = Σᵢ dHᵢ                         (m,)
    backward() computes exactly these, layer by layer, for any depth.

    batchnorm=True (DD2424 Assignment 3) normalises every hidden layer's S_l before its ReLU,
    S̃_l = γ_l ⊙ (S_l − μ_l) / √(v_l + ε) + β_l (layers.py), with parameters gamma_l (ones)
    and beta_l (zeros), no L2. Training (gradients, cost) uses the batch's μ_l, v_l; every
    gradients() call, a training step, also moves the running averages
        μ_av,l ← α μ_av,l + (1 − α) μ_l,   v_av,l likewise   (the first step sets them)
    which are state, not parameters: self.buffers mu_l, v_l, used by scores() and evaluate().
    Before the first step there are none, and evaluation normalises with the evaluated
    batch's own statistics. b_l before a batch norm is superfluous: μ_l absorbs it, db_l = 0.

    init, how each layer l with `in` inputs is drawn:
        "torch"   nn.Linear's default: W_l and b_l ~ U(−1/√in, 1/√in) (kaiming_uniform_, a = √5)
        "dd2424"  W_l ~ N(0, 1/in) (std 1/√in), b_l = 0, as DD2424 Assignment 2
        "he"      W_l ~ N(0, 2/in) (std √(2/in)), b_l = 0 (He et al. 2015, for ReLU)
        σ (float) W_l ~ N(0, σ²) in every layer, b_l = 0 (DD2424 Assignment 3's experiments)
    Drawn in float64 on the CPU from `generator`, layer by layer (W_l, then b_l for "torch"),
    so that the same seed gives the same weights on every device and dtype.
    """

    def __init__(self, d, hidden, K, *, loss="ce", lam=0.0, generator=None, init="torch", batchnorm=False,
                 alpha=0.9, eps=1e-5, device="cpu", dtype=torch.float32):
        super().__init__(loss, lam)
        if not (init in INITS or (isinstance(init, (int, float)) and not isinstance(init, bool) and init > 0)):
            raise ValueError(f"init must be one of {INITS} or a float σ > 0 (got {init!r})")
        self.batchnorm, self.alpha, self.eps = batchnorm, alpha, eps
        sizes = [d, *hidden, K]
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            W, b = init_layer(n_in, n_out, init, generator)  # (out, in), (out,)
            self.params[f"W{l}"] = W.to(device=device, dtype=dtype)
            self.params[f"b{l}"] = b.to(device=device, dtype=dtype)
            self.layers.append((f"W{l}", f"b{l}"))
        for l in range(1, len(sizes) - 1) if batchnorm else ():
            self.params[f"gamma{l}"] = torch.ones(sizes[l], device=device, dtype=dtype)   # (m_l,)
            self.params[f"beta{l}"] = torch.zeros(sizes[l], device=device, dtype=dtype)   # (m_l,)

    def forward(self, X, train=True):
        """Scores, the caches backward needs per layer (linear, batch norm or None, ReLU or
        None), and {l: (μ_l, v_l)} the batch statistics used (train=True, with batch norm).
        train=False normalises with the running averages, once there are any."""
        a, caches, stats = X, [], {}
        for l, (w, b) in enumerate(self.layers, start=1):
            s, linear_cache = linear_forward(a, self.params[w], self.params[b])  # (n, out)
            if l == len(self.layers):
                caches.append((linear_cache, None, None))
                return s, caches, stats
            bn_cache = None
            if self.batchnorm:
                if train or not self.buffers:
                    stats[l] = batch_statistics(s)                               # (out,), (out,)
                mu, v = stats[l] if l in stats else (self.buffers[f"mu{l}"], self.buffers[f"v{l}"])
                s, bn_cache = batchnorm_forward(s, self.params[f"gamma{l}"], self.params[f"beta{l}"],
                                                mu, v, self.eps)                 # (n, out)
            a, relu_cache = relu_forward(s)                                      # (n, out)
            caches.append((linear_cache, bn_cache, relu_cache))

    def scores(self, X):
        return self.forward(X, train=False)[0]  # (n, K)

    def cost(self, X, y):
        """J on (X, y) with the batch's own statistics, what gradients() differentiates."""
        return self.loss_forward(self.forward(X)[0], y) + self.penalty()

    def backward(self, dscores, caches):
        """Gradients of J = L + λ Σ_l ‖W_l‖² from dscores = dL/dS, by backpropagation.

        Math (layer l, from the output back; dS_L = dS from the loss, losses.py):
            dW_l = dS_lᵀ a_(l−1) + 2λW_l,   db_l = Σᵢ dS_l[i],   da_(l−1) = dS_l W_l
            dS̃_(l−1) = da_(l−1) ⊙ [S̃_(l−1) > 0]                   back through the ReLU
            dS_(l−1), dγ_(l−1), dβ_(l−1) = batchnorm_backward(dS̃_(l−1))   with batch norm
        where S_l is layer l's linear output, S̃_l the same after batch norm (S̃_l = S_l
        without it), a_l = relu(S̃_l) and a_0 = X.
        Inputs:  dscores (n, K); caches from forward
        Returns: grads: a tensor like each parameter, same keys as params
        """
        da, grads = dscores, {}  # the output layer has no ReLU: its dS is dscores
        for l in range(len(self.layers), 0, -1):
            (w, b), (linear_cache, bn_cache, relu_cache) = self.layers[l - 1], caches[l - 1]
            ds = da if relu_cache is None else relu_backward(da, relu_cache)                     # (n, out)
            if bn_cache is not None:
                ds, grads[f"gamma{l}"], grads[f"beta{l}"] = batchnorm_backward(ds, bn_cache)     # (n, out), (out,) ×2
            # the first layer's input is X: its gradient is never needed
            da, dW, grads[b] = linear_backward(ds, linear_cache, input_grad=l > 1)  # (n, in), (out, in), (out,)
            grads[w] = l2_penalty_backward(self.params[w], self.lam, dW)            # (out, in): + 2λW_l
        return {k: grads[k] for k in self.params}

    def gradients(self, X, y):
        """dJ/dθ on the batch (X, y): forward with batch statistics, dS from the loss,
        backward; a training step, so batch norm's running averages move (update_averages)."""
        scores, caches, stats = self.forward(X)  # (n, K)
        self.update_averages(stats)
        return self.backward(self.loss_backward(scores, y), caches)

    def update_averages(self, stats):
        """μ_av,l ← α μ_av,l + (1 − α) μ_l and v_av,l likewise; the first call sets them to μ_l, v_l."""
        for l, (mu, v) in stats.items():
            first = f"mu{l}" not in self.buffers
            self.buffers[f"mu{l}"] = mu if first else running_average(self.buffers[f"mu{l}"], mu, self.alpha)  # (m,)
            self.buffers[f"v{l}"] = v if first else running_average(self.buffers[f"v{l}"], v, self.alpha)      # (m,)


def init_layer(n_in, n_out, init, generator):
    """A layer's (W (out, in), b (out,)) in float64 on the CPU, by MLPClassifier's init rule."""
    if init == "torch":
        bound = 1 / math.sqrt(n_in)
        W = (torch.rand(n_out, n_in, generator=generator, dtype=torch.float64) * 2 - 1) * bound  # (out, in)
        b = (torch.rand(n_out, generator=generator, dtype=torch.float64) * 2 - 1) * bound       # (out,)
        return W, b
    std = {"dd2424": 1 / math.sqrt(n_in), "he": math.sqrt(2 / n_in)}.get(init, init)
    W = torch.randn(n_out, n_in, generator=generator, dtype=torch.float64) * std  # (out, in)
    return W, torch.zeros(n_out, dtype=torch.float64)                             # (out,)
