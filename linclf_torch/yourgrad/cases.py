"""The cases your gradient is checked on: seeded data, and a library model holding the case's
parameters in float64, whose gradients() is the reference.

Linear classifier (Assignment 1): X ~ N(0, 1) like standardized pixels, W and b ~ N(0, 0.01²)
as DD2424 initialises W; the reports' d = 10, n = 3 with λ = 0 and 0.1; one image; a full
batch of 100 images of 3072 dimensions; scores of ±1000 (b = ±1000).
Two-layer network (Assignment 2, d → m → K with ReLU): W1 ~ N(0, 1/d) and W2 ~ N(0, 1/m) as the
assignment initialises them, b1 and b2 ~ N(0, 0.01²) (not 0: zeros hide a bug); the
assignment's reduced problem d = 10 (and 5), n = 3, m = 6 with λ = 0 and 0.1; one image; a full
batch with d = 3072, m = 50; scores of ±1000 (b2 = ±1000).
"""
import math
from dataclasses import dataclass

import torch

from ..nn.mlp import MLPClassifier
from ..nn.models import LinearClassifier

K = 10


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
TWO_LAYER_CASES = (
    Case("d=10 m=6 n=3 λ=0 (the assignment's)", 3, 10, 0.0, m=6),
    Case("d=5 m=6 n=3 λ=0.1", 3, 5, 0.1, m=6),
    Case("d=10 m=6 n=1 λ=0.1 (one image)", 1, 10, 0.1, m=6),
    Case("d=3072 m=50 n=100 λ=0 (a full batch)", 100, 3072, 0.0, m=50),
    Case("d=3072 m=50 n=100 λ=0.1", 100, 3072, 0.1, m=50),
    Case("d=10 m=6 n=3 λ=0.1, scores ≈ ±1000", 3, 10, 0.1, 1000.0, m=6),
)
CASES_OF = {"linear": CASES, "two-layer": TWO_LAYER_CASES}


def signs(dtype):
    """(K,) + − + − …: the large scores' signs by class."""
    return torch.tensor([1.0, -1.0], dtype=dtype).repeat(K // 2)


def problem(case, loss, seed):
    """The case's data (X (n, d), y (n,)) and a model holding its parameters, float64, from `seed`."""
    if case.m:
        return two_layer_problem(case, loss, seed)
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(case.n, case.d, generator=g, dtype=torch.float64)          # (n, d)
    y = torch.randint(K, (case.n,), generator=g)                               # (n,)
    model = LinearClassifier(case.d, K, loss=loss, lam=case.lam, generator=g, dtype=torch.float64)
    b = torch.randn(K, generator=g, dtype=torch.float64) * 0.01                # (K,) non-zero: zeros hide a bug
    model.params["b"] = b + case.scores * signs(torch.float64)
    return X, y, model


def two_layer_problem(case, loss, seed):
    """The two-layer case: MLPClassifier(d, (m,), K) with the case's W1, b1, W2, b2 set directly
    (its own init draws from a generator of its own, so that its init options leave the cases alone)."""
    g = torch.Generator().manual_seed(seed)
    f64 = torch.float64
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
    return X, y, model
