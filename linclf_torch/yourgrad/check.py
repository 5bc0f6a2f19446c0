"""Check *your own* gradient function against the library's, and name the mistake if it is a known one.

Your function, in one of the two layouts students write (K = 10 classes, n images, d inputs):
    dd2424   ComputeGradients(X, Y, P, W, lam) -> (grad_W, grad_b)
             X (d, n) one image per column, Y (K, n) one-hot, P (K, n) = softmax(S) for CE or
             σ(S) for MBCE, with S = W X + b; W (K, d); lam a float.
             grad_W (K, d), grad_b (K, 1) or (K,)
    torch    f(X, y, W, b, lam) -> (grad_W, grad_b)
             X (n, d) one image per row, y (n,) int64 labels, W (K, d), b (K,); lam a float;
             you compute the scores S = X Wᵀ + b and the softmax or sigmoid yourself.
             grad_W (K, d), grad_b (K,)
Both are the gradient of J = L + λ‖W‖², L the mean loss over the n images (losses.py).
The arrays are float64 torch tensors or numpy arrays (converted with Tensor.numpy(): this
module imports no numpy), whichever your function works on: see check's `arrays`. It may
return either kind, in any floating dtype; each call gets fresh copies, so it may change
its inputs.

The cases (seeded, X ~ N(0, 1) like standardized pixels, W and b ~ N(0, 0.01²) as DD2424
initialises W): the reports' d = 10, n = 3 with λ = 0 and 0.1; one image; a full batch
of 100 images of 3072 dimensions with λ = 0 and 0.1; scores of ±1000 (b = ±1000).

The reference is LinearClassifier.gradients in float64. The measure is the reports' largest
entry-wise relative error |ga − gr| / max(1e-12, |ga| + |gr|), and a gradient passes when it
is ≤ 1e-6: two right float64 computations differ only by rounding (about 1e-16, times the
cancellation in an entry: up to 7.0e-12 measured in the 3072-dimensional case, its digits
varying by CPU), and every mistake in mistakes.py errs by more than 1e-3, even norm-wise
(the least: λW with one image, 2.4e-3).
A gradient computed in float32 (ε = 1.2e-7) cannot meet that: where an entry is a nearly
cancelling sum only a few digits survive (the library's own float32 gradients err up to
2e-2 entry-wise on these cases). So a gradient also passes, marked "float32", when its
norm-wise error ‖ga − gr‖ / (‖ga‖ + ‖gr‖) is ≤ 1e-4: a right float32 function measured
1.0e-7, and 4.4e-6 at scores of 1000, which float32 itself rounds by 6e-5; the least
mistake is 24 times above that bar.
When a gradient fails, mistakes.py names the mistake if its numbers match a known one.
"""
import functools
import types
import warnings
from dataclasses import dataclass
from importlib.util import find_spec

import torch

from ..nn.gradcheck import max_rel_error, norm_rel_error
from ..nn.losses import LOSSES, one_hot
from ..nn.models import LinearClassifier
from .mistakes import data_term, diagnose, non_finite_diagnosis
from .report import TOL, TOL_FLOAT32, Report, Result

K = 10
LAYOUTS = ("dd2424", "torch")
ARRAYS = ("auto", "torch", "numpy")


@dataclass(frozen=True)
class Case:
    name: str
    n: int
    d: int
    lam: float
    scores: float = 0.0  # b = ±scores, alternating by class, when non-zero


CASES = (
    Case("d=10 n=3 λ=0 (the reports')", 3, 10, 0.0),
    Case("d=10 n=3 λ=0.1", 3, 10, 0.1),
    Case("d=10 n=1 λ=0.1 (one image)", 1, 10, 0.1),
    Case("d=3072 n=100 λ=0 (a full batch)", 100, 3072, 0.0),
    Case("d=3072 n=100 λ=0.1", 100, 3072, 0.1),
    Case("d=10 n=3 λ=0.1, scores ≈ ±1000", 3, 10, 0.1, 1000.0),
)


class YourFunctionError(ValueError):
    """Your function broke the contract: it raised, or returned something other than two
    arrays of the layout's shapes. The message is one line naming what and on which case."""


def problem(case, loss, seed):
    """The case's data and a LinearClassifier holding its parameters, float64, from `seed`."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(case.n, case.d, generator=g, dtype=torch.float64)          # (n, d)
    y = torch.randint(K, (case.n,), generator=g)                               # (n,)
    model = LinearClassifier(case.d, K, loss=loss, lam=case.lam, generator=g, dtype=torch.float64)
    b = torch.randn(K, generator=g, dtype=torch.float64) * 0.01                # (K,) non-zero: zeros hide a bug
    sign = torch.tensor([1.0, -1.0], dtype=torch.float64).repeat(K // 2)       # (K,) + − + − …
    model.params["b"] = b + case.scores * sign
    return X, y, model


def arguments(X, y, model, case, layout):
    """The layout's arguments for your function, fresh copies."""
    W, b = model.params["W"], model.params["b"]
    if layout == "torch":
        return X.clone(), y.clone(), W.clone(), b.clone(), case.lam
    S = model.scores(X)                                                        # (n, K)
    P = torch.softmax(S, dim=1) if model.loss_name == "ce" else torch.sigmoid(S)  # (n, K)
    Y = one_hot(y, K, X.dtype)                                                 # (n, K)
    return (X.T.contiguous(), Y.T.contiguous(), P.T.contiguous(), W.clone(), case.lam)


def call(fn, args, case, layout, numpy, name):
    """fn(*args), with tensors or numpy arrays; its two results as float64 CPU tensors.

    A YourFunctionError's __cause__ is fn's exception when fn raised, else None.
    """
    if numpy:
        args = [a.numpy() if isinstance(a, torch.Tensor) else a for a in args]
    kind = "numpy arrays" if numpy else "torch tensors"
    hint = f"(called with the {layout} layout's arguments as {kind}: see --layout, --arrays)"
    try:
        with warnings.catch_warnings():  # numpy's "overflow encountered in exp": the diagnosis says it better
            warnings.simplefilter("ignore")
            out = fn(*args)
    except (Exception, SystemExit) as e:  # any bug of yours: said in one line, with its case
        raise YourFunctionError(f"{name} raised {said(e)} on case {case.name} {hint}") from e
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise YourFunctionError(f"{name} returned a {type(out).__name__}; it must return two arrays, "
                                f"(grad_W, grad_b) (case {case.name})")
    return [as_tensor(v, what, name, case) for v, what in zip(out, ("grad_W", "grad_b"))]


def said(e):
    """An exception in one line: its type and message."""
    return f"{type(e).__name__}: {' '.join(str(e).split())}"


def numpy_only(fn):
    """Whether fn's module imports numpy and not torch (the modules among its globals)."""
    imported = {v.__name__.partition(".")[0] for v in getattr(fn, "__globals__", {}).values()
                if isinstance(v, types.ModuleType)}
    return "numpy" in imported and "torch" not in imported


def call_either(fn, fresh_args, case, layout, name):
    """(numpy, gradients): fn on the first case with torch tensors, or, when it chokes on them
    as numpy code does (np.sum(G, axis=1) on a tensor: TypeError; an ndarray method:
    AttributeError), with numpy arrays. Without numpy installed, torch it is.
    fresh_args() makes the arguments anew for each try.
    """
    try:
        return False, call(fn, fresh_args(), case, layout, False, name)
    except YourFunctionError as e:
        if not isinstance(e.__cause__, (TypeError, AttributeError)) or find_spec("numpy") is None:
            raise
        torch_error = e
    try:
        return True, call(fn, fresh_args(), case, layout, True, name)
    except YourFunctionError as e:
        if e.__cause__ is None:  # numpy got further, to a result that breaks the contract: that is the news
            raise
        message = f"{torch_error} (numpy arrays failed too: {said(e.__cause__)})"
        raise YourFunctionError(message) from torch_error.__cause__


def as_tensor(value, what, name, case):
    """A returned gradient as a CPU tensor: from a torch tensor or a numpy array, nothing else."""
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu()
    elif hasattr(value, "__array_interface__"):  # a numpy array (numpy itself is not imported here)
        try:
            t = torch.as_tensor(value)
        except TypeError as e:
            raise YourFunctionError(f"{name}'s {what} is an array torch cannot read ({e}) (case {case.name})") from None
    else:
        raise YourFunctionError(f"{name}'s {what} is a {type(value).__name__}, not a torch tensor or numpy array "
                                f"(case {case.name})")
    if not t.is_floating_point():
        raise YourFunctionError(f"{name}'s {what} holds {t.dtype} values, not floating-point numbers "
                                f"(case {case.name})")
    return t.double()


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


def check(fn, layout="torch", loss="ce", *, arrays="auto", seed=0, name=None):
    """Run fn on every case of CASES and compare with the library's float64 gradients.

    arrays: what fn is called with, "torch" tensors, "numpy" arrays, or "auto": numpy arrays
    when fn's module imports numpy and not torch, else torch tensors unless fn raises
    TypeError or AttributeError on them in the first case and works on numpy arrays there
    (a student's numpy file needs no flag to say so).
    Returns a Report: print it for the table and the mistakes found; report.passed is the
    verdict. Raises YourFunctionError when fn raises, or returns other than two arrays of
    the layout's shapes (a transposed grad_W is a mistake the report names, not an error).
    """
    if layout not in LAYOUTS or loss not in LOSSES or arrays not in ARRAYS:
        raise ValueError(f"layout must be one of {LAYOUTS}, loss one of {tuple(LOSSES)} and arrays one of {ARRAYS}; "
                         f"got {layout!r}, {loss!r}, {arrays!r}")
    name = name or getattr(fn, "__name__", "your function")
    if arrays == "numpy" and find_spec("numpy") is None:
        raise YourFunctionError("numpy arrays were asked for, but numpy is not installed: pip install numpy")
    numpy = arrays == "numpy" or (arrays == "auto" and numpy_only(fn))
    report = Report(name, layout, loss, cases=list(CASES))
    for i, case in enumerate(CASES):
        X, y, model = problem(case, loss, seed + i)
        ref = model.gradients(X, y)                                    # {"W": (K, d), "b": (K,)}
        if i == 0 and arrays == "auto" and not numpy:
            fresh = functools.partial(arguments, X, y, model, case, layout)  # a new copy of the arguments per call
            numpy, grads = call_either(fn, fresh, case, layout, name)
        else:
            grads = call(fn, arguments(X, y, model, case, layout), case, layout, numpy, name)
        data = None  # the gradients' data terms, for a diagnosis
        for given, key in zip(grads, ("W", "b")):
            if key == "b" and given.numel() == K:
                given = given.reshape(K)  # (K, 1), (1, K) or (K,): all taken
            result = judge(given, ref[key], key, case, layout, name)
            if result.status == "FAIL" and result.finite:
                data = data or data_term(model, X, y)
                result.mistakes = diagnose(given, key, data[key], model.params[key], case, loss, layout, matches)
            report.results.append(result)
    report.arrays = "numpy arrays" if numpy else "torch tensors"
    non_finite_diagnosis(report.results, loss)
    return report


def judge(given, ref, key, case, layout, name):
    """The Result for one returned gradient: its errors and status."""
    param = f"grad_{key}"
    if given.shape == ref.shape:
        return Result(case, param, **compare(given, ref))
    if key == "W" and given.shape == ref.shape[::-1]:  # (d, K): a mistake to name, not a usage error
        return Result(case, param, shape=tuple(given.shape))
    want = {"W": f"(K, d) = {tuple(ref.shape)}",
            "b": f"(K, 1) = ({K}, 1)" if layout == "dd2424" else f"(K,) = ({K},)"}
    raise YourFunctionError(f"{name}'s {param} has shape {tuple(given.shape)}; the {layout} layout wants "
                            f"{want[key]} on case {case.name} (is --layout right?)")
