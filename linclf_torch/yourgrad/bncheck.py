"""Check your own batch normalisation (DD2424 Assignment 3) against the library's, and name the mistake.

    --model batchnorm   the backward pass alone, the assignment's BatchNormBackPass
      dd2424  BatchNormBackPass(G, S, mu, v) -> G    G, S (m, n), one example per column; mu, v (m, 1),
                                                     or (m,) when your function fails on (m, 1)
      torch   f(G, S, mu, v) -> dS                   G, S (n, m), one example per row; mu, v (m,)
      G is the gradient arriving at Ŝ (after G ⊙ γ), S the layer's input, mu and v its batch
      mean and variance (1/n); the result is the gradient at S.
    --model k-layer-bn  the network d → m₁ → m₂ → K, batch norm after each hidden layer, then ReLU
      dd2424  BackwardPass(X, Y, fp_data, net, lam), fp_data = ApplyNetwork(X, net), or f(X, Y, net, lam)
              net = {'W': [W1, W2, W3], 'b': [b1, b2, b3], 'gamma': [γ1, γ2], 'beta': [β1, β2]}, vectors (m, 1)
      torch   f(X, y, fp_data, net, lam) or f(X, y, net, lam), vectors (m,)
      returning grads structured like net; J = L + λ Σ_l ‖W_l‖² with the batch's own μ and v.

ε: your ε, whatever it is, is found from your gradient on the first case (bnmistakes.fit_eps:
the first case of the layer has units of batch variance 1e-4 … 1, where ε shows) and the
reference is computed with it on every case, so a right function passes with any ε; the
report says which ε it found.
The measure is check.py's (entry-wise max relative error ≤ 1e-6, or norm-wise ≤ 1e-4 for
float32). A bias before a batch norm has a true gradient of 0 (μ absorbs it): relative error
means nothing there, so b_l of a hidden layer passes when max |ga − gr| ≤ 1e-8 · max |grad_W_l|
(rounding leaves about 1e-16 of that; every mistake here leaves more than 1e-3).
A failing function is recomputed with every Variant of bnmistakes.py, fewest mistakes first,
each at the ε that fits it best; the first that matches every failing gradient is named.
"""
import copy
from importlib.util import find_spec

import torch

from ..nn.losses import LOSSES
from .bncases import FLOOR, LAYER_CASES, NETWORK_CASES, LayerProblem, NetworkProblem
from .bnmistakes import LAYER_OPTIONS, NETWORK_OPTIONS, fit_eps, variants
from .check import ARRAYS, BN_MODELS, LAYOUTS, compare, invoke, numpy_only
from .forms import YourFunctionError, as_arrays, takes
from .report import Report, Result

NET = "net = {'W': [W1, W2, W3], 'b': [b1, b2, b3], 'gamma': [gamma1, gamma2], 'beta': [beta1, beta2]}"
LAYER_FORMS = {"dd2424": "BatchNormBackPass(G, S, mu, v) -> G, G and S (m, n), mu and v (m, 1) or (m,)",
               "torch": "f(G, S, mu, v) -> dS, G and S (n, m), mu and v (m,)"}
HOW = ("compare it term by term with σ₁ = (v + ε)^−½, σ₂ = (v + ε)^−³⁄₂, G₁ = G ⊙ σ₁1ᵀ, G₂ = G ⊙ σ₂1ᵀ, D = S − μ1ᵀ, "
       "c = (G₂ ⊙ D)1, G ← G₁ − (1/n)(G₁1)1ᵀ − (1/n) D ⊙ (c1ᵀ) (docs/math.md)")


def network_form(layout, forward):
    """The network's form as the report says it: with your forward's fp_data when `forward` names it."""
    Y = "Y" if layout == "dd2424" else "y"
    if forward:
        return f"BackwardPass(X, {Y}, fp_data, net, lam) -> grads like net, fp_data = {forward}(X, net), {NET}"
    return f"f(X, {Y}, net, lam) -> grads like net, {NET}"


def flat(grads):
    return torch.cat([g.reshape(-1) for g in grads.values()])


def check_bn(fn, layout="dd2424", loss="ce", *, model="batchnorm", forward=None, arrays="auto", seed=0, name=None):
    """Run fn on every case of `model` ("batchnorm" or "k-layer-bn") and compare with the library's
    float64 gradients at your ε; returns a Report (print it; report.passed is the verdict).
    Raises YourFunctionError when fn fits no form, raises, or returns other than the form's arrays."""
    if layout not in LAYOUTS or loss not in LOSSES or arrays not in ARRAYS or model not in BN_MODELS:
        raise ValueError(f"layout must be one of {LAYOUTS}, loss one of {tuple(LOSSES)}, arrays one of {ARRAYS} and "
                         f"model one of {BN_MODELS}; got {layout!r}, {loss!r}, {arrays!r}, {model!r}")
    name = name or getattr(fn, "__name__", "your function")
    network = model == "k-layer-bn"
    with_fp = network and takes(fn, 5) and forward is not None
    form = recognised(fn, layout, model, forward if with_fp else None, name)
    cases, Problem = (NETWORK_CASES, NetworkProblem) if network else (LAYER_CASES, LayerProblem)

    def run(problem, case, numpy, column):
        args = as_arrays(problem.arguments(layout, column), numpy)
        hint = f"(called with the {layout} layout's arguments as {'numpy arrays' if numpy else 'torch tensors'})"
        if with_fp:  # fp_data = forward(X, net), on copies of its own
            args.insert(2, invoke(forward, copy.deepcopy([args[0], args[2]]), getattr(forward, "__name__",
                                                                                     "your forward"), case, hint))
        return problem.results(invoke(fn, args, name, case, hint), layout, name, case)

    problems = [Problem(case, loss, seed + i) for i, case in enumerate(cases)]
    tries = [(numpy, column) for numpy in array_choices(fn, arrays)  # dd2424's mu, v: (m, 1), else (m,)
             for column in ((True, False) if layout == "dd2424" and not network else (True,))]
    (numpy, column), first = first_call(lambda t: run(problems[0], cases[0], *t), tries)
    given = [first] + [run(p, c, numpy, column) for p, c in zip(problems[1:], cases[1:])]

    mine = flat(given[0])
    eps = fit_eps(mine, lambda e: flat(problems[0].reference(e))) if torch.isfinite(mine).all() else 1e-5
    report = Report(name, layout, loss if network else None, arrays="numpy arrays" if numpy else "torch tensors",
                    model=model, form=form, cases=list(cases), how=HOW)
    report.results = judged(problems, cases, given, eps)
    if layout == "dd2424" and not network and not column:
        report.notes.append("Your function runs with mu and v as (m,) vectors, not (m, 1) columns.")
    if floored := problems[0].floored:
        report.notes.append(f"{', '.join(floored)} precede a batch norm: their true gradient is 0 (μ absorbs them), so "
                            f"the table shows max |ga − gr| ≤ {FLOOR:.0e} · max |grad_W_l| to pass (|Δ| cells).")
    if report.passed:
        report.notes.append(said_eps(eps))
    else:
        diagnose(report, problems, cases, given, NETWORK_OPTIONS if network else LAYER_OPTIONS)
    return report


def recognised(fn, layout, model, forward, name):
    """The form fn is called as, said for the report; a YourFunctionError when it fits none."""
    if model == "batchnorm":
        if not takes(fn, 4):
            raise YourFunctionError(f"{name} fits no form the check knows for --layout {layout} --model {model}: "
                                    f"{LAYER_FORMS[layout]}")
        return LAYER_FORMS[layout]
    if forward is None and not takes(fn, 4):
        raise YourFunctionError(f"{name} fits no form the check knows for --layout {layout} --model {model}: "
                                f"{network_form(layout, 'ApplyNetwork')}; or {network_form(layout, None)}"
                                + (" (give your forward with --forward)" if takes(fn, 5) else ""))
    return network_form(layout, getattr(forward, "__name__", "your forward") if forward else None)


def array_choices(fn, arrays):
    """Whether to call fn with numpy arrays, in the order to try: numpy for a numpy-only file;
    else torch tensors, then numpy arrays when those fail (check.py's "auto")."""
    if arrays == "numpy" and find_spec("numpy") is None:
        raise YourFunctionError("numpy arrays were asked for, but numpy is not installed: pip install numpy")
    if arrays != "auto":
        return [arrays == "numpy"]
    return [True] if numpy_only(fn) else [False, True] if find_spec("numpy") else [False]


def first_call(call, tries):
    """(the first of `tries` with which call(try) returns, its result); else the first try's
    error, with the last one's."""
    errors = []
    for t in tries:
        try:
            return t, call(t)
        except YourFunctionError as e:
            errors.append(e)
    first, *others = errors
    raise YourFunctionError(f"{first}" + (f" (nor with other arrays or shapes: {others[-1]})" if others else "")) \
        from first.__cause__


def judged(problems, cases, given, eps):
    """A Result per case and gradient, against the reference at `eps`."""
    results = []
    for case, problem, grads in zip(cases, problems, given):
        ref = problem.reference(eps)
        floors = problem.floors(ref)
        results += [judge(case, key, grads[key], ref[key], floors.get(key)) for key in problem.keys]
    return results


def said_eps(eps, under=""):
    found = f"{eps:.2g}" if eps > 1e-14 else "0"
    note = (" (larger than the 1e-5 DD2424 suggests: it damps units whose batch variance is near or below it)"
            if eps > 1.01e-5 else "")
    return (f"Your ε{under}: {found}, found from your gradient on case 1; the reference uses it on every case, so any "
            f"ε passes{note}.")


def judge(case, key, given, ref, floor):
    if not torch.isfinite(given).all():
        return Result(case, f"grad_{key}", finite=False)
    if floor is not None:
        diff = (given - ref).abs().max().item()
        return Result(case, f"grad_{key}", absolute=diff, status="pass" if diff <= floor else "FAIL")
    return Result(case, f"grad_{key}", **compare(given, ref))


def diagnose(report, problems, cases, given, options):
    """Name the first Variant (fewest mistakes first, each at the ε that fits it on the first
    failing case) that matches every gradient of every failing case; the results are then
    judged again at that ε, so that the gradients the mistake leaves alone pass."""
    failing = list(dict.fromkeys(cases.index(r.case) for r in report.results if r.status == "FAIL"))
    mine = flat(given[failing[0]])
    if not torch.isfinite(mine).all():
        return
    p = problems[failing[0]]
    for variant in variants(options):
        eps = fit_eps(mine, lambda e, v=variant: flat(p.variant(e, v)))
        if all(matched(cases[i], problems[i], given[i], eps, variant) for i in failing):
            report.results = judged(problems, cases, given, eps)
            sentence = f"your gradients equal the reference's computed with {' and '.join(variant.mistakes())}"
            for r in report.results:
                if r.status == "FAIL" and r.finite:
                    r.diagnosis = sentence
            report.notes.append(said_eps(eps, " under this mistake").replace(", so any ε passes", ""))
            return


def matched(case, problem, grads, eps, variant):
    """Whether your gradients are the variant's at eps, judged as against the reference."""
    wrong, floors = problem.variant(eps, variant), problem.floors(problem.reference(eps))
    return all(judge(case, k, grads[k], wrong[k], floors.get(k)).status != "FAIL" for k in problem.keys)

