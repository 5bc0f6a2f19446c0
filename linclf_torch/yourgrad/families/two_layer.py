"""Assignment 2: the two-layer network d → m → K with ReLU, softmax + CE (or sigmoid + MBCE).

Cases: W1 ~ N(0, 1/d) and W2 ~ N(0, 1/m) as the assignment initialises them, b1 and b2 ~
N(0, 0.01²) (not 0: zeros hide a bug); the assignment's reduced problem d = 10 (and 5), n = 3,
m = 6 with λ = 0 and 0.1; one image; a full batch with d = 3072, m = 50; scores of ±1000
(b2 = ±1000). The reference is MLPClassifier(d, (m,), K).gradients in float64; the mistakes
are mistakes.py's, with the ReLU's mask.
"""
import math

import torch

from ...nn.mlp import MLPClassifier
from ..forms import Form
from ..mistakes import diagnose  # noqa: F401 (this family's mistakes)
from .linear import Case, ClassifierProblem, K, signs

GRADS = "grads like net"
HOW = ("compare it term by term with dW2 = dSᵀa1 + 2λW2, db2 = Σᵢ dSᵢ, dh1 = dS W2 ⊙ [h1 > 0], "
       "dW1 = dh1ᵀX + 2λW1, db1 = Σᵢ dh1ᵢ, where a1 = max(0, h1), h1 = X W1ᵀ + b1 (docs/math.md)")
FORMS = (
    Form(("X", "Y", "fp", "net", "lam"), "dd2424", f"BackwardPass(X, Y, fp_data, net, lam) -> {GRADS}, "
         "fp_data = FORWARD(X, net)"),
    Form(("X", "Y", "fp*", "net", "lam"), "dd2424", f"BackwardPass(X, Y, P, H, net, lam) -> {GRADS}, "
         "(P, H) = FORWARD(X, net)"),
    Form(("X", "Y", "P", "net", "lam"), "dd2424", f"BackwardPass(X, Y, P, net, lam) -> {GRADS}"),
    Form(("X", "Y", "net", "lam"), "dd2424", f"f(X, Y, net, lam) -> {GRADS}"),
    Form(("X", "y", "fp", "net", "lam"), "torch", f"f(X, y, fp_data, net, lam) -> {GRADS}, "
         "fp_data = FORWARD(X, net)"),
    Form(("X", "y", "fp*", "net", "lam"), "torch", f"f(X, y, P, H, net, lam) -> {GRADS}, (P, H) = FORWARD(X, net)"),
    Form(("X", "y", "net", "lam"), "torch", f"f(X, y, net, lam) -> {GRADS}"),
)
CASES = (
    Case("d=10 m=6 n=3 λ=0 (the assignment's)", 3, 10, 0.0, m=6),
    Case("d=5 m=6 n=3 λ=0.1", 3, 5, 0.1, m=6),
    Case("d=10 m=6 n=1 λ=0.1 (one image)", 1, 10, 0.1, m=6),
    Case("d=3072 m=50 n=100 λ=0 (a full batch)", 100, 3072, 0.0, m=50),
    Case("d=3072 m=50 n=100 λ=0.1", 100, 3072, 0.1, m=50),
    Case("d=10 m=6 n=3 λ=0.1, scores ≈ ±1000", 3, 10, 0.1, 1000.0, m=6),
)


def problem(case, loss, seed, **options):
    """MLPClassifier(d, (m,), K) with the case's W1, b1, W2, b2 set directly (its own init draws
    from a generator of its own, so that its init options leave the cases alone)."""
    g, f64 = torch.Generator().manual_seed(seed), torch.float64
    X = torch.randn(case.n, case.d, generator=g, dtype=f64)                    # (n, d)
    y = torch.randint(K, (case.n,), generator=g)                               # (n,)
    model = MLPClassifier(case.d, (case.m,), K, loss=loss, lam=case.lam, generator=torch.Generator().manual_seed(0),
                          dtype=f64)
    model.params = {
        "W1": torch.randn(case.m, case.d, generator=g, dtype=f64) / math.sqrt(case.d),  # (m, d)
        "b1": torch.randn(case.m, generator=g, dtype=f64) * 0.01,                       # (m,)
        "W2": torch.randn(K, case.m, generator=g, dtype=f64) / math.sqrt(case.m),       # (K, m)
        "b2": torch.randn(K, generator=g, dtype=f64) * 0.01 + case.scores * signs(f64),  # (K,)
    }
    p = ClassifierProblem(case, loss, X, y, model)
    p.groups = {"W": ["W1", "W2"], "b": ["b1", "b2"]}
    return p
