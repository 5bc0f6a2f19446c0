"""Your backward against your own cost (`--cost FUNCTION`, check_gradients' cost=): centred
differences of the cost your code computes, on the cases small enough, in float64.

It tells the two places a wrong gradient can come from apart: a backward that matches your own
cost but not the reference is right for the function your code computes, so the cost or the
forward is what differs; a backward that does not match your own cost is wrong itself. Each
parameter entry is perturbed in the library's layout and the arguments are made afresh for every
call (the course's layouts are permutations and reshapes of it), so the numbers come back in
the layout your gradients are judged in. With h = 1e-6 in float64 the centred difference's own
error is about 1e-8 norm-wise (truncation O(h²), rounding ε·|J|/h: nn/gradcheck.py), far below
the 1e-5 bar; a backward that is wrong for its own cost errs by 1e-3 or more.
"""
import torch

from ..nn.gradcheck import norm_rel_error
from .calls import YourFunctionError, as_arrays, invoke
from .forms import fits, signature

H = 1e-6
TOL = 1e-5     # norm-wise
ENTRIES = 2000  # a case with more parameter entries is left out: two calls of your cost an entry


def cost_forms(family, layout):
    """The forms a cost takes: the family's COST_FORMS, else its forms without fp_data or P."""
    forms = getattr(family, "COST_FORMS", None)
    if forms is None:
        forms = [f for f in family.FORMS if not f.forward and "P" not in f.roles]
    return [f for f in forms if f.layout == layout]


def number(out):
    """Your cost's value: the number itself, or the last number of a tuple ((loss, cost), (loss, h))."""
    values = out if isinstance(out, (tuple, list)) else [out]
    scalars = [float(v) for v in values if isinstance(v, (int, float)) or getattr(v, "size", 2) == 1
               or (isinstance(v, torch.Tensor) and v.numel() == 1)]
    return scalars[-1] if scalars else None


def own_cost_errors(cost, family, problems, given, call, explain=None):
    """[(case number, norm-wise error of your gradients against centred differences of your cost)]
    on the cases with at most ENTRIES parameter entries; a YourFunctionError when the cost fits no
    form or returns no number."""
    name = getattr(cost, "__name__", "your cost")
    forms = [f for f in cost_forms(family, call.form.layout) if fits(cost, f)]
    if not forms:
        known = "; ".join(f"cost({', '.join(f.roles)}) -> J" for f in cost_forms(family, call.form.layout))
        raise YourFunctionError(f"{signature(cost, name)} fits no form of a cost for this family: "
                                f"{known or 'it has no cost (check the network instead)'}")
    errors = []
    for i, (p, grads) in enumerate(zip(problems, given), start=1):
        if sum(p.params[k].numel() for k in p.keys) > ENTRIES:
            continue
        form = forms[0]

        def J(p=p, form=form):
            out = invoke(cost, as_arrays(p.arguments(form.roles, form.layout, call.variant), call.numpy), name,
                         p.case, explain)
            if (value := number(out)) is None:
                raise YourFunctionError(f"{name} returned {type(out).__name__}, not a number (case {p.case.name})")
            return value
        mine, numeric = [], []
        for k in p.keys:
            if grads[k].shape != p.params[k].shape:
                continue  # transposed: the table says so already
            flat, g = p.params[k].view(-1), torch.zeros(p.params[k].numel(), dtype=torch.float64)
            for j in range(flat.numel()):
                old = flat[j].item()
                flat[j] = old + H
                plus = J()
                flat[j] = old - H
                g[j] = (plus - J()) / (2 * H)
                flat[j] = old
            mine.append(grads[k].reshape(-1))
            numeric.append(g)
        errors.append((i, norm_rel_error(torch.cat(mine), torch.cat(numeric))))
    return errors
