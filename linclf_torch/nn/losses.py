"""Losses on class scores as forward/backward pairs: forward gives the value, backward dJ/dS.

Conventions, the same everywhere in linclf_torch:
- scores S are (n, K), one row per example, the classes along the last dimension; labels
  y are (n,) int64 and Y is their one-hot (n, K) matrix, Yᵢₖ = [k = yᵢ].
- The data loss is the mean over the n examples of the batch.
- CE   = −log p_y with p = softmax(s):                    dS = (P − Y) / n
- CE with label smoothing ε (DD2424 A3, 2025/26) = −Σ_k Y_ε,k log p_k, Y_ε = 1 − ε on the true
  class and ε/(K − 1) on each other (torch's label_smoothing=ε puts ε/K on every class,
  the true one included: the same targets with its ε = ε·K/(K − 1)):
                                                          dS = (P − Y_ε) / n
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


def smoothed_targets(y, K, eps, dtype):
    """The label-smoothed targets: 1 − ε on the true class, ε/(K − 1) on each of the others.

    Math:    Y_ε = (1 − ε) Y + ε/(K − 1) (1 − Y),   every row sums to 1
    Inputs:  y (n,) int64, K classes, eps in [0, 1)
    Returns: Y_eps (n, K)
    """
    off = eps / (K - 1)
    return one_hot(y, K, dtype) * (1 - eps - off) + off  # (n, K)


def smoothed_ce_forward(scores, y, eps):
    """Softmax + cross-entropy against the label-smoothed targets, mean over the batch.

    Math:    L = −(1/n) Σᵢ Σₖ Y_ε,ik log p_ik,   log p = log_softmax(s) (log-sum-exp)
             ε = 0 is softmax_ce_forward
    Inputs:  scores (n, K), y (n,) int64, eps in [0, 1)
    Returns: loss, a 0-dim tensor
    """
    Y_eps = smoothed_targets(y, scores.shape[-1], eps, scores.dtype)  # (n, K)
    return -(Y_eps * scores.log_softmax(-1)).sum(-1).mean()           # ()


def smoothed_ce_backward(scores, y, eps):
    """Gradient of smoothed_ce_forward with respect to the scores.

    Math:    dL/dS = (P − Y_ε) / n   (as for CE: each row of Y_ε sums to 1)
    Inputs:  scores (n, K), y (n,) int64, eps in [0, 1)
    Returns: dscores (n, K)
    """
    Y_eps = smoothed_targets(y, scores.shape[-1], eps, scores.dtype)  # (n, K)
    return (torch.softmax(scores, dim=-1) - Y_eps) / len(y)           # (n, K)


LOSSES = {"ce": (softmax_ce_forward, softmax_ce_backward),
          "mbce": (sigmoid_mbce_forward, sigmoid_mbce_backward)}
