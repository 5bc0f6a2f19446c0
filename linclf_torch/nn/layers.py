"""Layers as forward/backward pairs of pure functions: linear, ReLU, batch normalisation.

forward returns (out, cache); backward takes (dout, cache), where dout = dJ/dout has the
shape of out, and returns dJ with respect to each input, each the shape of that input.
A batch X is (n, d), one example per row; W is (K, d) = (out, in), the layout of DD2424's
W and of nn.Linear.weight, so the scores are S = X Wᵀ + b, the same as F.linear.
"""
import torch


def linear_forward(X, W, b):
    """Affine layer S = X Wᵀ + b.

    Math:    Sᵢₖ = Σⱼ Xᵢⱼ Wₖⱼ + bₖ
    Inputs:  X (n, d), W (K, d), b (K,)
    Returns: out (n, K), cache (X, W)
    """
    out = X @ W.T + b  # (n, K)
    return out, (X, W)


def linear_backward(dout, cache, input_grad=True):
    """Backward of S = X Wᵀ + b.

    Math:    dX = dout W,   dW = doutᵀ X,   db = Σᵢ dout[i]
    Inputs:  dout (n, K); cache from linear_forward; input_grad=False skips dX (a
             network's first layer: its input is the data, and dX costs as much as the forward)
    Returns: dX (n, d) or None, dW (K, d), db (K,)
    """
    X, W = cache
    dX = dout @ W if input_grad else None  # (n, d)
    dW = dout.T @ X                        # (K, d)
    db = dout.sum(0)                       # (K,)
    return dX, dW, db


def relu_forward(X):
    """Rectified linear unit h = max(0, x), elementwise.

    Inputs:  X (n, m)
    Returns: out (n, m), cache: out itself, since [x > 0] = [h > 0] is all backward needs
    """
    out = X.clamp(min=0)  # (n, m)
    return out, out


def relu_backward(dout, cache):
    """Backward of h = max(0, x).

    Math:    dX = dout ⊙ [x > 0]   (the derivative at x = 0 is taken as 0, as autograd does)
             [x > 0] = [h > 0] = sign(h), since h ≥ 0
    Inputs:  dout (n, m); cache (the output h) from relu_forward
    Returns: dX (n, m)
    """
    out = cache
    dX = dout * out.sign()  # (n, m): sign(h) is [h > 0] as a float; a bool mask would need a conversion
    return dX


def batch_statistics(S):
    """Mean and variance of every column over the batch, the variance with 1/n.

    Math:    μⱼ = (1/n) Σᵢ Sᵢⱼ,   vⱼ = (1/n) Σᵢ (Sᵢⱼ − μⱼ)²
             1/n, as DD2424 and batch norm's derivation mean, not torch.var's default n − 1
    Inputs:  S (n, m)
    Returns: mu (m,), v (m,)
    """
    mu = S.mean(0)                 # (m,)
    v = (S - mu).square().mean(0)  # (m,)
    return mu, v


def running_average(average, new, alpha):
    """The running average that batch norm evaluates with, moved towards a batch's statistic.

    Math:    μ_av ← α μ_av + (1 − α) μ   (DD2424 Assignment 3; α ≈ 0.9)
                  = μ_av + (1 − α)(μ − μ_av), a linear interpolation: torch.lerp, one operation
    Inputs:  average, new: tensors of one shape; alpha in [0, 1)
    Returns: the new average, same shape
    """
    return torch.lerp(average, new, 1 - alpha)


def batchnorm_forward(S, gamma, beta, mu, v, eps=1e-5):
    """Batch normalisation, then scale and shift: S̃ = γ ⊙ Ŝ + β, Ŝ = (S − μ) / √(v + ε).

    Math:    Ŝᵢⱼ = (Sᵢⱼ − μⱼ) / √(vⱼ + ε),   S̃ᵢⱼ = γⱼ Ŝᵢⱼ + βⱼ
    Training passes the batch's own statistics, mu, v = batch_statistics(S) (and
    batchnorm_backward differentiates through them); evaluation passes the running averages.
    Inputs:  S (n, m), gamma (m,), beta (m,), mu (m,), v (m,), eps a small number
    Returns: out (n, m), cache (Ŝ, γ, 1/√(v + ε))
    """
    rstd = (v + eps).rsqrt()      # (m,)
    S_hat = (S - mu) * rstd       # (n, m)
    out = gamma * S_hat + beta    # (n, m)
    return out, (S_hat, gamma, rstd)


def batchnorm_backward(dout, cache):
    """Backward of S̃ = γ ⊙ (S − μ) / √(v + ε) + β where μ and v are S's batch statistics.

    μ and v depend on every row of S, so each row's dS gets two terms from the whole batch:
    Math (means over the batch i = 1..n, per column):
        dγ = Σᵢ dout ⊙ Ŝ,   dβ = Σᵢ dout,   dŜ = dout ⊙ γ
        dS = (1/√(v + ε)) ⊙ (dŜ − meanᵢ(dŜ) − Ŝ ⊙ meanᵢ(dŜ ⊙ Ŝ))
             the middle term through μ, the last through v
    The two means are the parameter gradients again, meanᵢ(dŜ) = γ dβ / n and
    meanᵢ(dŜ ⊙ Ŝ) = γ dγ / n, so the code reuses them:
        dS = (γ / √(v + ε)) ⊙ (dout − (dβ + Ŝ ⊙ dγ) / n)
    DD2424's BatchNormBackPass (columns are samples, G = n·dŜ the per-example gradient):
        σ₁ = (v + ε)^−½, σ₂ = (v + ε)^−³⁄₂, G₁ = G ⊙ σ₁1ᵀ, G₂ = G ⊙ σ₂1ᵀ, D = S − μ1ᵀ,
        c = (G₂ ⊙ D) 1,   G ← G₁ − (1/n)(G₁1)1ᵀ − (1/n) D ⊙ (c1ᵀ)
    is the same formula: D σ₂ = Ŝ σ₁, so (1/n) D ⊙ c1ᵀ = σ₁ Ŝ ⊙ meanᵢ(G ⊙ Ŝ). Its
    ∂J/∂γ = (1/n)(G ⊙ Ŝ)1 is dγ above: here dout already carries the loss's 1/n.
    Inputs:  dout (n, m); cache from batchnorm_forward, called with the batch statistics
    Returns: dS (n, m), dgamma (m,), dbeta (m,)
    """
    S_hat, gamma, rstd = cache
    n = dout.shape[0]
    dgamma = (dout * S_hat).sum(0)  # (m,)
    dbeta = dout.sum(0)             # (m,)
    dS = (gamma * rstd) * (dout - (dbeta + S_hat * dgamma) / n)  # (n, m)
    return dS, dgamma, dbeta
