"""Assignment 4: the character RNN and its backpropagation through time.

    ComputeGradients(X, Y, h0, RNN) -> grads like RNN     (or its loss and last h beside it, in a tuple)
        X, Y (K, τ) one-hot (or (τ,) index vectors), h0 (m, 1), RNN = {'b': (m, 1), 'c': (K, 1),
        'U': (m, K), 'W': (m, m), 'V': (K, m)} (or an object with those attributes)
    backward(X, Y, fp_data, RNN), fp_data from your forward(X, Y, h0, RNN) (its loss, fp_data, h)
    --layout torch: x, y (τ,) indices, h0 (m,), b (m,), c (K,)
Arguments are bound by their names where your function orders them otherwise
(backwardPass(RNN, X, Y, h0)). The loss is the mean over the τ steps (the 2025/26 texts), or
with loss_reduction="sum" the older texts' sum. The reference is nn/rnn.py's rnn_gradients in
float64; the mistakes are rnnmistakes.py's.
"""
import types
from dataclasses import dataclass, replace

import torch

from ...nn.losses import one_hot
from ...nn.rnn import PARAMS, REDUCTIONS, rnn_forward, rnn_gradients
from ..forms import Form, required_names
from ..problem import Problem
from ..rnnmistakes import diagnose  # noqa: F401 (this family's mistakes)
from ..structures import plain

K = 30
OPTIONS = ("loss_reduction",)
FORWARD_ARGUMENTS = 4  # forward(X, Y, h0, RNN), in any order its names say
HOW = ("compare it term by term with dO = (P − Y)/τ, dV = dOᵀH, dc = Σ_t do_t, dh_t = Vᵀdo_t + Wᵀda_(t+1), "
       "da_t = dh_t ⊙ (1 − h_t²), dW = Σ_t da_t h_(t−1)ᵀ (h_0 = h0), dU = Σ_t da_t x_tᵀ, db = Σ_t da_t (docs/math.md)")
NAMES = {  # a parameter's name, lower case without '_' -> its role
    "X": {"x", "xs", "input", "inputs", "xchars", "xbatch", "xseq", "xinput", "xonehot", "xin"},
    "Y": {"y", "ys", "target", "targets", "label", "labels", "ychars", "ybatch", "yseq", "yonehot", "ytrue"},
    "h0": {"h0", "h", "hprev", "hidden", "hinit", "hstart", "hp", "hzero", "hiddenstate", "h00"},
    "net": {"rnn", "params", "parameters", "net", "network", "model", "weights", "theta", "param"},
    "fp": {"fpdata", "fp", "cache", "forwarddata", "fwd", "activations", "states", "fwddata", "outputs", "aux"},
}
WRITTEN = {"X": "X", "Y": "Y", "h0": "h0", "net": "RNN", "fp": "fp_data"}
FORMS = tuple(Form(roles, layout, f"f({', '.join(WRITTEN[r] for r in roles)}) -> grads like RNN"
                   + (", fp_data = FORWARD(X, Y, h0, RNN)" if "fp" in roles else ""))
              for layout in ("dd2424", "torch") for roles in (("X", "Y", "h0", "net"), ("X", "Y", "fp", "net")))


@dataclass(frozen=True)
class RNNCase:
    name: str
    tau: int
    m: int = 10
    h0: bool = False      # h0 ≠ 0
    V: float = 0.0        # V's spread, when not the course's init: large gradients


CASES = (
    RNNCase("m=10 τ=25 h0=0 (the text's check)", 25),
    RNNCase("m=10 τ=1 (one step)", 1, h0=True),
    RNNCase("m=10 τ=25 h0≠0", 25, h0=True),
    RNNCase("m=10 τ=100 h0≠0 (a long sequence)", 100, h0=True),
    RNNCase("m=10 τ=3 h0≠0, V ~ N(0, 30²): gradients beyond ±5", 3, h0=True, V=30.0),
)


@dataclass(frozen=True)
class Variant:
    data: str = "one-hot"   # X, Y as one-hot (K, τ) or as "indices" (τ,)
    holder: str = "dict"    # RNN as a "dict" or an "object" with attributes b, c, U, W, V


def cases(loss_reduction="mean"):
    if loss_reduction not in REDUCTIONS:
        raise ValueError(f"loss_reduction must be one of {REDUCTIONS} (got {loss_reduction!r})")
    return list(CASES) if loss_reduction == "mean" else [replace(c, name=c.name + ", summed loss") for c in CASES]


def roles_of(fn):
    """fn's required parameters as roles, by their names; None when a name is none of NAMES'."""
    names = required_names(fn)
    if names is None:
        return None
    roles = [next((role for role, words in NAMES.items() if plain(n) in words), None) for n in names]
    return tuple(roles) if None not in roles and len(set(roles)) == len(roles) else None


def forms(fn):
    """Your function's own order of X, Y, h0 (or fp_data) and RNN, read from its parameters' names, first."""
    roles = roles_of(fn)
    if roles and set(roles) in ({"X", "Y", "h0", "net"}, {"X", "Y", "fp", "net"}) and roles not in \
            [f.roles for f in FORMS]:
        text = lambda: f"f({', '.join(WRITTEN[r] for r in roles)}) -> grads like RNN (bound by the names)"
        return tuple(Form(roles, layout, text()) for layout in ("dd2424", "torch")) + FORMS
    return FORMS


def forward_roles(forward):
    """Your forward's arguments, by their names: forward(X, Y, h0, RNN) when they say nothing."""
    roles = roles_of(forward)
    return roles if roles and set(roles) <= {"X", "Y", "h0", "net"} else ("X", "Y", "h0", "net")


def variants(layout, hints):
    data = ("one-hot", "indices") if layout == "dd2424" else ("indices",)
    return [Variant(d, holder) for holder in ("dict", "object") for d in data]


class RNNProblem(Problem):
    """One case: K characters, x and y (τ,) drawn uniformly, h0 (m,), the course's init (V's spread
    as the case says), b and c ~ N(0, 0.1²) (not 0: zeros hide a bug); float64."""

    def __init__(self, case, loss, seed, loss_reduction="mean"):
        super().__init__(case)
        g, f64, m = torch.Generator().manual_seed(seed), torch.float64, case.m
        self.x, self.y = torch.randint(K, (case.tau,), generator=g), torch.randint(K, (case.tau,), generator=g)
        self.h0 = torch.tanh(torch.randn(m, generator=g, dtype=f64)) if case.h0 else torch.zeros(m, dtype=f64)
        self.params = {"U": torch.randn(m, K, generator=g, dtype=f64) / (2 * K) ** 0.5,
                       "W": torch.randn(m, m, generator=g, dtype=f64) / (2 * m) ** 0.5,
                       "V": torch.randn(K, m, generator=g, dtype=f64) * (case.V or 1 / m ** 0.5),
                       "b": torch.randn(m, generator=g, dtype=f64) * 0.1,
                       "c": torch.randn(K, generator=g, dtype=f64) * 0.1}
        self.keys, self.groups, self.reduction = PARAMS, {k: k for k in PARAMS}, loss_reduction
        self.said_loss, self.net_name = f"{loss_reduction} over τ", "RNN"

    def data(self, role, layout, variant):
        if role == "h0":
            return self.h0[:, None].clone() if layout == "dd2424" else self.h0.clone()  # (m, 1) or (m,)
        x = self.x if role == "X" else self.y
        if variant.data == "indices":
            return x.clone()                                                           # (τ,)
        return one_hot(x, K, torch.float64).T.contiguous()                             # (K, τ)

    def net(self, layout, variant):
        values = {k: self.param(k, layout) for k in PARAMS}
        return values if variant.holder == "dict" else types.SimpleNamespace(**values)

    def written(self, variant):
        shapes = "'b': (m, 1), 'c': (K, 1), 'U': (m, K), 'W': (m, m), 'V': (K, m)"
        return "{" + shapes + "}" if variant.holder == "dict" else "an object with attributes b, c, U, W, V"

    def said(self, variant):
        return ["X and Y as index vectors (τ,)"] if variant.data == "indices" else []

    def reference(self, **fitted):
        return rnn_gradients(self.x, self.y, self.h0, self.params, self.reduction)[1]

    def probabilities(self, **fitted):
        return torch.softmax(rnn_forward(self.x, self.h0, self.params)[0], dim=1)  # (τ, K)


problem = RNNProblem
