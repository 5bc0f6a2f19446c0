"""Assignment 3: batch normalisation's backward pass alone, the assignment's BatchNormBackPass.

    dd2424  BatchNormBackPass(G, S, mu, v) -> G    G, S (m, n), one example per column; mu, v (m, 1),
                                                   or (m,) when your function fails on (m, 1)
    torch   f(G, S, mu, v) -> dS                   G, S (n, m), one example per row; mu, v (m,)
G is the gradient arriving at Ŝ (after G ⊙ γ), S the layer's input, mu and v its batch mean and
variance (1/n); the result is the gradient at S. Your ε, whatever it is, is fitted (bnmistakes.fit);
the mistakes are bnmistakes.py's.
"""
import functools
from dataclasses import dataclass

import torch

from ...nn.layers import batch_statistics, batchnorm_backward, batchnorm_forward
from ..bnmistakes import LAYER_OPTIONS, backpass, bn_diagnose, fit, said_fit  # noqa: F401 (this family's)
from ..calls import YourFunctionError
from ..forms import Form
from ..problem import Problem

HOW = ("compare it term by term with σ₁ = (v + ε)^−½, σ₂ = (v + ε)^−³⁄₂, G₁ = G ⊙ σ₁1ᵀ, G₂ = G ⊙ σ₂1ᵀ, D = S − μ1ᵀ, "
       "c = (G₂ ⊙ D)1, G ← G₁ − (1/n)(G₁1)1ᵀ − (1/n) D ⊙ (c1ᵀ) (docs/math.md)")
FORMS = (
    Form(("G", "S", "mu", "v"), "dd2424",
         "BatchNormBackPass(G, S, mu, v) -> G, G and S (m, n), mu and v (m, 1) or (m,)"),
    Form(("G", "S", "mu", "v"), "torch", "f(G, S, mu, v) -> dS, G and S (n, m), mu and v (m,)"),
)
diagnose = functools.partial(bn_diagnose, options=LAYER_OPTIONS)
COST_FORMS = ()  # the layer alone has no cost to differentiate
VARIANTS = ("column", "vector")  # dd2424's mu and v: (m, 1), else (m,)


@dataclass(frozen=True)
class BNCase:
    name: str
    n: int
    sizes: tuple          # (m,) for the layer; (d, m₁, m₂) for the network
    lam: float = 0.0
    offset: float = 0.0   # S ≈ offset ± 1 and G ≈ offset / 3 ± 1 (the layer): large means
    spread: bool = False  # the layer's units with batch variances 1e-4 … 1


# n ≥ 3: with n = 2 every Ŝ is ±1 whatever S, and the true gradient at S is nearly 0.
CASES = (  # no m = n: a (m,) vector against (m, n) would broadcast the wrong way unseen
    BNCase("m=5 n=8, unit variances 1e-4 … 1 (your ε shows here)", 8, (5,), spread=True),
    BNCase("m=6 n=3", 3, (6,)),
    BNCase("m=1 n=5 (one unit)", 5, (1,)),
    BNCase("m=50 n=100 (a full batch)", 100, (50,)),
    BNCase("m=6 n=10, S ≈ 10 ± 1, G ≈ 3 ± 1 (large means)", 10, (6,), offset=10.0),
)


class LayerProblem(Problem):
    """One case of the layer: G, S (n, m) and their batch statistics, float64, from `seed`."""
    keys = ("S",)

    def __init__(self, case, loss, seed, **options):
        super().__init__(case)
        g, (m,) = torch.Generator().manual_seed(seed), case.sizes
        scale = torch.logspace(-2, 0, m, dtype=torch.float64) if case.spread else 1.0   # std per unit
        self.S = torch.randn(case.n, m, generator=g, dtype=torch.float64) * scale + case.offset  # (n, m)
        self.G = torch.randn(case.n, m, generator=g, dtype=torch.float64) + case.offset / 3      # (n, m)
        self.mu, self.v = batch_statistics(self.S)                                             # (m,) each

    def data(self, role, layout, variant):
        """G, S, mu, v in the layout; `variant` "column": mu and v as (m, 1) in dd2424's, else (m,)."""
        value = {"G": self.G, "S": self.S, "mu": self.mu, "v": self.v}[role]
        if layout == "torch":
            return value.clone()
        return value.T.contiguous() if value.dim() == 2 else value[:, None].clone() if variant == "column" \
            else value.clone()

    def said(self, variant):
        return ["mu and v as (m,) vectors, not (m, 1) columns"] if variant == "vector" else []

    def reference(self, eps=1e-5):
        ones = torch.ones_like(self.mu)
        _, cache = batchnorm_forward(self.S, ones, torch.zeros_like(self.mu), self.mu, self.v, eps)
        return {"S": batchnorm_backward(self.G, cache)[0]}  # (n, m)

    def variant(self, eps, variant):
        return {"S": backpass(self.G, self.S, self.mu, self.v, eps, variant)}

    def library(self, key, given, layout, name):
        """Your result as (n, m), the shape of S."""
        dS = given.T if layout == "dd2424" else given
        if dS.shape != self.S.shape:
            want = tuple(self.S.shape[::-1]) if layout == "dd2424" else tuple(self.S.shape)
            raise YourFunctionError(f"{name} returned shape {tuple(given.shape)}; the {layout} layout wants {want}, "
                                    f"the shape of S (case {self.case.name})")
        return dS


def variants(layout, hints):
    return VARIANTS if layout == "dd2424" else VARIANTS[1:]


problem = LayerProblem
