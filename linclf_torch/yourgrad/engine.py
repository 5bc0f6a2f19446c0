"""The one engine: run your gradient function on a family's cases (families/) and judge it.

    check_gradients(fn, model="linear" | "two-layer" | "batchnorm" | "k-layer-bn" | "conv" | "rnn", layout=None, …)

1. Recognise how to call fn, on the first case: every form of the family that fn fits
   (forms.py), each argument variant (the structures of `net`, structures.py; batch norm's mu
   and v as columns or vectors), tensors or numpy arrays, and for a form that takes fp_data,
   your forward's whole result or each element of its tuple. The first that runs and returns
   gradients is kept, and the report says which; when none does, one line says what the most
   likely one was called with and what it raised.
2. Call it on every case, each call with fresh copies (student.py); your forward (given, or the
   one function beside fn whose name reads as a forward pass) runs on the same case.
3. Fit what the family fits (batch norm's ε) on the first case; judge every gradient (judge.py).
4. Forward before backward: where your forward's result holds P (the (K, n) array whose columns
   sum to 1), it is compared with the reference's P. A wrong P is the report's first finding
   (the gradients are then those of another function). A P that is NaN or inf is your forward
   overflowing: the gradients of that case are not judged, and a note says so and how to fix it.
5. Name the mistakes of the failing gradients (the family's diagnose).
"""
import re
from importlib.util import find_spec

import torch

from ..nn.losses import LOSSES
from .calls import YourFunctionError, numpy_only, said
from .families import FAMILIES
from .forms import fits, forwards_beside, signature, strings
from .judge import Result, compare, judged
from .owncost import own_cost_errors
from .report import Report
from .structures import variants as net_variants
from .student import Call, Student

LAYOUTS = ("dd2424", "torch")
ARRAYS = ("auto", "torch", "numpy")
MODELS = tuple(FAMILIES)


def check_gradients(fn, model="linear", layout=None, loss="ce", *, forward=None, cost=None, arrays="auto", seed=0,
                    name=None, explain=None, **options):
    """Run fn on every case of the family `model` and compare with the library's float64 gradients.

    layout: "dd2424" (X (d, n), Y one-hot (K, n)), "torch" (X (n, d), y (n,)), or None: whichever
    fn runs with, dd2424's tried first. forward: your forward pass FORWARD(X, net), for the forms
    that take its result and to check its P; None: the one function beside fn whose name reads
    as a forward pass, if there is exactly one. cost: your cost J(X, Y, net, lam) (the family's
    forms without fp_data; linear: ComputeCost(X, Y, W, b, lam)), whose centred differences your
    gradients are compared with on the small cases (owncost.py). arrays: "torch", "numpy", or
    "auto" (numpy arrays when fn's module imports numpy and not torch, else tensors, then arrays
    when fn fails on them).
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
    if cost is not None:
        report.own_cost = (getattr(cost, "__name__", "your cost"),
                           own_cost_errors(cost, family, problems, given, c, explain))
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
