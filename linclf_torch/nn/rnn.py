"""A character-level vanilla RNN (DD2424 Assignment 4): forward over a sequence, BPTT backward.

Names as the course writes them: K characters, m hidden units, τ steps; parameters in a
dict with keys U (m, K), W (m, m), V (K, m), b (m,), c (K,). A sequence is a vector of
character indices x (τ,) int64 (the course's one-hot columns X (K, τ) are x's one-hot);
hidden states are the rows of H (τ, m), scores the rows of O (τ, K). A mini-batch of n sequences
(the assignment's bonus) adds a dimension after τ: x (τ, n), h0 (n, m), H (τ, n, m), O (τ, n, K),
and the loss is also the mean over the n sequences; n = 1 is the plain (τ,) form, not (τ, 1).

    a_t = W h_{t−1} + U x_t + b,   h_t = tanh(a_t),   o_t = V h_t + c,   p_t = softmax(o_t)
    L = (1/τ) Σ_t −log p_t[y_t]   (reduction "mean", the 2025/26 texts)
      =       Σ_t −log p_t[y_t]   (reduction "sum", the older texts)

The recurrence is the only loop: U x_t is a column lookup U[:, x_t] done for all steps at
once, and V's product, the softmax and every parameter gradient are one product over all τ
steps. The loss is softmax + cross-entropy (losses.py) over the τ rows of O: its mean over the
rows is the "mean" reduction, τ times it the "sum" one.
Gradient clipping is the optimizer's business (optim.clip_gradients), never done here.
Derivation: docs/math.md, "Backpropagation through time".
"""
import math

import torch

from .losses import softmax_ce_backward, softmax_ce_forward

REDUCTIONS = ("mean", "sum")
PARAMS = ("U", "W", "V", "b", "c")  # the course's order of the dict RNN


def init_rnn(K, m, generator, device="cpu", dtype=torch.float32):
    """The course's init: U ~ N(0, 1)/√(2K), W ~ N(0, 1)/√(2m), V ~ N(0, 1)/√m, b = c = 0.

    Drawn on the CPU from `generator` (so CPU and CUDA runs start equal), then moved.
    """
    def normal(rows, cols, scale):
        return (torch.randn(rows, cols, generator=generator, dtype=torch.float64) * scale).to(device, dtype)

    return {"U": normal(m, K, 1 / math.sqrt(2 * K)),               # (m, K)
            "W": normal(m, m, 1 / math.sqrt(2 * m)),               # (m, m)
            "V": normal(K, m, 1 / math.sqrt(m)),                   # (K, m)
            "b": torch.zeros(m, device=device, dtype=dtype),       # (m,)
            "c": torch.zeros(K, device=device, dtype=dtype)}       # (K,)


def rnn_forward(x, h0, params):
    """The RNN over one sequence (or a batch of n): hidden states and scores of every step.

    Math:
        a_t = W h_{t−1} + U[:, x_t] + b,   h_t = tanh(a_t)      t = 1 … τ (the loop)
        O = H Vᵀ + c                                             (all steps in one product)
    Inputs:  x (τ,) int64 character indices, h0 (m,), params {U, W, V, b, c};
             or a batch: x (τ, n), h0 (n, m) (each row a sequence's h: h_t ← tanh(h_{t−1} Wᵀ + …))
    Returns: O (τ, K), H (τ, m) (H[-1] is the h to carry on), cache for rnn_backward;
             a batch: O (τ, n, K), H (τ, n, m)
    """
    U, W, V, b, c = (params[k] for k in PARAMS)
    batch = x.dim() == 2
    UXb = U.T[x] + b                     # (τ, m) or (τ, n, m): U x_t + b for every t, a row lookup of Uᵀ
    h, hs, WT = h0, [], W.T
    for t in range(len(x)):
        h = (torch.addmm(UXb[t], h, WT) if batch else torch.addmv(UXb[t], W, h)).tanh()  # (m,) or (n, m)
        hs.append(h)
    H = torch.stack(hs)                  # (τ, m) or (τ, n, m)
    O = torch.addmm(c, H.reshape(-1, H.shape[-1]), V.T).reshape(*H.shape[:-1], -1)  # (τ, K) or (τ, n, K)
    return O, H, (x, h0, H, params)


def rnn_backward(dO, cache):
    """Backpropagation through time: the gradients of L given dL/dO.

    Math (d· = dL/d·, ⊙ entry-wise, h_0 = h0 enters W's gradient at t = 1):
        dV = dOᵀ H,   dc = Σ_t do_t,   dH = dO V                (all steps at once)
        da_τ = dh_τ ⊙ (1 − h_τ²)
        da_t = (dh_t + Wᵀ da_{t+1}) ⊙ (1 − h_t²)                 t = τ−1 … 1 (the loop)
        dW = Σ_t da_t h_{t−1}ᵀ = dAᵀ [h0; H[:−1]],   db = Σ_t da_t
        dU[:, k] = Σ_{t: x_t = k} da_t                           (a scatter-add over x)
    A batch sums every sum over t over its n sequences too: the same products with τ·n rows.
    Inputs:  dO (τ, K) (a batch: (τ, n, K)), cache from rnn_forward
    Returns: {U: dU (m, K), W: dW (m, m), V: dV (K, m), b: db (m,), c: dc (K,)}
    """
    x, h0, H, params = cache
    U, W, V = params["U"], params["W"], params["V"]
    batch, m, K = x.dim() == 2, W.shape[0], V.shape[0]
    dH = dO @ V                          # (τ, m) or (τ, n, m): dL/dh_t through o_t alone
    D = 1 - H * H                        # (τ, m) or (τ, n, m): tanh'(a_t) = 1 − h_t²
    WT = W.T                             # (m, m)
    da, das = torch.zeros_like(h0), []
    for t in range(len(x) - 1, -1, -1):  # da: dh_t (from o_t and from a_{t+1}), through tanh
        da = (torch.addmm(dH[t], da, W) if batch else torch.addmv(dH[t], WT, da)) * D[t]  # (m,) or (n, m)
        das.append(da)
    dA = torch.stack(das[::-1]).reshape(-1, m)                          # (τ·n, m); n = 1 for one sequence
    H_prev = torch.cat([h0.unsqueeze(0), H[:-1]]).reshape(-1, m)        # (τ·n, m): h_{t−1}, h0 first
    H, dO = H.reshape(-1, m), dO.reshape(-1, K)                         # (τ·n, m), (τ·n, K)
    dU = torch.zeros_like(U).index_add_(1, x.reshape(-1), dA.T)         # (m, K)
    return {"U": dU,
            "W": dA.T @ H_prev,          # (m, m)
            "V": dO.T @ H,               # (K, m)
            "b": dA.sum(0),              # (m,)
            "c": dO.sum(0)}              # (K,)


def rnn_loss_forward(O, y, reduction="mean"):
    """The loss of scores O (τ, K) for next characters y (τ,): softmax + cross-entropy.

    Math:    L = (1/τ) Σ_t −log p_t[y_t] ("mean"),  or τ times that ("sum");
             a batch, O (τ, n, K) and y (τ, n): the mean of that over the n sequences
    Returns: L, a 0-dim tensor
    """
    loss = softmax_ce_forward(O.reshape(-1, O.shape[-1]), y.reshape(-1))  # (): the mean over the τ·n steps
    return loss if reduction == "mean" else loss * len(y)


def rnn_loss_backward(O, y, reduction="mean"):
    """Gradient of rnn_loss_forward with respect to O.

    Math:    dO = (P − Y) / τ ("mean"),  P − Y ("sum"),  Y the one-hot rows of y;  a batch: also / n
    Returns: dO shaped as O
    """
    dO = softmax_ce_backward(O.reshape(-1, O.shape[-1]), y.reshape(-1)).reshape(O.shape)  # (P − Y) / (τ·n)
    return dO if reduction == "mean" else dO * len(y)


def rnn_gradients(x, y, h0, params, reduction="mean"):
    """The course's ComputeGradients: loss, gradients and the last hidden state of one sequence.

    Inputs:  x (τ,) and y (τ,) int64 (y_t = x_{t+1} in the text), h0 (m,), params {U, W, V, b, c},
             reduction "mean" or "sum"; a batch of n sequences: x, y (τ, n), h0 (n, m)
    Returns: (L a 0-dim tensor, grads {U, W, V, b, c} shaped as params, h_τ (m,) or (n, m))
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    O, H, cache = rnn_forward(x, h0, params)
    loss = rnn_loss_forward(O, y, reduction)
    return loss, rnn_backward(rnn_loss_backward(O, y, reduction), cache), H[-1]


def rnn_cost(x, y, h0, params, reduction="mean"):
    """The loss alone (forward only): what centred differences perturb."""
    O, _, _ = rnn_forward(x, h0, params)
    return rnn_loss_forward(O, y, reduction)
