"""Assignment 3: the k-layer network d → m₁ → m₂ → K with batch norm after each hidden layer, then ReLU.

    dd2424  BackwardPass(X, Y, fp_data, net, lam), fp_data = ApplyNetwork(X, net), or f(X, Y, net, lam)
            net = {'W': [W1, W2, W3], 'b': [b1, b2, b3], 'gamma': [γ1, γ2], 'beta': [β1, β2]}, vectors (m, 1)
    torch   f(X, y, fp_data, net, lam) or f(X, y, net, lam), vectors (m,)
returning grads structured like net (or any structure of structures.py); J = L + λ Σ_l ‖W_l‖² with
the batch's own μ and v. Your ε is fitted (bnmistakes.fit). A bias before a batch norm has a true
gradient of 0 (μ absorbs it): relative error means nothing there, so b_l of a hidden layer passes
when max |ga − gr| ≤ 1e-8 · max |grad_W_l| (rounding leaves about 1e-16 of that; every mistake
here leaves more than 1e-3).
"""
import functools

import torch

from ...nn.losses import one_hot
from ...nn.mlp import MLPClassifier
from ..bnmistakes import (  # noqa: F401 (this family's)
    NETWORK_OPTIONS,
    bn_diagnose,
    fit,
    fit_forward,
    network_gradients,
    said_fit,
)
from ..forms import Form
from ..mistakes import K
from ..problem import Problem
from .batchnorm import HOW, BNCase  # noqa: F401 (the same pass to compare with)

FLOOR = 1e-8  # a hidden layer's b_l: max |ga − gr| ≤ FLOOR · max |grad_W_l|
FORMS = (
    Form(("X", "Y", "fp", "net", "lam"), "dd2424", "BackwardPass(X, Y, fp_data, net, lam) -> grads like net, "
         "fp_data = FORWARD(X, net)"),
    Form(("X", "Y", "net", "lam"), "dd2424", "f(X, Y, net, lam) -> grads like net"),
    Form(("X", "y", "fp", "net", "lam"), "torch", "f(X, y, fp_data, net, lam) -> grads like net, "
         "fp_data = FORWARD(X, net)"),
    Form(("X", "y", "net", "lam"), "torch", "f(X, y, net, lam) -> grads like net"),
)
diagnose = functools.partial(bn_diagnose, options=NETWORK_OPTIONS)
CASES = (
    BNCase("d=10 m=(6, 5) n=4 λ=0", 4, (10, 6, 5)),
    BNCase("d=10 m=(6, 5) n=4 λ=0.1", 4, (10, 6, 5), 0.1),
    BNCase("d=5 m=(8, 7) n=3 λ=0.1", 3, (5, 8, 7), 0.1),
    BNCase("d=10 m=(6, 5) n=20 λ=0.1", 20, (10, 6, 5), 0.1),
    BNCase("d=3072 m=(50, 50) n=100 λ=0.005 (the assignment's)", 100, (3072, 50, 50), 0.005),
)


class NetworkProblem(Problem):
    """One case of the network: X (n, d), y (n,) and MLPClassifier(batchnorm=True) holding the
    case's parameters: W_l ~ N(0, 2/in) (He), b_l ~ N(0, 0.1²) (not 0: zeros hide a bug),
    γ_l ~ U(0.5, 1.5) and β_l ~ N(0, 0.1²) (not 1 and 0: those hide a missing G ⊙ γ)."""

    def __init__(self, case, loss, seed, **options):
        super().__init__(case)
        self.loss, g, f64 = loss, torch.Generator().manual_seed(seed), torch.float64
        d, *hidden = case.sizes
        self.X = torch.randn(case.n, d, generator=g, dtype=f64)    # (n, d)
        self.y = torch.randint(K, (case.n,), generator=g)          # (n,)
        self.model = MLPClassifier(d, tuple(hidden), K, loss=loss, lam=case.lam, batchnorm=True, dtype=f64,
                                   generator=torch.Generator().manual_seed(0))
        sizes = [d, *hidden, K]
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self.model.params[f"W{l}"] = torch.randn(n_out, n_in, generator=g, dtype=f64) * (2 / n_in) ** 0.5
            self.model.params[f"b{l}"] = torch.randn(n_out, generator=g, dtype=f64) * 0.1
        for l, m in enumerate(hidden, start=1):
            self.model.params[f"gamma{l}"] = torch.rand(m, generator=g, dtype=f64) + 0.5
            self.model.params[f"beta{l}"] = torch.randn(m, generator=g, dtype=f64) * 0.1
        k = len(sizes) - 1
        self.params, self.keys = self.model.params, tuple(self.model.params)
        self.groups = {"W": [f"W{l}" for l in range(1, k + 1)], "b": [f"b{l}" for l in range(1, k + 1)],
                       "gamma": [f"gamma{l}" for l in range(1, k)], "beta": [f"beta{l}" for l in range(1, k)]}
        self.floored = tuple(f"b{l}" for l in range(1, k))  # the biases before a batch norm

    def data(self, role, layout, variant):
        if role == "lam":
            return self.model.lam
        if layout == "torch":
            return {"X": self.X, "y": self.y}[role].clone()
        return {"X": self.X.T, "Y": one_hot(self.y, K, self.X.dtype).T}[role].contiguous()  # (d, n), (K, n)

    def reference(self, eps=1e-5):
        self.model.eps = eps
        return self.model.gradients(self.X, self.y)

    def probabilities(self, eps=1e-5):
        self.model.eps = eps
        S = self.model.forward(self.X)[0]                          # (n, K), the batch's own statistics
        return torch.softmax(S, dim=1) if self.loss == "ce" else torch.sigmoid(S)

    def variant(self, eps, variant):
        return network_gradients(self.model.params, self.X, self.y, self.model.lam, eps, variant,
                                 self.model.loss_backward)

    def floors(self, ref):
        """The hidden layers' biases, compared absolutely: their floors."""
        return {b: FLOOR * ref[f"W{b[1:]}"].abs().max().item() for b in self.floored}


problem = NetworkProblem
