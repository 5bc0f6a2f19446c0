"""Check *your own* gradient function against the library's, and name the mistake if it is a known one.

Your function takes one of the forms of forms.py, as the course's skeletons write them, in one
of two layouts (K = 10 classes, n images, d inputs; m hidden units in the two-layer network):
    dd2424   ComputeGradients(X, Y, P, W, lam) -> (grad_W, grad_b), or (the 2026 texts)
             BackwardPass(X, Y, P, network, lam) -> {'W': grad_W, 'b': grad_b};
             two-layer: BackwardPass(X, Y, fp_data, net, lam) or f(X, Y, net, lam) -> grads like net
             X (d, n) one image per column, Y (K, n) one-hot, P (K, n) = softmax(S) for CE or
             σ(S) for MBCE, with S = W X + b; W (K, d), b (K, 1); lam a float.
    torch    f(X, y, W, b, lam) -> (grad_W, grad_b); two-layer: f(X, y, [fp_data,] net, lam)
             X (n, d) one image per row, y (n,) int64 labels, W (K, d), b (K,); lam a float;
             you compute the scores S = X Wᵀ + b and the softmax or sigmoid yourself.
Each is the gradient of J = L + λ Σ_l ‖W_l‖², L the mean loss over the n images (losses.py).
The arrays are float64 torch tensors or numpy arrays (converted with Tensor.numpy(): this
module imports no numpy), whichever your function works on: see check's `arrays`. It may
return either kind, in any floating dtype; each call gets fresh copies, so it may change
its inputs.

The cases are cases.py's, seeded. The reference is LinearClassifier.gradients, or for the
two-layer network MLPClassifier(d, (m,), K).gradients, in float64. The measure is the reports' largest
entry-wise relative error |ga − gr| / max(1e-12, |ga| + |gr|), and a gradient passes when it
is ≤ 1e-6: two right float64 computations differ only by rounding (about 1e-16, times the
cancellation in an entry: up to 7.0e-12 measured in the 3072-dimensional case, its digits
varying by CPU; 2.5e-11 in the two-layer network's), and every mistake in mistakes.py errs by
more than 1e-3, even norm-wise (the least: λW with one image, 2.4e-3; two-layer, 5.6e-2).
A gradient computed in float32 (ε = 1.2e-7) cannot meet that: where an entry is a nearly
cancelling sum only a few digits survive (the library's own float32 gradients err up to
2e-2 entry-wise on these cases). So a gradient also passes, marked "float32", when its
norm-wise error ‖ga − gr‖ / (‖ga‖ + ‖gr‖) is ≤ 1e-4: a right float32 function measured
1.0e-7, and 4.4e-6 at scores of 1000, which float32 itself rounds by 6e-5; the least
mistake is 24 times above that bar.
When a gradient fails, mistakes.py names the mistake if its numbers match a known one.
"""
import copy
import functools
import types
import warnings
from importlib.util import find_spec

import torch

from ..nn.gradcheck import max_rel_error, norm_rel_error
from ..nn.losses import LOSSES
from .cases import CASES, CASES_OF, TWO_LAYER_CASES, Case, K, problem  # noqa: F401 (the names tests and callers use)
from .forms import DIMS, PARAMS, YourFunctionError, arguments, as_arrays, as_tensor, fitting, gradients
from .mistakes import data_terms, diagnose, non_finite_diagnosis
from .report import TOL, TOL_FLOAT32, Report, Result

LAYOUTS = ("dd2424", "torch")
MODELS = tuple(CASES_OF)
BN_MODELS = ("batchnorm", "k-layer-bn")  # checked by bncheck.check_bn
ARRAYS = ("auto", "torch", "numpy")


def invoke(fn, args, name, case, hint):
    """fn(*args); its exception, if any, as a YourFunctionError of one line, the exception its __cause__."""
    try:
        with warnings.catch_warnings():  # numpy's "overflow encountered in exp": the diagnosis says it better
            warnings.simplefilter("ignore")
            return fn(*args)
    except (Exception, SystemExit) as e:  # any bug of yours: said in one line, with its case
        raise YourFunctionError(f"{name} raised {said(e)} on case {case.name} {hint}") from e


def call(fn, args, case, numpy, name, form, forward=None):
    """fn(*args) in `form`, with tensors or numpy arrays (a forward form's fp_data made by your
    `forward` first); its gradients as float64 CPU tensors, in PARAMS' order.

    A YourFunctionError's __cause__ is fn's exception when fn raised, else None.
    """
    args = as_arrays(args, numpy)
    kind = "numpy arrays" if numpy else "torch tensors"
    hint = f"(called with the {form.layout} layout's arguments as {kind}: see --layout, --arrays)"
    if form.forward:  # fp_data = forward(X, net), on copies of its own
        X, net = copy.deepcopy([args[0], args[2]])
        args.insert(2, invoke(forward, (X, net), getattr(forward, "__name__", "your forward"), case, hint))
    out = invoke(fn, args, name, case, hint)
    values = gradients(form, out, name, case)
    return [as_tensor(v, f"grad_{key}", name, case) for v, key in zip(values, PARAMS[form.model])]


def said(e):
    """An exception in one line: its type and message."""
    return f"{type(e).__name__}: {' '.join(str(e).split())}"


def numpy_only(fn):
    """Whether fn's module imports numpy and not torch (the modules among its globals)."""
    imported = {v.__name__.partition(".")[0] for v in getattr(fn, "__globals__", {}).values()
                if isinstance(v, types.ModuleType)}
    return "numpy" in imported and "torch" not in imported


def call_either(fn, fresh_args, case, name, form, forward):
    """(numpy, gradients): fn on the first case with torch tensors, or, when it chokes on them
    as numpy code does (np.sum(G, axis=1) on a tensor: TypeError; an ndarray method:
    AttributeError), with numpy arrays. Without numpy installed, torch it is.
    fresh_args() makes the arguments anew for each try.
    """
    try:
        return False, call(fn, fresh_args(), case, False, name, form, forward)
    except YourFunctionError as e:
        if not isinstance(e.__cause__, (TypeError, AttributeError)) or find_spec("numpy") is None:
            raise
        torch_error = e
    try:
        return True, call(fn, fresh_args(), case, True, name, form, forward)
    except YourFunctionError as e:
        if e.__cause__ is None:  # numpy got further, to a result that breaks the contract: that is the news
            raise
        message = f"{torch_error} (numpy arrays failed too: {said(e.__cause__)})"
        raise YourFunctionError(message) from torch_error.__cause__


def recognise(fn, forms, X, y, model, case, numpy, auto, name, forward):
    """(form, numpy, gradients): the first of `forms` that fn runs as on the first case.

    When none runs, the first's error, then each other's (its exception, or what it returned).
    """
    errors = []
    for form in forms:
        fresh = functools.partial(arguments, form, X, y, model)  # a new copy of the arguments per call
        try:
            if auto and not numpy:
                return (form, *call_either(fn, fresh, case, name, form, forward))
            return form, numpy, call(fn, fresh(), case, numpy, name, form, forward)
        except YourFunctionError as e:
            errors.append((form, e))
    (_, first), *others = errors
    if not others:
        raise first
    tries = "; ".join(f"as {form.said()}: {said(e.__cause__) if e.__cause__ else e}" for form, e in others)
    raise YourFunctionError(f"{first} (nor does it run {tries})") from first.__cause__


def compare(given, ref):
    """Your gradient against the reference: a Result's max_rel, norm_rel, status and finite."""
    if not torch.isfinite(given).all():
        return {"finite": False}
    max_rel, norm_rel = max_rel_error(given, ref), norm_rel_error(given, ref)
    status = "pass" if max_rel <= TOL else "pass (float32)" if norm_rel <= TOL_FLOAT32 else "FAIL"
    return {"max_rel": max_rel, "norm_rel": norm_rel, "status": status}


def matches(given, candidate):
    """Whether your gradient is `candidate`, to the precision a check accepts."""
    return given.shape == candidate.shape and compare(given, candidate).get("status", "FAIL") != "FAIL"


def check(fn, layout="torch", loss="ce", *, model="linear", forward=None, arrays="auto", seed=0, name=None):
    """Run fn on every case of the model's (cases.py) and compare with the library's float64 gradients.

    model: "linear" (Assignment 1) or "two-layer" (Assignment 2); forward: your forward pass,
    ApplyNetwork(X, net), for the forms that take its result (forms.py).
    arrays: what fn is called with, "torch" tensors, "numpy" arrays, or "auto": numpy arrays
    when fn's module imports numpy and not torch, else torch tensors unless fn raises
    TypeError or AttributeError on them in the first case and works on numpy arrays there
    (a student's numpy file needs no flag to say so).
    Returns a Report: print it for the table and the mistakes found; report.passed is the
    verdict. Raises YourFunctionError when fn fits no known form, raises, or returns other
    than the form's arrays in their shapes (a transposed grad_W is a mistake the report
    names, not an error).
    """
    if model in BN_MODELS:
        raise ValueError(f"model {model!r} is checked by linclf_torch.yourgrad.bncheck.check_bn")
    if layout not in LAYOUTS or loss not in LOSSES or arrays not in ARRAYS or model not in MODELS:
        raise ValueError(f"layout must be one of {LAYOUTS}, loss one of {tuple(LOSSES)}, arrays one of {ARRAYS} and "
                         f"model one of {MODELS}; got {layout!r}, {loss!r}, {arrays!r}, {model!r}")
    name = name or getattr(fn, "__name__", "your function")
    if arrays == "numpy" and find_spec("numpy") is None:
        raise YourFunctionError("numpy arrays were asked for, but numpy is not installed: pip install numpy")
    forms = fitting(fn, layout, model, name)
    if forward is None and all(f.forward for f in forms):
        raise YourFunctionError(f"{name} takes fp_data, your forward pass's result: give the function that makes it "
                                "with --forward FUNCTION (by default ApplyNetwork, from the same file)")
    numpy = arrays == "numpy" or (arrays == "auto" and numpy_only(fn))
    cases = CASES_OF[model]
    report = Report(name, layout, loss, cases=list(cases), model=model)
    for i, case in enumerate(cases):
        X, y, reference = problem(case, loss, seed + i)
        ref = reference.gradients(X, y)                                # {"W": (K, d), "b": (K,)} or W1, b1, W2, b2
        if i == 0:
            form, numpy, grads = recognise(fn, forms, X, y, reference, case, numpy, arrays == "auto", name, forward)
        else:
            grads = call(fn, arguments(form, X, y, reference), case, numpy, name, form, forward)
        data = None  # the gradients' data terms, for a diagnosis
        for given, key in zip(grads, PARAMS[model]):
            if key.startswith("b") and given.numel() == ref[key].numel():
                given = given.reshape(ref[key].shape)  # (out, 1), (1, out) or (out,): all taken
            result = judge(given, ref[key], key, case, layout, name)
            if result.status == "FAIL" and result.finite:
                data = data or data_terms(reference, X, y)
                sees_b = layout == "torch" or form.net
                result.mistakes = diagnose(given, key, data[key], reference.params[key], case, loss, sees_b, matches)
            report.results.append(result)
    report.arrays = "numpy arrays" if numpy else "torch tensors"
    report.form = form.said(getattr(forward, "__name__", "ApplyNetwork"))
    non_finite_diagnosis(report.results, loss)
    return report


def judge(given, ref, key, case, layout, name):
    """The Result for one returned gradient: its errors and status."""
    param = f"grad_{key}"
    if given.shape == ref.shape:
        return Result(case, param, **compare(given, ref))
    if key.startswith("W") and given.shape == ref.shape[::-1]:  # (in, out): a mistake to name, not a usage error
        return Result(case, param, shape=tuple(given.shape))
    dims = DIMS[key]
    want = (f"({', '.join(dims)}) = {tuple(ref.shape)}" if key.startswith("W") else
            f"({dims}, 1) = ({len(ref)}, 1)" if layout == "dd2424" else f"({dims},) = ({len(ref)},)")
    raise YourFunctionError(f"{name}'s {param} has shape {tuple(given.shape)}; the {layout} layout wants "
                            f"{want} on case {case.name} (is --layout right?)")
