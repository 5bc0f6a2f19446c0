"""What a family's case gives the engine (engine.py): the arguments of every form in either
layout, the reference gradients, and your results taken back in the library's shapes.

A family (families/) subclasses Problem for one case and fills in:
    keys        the gradients' library names, in order: ("W1", "b1", "W2", "b2")
    groups      the course's names for them (structures.py): {"W": ["W1", "W2"], "b": ["b1", "b2"]}
    params      {library name: the parameter}, library shapes: W_l (out, in), vectors (m,)
    data(role, layout)     X, Y, y, P, G, S, mu, v, lam in the layout (forms.py)
    reference(**fitted)    {library name: the gradient}, float64; `fitted`: the family's fit (batch norm's ε)
and where it has them: probabilities(**fitted), the reference P (n, K), to check your forward
against; floors(ref), {name: an absolute bar} for a gradient whose true value is 0.
A family whose argument variants (families/ variants()) vary more than net's structure says
how with net(layout, variant), names(variant), written(variant) and said(variant).
"""
from .calls import YourFunctionError
from .structures import build, written


class Problem:
    keys, groups, params = (), {}, {}

    def __init__(self, case):
        self.case = case

    def param(self, key, layout):
        """A parameter as the layout writes it: a vector is a column (m, 1) in dd2424's."""
        p = self.params[key]
        return p[:, None].clone() if layout == "dd2424" and p.dim() == 1 else p.clone()

    def arguments(self, roles, layout, variant):
        """The form's arguments for this case, fresh copies; None where fp goes (engine.py fills it)."""
        def value(role):
            if role in ("fp", "fp*"):
                return None
            if role == "net":
                return self.net(layout, variant)
            if role in self.params:
                return self.param(role, layout)
            return self.data(role, layout, variant)
        return [value(role) for role in roles]

    def net(self, layout, variant):
        """net in the structure `variant` (structures.py)."""
        return build(self.groups, lambda key: self.param(key, layout), variant)

    def names(self, variant):
        """The course's names of the parameters in net as `variant` gives it: the groups your gradients are taken
        back by (structures.taken)."""
        return self.groups

    def written(self, variant):
        """net's structure under `variant`, as the report writes it: {'W': [W1, W2], 'b': [b1, b2]}."""
        return written(self.groups, variant)

    def said(self, variant):
        """What else `variant` gave your function, in words for the report ([] for net's structure alone)."""
        return []

    def probabilities(self, **fitted):
        return None

    def floors(self, ref):
        return {}

    def library(self, key, given, layout, name):
        """Your gradient of `key` in the library's shape: as it is, a vector from (m, 1) or (1, m), or
        a matrix transposed (kept: a mistake the report names); any other shape is a YourFunctionError."""
        ref = self.params[key]
        if given.shape == ref.shape or (ref.dim() == 2 and given.shape == ref.shape[::-1]):
            return given
        if ref.dim() == 1 and given.numel() == ref.numel() and given.dim() <= 2:
            return given.reshape(ref.shape)
        want = tuple(ref.shape) if ref.dim() != 1 or layout == "torch" else (len(ref), 1)
        raise YourFunctionError(f"{name}'s grad_{key} has shape {tuple(given.shape)}; the {layout} layout wants "
                                f"{want} on case {self.case.name} (is --layout right?)")
