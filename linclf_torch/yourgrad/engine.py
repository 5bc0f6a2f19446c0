"""The one engine: run your gradient function on a family's cases (families/) and judge it.

    check_gradients(fn, model="linear" | "two-layer" | "batchnorm" | "k-layer-bn" | "conv", layout=None, …)

1. Recognise how to call fn, on the first case: every form of the family that fn fits
   (forms.py), each argument variant (the structures of `net`, structures.py; batch norm's mu
   and v as columns or vectors), tensors or numpy arrays, and for a form that takes fp_data,
   your forward's whole result or each element of its tuple. The first that runs and returns
   gradients is kept, and the report says which; when none does, one line says what the most
   likely one was called with and what it raised.
2. Call it on every case, each call with fresh copies; your forward (given, or the one
   function beside fn whose name reads as a forward pass) runs on the same arguments.
3. Fit what the family fits (batch norm's ε) on the first case; judge every gradient (judge.py).
4. Forward before backward: where your forward's result holds P (the (K, n) array whose columns
   sum to 1), it is compared with the reference's P. A wrong P is the report's first finding
   (the gradients are then those of another function). A P that is NaN or inf is your forward
   overflowing: the gradients of that case are not judged, and a note says so and how to fix it.
5. Name the mistakes of the failing gradients (the family's diagnose).
"""
import re
from dataclasses import dataclass
from importlib.util import find_spec

import torch

from ..nn.losses import LOSSES
from .calls import YourFunctionError, as_arrays, as_tensor, invoke, numpy_only, said
from .families import FAMILIES
from .forms import fits, forwards_beside, signature, strings
from .judge import Result, compare, judged
from .report import Report
from .structures import flat_names, taken
from .structures import variants as net_variants

LAYOUTS = ("dd2424", "torch")
ARRAYS = ("auto", "torch", "numpy")
MODELS = tuple(FAMILIES)
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
        the backward does not take it, a forward that raises is dropped, not blamed."""
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


def probabilities_in(out, p, layout):
    """The P (n, K) in your forward's result: the array of P's shape whose rows (torch) or
    columns (dd2424) sum to 1, or that holds NaN or inf; None where there is none."""
    ref = p.probabilities()
    if ref is None or out is None:
        return None
    parts = list(out) if isinstance(out, (list, tuple)) else [out]
    dicts = [d for d in parts if isinstance(d, dict)]  # the result, or a dict in its tuple: its P first
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


def check_gradients(fn, model="linear", layout=None, loss="ce", *, forward=None, arrays="auto", seed=0, name=None,
                    explain=None, **options):
    """Run fn on every case of the family `model` and compare with the library's float64 gradients.

    layout: "dd2424" (X (d, n), Y one-hot (K, n)), "torch" (X (n, d), y (n,)), or None: whichever
    fn runs with, dd2424's tried first. forward: your forward pass FORWARD(X, net), for the forms
    that take its result and to check its P; None: the one function beside fn whose name reads
    as a forward pass, if there is exactly one. arrays: "torch", "numpy", or "auto" (numpy arrays
    when fn's module imports numpy and not torch, else tensors, then arrays when fn fails on them).
    explain(exception) -> str or None: more words for a NameError (usercode.py, for notebooks).
    options: the family's own (families/), e.g. loss_reduction="sum" for the RNN.
    Returns a Report: print it, or show it in a notebook; report.passed is the verdict. Raises
    YourFunctionError (one line) when fn fits no form, raises, or returns other than its gradients.
    """
    if model not in FAMILIES or layout not in (None, *LAYOUTS) or loss not in LOSSES or arrays not in ARRAYS:
        raise ValueError(f"model must be one of {MODELS}, layout one of {LAYOUTS} or None, loss one of "
                         f"{tuple(LOSSES)} and arrays one of {ARRAYS}; got {model!r}, {layout!r}, {loss!r}, {arrays!r}")
    family, name = FAMILIES[model], name or getattr(fn, "__name__", "your function")
    if unknown := set(options) - set(getattr(family, "OPTIONS", ())):
        raise ValueError(f"--model {model} takes no option {', '.join(sorted(unknown))}; its options: "
                         f"{', '.join(getattr(family, 'OPTIONS', ())) or 'none'}")
    if arrays == "numpy" and find_spec("numpy") is None:
        raise YourFunctionError("numpy arrays were asked for, but numpy is not installed: pip install numpy")
    family_forms = family.forms(fn) if hasattr(family, "forms") else family.FORMS  # the RNN's: bound by name
    forms = [f for f in family_forms if layout in (None, f.layout) and fits(fn, f)]
    if not forms:
        known = "; ".join(f.said() for f in family.FORMS if layout in (None, f.layout))
        raise YourFunctionError(f"{signature(fn, name)} fits no form the check knows for --model {model}: {known} "
                                f"(only required parameters count){suggestion(fn, name, model)}")
    candidates = forwards_beside(fn, getattr(family, "FORWARD_ARGUMENTS", 2)) if forward is None else {}
    forward = forward or (next(iter(candidates.values())) if len(candidates) == 1 else None)
    if forward is None:
        if all(f.forward for f in forms):
            listed = f"; the candidates beside it: {', '.join(candidates)}" if candidates else ""
            raise YourFunctionError(f"{name} takes fp_data, your forward pass's result: name the function that makes "
                                    f"it with --forward FUNCTION (forward= from Python){listed}")
        hint = "" if len(forms) == len(without := [f for f in forms if not f.forward]) else \
            " (if it takes your forward's result, fp_data: name your forward with --forward FUNCTION)"
        forms = without
    else:
        hint = ""
    cases = family.cases(**options) if hasattr(family, "cases") else family.CASES
    problems = [family.problem(case, loss, seed + i, **options) for i, case in enumerate(cases)]
    roles = family.forward_roles(forward) if forward is not None and hasattr(family, "forward_roles") else ("X", "net")
    student = Student(fn, name, forward, roles, explain)
    c, first = recognise(student, problems[0], forms, family, arrays, hint + suggestion(fn, name, model))
    runs = [first] + [student.call(p, c) for p in problems[1:]]
    given, Ps = [g for g, _ in runs], [P for _, P in runs]
    fitted = family.fit(problems[0], given[0]) if hasattr(family, "fit") else {}
    said_loss = getattr(problems[0], "said_loss", loss.upper() if problems[0].probabilities() is not None else None)
    report = Report(name, c.form.layout, said_loss,
                    arrays="numpy arrays" if c.numpy else "torch tensors", model=model,
                    form=c.said(problems[0], student.forward_name),
                    cases=[p.case for p in problems], how=family.HOW, forward_name=student.forward_name)
    report.results = judged(problems, given, fitted)
    if student.forward is not None and any(P is not None for P in Ps):
        own = family.fit_forward(problems[0], Ps[0]) if hasattr(family, "fit_forward") and Ps[0] is not None and \
            torch.isfinite(Ps[0]).all() else fitted  # your forward's own ε, whatever your backward's
        report.forward = [Result(p.case, "P (forward)", **compare(P, p.probabilities(**own))) if P is not None
                          else Result(p.case, "P (forward)", status="not found") for p, P in zip(problems, Ps)]
    report.mark_overflow()
    if layout is None and c.form.layout == "torch":
        report.notes.append("Layout torch, found by trying: your function runs with X as (n, d), one image per row "
                            "(give --layout to say so).")
    if floored := getattr(problems[0], "floored", ()):
        report.notes.append(f"{', '.join(floored)} precede a batch norm: their true gradient is 0 (μ absorbs them), so "
                            f"the table shows max |ga − gr| ≤ 1e-08 · max |grad_W_l| to pass (|Δ| cells).")
    if any(r.status == "FAIL" for r in report.results):
        family.diagnose(report, problems, given, fitted, c.form)
        report.mark_overflow()
    elif hasattr(family, "said_fit") and report.passed:
        report.notes.append(family.said_fit(fitted))
    return report


def recognise(student, p, forms, family, arrays, hint):
    """(the Call, its result on case p): the first way of calling your function that runs."""
    if arrays == "auto":
        order = [True] if numpy_only(student.fn) else [False, True] if find_spec("numpy") else [False]
    else:
        order = [arrays == "numpy"]
    hints = strings(student.fn) | (strings(student.forward) if student.forward else set())
    tried = []
    for numpy in order:
        for form in forms:
            variants = family.variants(form.layout, hints) if hasattr(family, "variants") else \
                net_variants(p.groups, hints) if "net" in form.roles else ("lists",)
            for variant in variants:
                for pick in picks(student, p, Call(form, variant, numpy)):
                    c = Call(form, variant, numpy, pick)
                    try:
                        return c, student.call(p, c)
                    except YourFunctionError as e:
                        tried.append((c, e))
    returned = [e for _, e in tried if e.__cause__ is None]  # got as far as a result: that is the news
    if returned:
        raise YourFunctionError(f"{returned[0]}{hint}")
    e = tried[0][1]
    other = next((x.__cause__ for _, x in tried if said(x.__cause__) != said(e.__cause__)), None)
    more = f" (nor with the {len(tried) - 1} other ways tried, e.g. {said(other)})" if other else ""
    raise YourFunctionError(f"{e}{more}{hint}") from e.__cause__


def picks(student, p, c):
    """The fp_data to try for a form that takes it: your forward's whole result, then each element of its tuple."""
    if c.form.forward != "fp":
        return [None]
    try:
        out = student.forwarded(p, c, True)
    except YourFunctionError:
        return [None]
    return [None, *range(len(out))] if isinstance(out, (list, tuple)) else [None]


BN_NAME = re.compile(r"batch_?norm|bn_?back", re.IGNORECASE)


def suggestion(fn, name, model):
    """' (did you mean --model …?)' when fn looks like another family's function, else ''."""
    words = {s.lower() for s in strings(fn)}
    if model != "batchnorm" and BN_NAME.search(name):
        guess = "batchnorm"
    elif model != "k-layer-bn" and words & {"gamma", "beta"}:
        guess = "k-layer-bn"
    elif model == "linear" and (words & {"w2", "b2"} or "2layer" in name.lower().replace("_", "")):
        guess = "two-layer"
    else:
        return ""
    return f" (did you mean --model {guess}?)"
