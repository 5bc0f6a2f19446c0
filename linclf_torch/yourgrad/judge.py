"""Your gradient against the reference: the reports' measure, and a Result per gradient and case.

The measure is the reports' largest entry-wise relative error |ga − gr| / max(1e-12, |ga| + |gr|),
and a gradient passes when it is ≤ 1e-6: two right float64 computations differ only by rounding
(about 1e-16, times the cancellation in an entry: up to 7.0e-12 measured in the 3072-dimensional
linear case, its digits varying by CPU; 2.5e-11 in the two-layer network's), and every named
mistake errs by more than 1e-3, even norm-wise (the least: λW with one image, 2.4e-3; two-layer,
5.6e-2). A gradient computed in float32 (ε = 1.2e-7) cannot meet that: where an entry is a nearly
cancelling sum only a few digits survive (the library's own float32 gradients err up to 2e-2
entry-wise on these cases). So a gradient also passes, marked "float32", when its norm-wise error
‖ga − gr‖ / (‖ga‖ + ‖gr‖) is ≤ 1e-4: a right float32 function measured 1.0e-7, and 4.4e-6 at
scores of 1000, which float32 itself rounds by 6e-5; the least mistake is 24 times above that bar.
A gradient whose true value is 0 (a bias before a batch norm) is judged by an absolute floor.
"""
from dataclasses import dataclass

import torch

from ..nn.gradcheck import max_rel_error, norm_rel_error

TOL = 1e-6          # entry-wise max relative error: float64 precision
TOL_FLOAT32 = 1e-4  # norm-wise relative error: float32 precision


@dataclass
class Result:
    """One gradient ("grad_W", …) or your forward's P on one case."""
    case: object             # the family's Case
    param: str
    max_rel: float = float("nan")  # the reports' measure (nan: not finite, or transposed)
    norm_rel: float = float("nan")
    status: str = "FAIL"     # "pass", "pass (float32)", "FAIL", or "not judged" (your forward overflowed)
    finite: bool = True      # False: it holds NaN or inf
    shape: tuple = None      # its shape, when it is the transpose of the reference's
    absolute: float = None   # max |ga − gr|, for a gradient whose true value is 0
    mistakes: list = None    # the known mistakes its numbers match (mistakes.py's words), if any
    diagnosis: str = None    # what is wrong, when the numbers say it otherwise (an overflow)


def compare(given, ref):
    """Your array against the reference: a Result's max_rel, norm_rel, status and finite."""
    if not torch.isfinite(given).all():
        return {"finite": False}
    max_rel, norm_rel = max_rel_error(given, ref), norm_rel_error(given, ref)
    status = "pass" if max_rel <= TOL else "pass (float32)" if norm_rel <= TOL_FLOAT32 else "FAIL"
    return {"max_rel": max_rel, "norm_rel": norm_rel, "status": status}


def matches(given, candidate):
    """Whether your gradient is `candidate`, to the precision a check accepts."""
    return given.shape == candidate.shape and compare(given, candidate).get("status", "FAIL") != "FAIL"


def judge(case, key, given, ref, floor=None):
    """The Result for one returned gradient: its errors and status (a transposed one: its shape)."""
    param = f"grad_{key}"
    if given.shape != ref.shape:
        return Result(case, param, shape=tuple(given.shape))
    if not torch.isfinite(given).all():
        return Result(case, param, finite=False)
    if floor is not None:
        diff = (given - ref).abs().max().item()
        return Result(case, param, absolute=diff, status="pass" if diff <= floor else "FAIL")
    return Result(case, param, **compare(given, ref))


def judged(problems, given, fitted):
    """A Result per case and gradient, against each case's reference at the family's fit (batch norm's ε)."""
    results = []
    for p, grads in zip(problems, given):
        ref = p.reference(**fitted)
        floors = p.floors(ref)
        results += [judge(p.case, key, grads[key], ref[key], floors.get(key)) for key in p.keys]
    return results


def failing(report, problems, given, finite=True):
    """(a case's problem, your gradients there, its failing Results) for each case with a failing
    gradient, what a family's diagnose looks at; finite: only the gradients that hold no NaN or inf."""
    for p, grads in zip(problems, given):
        results = [r for r in report.results if r.case is p.case and r.status == "FAIL" and (r.finite or not finite)]
        if results:
            yield p, grads, results
