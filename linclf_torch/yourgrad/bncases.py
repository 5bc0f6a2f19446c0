"""The cases a student's batch normalisation is checked on (bncheck.py): seeded data, the
library's reference at any ε, each Variant's gradients (bnmistakes.py), and the student's
arguments and results in either layout.
"""
from dataclasses import dataclass

import torch

from ..nn.layers import batch_statistics, batchnorm_backward, batchnorm_forward
from ..nn.losses import one_hot
from ..nn.mlp import MLPClassifier
from .bnmistakes import backpass, network_gradients
from .cases import K
from .forms import YourFunctionError, as_tensor

FLOOR = 1e-8  # a hidden layer's b_l: max |ga − gr| ≤ FLOOR · max |grad_W_l|


@dataclass(frozen=True)
class BNCase:
    name: str
    n: int
    sizes: tuple          # (m,) for the layer; (d, m₁, m₂) for the network
    lam: float = 0.0
    offset: float = 0.0   # S ≈ offset ± 1 and G ≈ offset / 3 ± 1 (the layer): large means
    spread: bool = False  # the layer's units with batch variances 1e-4 … 1


# n ≥ 3: with n = 2 every Ŝ is ±1 whatever S, and the true gradient at S is nearly 0.
LAYER_CASES = (  # no m = n: a (m,) vector against (m, n) would broadcast the wrong way unseen
    BNCase("m=5 n=8, unit variances 1e-4 … 1 (your ε shows here)", 8, (5,), spread=True),
    BNCase("m=6 n=3", 3, (6,)),
    BNCase("m=1 n=5 (one unit)", 5, (1,)),
    BNCase("m=50 n=100 (a full batch)", 100, (50,)),
    BNCase("m=6 n=10, S ≈ 10 ± 1, G ≈ 3 ± 1 (large means)", 10, (6,), offset=10.0),
)
NETWORK_CASES = (
    BNCase("d=10 m=(6, 5) n=4 λ=0", 4, (10, 6, 5)),
    BNCase("d=10 m=(6, 5) n=4 λ=0.1", 4, (10, 6, 5), 0.1),
    BNCase("d=5 m=(8, 7) n=3 λ=0.1", 3, (5, 8, 7), 0.1),
    BNCase("d=10 m=(6, 5) n=20 λ=0.1", 20, (10, 6, 5), 0.1),
    BNCase("d=3072 m=(50, 50) n=100 λ=0.005 (the assignment's)", 100, (3072, 50, 50), 0.005),
)


class LayerProblem:
    """One case of the layer: G, S (n, m) and their batch statistics, float64, from `seed`."""
    keys = ("S",)
    floored = ()  # no gradient compared absolutely

    def __init__(self, case, loss, seed):
        g, (m,) = torch.Generator().manual_seed(seed), case.sizes
        scale = torch.logspace(-2, 0, m, dtype=torch.float64) if case.spread else 1.0   # std per unit
        self.S = torch.randn(case.n, m, generator=g, dtype=torch.float64) * scale + case.offset  # (n, m)
        self.G = torch.randn(case.n, m, generator=g, dtype=torch.float64) + case.offset / 3      # (n, m)
        self.mu, self.v = batch_statistics(self.S)                                             # (m,) each

    def reference(self, eps):
        ones = torch.ones_like(self.mu)
        _, cache = batchnorm_forward(self.S, ones, torch.zeros_like(self.mu), self.mu, self.v, eps)
        return {"S": batchnorm_backward(self.G, cache)[0]}  # (n, m)

    def variant(self, eps, variant):
        return {"S": backpass(self.G, self.S, self.mu, self.v, eps, variant)}

    def floors(self, ref):
        return {}

    def arguments(self, layout, column):
        """(G, S, mu, v) in the layout; `column`: mu and v as (m, 1) in dd2424's, else (m,)."""
        if layout == "torch":
            return [self.G.clone(), self.S.clone(), self.mu.clone(), self.v.clone()]
        stat = (lambda t: t[:, None].clone()) if column else (lambda t: t.clone())
        return [self.G.T.contiguous(), self.S.T.contiguous(), stat(self.mu), stat(self.v)]

    def results(self, out, layout, name, case):
        """Your result as {"S": (n, m)}."""
        dS = as_tensor(out, "result", name, case)
        if layout == "dd2424":
            dS = dS.T
        if dS.shape != self.S.shape:
            want = tuple(self.S.shape[::-1]) if layout == "dd2424" else tuple(self.S.shape)
            raise YourFunctionError(f"{name} returned shape {tuple(out.shape)}; the {layout} layout wants {want}, the "
                                    f"shape of S (case {case.name})")
        return {"S": dS}


class NetworkProblem:
    """One case of the network: X (n, d), y (n,) and MLPClassifier(batchnorm=True) holding the
    case's parameters: W_l ~ N(0, 2/in) (He), b_l ~ N(0, 0.1²) (not 0: zeros hide a bug),
    γ_l ~ U(0.5, 1.5) and β_l ~ N(0, 0.1²) (not 1 and 0: those hide a missing G ⊙ γ)."""

    def __init__(self, case, loss, seed):
        g, f64 = torch.Generator().manual_seed(seed), torch.float64
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
        self.k = len(sizes) - 1
        self.keys = tuple(self.model.params)
        self.floored = tuple(f"b{l}" for l in range(1, self.k))  # the biases before a batch norm

    def reference(self, eps):
        self.model.eps = eps
        return self.model.gradients(self.X, self.y)

    def variant(self, eps, variant):
        return network_gradients(self.model.params, self.X, self.y, self.model.lam, eps, variant,
                                 self.model.loss_backward)

    def floors(self, ref):
        """The hidden layers' biases, compared absolutely: their floors."""
        return {b: FLOOR * ref[f"W{b[1:]}"].abs().max().item() for b in self.floored}

    def arguments(self, layout, column):
        p = {k: v.clone() for k, v in self.model.params.items()}
        vec = (lambda t: t[:, None]) if layout == "dd2424" else (lambda t: t)
        net = {"W": [p[f"W{l}"] for l in range(1, self.k + 1)], "b": [vec(p[f"b{l}"]) for l in range(1, self.k + 1)],
               "gamma": [vec(p[f"gamma{l}"]) for l in range(1, self.k)],
               "beta": [vec(p[f"beta{l}"]) for l in range(1, self.k)]}
        if layout == "torch":
            return [self.X.clone(), self.y.clone(), net, self.model.lam]
        Y = one_hot(self.y, K, self.X.dtype).T.contiguous()        # (K, n)
        return [self.X.T.contiguous(), Y, net, self.model.lam]

    def results(self, out, layout, name, case):
        """Your grads (structured like net) as {W1, b1, …, gamma1, beta1, …} like the params."""
        counts = {"W": self.k, "b": self.k, "gamma": self.k - 1, "beta": self.k - 1}
        if not (isinstance(out, dict) and all(isinstance(out.get(k), (list, tuple)) and len(out[k]) == c
                                              for k, c in counts.items())):
            what = f"a dict with keys {sorted(out)}" if isinstance(out, dict) else f"a {type(out).__name__}"
            lists = f"{self.k} W, {self.k} b, {self.k - 1} gamma and {self.k - 1} beta"
            raise YourFunctionError(f"{name} returned {what}; it must return grads structured like net: lists of "
                                    f"{lists} (case {case.name})")
        grads = {f"{k}{l}": as_tensor(out[k][l - 1], f"grad_{k}{l}", name, case)
                 for k, c in counts.items() for l in range(1, c + 1)}
        for key, ref in self.model.params.items():
            given = grads[key]
            if given.numel() == ref.numel() and ref.dim() == 1:
                grads[key] = given = given.reshape(ref.shape)  # (m, 1), (1, m) or (m,): all taken
            if given.shape != ref.shape:
                raise YourFunctionError(f"{name}'s grad_{key} has shape {tuple(given.shape)}; the parameter's is "
                                        f"{tuple(ref.shape) if key[0] == 'W' else (len(ref), 1)} (case {case.name})")
        return {k: grads[k] for k in self.keys}
