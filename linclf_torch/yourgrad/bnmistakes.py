"""Batch normalisation's backward as students write it, right and with each known mistake.

The right pass is DD2424 Assignment 3's BatchNormBackPass (here rows are samples, as in nn/):
    σ₁ = (v + ε)^−½, σ₂ = (v + ε)^−³⁄₂, G₁ = G ⊙ σ₁, G₂ = G ⊙ σ₂, D = S − μ, c = Σᵢ G₂ ⊙ D
    G ← G₁ − (1/n) Σᵢ G₁ − (1/n) D ⊙ c
with G the per-example gradient arriving at Ŝ. A Variant switches one piece of it, or of the
k-layer network around it, to what the mistakes compute:
    centring   the centring term −(1/n) Σᵢ G₁ (the path through μ) left out
    variance   the variance term −(1/n) D ⊙ c (the path through v) left out, or with 1/(n − 1)
    swapped    σ₁ and σ₂ swapped
    unbiased   v with 1/(n − 1), torch.var's default, where the assignment's v has 1/n
    gamma_n    ∂J/∂γ = (1/n) Σᵢ G ⊙ Ŝ and ∂J/∂β = (1/n) Σᵢ G without their 1/n      (network)
    times_γ    G ← G ⊙ γ before the pass left out                                     (network)
Every pass has an ε inside, whichever the student chose: fit_eps finds it from the gradient.
Imports nn's layers and losses; nothing here is the library's reference (nn/ is).
"""
import itertools
from dataclasses import dataclass

import torch

from ..nn.layers import (
    batch_statistics,
    batchnorm_forward,
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
)
from ..nn.losses import l2_penalty_backward


@dataclass(frozen=True)
class Variant:
    centring: bool = True
    variance: str = "1/n"      # the variance term's factor: "1/n", "1/(n−1)" or "none"
    swapped: bool = False
    unbiased: bool = False
    gamma_n: bool = True
    times_gamma: bool = True

    def mistakes(self):
        """The mistakes this variant makes, as the report says them ([] for the right pass)."""
        said = []
        if not self.centring:
            said.append("the centring term −(1/n)(G₁1)1ᵀ left out (the gradient through μ)")
        if self.variance == "none":
            said.append("the variance term −(1/n) D ⊙ (c1ᵀ) left out (the gradient through v)")
        if self.variance == "1/(n−1)":
            said.append("1/(n − 1) in place of 1/n in the variance term −(1/n) D ⊙ (c1ᵀ)")
        if self.swapped:
            said.append("σ₁ = (v + ε)^−½ and σ₂ = (v + ε)^−³⁄₂ swapped")
        if self.unbiased:
            said.append("the variance v with 1/(n − 1) (torch.var's and np.var(ddof=1)'s; the assignment's v has 1/n)")
        if not self.gamma_n:
            said.append("∂J/∂γ and ∂J/∂β without their 1/n")
        if not self.times_gamma:
            said.append("G ← G ⊙ γ1ᵀ left out before the pass")
        return said


LAYER_OPTIONS = {"centring": (True, False), "variance": ("1/n", "none", "1/(n−1)"), "swapped": (False, True),
                 "unbiased": (False, True)}
NETWORK_OPTIONS = {**LAYER_OPTIONS, "gamma_n": (True, False), "times_gamma": (True, False)}


def variants(options):
    """Every wrong Variant the options make, fewest mistakes first."""
    made = [Variant(**dict(zip(options, values))) for values in itertools.product(*options.values())]
    return sorted((v for v in made if v.mistakes()), key=lambda v: len(v.mistakes()))


def backpass(G, S, mu, v, eps, variant):
    """The batch-norm backward of `variant`, rows are samples.

    Inputs:  G (n, m) the gradient at Ŝ (per example, or with the loss's 1/n: the pass is
             linear in G), S (n, m), mu (m,), v (m,) with 1/n, eps ≥ 0
    Returns: the gradient at S (n, m), scaled like G
    """
    n = S.shape[0]
    if variant.unbiased:
        v = v * n / (n - 1)                               # (m,)
    s1, s2 = (v + eps) ** -0.5, (v + eps) ** -1.5          # (m,) each
    if variant.swapped:
        s1, s2 = s2, s1
    G1, D = G * s1, S - mu                                 # (n, m) each
    c = (G * s2 * D).sum(0)                                # (m,)
    out = G1 - G1.mean(0) if variant.centring else G1      # (n, m)
    if variant.variance != "none":
        out = out - D * c / (n if variant.variance == "1/n" else n - 1)
    return out


def network_gradients(params, X, y, lam, eps, variant, loss_backward):
    """The k-layer network's gradients (batch norm after every hidden layer, batch statistics)
    as `variant` computes them: {W_l, b_l, gamma_l, beta_l} like the model's params. The linear
    layers, ReLU and L2 term are nn/'s own; only batch norm and its γ, β gradients vary.

    Inputs: params of MLPClassifier(batchnorm=True); X (n, d); y (n,); loss_backward from losses.py
    """
    n, k = X.shape[0], sum(key.startswith("W") for key in params)
    a, caches = X, []
    for l in range(1, k + 1):
        S, linear_cache = linear_forward(a, params[f"W{l}"], params[f"b{l}"])  # (n, m_l)
        if l == k:
            caches.append((linear_cache, None))
            break
        mu, v = batch_statistics(S)                                             # (m_l,) each
        v_used = v * n / (n - 1) if variant.unbiased else v
        out, (S_hat, _, _) = batchnorm_forward(S, params[f"gamma{l}"], params[f"beta{l}"], mu, v_used, eps)
        a, relu_cache = relu_forward(out)                                       # (n, m_l)
        caches.append((linear_cache, (S, mu, v, S_hat, relu_cache)))
    dS, grads = loss_backward(S, y), {}                                         # (n, K), with the loss's 1/n
    for l in range(k, 0, -1):
        linear_cache, bn = caches[l - 1]
        if bn is not None:
            S, mu, v, S_hat, relu_cache = bn
            dS = relu_backward(dS, relu_cache)                                  # (n, m_l)
            per = 1 if variant.gamma_n else n
            grads[f"gamma{l}"], grads[f"beta{l}"] = (dS * S_hat).sum(0) * per, dS.sum(0) * per
            if variant.times_gamma:
                dS = dS * params[f"gamma{l}"]
            dS = backpass(dS, S, mu, v, eps, variant)                           # (n, m_l): linear in G
        dS, dW, grads[f"b{l}"] = linear_backward(dS, linear_cache, input_grad=l > 1)
        grads[f"W{l}"] = l2_penalty_backward(params[f"W{l}"], lam, dW)          # (m_l, m_(l−1)): + 2λW_l
    return {key: grads[key] for key in params}


def fit_eps(given, at, start=1e-5, steps=12):
    """The ε ≥ 0 at which at(ε) (a flat tensor) is nearest `given` in least squares: Gauss–Newton
    from `start`, the derivative by a forward difference. A right pass's gradient depends on ε
    only through (v + ε)^−½, so its own ε is found to about 1e-10 relative of v."""
    eps = start
    for _ in range(steps):
        g = at(eps)
        h = 1e-4 * max(eps, 1e-7)
        J = (at(eps + h) - g) / h
        if not torch.isfinite(J).all() or not (J @ J) > 0:
            break
        step = ((given - g) @ J / (J @ J)).item()
        new = min(max(eps + step, 0.0), 0.1)  # v + ε stays positive; an ε beyond 0.1 is no small constant
        if abs(new - eps) <= 1e-12 * max(eps, 1e-12):
            return new
        eps = new
    return eps
