"""What yourgrad.check finds, and the table it prints: the reports' table, with the verdict and the mistakes."""
from dataclasses import dataclass, field

from .mistakes import mistake_sentence

TOL = 1e-6          # entry-wise max relative error: float64 precision (check.py says why)
TOL_FLOAT32 = 1e-4  # norm-wise relative error: float32 precision

MEASURE = ("Max relative error |ga − gr| / max(1e-12, |ga| + |gr|) of your ga against the reference gr (the reports'\n"
           f"measure). Pass: ≤ {TOL:.0e}; or \"float32\": norm-wise ‖ga − gr‖ / (‖ga‖ + ‖gr‖) ≤ {TOL_FLOAT32:.0e}."
           ).replace("e-0", "e-")
HOW = ("compare it term by term with dW = dSᵀX + 2λW, db = Σᵢ dSᵢ, where dS = (P − Y) / n for CE and "
       "(P − Y) / (K·n) for MBCE (docs/math.md)")
HOW_TWO_LAYER = ("compare it term by term with dW2 = dSᵀa1 + 2λW2, db2 = Σᵢ dSᵢ, dh1 = dS W2 ⊙ [h1 > 0], "
                 "dW1 = dh1ᵀX + 2λW1, db1 = Σᵢ dh1ᵢ, where a1 = max(0, h1), h1 = X W1ᵀ + b1 (docs/math.md)")


@dataclass
class Result:
    """One gradient ("grad_W" or "grad_b") on one case."""
    case: object             # yourgrad.Case
    param: str
    max_rel: float = float("nan")  # the reports' measure (nan: not finite, or transposed)
    norm_rel: float = float("nan")
    status: str = "FAIL"     # "pass", "pass (float32)" or "FAIL"
    finite: bool = True      # False: your gradient holds NaN or inf
    shape: tuple = None      # your gradient's shape, when it is the transpose of the reference's
    absolute: float = None   # max |ga − gr|, for a gradient whose true value is 0 (bncheck.py)
    mistakes: list = None    # the known mistakes its numbers match (mistakes.py's words), if any
    diagnosis: str = None    # what is wrong, when the numbers say it otherwise (an overflow)


@dataclass
class Report:
    function: str
    layout: str
    loss: str
    arrays: str = "torch tensors"  # what the function was called with: "torch tensors" or "numpy arrays"
    model: str = "linear"          # "linear" or "two-layer"
    form: str = ""                 # the form your function was recognised as (forms.py)
    cases: list = field(default_factory=list)    # yourgrad.Case, in order
    results: list = field(default_factory=list)  # Result per case and gradient, in order
    notes: list = field(default_factory=list)    # lines said under the table (bncheck.py: your ε)
    how: str = ""                                # how to find an unknown mistake, when not HOW's

    @property
    def passed(self):
        return all(r.status != "FAIL" for r in self.results)

    def __str__(self):
        return format_report(self)


def cell(r):
    if r.shape is not None:
        return f"shape {r.shape}"
    if not r.finite:
        return "NaN/inf"
    if r.absolute is not None:
        return f"|Δ| {r.absolute:.1e}"
    return f"{r.max_rel:.1e}" + (f" (norm-wise {r.norm_rel:.1e})" if r.status == "pass (float32)" else "")


def verdict(rs):
    statuses = {r.status for r in rs}
    return "FAIL" if "FAIL" in statuses else "pass (float32)" if "pass (float32)" in statuses else "pass"


def aligned(rows):
    """A Markdown table whose columns line up in a terminal."""
    widths = [max(len(str(row[j])) for row in rows) for j in range(len(rows[0]))]
    line = lambda row: "| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths)) + " |"
    return "\n".join([line(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows[1:])])


def format_report(report):
    params = list(dict.fromkeys(r.param for r in report.results))
    by_case = [[r for r in report.results if r.case is case] for case in report.cases]
    rows = [["#", "case", *params, "result"]]
    rows += [[i, case.name, *(cell(r) for r in rs), verdict(rs)]
             for i, (case, rs) in enumerate(zip(report.cases, by_case), start=1)]
    failed = [i for i, rs in enumerate(by_case, start=1) if verdict(rs) == "FAIL"]
    loss = f"loss {report.loss.upper()}, " if report.loss else ""
    lines = [f"Your gradients: {report.function} (layout {report.layout}, {loss}{report.arrays}) against "
             f"linclf_torch's, float64.", f"Recognised as {report.form}.", MEASURE, "", aligned(rows), ""]
    lines += findings(report, by_case) + [f"- {note}" for note in report.notes] + ([""] if report.notes else [])
    lines.append(f"FAIL: {len(failed)} of {len(by_case)} cases" if failed else f"PASS: all {len(by_case)} cases")
    return "\n".join(lines)


def findings(report, by_case):
    """One line per mistake found, with the cases where it shows, and a note on float32.

    A case can hide a mistake (1/n with one image, λW with λ = 0): when every case's mistakes
    are among those of one case, that case's sentence stands for them all.
    """
    found = {}  # sentence -> ({gradient names}, {case numbers})
    for param in dict.fromkeys(r.param for r in report.results):
        failed = [(i, r) for i, rs in enumerate(by_case, start=1) for r in rs
                  if r.param == param and r.status == "FAIL"]
        most = max((r.mistakes for _, r in failed if r.mistakes), key=len, default=[])
        for i, r in failed:
            if r.mistakes:
                what = mistake_sentence(param, most if set(most) >= set(r.mistakes) else r.mistakes)
            elif r.diagnosis:
                what = r.diagnosis
            elif not r.finite:
                what = f"your {param} holds NaN or inf"
            else:
                what = (f"your {param} differs from the reference (norm-wise {r.norm_rel:.1e}) in no way this "
                        f"check knows; {report.how or (HOW_TWO_LAYER if report.model == 'two-layer' else HOW)}")
            params, cases = found.setdefault(what, ({}, {}))
            params[param] = cases[i] = True
    lines = [f"- {', '.join(params)}, {plural(list(cases), len(by_case))}: {what}"
             for what, (params, cases) in found.items()]
    float32 = [i for i, rs in enumerate(by_case, start=1) if verdict(rs) == "pass (float32)"]
    if float32:
        lines.append(f"- {plural(float32)}: your gradients agree with the reference to float32 precision only; "
                     "computed in float32 somewhere? In float64 they would meet the reports' 1e-6 entry-wise.")
    return lines + ([""] if lines else [])


def plural(cases, total=None):
    if len(cases) == total:
        return "every case"
    return ("case " if len(cases) == 1 else "cases ") + ", ".join(map(str, sorted(cases)))
