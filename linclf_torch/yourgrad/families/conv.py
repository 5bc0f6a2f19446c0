"""Assignment 3 (2025/26): the patchify ConvNet, nf filters f × f × 3 at stride f → ReLU → flatten
→ nh units, ReLU → K scores, softmax + cross-entropy (label-smoothed when asked), J = L + λ(‖F‖² +
‖W1‖² + ‖W2‖²).

    dd2424  f(X, Y, net, lam) or BackwardPass(X, Y, fp_data, net, lam), fp_data = FORWARD(X, net)
            X as (3072, n), as images (32, 32, 3, n) (row, column, channel: the course's pixel
            order) or as the course's MX (n_p, f·f·3, n); Y (K, n) one-hot, or smoothed when the
            check smooths; net = {'F': Fs_flat (f·f·3, nf) or Fs (f, f, 3, nf), 'W': [W1, W2],
            'b': [b1, b2]} (+ 'bf' (nf, 1) with --conv-bias), vectors (m, 1)
    torch   f(X, y, net, lam) or f(X, y, fp_data, net, lam): X (n, 3072) or images (n, 3, 32, 32),
            y (n,), F (nf, 3, f, f) or flattened (nf, 3·f·f), vectors (m,)
    either  a function that smooths Y itself takes ε last: f(X, Y, net, lam, eps), Y one-hot
returning grads structured like net (or any structure of structures.py), the filters' in either
of the layout's shapes. net's structures, the filters' key (F, Fs, Fs_flat) and the form of X are
found by trying (variants()). The reference is nn/convnet.py's ConvNet in float64 holding the
case's parameters: He's spread for F, W1, W2, biases ~ N(0, 0.1²) (not 0: zeros hide a bug);
the course's layouts are made here, at the edge (courselayout.py). Mistakes: convmistakes.py's.
"""
from dataclasses import dataclass, replace

import torch

from ...courselayout import course_patch_matrix, filters_from_course, filters_to_course, images_from_columns
from ...nn.convnet import ConvNet
from ...nn.losses import smoothed_targets
from ..calls import YourFunctionError
from ..convmistakes import diagnose  # noqa: F401 (this family's mistakes)
from ..forms import Form
from ..mistakes import K
from ..problem import Problem
from ..structures import build, plain, written
from ..structures import variants as net_variants

D, SIDE = 3072, 32
OPTIONS = ("conv_bias", "label_smoothing")
GRADS = "grads like net"
HOW = ("compare it term by term with dW2 = dSᵀx1 + 2λW2, dx1 = dS W2 ⊙ [x1 > 0], dW1 = dx1ᵀh + 2λW1, dh = dx1 W1, "
       "dC = unflatten(dh) ⊙ [C > 0], dF = Σᵢₚ dC[i, p]ᵀ MX[p, :, i] + 2λF, db_F = Σᵢₚ dC[i, p], where "
       "dS = (P − Y) / n (docs/math.md)")
FORMS = (
    Form(("X", "Y", "fp", "net", "lam"), "dd2424", f"BackwardPass(X, Y, fp_data, net, lam) -> {GRADS}, "
         "fp_data = FORWARD(X, net)"),
    Form(("X", "Y", "fp*", "net", "lam"), "dd2424", f"BackwardPass(X, Y, P, H, net, lam) -> {GRADS}, "
         "(P, H) = FORWARD(X, net)"),
    Form(("X", "Y", "net", "lam"), "dd2424", f"f(X, Y, net, lam) -> {GRADS}"),
    Form(("X", "Y_one_hot", "net", "lam", "eps"), "dd2424", f"f(X, Y, net, lam, eps) -> {GRADS}, Y one-hot"),
    Form(("X", "y", "fp", "net", "lam"), "torch", f"f(X, y, fp_data, net, lam) -> {GRADS}, fp_data = FORWARD(X, net)"),
    Form(("X", "y", "net", "lam"), "torch", f"f(X, y, net, lam) -> {GRADS}"),
    Form(("X", "y", "net", "lam", "eps"), "torch", f"f(X, y, net, lam, eps) -> {GRADS}"),
)
DATA = {"dd2424": {"X": "", "MX": "X as MX (n_p, f·f·3, n), the course's patch matrix",
                   "images": "X as images (32, 32, 3, n), (row, column, channel, n)"},
        "torch": {"X": "", "images": "X as images (n, 3, 32, 32)"}}
FILTERS = {"dd2424": {"flat": "the filters as Fs_flat (f·f·3, nf)", "4-D": "the filters as Fs (f, f, 3, nf)"},
           "torch": {"4-D": "the filters as (nf, 3, f, f)", "flat": "the filters flattened, (nf, 3·f·f)"}}
FILTER_NAMES = ("Fs_flat", "Fs", "F")  # the filters' key in net, as students name it


@dataclass(frozen=True)
class ConvCase:
    name: str
    n: int
    lam: float
    f: int = 4
    nf: int = 2
    nh: int = 10


CASES = (
    ConvCase("f=4 nf=2 nh=10 n=3 λ=0 (the text's)", 3, 0.0),
    ConvCase("f=4 nf=2 nh=10 n=5 λ=0.1", 5, 0.1),
    ConvCase("f=8 nf=3 nh=6 n=4 λ=0.1", 4, 0.1, f=8, nf=3, nh=6),
    ConvCase("f=4 nf=10 nh=50 n=100 λ=0.003", 100, 0.003, nf=10, nh=50),
)


@dataclass(frozen=True)
class Variant:
    """How the check gives your function its arguments (variants() lists them, most likely first)."""
    structure: str = "lists"  # net's (structures.py)
    data: str = "X"           # X as given: "X" ((3072, n) or (n, 3072)), "images", or "MX" (dd2424)
    filters: str = "flat"     # "flat" or "4-D", in the layout's own order
    name: str = "F"           # the filters' key in net
    layout: str = "dd2424"


def cases(conv_bias=False, label_smoothing=0.0):
    """CASES, their names saying the options."""
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"label_smoothing is ε in [0, 1) (got {label_smoothing})")
    more = (", conv bias" if conv_bias else "") + (f", ε={label_smoothing:g}" if label_smoothing else "")
    return [replace(case, name=case.name + more) for case in CASES]


def variants(layout, hints):
    """net's structures (flat keys first when your code names one), the filters' key your code names
    (F when none), then X's forms and the filters' shapes, most likely first."""
    words = {plain(h) for h in hints}
    names = [name for name in FILTER_NAMES if plain(name) in words] or ["F"]
    found = []
    for structure in net_variants({"W": ["W1", "W2"], "b": ["b1", "b2"]}, hints):
        for name in names:
            shapes = tuple(FILTERS[layout]) if name != "Fs" else ("4-D", "flat")
            found += [Variant(structure, data, shape, name, layout) for data in DATA[layout] for shape in shapes]
    return found


class ConvProblem(Problem):
    """One case: X (n, 3072) ~ N(0, 1) like standardized pixels, y (n,), and a ConvNet in float64
    holding the case's parameters; the course's arrays made from them in dd2424's layout."""

    def __init__(self, case, loss, seed, conv_bias=False, label_smoothing=0.0):
        super().__init__(case)
        g, f64 = torch.Generator().manual_seed(seed), torch.float64
        self.X = torch.randn(case.n, D, generator=g, dtype=f64)    # (n, 3072)
        self.y = torch.randint(K, (case.n,), generator=g)          # (n,)
        self.model = ConvNet(D, K, f=case.f, nf=case.nf, nh=case.nh, conv_bias=conv_bias, loss=loss,
                             label_smoothing=label_smoothing, lam=case.lam, dtype=f64,
                             generator=torch.Generator().manual_seed(0))  # its init, replaced below
        for key, value in self.model.params.items():  # weights: He's N(0, 2/in); biases N(0, 0.1²)
            std = (2 / value[0].numel()) ** 0.5 if value.dim() > 1 else 0.1
            self.model.params[key] = torch.randn(value.shape, generator=g, dtype=f64) * std
        self.params, self.keys = self.model.params, tuple(self.model.params)
        self.groups = {"F": "F", "W": ["W1", "W2"], "b": ["b1", "b2"], **({"bf": "bF"} if conv_bias else {})}
        self.said_loss = loss.upper() + (f" with label smoothing ε = {label_smoothing:g}" if label_smoothing else "")

    def data(self, role, layout, variant):
        """X as the variant gives it, Y (smoothed: the loss's targets), Y_one_hot, y, lam, eps."""
        eps = self.model.label_smoothing
        if role in ("lam", "eps"):
            return self.model.lam if role == "lam" else eps
        if role == "y":
            return self.y.clone()
        if role in ("Y", "Y_one_hot"):
            return smoothed_targets(self.y, K, eps if role == "Y" else 0.0, self.X.dtype).T.contiguous()  # (K, n)
        if layout == "torch":
            return self.X.clone() if variant.data == "X" else self.X.view(-1, 3, SIDE, SIDE).clone()
        X = self.X.T.contiguous()                                                 # (3072, n)
        if variant.data == "MX":
            return course_patch_matrix(X, self.case.f).contiguous()              # (n_p, f·f·3, n)
        return images_from_columns(X).permute(2, 3, 1, 0).contiguous() if variant.data == "images" else X

    def net(self, layout, variant):
        def value(key):
            if key != "F":
                return self.param(key, layout)
            F = self.params["F"]                                                  # (nf, 3, f, f)
            if layout == "dd2424":
                return filters_to_course(F, flat=variant.filters == "flat")       # (f·f·3, nf) or (f, f, 3, nf)
            return F.clone() if variant.filters == "4-D" else F.flatten(1).clone()  # (nf, 3, f, f) or (nf, 3·f·f)
        return build(self.names(variant), value, variant.structure)

    def names(self, variant):
        return {variant.name if k == "F" else k: v for k, v in self.groups.items()}

    def written(self, variant):
        return written(self.names(variant), variant.structure)

    def said(self, variant):
        return [w for w in (DATA[variant.layout][variant.data], FILTERS[variant.layout][variant.filters]) if w]

    def probabilities(self, **fitted):
        S = self.model.forward(self.X)[0]                                         # (n, K)
        return torch.softmax(S, dim=1) if self.model.loss_name == "ce" else torch.sigmoid(S)

    def reference(self, **fitted):
        return self.model.gradients(self.X, self.y)

    def library(self, key, given, layout, name):
        """Your filters' gradient as the library's (nf, 3, f, f), from either of the layout's shapes; a
        flat one the other way round kept as it is (a mistake the report names)."""
        if key != "F":
            return super().library(key, given, layout, name)
        F = self.params["F"]
        nf, c, f, _ = F.shape
        shapes = {(f, f, c, nf): "Fs", (f * f * c, nf): "Fs_flat"} if layout == "dd2424" else \
            {tuple(F.shape): "F", (nf, c * f * f): "F flattened"}
        if tuple(given.shape) in shapes:
            return filters_from_course(given) if layout == "dd2424" else given.reshape(F.shape)
        if given.dim() == 2 and tuple(given.shape[::-1]) in shapes:
            return given
        want = " or ".join(f"{s} for {what}" for s, what in shapes.items())
        raise YourFunctionError(f"{name}'s grad_F has shape {tuple(given.shape)}; the {layout} layout wants {want} "
                                f"on case {self.case.name} (is --layout right?)")


problem = ConvProblem
