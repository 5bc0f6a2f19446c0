"""Losses on class scores as forward/backward pairs: forward gives the value, backward dJ/dS.

Conventions, the same everywhere in linclf_torch:
- scores S are (n, K), one row per example, the classes along the last dimension; labels
  y are (n,) int64 and Y is their one-hot (n, K) matrix, Yᵢₖ = [k = yᵢ].
- The data loss is the mean over the n examples of the batch.
- CE   = −log p_y with p = softmax(s):                    dS = (P − Y) / n
- MBCE = −(1/K) Σ_k [y_k log p_k + (1−y_k) log(1−p_k)], p = σ(s):
                                                          dS = (σ(S) − Y) / (K·n)
- The cost is J = loss + λ‖W‖² over weight matrices (never biases): dW gains 2·λ·W.
  (The optimizer's `weight_decay` is a different knob: torch.optim.SGD's g += wd·θ.)
Derivations: docs/math.md.

Value and gradient are separate functions, like the layers' pairs, because their callers
need one or the other: a training step needs only dS, an evaluation only the value. The
gradient depends on the scores alone, so backward takes (scores, y) where a layer takes
its cache.
"""
import torch


def one_hot(y, K, dtype):
    """y (n,) int64 -> Y (n, K) with Yᵢₖ = [k = yᵢ]."""
    Y = torch.zeros(len(y), K, dtype=dtype, device=y.device)  # (n, K)
    return Y.scatter_(1, y.unsqueeze(1), 1.0)                  # (n, K)


def softmax_ce_forward(scores, y):
    """Softmax + cross-entropy, mean over the batch.

    Math:
        log pₖ = sₖ − log Σⱼ exp(sⱼ)   (log-sum-exp, after subtracting max s: no overflow)
        L = −(1/n) Σᵢ log pᵢ,yᵢ
    Inputs:  scores (n, K), y (n,) int64
    Returns: loss, a 0-dim tensor
    """
    logZ = scores.logsumexp(dim=-1)                      # (n,); subtracts the row max first
    s_y = scores.gather(-1, y.unsqueeze(1)).squeeze(1)   # (n,)
    return (logZ - s_y).mean()                         # ()


def softmax_ce_backward(scores, y):
    """Gradient of softmax_ce_forward with respect to the scores.

    Math:    dL/dS = (P − Y) / n,   P = softmax(S) = exp(S − max S) / Σ exp(S − max S), row-wise
    Inputs:  scores (n, K), y (n,) int64
    Returns: dscores (n, K)
    """
    n, K = len(y), scores.shape[-1]
    P = torch.softmax(scores, dim=-1)             # (n, K); subtracts the row max first
    return (P - one_hot(y, K, scores.dtype)) / n  # (n, K)


def sigmoid_mbce_forward(scores, y):
    """Sigmoid + multiple binary cross-entropy (one binary problem per class), mean over the batch.

    Math:
        ℓ(s, y) = −[y log σ(s) + (1−y) log(1−σ(s))] = softplus(s) − y·s
        softplus(s) = max(s, 0) + log(1 + exp(−|s|))   (never log(0), never exp overflow)
        L = (1/(K·n)) Σᵢ Σₖ ℓ(sᵢₖ, Yᵢₖ)
    Inputs:  scores (n, K), y (n,) int64
    Returns: loss, a 0-dim tensor
    """
    K = scores.shape[-1]
    softplus = scores.clamp(min=0) + torch.log1p(torch.exp(-scores.abs()))  # (n, K)
    return (softplus - one_hot(y, K, scores.dtype) * scores).mean()         # (); the mean over n·K entries


def sigmoid_mbce_backward(scores, y):
    """Gradient of sigmoid_mbce_forward with respect to the scores.

    Math:    dL/dS = (σ(S) − Y) / (K·n)
    Inputs:  scores (n, K), y (n,) int64
    Returns: dscores (n, K)
    """
    n, K = len(y), scores.shape[-1]
    return (torch.sigmoid(scores) - one_hot(y, K, scores.dtype)) / (K * n)  # (n, K)


def l2_penalty_forward(W, lam):
    """The L2 term of the cost.

    Math:    R = λ‖W‖² = λ Σᵢⱼ Wᵢⱼ²
    Inputs:  W (K, d), lam a number
    Returns: R, a 0-dim tensor
    """
    return lam * (W * W).sum()  # ()


def l2_penalty_backward(W, lam, dW):
    """Add the gradient of l2_penalty_forward to the data loss's gradient dW, in place.

    Math:    dR/dW = 2λW, so dJ/dW = dW + 2λW
    In place because dW is the fresh output of a backward pass: one pass over W, and no
    (K, d) temporary to allocate at every step.
    Inputs:  W (K, d), lam a number, dW (K, d)
    Returns: dW, after adding 2λW to it
    """
    return dW.add_(W, alpha=2 * lam)  # (K, d)


LOSSES = {"ce": (softmax_ce_forward, softmax_ce_backward),
          "mbce": (sigmoid_mbce_forward, sigmoid_mbce_backward)}
