"""Your function as the engine calls it: a Call (a form, an argument variant, arrays, the fp_data
given) run on one case, your forward's result and the P in it, your gradients taken back."""
from dataclasses import dataclass

import torch

from .calls import YourFunctionError, as_arrays, as_tensor, invoke
from .structures import flat_names, taken

P_NAMES = ("p", "probs", "prob", "probabilities", "ypred", "yhat")


@dataclass(frozen=True)
class Call:
    form: object
    variant: str
    numpy: bool
    pick: int = None  # the element of your forward's tuple given as fp_data; None: its whole result

    def said(self, p, forward_name):
        """The form as your function was called on p's case: net in its structure, the family's other
        argument variants (p.said), what fp_data was."""
        words = [self.form.said(forward_name)]
        if "net" in self.form.roles:
            words[0] += f", {getattr(p, 'net_name', 'net')} = {p.written(self.variant)}"
        words += p.said(self.variant)
        if self.pick is not None:
            words.append(f"fp_data = element {self.pick} of the tuple {forward_name} returns")
        return "; ".join(words)


class Student:
    """Your function (and forward), called as a Call on one case."""

    def __init__(self, fn, name, forward, forward_roles, explain):
        self.fn, self.name, self.forward, self.explain = fn, name, forward, explain
        self.forward_name = getattr(forward, "__name__", "your forward")
        self.forward_roles = forward_roles  # the arguments your forward takes: ("X", "net") but for the RNN's

    def call(self, p, c):
        """(your gradients {library key: float64 tensor}, your forward's P (n, K) or None) on p's case."""
        roles = c.form.roles
        args = as_arrays(p.arguments(roles, c.form.layout, c.variant), c.numpy)
        P = None
        if self.forward is not None and "net" in roles:
            out = self.forwarded(p, c, c.form.forward is not None)
            P = probabilities_in(out, p, c.form.layout)
            if c.form.forward == "fp":
                args[roles.index("fp")] = out if c.pick is None else out[c.pick]
            elif c.form.forward == "fp*":
                if not isinstance(out, (tuple, list)):
                    raise YourFunctionError(f"{self.name} takes the elements of {self.forward_name}'s result, which "
                                            f"returned a {type(out).__name__}, not a tuple (case {p.case.name})")
                i = roles.index("fp*")
                args[i:i + 1] = list(out)
        out = invoke(self.fn, args, self.name, p.case, self.explain)
        return self.gradients(out, p, c), P

    def forwarded(self, p, c, needed):
        """Your forward's result on p's case, its arguments as c makes them (copies of its own). When
        the backward does not take it, a forward that raises is not blamed: its P is not checked there."""
        args = as_arrays(p.arguments(self.forward_roles, c.form.layout, c.variant), c.numpy)
        try:
            out = invoke(self.forward, args, self.forward_name, p.case, self.explain)
        except YourFunctionError:
            if needed:
                raise
            return None  # its P is then not checked on this case
        if out is None and needed:
            raise YourFunctionError(f"your forward {self.forward_name} returned None on case {p.case.name}: it must "
                                    f"return what {self.name} takes as fp_data (a missing return statement?)")
        return out

    def gradients(self, out, p, c):
        form, groups = c.form, p.names(c.variant)
        single = len(p.keys) == 1 and not isinstance(out, (dict, list, tuple))
        values = {p.keys[0]: out} if single else taken(out, groups, p.keys)
        if values is None:
            what = (f"a dict with keys {sorted(map(str, out))}" if isinstance(out, dict) else
                    f"a {type(out).__name__} of {len(out)}" if isinstance(out, (list, tuple)) else
                    f"a {type(out).__name__}")
            names = ", ".join(f"grad_{k}" for k in p.keys)
            want = ("grads structured like net, with flat keys (" + ", ".join(flat_names(groups)) +
                    f") or as a tuple ({names})") if "net" in form.roles else f"its gradients ({names})"
            raise YourFunctionError(f"{self.name} returned {what}; it must return {want} (case {p.case.name})")
        return {k: p.library(k, as_tensor(values[k], f"grad_{k}", self.name, p.case), form.layout, self.name)
                for k in p.keys}


def columns(steps):
    """{0: p_0, 1: p_1, …} (columns (K, 1) or vectors (K,), numpy or torch) as one (K, τ) tensor, or None."""
    try:
        return torch.cat([torch.as_tensor(steps[t]).reshape(-1, 1) for t in range(len(steps))], dim=1)  # (K, τ)
    except (TypeError, RuntimeError, ValueError):
        return None


def probabilities_in(out, p, layout):
    """The P (n, K) in your forward's result: the array of P's shape whose rows (torch) or
    columns (dd2424) sum to 1, or that holds NaN or inf; None where there is none."""
    ref = p.probabilities()
    if ref is None or out is None:
        return None
    parts = list(out) if isinstance(out, (list, tuple)) else [out]
    dicts = [d for d in parts if isinstance(d, dict)]  # the result, or a dict in its tuple: its P first
    parts += [columns(d) for d in dicts if set(d) == set(range(len(d)))]  # the RNN's {t: p_t (K, 1)}, stacked
    named = [v for d in dicts for k, v in d.items() if str(k).replace("_", "").lower() in P_NAMES]
    candidates = named + [v for d in dicts for v in d.values()] + [v for v in parts if not isinstance(v, dict)]
    for v in candidates:
        if not (isinstance(v, torch.Tensor) or hasattr(v, "__array_interface__")):
            continue
        t = torch.as_tensor(v).detach().cpu().double()
        t = t.T if layout == "dd2424" and t.dim() == 2 else t
        if t.shape == ref.shape and (not torch.isfinite(t).all() or ((t.sum(1) - 1).abs() <= 1e-4).all()):
            return t
    return None
