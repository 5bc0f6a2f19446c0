"""Losses on class scores, each returning (loss, dscores): the value and its gradient.

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
"""
import torch


def one_hot(y, K, dtype):
    """y (n,) int64 -> Y (n, K) with Y[i, y_i] = 1."""
    Y = torch.zeros(y.shape[0], K, dtype=dtype, device=y.device)  # (n, K)
    return Y.scatter_(1, y.unsqueeze(1), 1.0)


def softmax_ce(scores, y):
    """Softmax + cross-entropy, mean over the batch.

    Math:
        log pᵢ = sᵢ − log Σⱼ exp(sⱼ)   (log-sum-exp, after subtracting max s: no overflow)
        L = −(1/n) Σ_rows log p_y
        dL/dS = (P − Y) / n
    Inputs:  scores (..., n, K), y (n,) int64
    Returns: loss (...,), dscores (..., n, K)
    """
    n, K = scores.shape[-2:]
    logP = scores - scores.logsumexp(-1, keepdim=True)  # (..., n, K); logsumexp subtracts the row max first
    Y = one_hot(y, K, scores.dtype)                     # (n, K)
    loss = -(logP * Y).sum((-2, -1)) / n                # (...,)
    dscores = (logP.exp() - Y) / n                      # (..., n, K)
    return loss, dscores


def sigmoid_mbce(scores, y):
    """Sigmoid + multiple binary cross-entropy (one binary problem per class), mean over the batch.

    Math:
        ℓ(s, y) = −[y log σ(s) + (1−y) log(1−σ(s))] = softplus(s) − y·s
        softplus(s) = max(s, 0) + log(1 + exp(−|s|))   (never log(0), never exp overflow)
        L = (1/(K·n)) Σ_rows Σ_k ℓ(s_k, y_k)
        dL/dS = (σ(S) − Y) / (K·n)
    Inputs:  scores (..., n, K), y (n,) int64
    Returns: loss (...,), dscores (..., n, K)
    """
    n, K = scores.shape[-2:]
    Y = one_hot(y, K, scores.dtype)                                       # (n, K)
    softplus = scores.clamp(min=0) + torch.log1p(torch.exp(-scores.abs()))  # (..., n, K)
    loss = (softplus - Y * scores).sum((-2, -1)) / (K * n)               # (...,)
    dscores = (torch.sigmoid(scores) - Y) / (K * n)                      # (..., n, K)
    return loss, dscores


def l2_penalty(W, lam, dW=None):
    """The L2 term of the cost: λ‖W‖², summed over the last two dimensions.

    Math:  R = λ Σᵢⱼ Wᵢⱼ² = λ‖W‖²,   dR/dW = 2λW
    Inputs:  W (..., K, d); lam a float, or a tensor broadcastable to W (e.g. (G, 1, 1));
             dW (..., K, d), optional: the data loss's gradient, to which 2λW is then added
             in place (a training step's case: one pass over W and no temporary)
    Returns: penalty (...,), and 2λW (..., K, d), or the given dW after adding 2λW to it
    """
    squared_norm = torch.linalg.vector_norm(W, dim=(-2, -1), keepdim=True).square()  # (..., 1, 1)
    penalty = (lam * squared_norm).squeeze((-2, -1))                                  # (...,)
    if dW is None:
        return penalty, 2 * lam * W                   # (..., K, d)
    if torch.is_tensor(lam):
        return penalty, dW.addcmul_(lam, W, value=2)  # dW += 2λW
    return penalty, dW.add_(W, alpha=2 * lam)         # dW += 2λW


LOSSES = {"ce": softmax_ce, "mbce": sigmoid_mbce}
