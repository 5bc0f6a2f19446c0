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
from .judge import judge, judged


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


def flat(grads):
    return torch.cat([g.reshape(-1) for g in grads.values()])


def fit(problem, given):
    """{"eps": your ε}, fitted from your gradients on the first case (its units have batch
    variances 1e-4 … 1 in the layer's, where ε shows); 1e-5 where they are not finite."""
    mine = flat(given)
    if not torch.isfinite(mine).all():
        return {"eps": 1e-5}
    return {"eps": fit_eps(mine, lambda e: flat(problem.reference(e)))}


def fit_forward(problem, P):
    """{"eps": your forward's ε}, fitted from its P (n, K) on the first case, so that your forward is
    judged on its own: its ε need not be found from a backward that may be wrong."""
    return {"eps": fit_eps(P.reshape(-1), lambda e: problem.probabilities(e).reshape(-1))}


def said_fit(fitted, under=""):
    """The note that says your ε."""
    eps = fitted["eps"]
    found = f"{eps:.2g}" if eps > 1e-14 else "0"
    note = (" (larger than the 1e-5 DD2424 suggests: it damps units whose batch variance is near or below it)"
            if eps > 1.01e-5 and not under else "")
    passes = ", so any ε passes" if not under else ""
    return (f"Your ε{under}: {found}, found from your gradient on case 1; the reference uses it on every "
            f"case{passes}{note}.")


def bn_diagnose(report, problems, given, fitted, form, *, options):
    """Name the first Variant (fewest mistakes first, each at the ε that fits it on the first
    failing case) that matches every gradient of every failing case; the results are then
    judged again at that ε, so that the gradients the mistake leaves alone pass."""
    cases = [p.case for p in problems]
    failing = list(dict.fromkeys(cases.index(r.case) for r in report.results if r.status == "FAIL"))
    mine = flat(given[failing[0]])
    if not torch.isfinite(mine).all():
        return
    p = problems[failing[0]]

    def matched(i, eps, variant):
        wrong, floors = problems[i].variant(eps, variant), problems[i].floors(problems[i].reference(eps))
        return all(judge(cases[i], k, given[i][k], wrong[k], floors.get(k)).status != "FAIL" for k in problems[i].keys)

    for variant in variants(options):
        eps = fit_eps(mine, lambda e, v=variant: flat(p.variant(e, v)))
        if all(matched(i, eps, variant) for i in failing):
            report.results = judged(problems, given, {"eps": eps})
            sentence = f"your gradients equal the reference's computed with {' and '.join(variant.mistakes())}"
            for r in report.results:
                if r.status == "FAIL" and r.finite:
                    r.diagnosis = sentence
            report.notes.append(said_fit({"eps": eps}, " under this mistake"))
            return
