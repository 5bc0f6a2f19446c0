"""Losses on class scores as forward/backward pairs: forward gives the value, backward dJ/dscores.

Conventions, the same everywhere in linclf_torch:
- scores S is (..., n, K) and labels y are (n,) int64; leading dimensions "..." are
  independent models (for example G hyperparameter configurations trained at once) and
  every reduction is over the last two dimensions only, so the result is (...,).
- The data loss is the mean over the n examples of the batch.
- CE   = −log p_y with p = softmax(s):                    dS = (P − Y) / n
- MBCE = −(1/K) Σ_k [y_k log p_k + (1−y_k) log(1−p_k)], p = σ(s):
                                                          dS = (σ(S) − Y) / (K·n)
- The cost is J = loss + λ‖W‖² over weight matrices (never biases): dW gains 2·λ·W.
  (The optimizer's `weight_decay` is a different knob: torch.optim.SGD's g += wd·θ.)
Y is the one-hot (n, K) matrix of y. Derivations: README, "The math".

Value and gradient are separate functions, like the layers' pairs, because their callers
need one or the other: a training step needs only dS (the value's log-sum-exp would be a
quarter of a linear model's step on CPU), an evaluation only the value. The backward pass
depends on the scores alone, so it takes (scores, y) where a layer takes its cache.
"""
import torch


def one_hot(y, K, dtype):
    """y (n,) int64 -> Y (n, K) with Y[i, y_i] = 1."""
    Y = torch.zeros(y.shape[0], K, dtype=dtype, device=y.device)  # (n, K)
    return Y.scatter_(1, y.unsqueeze(1), 1.0)


def softmax_ce_forward(scores, y):
    """Softmax + cross-entropy, mean over the batch.

    Math:
        log pᵢ = sᵢ − log Σⱼ exp(sⱼ)   (log-sum-exp, after subtracting max s: no overflow)
        L = −(1/n) Σ_rows log p_y
    Inputs:  scores (..., n, K), y (n,) int64
    Returns: loss (...,)
    """
    n = scores.shape[-2]
    logZ = scores.logsumexp(-1)                               # (..., n); subtracts the row max first
    s_y = scores.gather(-1, y.expand(*scores.shape[:-1]).unsqueeze(-1)).squeeze(-1)  # (..., n)
    return (logZ - s_y).sum(-1) / n                           # (...,)


def softmax_ce_backward(scores, y):
    """Gradient of softmax_ce_forward with respect to the scores.

    Math:  dL/dS = (P − Y) / n,  P = softmax(S) = exp(S − max S) / Σ exp(S − max S)
    Inputs:  scores (..., n, K), y (n,) int64
    Returns: dscores (..., n, K)
    """
    n, K = scores.shape[-2:]
    P = torch.softmax(scores, dim=-1)                # (..., n, K); subtracts the row max first
    return (P - one_hot(y, K, scores.dtype)) / n     # (..., n, K)


def sigmoid_mbce_forward(scores, y):
    """Sigmoid + multiple binary cross-entropy (one binary problem per class), mean over the batch.

    Math:
        ℓ(s, y) = −[y log σ(s) + (1−y) log(1−σ(s))] = softplus(s) − y·s
        softplus(s) = max(s, 0) + log(1 + exp(−|s|))   (never log(0), never exp overflow)
        L = (1/(K·n)) Σ_rows Σ_k ℓ(s_k, y_k)
    Inputs:  scores (..., n, K), y (n,) int64
    Returns: loss (...,)
    """
    n, K = scores.shape[-2:]
    Y = one_hot(y, K, scores.dtype)                                         # (n, K)
    softplus = scores.clamp(min=0) + torch.log1p(torch.exp(-scores.abs()))  # (..., n, K)
    return (softplus - Y * scores).sum((-2, -1)) / (K * n)                 # (...,)


def sigmoid_mbce_backward(scores, y):
    """Gradient of sigmoid_mbce_forward with respect to the scores.

    Math:  dL/dS = (σ(S) − Y) / (K·n)
    Inputs:  scores (..., n, K), y (n,) int64
    Returns: dscores (..., n, K)
    """
    n, K = scores.shape[-2:]
    return (torch.sigmoid(scores) - one_hot(y, K, scores.dtype)) / (K * n)  # (..., n, K)


def l2_penalty_forward(W, lam):
    """The L2 term of the cost: λ‖W‖², summed over the last two dimensions.

    Math:  R = λ Σᵢⱼ Wᵢⱼ² = λ‖W‖²
    Inputs:  W (..., K, d); lam a float, or a tensor broadcastable to W (e.g. (G, 1, 1))
    Returns: penalty (...,)
    """
    squared_norm = torch.linalg.vector_norm(W, dim=(-2, -1), keepdim=True).square()  # (..., 1, 1)
    return (lam * squared_norm).squeeze((-2, -1))                                     # (...,)


def l2_penalty_backward(W, lam, dW):
    """Add the L2 term's gradient to the data loss's gradient dW, in place.

    Math:  dR/dW = 2λW, so dJ/dW = dW + 2λW
    In place because dW is the fresh output of a backward pass: one pass over W, no temporary.
    Inputs:  W (..., K, d); lam a float or a tensor broadcastable to W; dW (..., K, d)
    Returns: dW, after adding 2λW to it
    """
    if torch.is_tensor(lam):
        return dW.addcmul_(lam, W, value=2)  # (..., K, d)
    return dW.add_(W, alpha=2 * lam)         # (..., K, d)


LOSSES = {"ce": (softmax_ce_forward, softmax_ce_backward),
          "mbce": (sigmoid_mbce_forward, sigmoid_mbce_backward)}
