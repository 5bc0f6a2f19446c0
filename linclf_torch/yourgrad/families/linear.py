"""Assignment 1: the linear classifier S = W X + b with softmax + CE or sigmoid + MBCE.

Cases, seeded: X ~ N(0, 1) like standardized pixels, W and b ~ N(0, 0.01²) as DD2424
initialises W; the reports' d = 10, n = 3 with λ = 0 and 0.1; one image; a full batch of 100
images of 3072 dimensions; scores of ±1000 (b = ±1000). The reference is
LinearClassifier.gradients in float64; the mistakes are mistakes.py's.
"""
from dataclasses import dataclass

import torch

from ...nn.losses import one_hot
from ...nn.models import LinearClassifier
from ..forms import Form
from ..mistakes import K, diagnose  # noqa: F401 (this family's mistakes)
from ..problem import Problem

HOW = ("compare it term by term with dW = dSᵀX + 2λW, db = Σᵢ dSᵢ, where dS = (P − Y) / n for CE and "
       "(P − Y) / (K·n) for MBCE (docs/math.md)")
FORMS = (
    Form(("X", "Y", "P", "W", "lam"), "dd2424", "ComputeGradients(X, Y, P, W, lam) -> (grad_W, grad_b)"),
    Form(("X", "Y", "P", "net", "lam"), "dd2424", "BackwardPass(X, Y, P, network, lam) -> {'W': grad_W, 'b': grad_b}"),
    Form(("X", "y", "W", "b", "lam"), "torch", "f(X, y, W, b, lam) -> (grad_W, grad_b)"),
)
COST_FORMS = (  # your cost, for --cost (owncost.py)
    Form(("X", "Y", "W", "b", "lam"), "dd2424", "ComputeCost(X, Y, W, b, lam) -> J"),
    Form(("X", "Y", "net", "lam"), "dd2424", "ComputeCost(X, Y, network, lam) -> J"),
    Form(("X", "y", "W", "b", "lam"), "torch", "f(X, y, W, b, lam) -> J"),
)


@dataclass(frozen=True)
class Case:
    name: str
    n: int
    d: int
    lam: float
    scores: float = 0.0  # b = ±scores (the last layer's), alternating by class, when non-zero
    m: int = 0           # hidden units: 0 for the linear classifier


CASES = (
    Case("d=10 n=3 λ=0 (the reports')", 3, 10, 0.0),
    Case("d=10 n=3 λ=0.1", 3, 10, 0.1),
    Case("d=10 n=1 λ=0.1 (one image)", 1, 10, 0.1),
    Case("d=3072 n=100 λ=0 (a full batch)", 100, 3072, 0.0),
    Case("d=3072 n=100 λ=0.1", 100, 3072, 0.1),
    Case("d=10 n=3 λ=0.1, scores ≈ ±1000", 3, 10, 0.1, 1000.0),
)


def signs(dtype):
    """(K,) + − + − …: the large scores' signs by class."""
    return torch.tensor([1.0, -1.0], dtype=dtype).repeat(K // 2)


class ClassifierProblem(Problem):
    """A case of a library classifier (self.model, float64) on X (n, d), y (n,): its gradients are
    the reference; the data as either layout writes it."""

    def __init__(self, case, loss, X, y, model):
        super().__init__(case)
        self.loss, self.X, self.y, self.model = loss, X, y, model
        self.params, self.keys = model.params, tuple(model.params)

    def data(self, role, layout, variant):
        if role == "lam":
            return self.model.lam
        if layout == "torch":
            return {"X": self.X, "y": self.y, "P": self.probabilities()}[role].clone()
        return {"X": self.X.T, "Y": one_hot(self.y, K, self.X.dtype).T,
                "P": self.probabilities().T}[role].contiguous()                # (d, n), (K, n), (K, n)

    def probabilities(self, **fitted):
        S = self.model.scores(self.X)                                           # (n, K)
        return torch.softmax(S, dim=1) if self.loss == "ce" else torch.sigmoid(S)

    def reference(self, **fitted):
        return self.model.gradients(self.X, self.y)


def problem(case, loss, seed, **options):
    """The case's data and a LinearClassifier holding its parameters, float64, from `seed`."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(case.n, case.d, generator=g, dtype=torch.float64)          # (n, d)
    y = torch.randint(K, (case.n,), generator=g)                               # (n,)
    model = LinearClassifier(case.d, K, loss=loss, lam=case.lam, generator=g, dtype=torch.float64)
    b = torch.randn(K, generator=g, dtype=torch.float64) * 0.01                # (K,) non-zero: zeros hide a bug
    model.params["b"] = b + case.scores * signs(torch.float64)
    p = ClassifierProblem(case, loss, X, y, model)
    p.groups = {"W": "W", "b": "b"}
    return p
