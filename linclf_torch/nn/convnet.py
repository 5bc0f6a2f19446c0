"""The ConvNet of DD2424 Assignment 3 (2025/26): a patchify convolution, then two layers.

ConvNet follows the model contract of models.py and backpropagates through conv.py's pair and
layers.py's linear and ReLU pairs.
"""
import functools
import math

import torch

from .conv import conv_backward, conv_forward, patch_order, patchify
from .layers import linear_backward, linear_forward, relu_backward, relu_forward
from .losses import l2_penalty_backward, smoothed_ce_backward, smoothed_ce_forward
from .mlp import init_layer
from .models import Classifier

CHUNK = 2000  # images per forward pass in scores(): evaluation never holds the patches of a whole split


class ConvNet(Classifier):
    """Patchify conv (nf filters f × f × 3, stride f) → ReLU → flatten → nh units, ReLU → K scores.

    Parameters: F (nf, 3, f, f) the filters (conv2d's weight layout), bF (nf,) their biases
    when conv_bias, W1 (nh, n_p·nf), b1 (nh,), W2 (K, nh), b2 (K,); n_p = (s/f)² patches of
    an s × s image (s = 32). A row of X (n, 3·s·s) is read as an image (3, s, s).
    Math (n examples; P = patchify(X) (n, n_p, 3·f·f), conv.py; dS from the loss, dS = (P_soft − Y)/n):
        C  = P Fᵀ + b_F                 (n, n_p, nf)   conv.py: every filter on every patch
        H  = relu(C)                    (n, n_p, nf)
        h  = flatten(H)                 (n, n_p·nf)    entry p·nf + k: patch-major, the course's order
        x1 = relu(h W1ᵀ + b1)           (n, nh)
        S  = x1 W2ᵀ + b2                (n, K)
        J  = L(S, y) + λ (‖F‖² + ‖W1‖² + ‖W2‖²)   (no L2 on biases)
        dW2 = dSᵀ x1 + 2λW2,  db2 = Σᵢ dSᵢ,  dx1 = dS W2 ⊙ [x1 > 0]
        dW1 = dx1ᵀ h + 2λW1,  db1 = Σᵢ dx1ᵢ, dh = dx1 W1
        dC  = unflatten(dh) ⊙ [H > 0]   (n, n_p, nf)
        dF  = Σᵢₚ dC[i, p]ᵀ P[i, p] + 2λF,   db_F = Σᵢₚ dC[i, p]
    The loss: "ce" (softmax + cross-entropy), with label_smoothing = ε > 0 against the targets
    1 − ε on the true class and ε/(K − 1) on the others (losses.py); or "mbce".
    Init (He et al. 2015): every weight ~ N(0, 2/in), in = 3·f·f, n_p·nf, nh; biases 0. Drawn
    in float64 on the CPU from `generator` (F, W1, W2 in turn), so that a seed gives the same
    weights on every device and dtype.
    """

    def __init__(self, d, K, *, f, nf, nh, conv_bias=False, label_smoothing=0.0, loss="ce", lam=0.0,
                 generator=None, device="cpu", dtype=torch.float32):
        super().__init__(loss, lam)
        s = math.isqrt(d // 3)
        if 3 * s * s != d or s % f:
            raise ValueError(f"a ConvNet needs square 3-channel images whose side f = {f} divides (got d = {d})")
        if label_smoothing:
            if loss != "ce":
                raise ValueError("label smoothing is for loss='ce'")
            self.loss_forward = functools.partial(smoothed_ce_forward, eps=label_smoothing)
            self.loss_backward = functools.partial(smoothed_ce_backward, eps=label_smoothing)
        self.f, self.label_smoothing = f, label_smoothing
        self.order = patch_order(s, f, device)                              # (n_p, 3·f·f): patches as a gather
        n_p = (s // f) ** 2
        F, _ = init_layer(3 * f * f, nf, "he", generator)                   # (nf, 3·f·f)
        weights = {"F": F.view(nf, 3, f, f)}                                # (nf, 3, f, f)
        if conv_bias:
            weights["bF"] = torch.zeros(nf, dtype=torch.float64)            # (nf,)
        for l, (n_in, n_out) in enumerate([(n_p * nf, nh), (nh, K)], start=1):
            weights[f"W{l}"], weights[f"b{l}"] = init_layer(n_in, n_out, "he", generator)  # (out, in), (out,)
        self.params = {k: v.to(device=device, dtype=dtype) for k, v in weights.items()}
        self.layers = [("F", "bF" if conv_bias else None), ("W1", "b1"), ("W2", "b2")]  # L2 on F, W1, W2

    def forward(self, X):
        """Scores of the batch X (n, 3·s·s) and the caches backward needs."""
        p, n = self.params, X.shape[0]
        P = patchify(X, self.order)                                    # (n, n_p, 3·f·f)
        C, conv_cache = conv_forward(P, p["F"], p.get("bF"))          # (n, n_p, nf)
        H, relu0 = relu_forward(C)                                     # (n, n_p, nf)
        a1, fc1 = linear_forward(H.view(n, -1), p["W1"], p["b1"])      # (n, nh)
        x1, relu1 = relu_forward(a1)                                   # (n, nh)
        S, fc2 = linear_forward(x1, p["W2"], p["b2"])                  # (n, K)
        return S, (conv_cache, relu0, fc1, relu1, fc2)

    def backward(self, dS, caches):
        """Gradients of J from dS = dL/dS (n, K), layer by layer (the Math of the class)."""
        conv_cache, relu0, fc1, relu1, fc2 = caches
        p, g = self.params, {}
        dx1, dW2, g["b2"] = linear_backward(dS, fc2)                          # (n, nh), (K, nh), (K,)
        dh, dW1, g["b1"] = linear_backward(relu_backward(dx1, relu1), fc1)   # (n, n_p·nf), (nh, n_p·nf), (nh,)
        dC = relu_backward(dh.view(relu0.shape), relu0)                       # (n, n_p, nf)
        dF, dbF = conv_backward(dC, conv_cache)                               # (nf, 3, f, f), (nf,) or None
        for w, dw in (("F", dF), ("W1", dW1), ("W2", dW2)):
            g[w] = l2_penalty_backward(p[w], self.lam, dw)                    # + 2λw
        if dbF is not None:
            g["bF"] = dbF
        return {k: g[k] for k in p}

    def gradients(self, X, y):
        """dJ/dθ on the batch (X, y): forward, dS from the loss, backward."""
        S, caches = self.forward(X)                   # (n, K)
        return self.backward(self.loss_backward(S, y), caches)

    def scores(self, X):
        """Scores (n, K), CHUNK images at a time: the patches and activations of a whole
        split would be as large as the split itself."""
        return torch.cat([self.forward(X[i:i + CHUNK])[0] for i in range(0, len(X), CHUNK)])  # (n, K)
