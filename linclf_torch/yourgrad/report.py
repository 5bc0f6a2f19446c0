"""The report of a check: the reports' table, the verdict, and what was found, in words.

print(report) gives the table in a terminal, its columns split so that no line of it passes
120 characters; in a notebook the report shows as a Markdown table (_repr_markdown_).
"""
from dataclasses import dataclass, field

from .judge import TOL, TOL_FLOAT32
from .mistakes import mistake_sentence
from .owncost import TOL as OWN_TOL

WIDTH = 120  # a terminal's table: split into several when wider
MEASURE = ("Max relative error |ga − gr| / max(1e-12, |ga| + |gr|) of your ga against the reference gr (the reports'\n"
           f"measure). Pass: ≤ {TOL:.0e}; or \"float32\": norm-wise ‖ga − gr‖ / (‖ga‖ + ‖gr‖) ≤ {TOL_FLOAT32:.0e}."
           ).replace("e-0", "e-")
OVERFLOW = ("{forward} overflows on {cases}: its P holds NaN or inf, so your gradients there are not judged, and your "
            "backward is judged on the cases where your forward is finite. Subtract each column's max score before "
            "exp (softmax is unchanged by it).")


@dataclass
class Report:
    function: str
    layout: str
    loss: str = None
    arrays: str = "torch tensors"  # what the function was called with: "torch tensors" or "numpy arrays"
    model: str = "linear"          # the family (families/)
    form: str = ""                 # the form your function was recognised as (forms.py)
    cases: list = field(default_factory=list)    # the family's Cases, in order
    results: list = field(default_factory=list)  # judge.Result per case and gradient, in order
    forward: list = field(default_factory=list)  # judge.Result per case for your forward's P, when checked
    notes: list = field(default_factory=list)    # lines said under the findings (your ε, the layout found)
    how: str = ""                                # how to find a mistake the check does not know
    forward_name: str = "your forward"
    own_cost: tuple = None  # (your cost's name, [(case number, norm-wise error against its centred differences)])

    @property
    def passed(self):
        return all(r.status != "FAIL" for r in self.results + self.forward)

    def mark_overflow(self):
        """The gradients of a case where your forward's P is NaN or inf are not judged."""
        for f in self.forward:
            if not f.finite:
                f.status = "overflow"
                for r in self.results:
                    if r.case is f.case and r.status == "FAIL":
                        r.status = "not judged"

    def __str__(self):
        return format_report(self, WIDTH)

    def _repr_markdown_(self):
        """The report in a notebook: its table as a Markdown table, the rest as paragraphs and a list."""
        return format_report(self, None)


def cell(r):
    if r.status == "not found":
        return "—"
    if r.shape is not None:
        return f"shape {r.shape}"
    if not r.finite:
        return "NaN/inf"
    if r.absolute is not None:
        return f"|Δ| {r.absolute:.1e}"
    return f"{r.max_rel:.1e}" + (f" (norm-wise {r.norm_rel:.1e})" if r.status == "pass (float32)" else "")


def verdict(rs):
    statuses = {r.status for r in rs}
    for s in ("FAIL", "not judged", "pass (float32)"):
        if s in statuses:
            return s
    return "pass"


def aligned(rows):
    """A Markdown table whose columns line up in a terminal."""
    widths = [max(len(str(row[j])) for row in rows) for j in range(len(rows[0]))]
    line = lambda row: "| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths)) + " |"
    return "\n".join([line(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows[1:])])


def tables(report, by_case, width):
    """The table, or when wider than `width`: the cases with their result, then the columns in groups."""
    params = list(dict.fromkeys(r.param for rs in by_case for r in rs))
    cells = [[cell(next(r for r in rs if r.param == p)) for p in params] for rs in by_case]
    rows = [["#", "case", *params, "result"]]
    rows += [[i, case.name, *cs, verdict(rs)] for i, (case, cs, rs) in enumerate(zip(report.cases, cells, by_case), 1)]
    table = aligned(rows)
    if width is None or len(table.partition("\n")[0]) <= width:
        return [table]
    out = [aligned([["#", "case", "result"]] + [[row[0], row[1], row[-1]] for row in rows[1:]])]
    part = lambda ks: aligned([["#", *(params[k] for k in ks)]] + [[i, *(cs[k] for k in ks)]
                                                                 for i, cs in enumerate(cells, start=1)])
    group = []
    for j in range(len(params)):
        if group and len(part(group + [j]).partition("\n")[0]) > width:
            out.append(part(group))
            group = []
        group.append(j)
    out.append(part(group))
    return out


def format_report(report, width):
    by_case = [[r for r in report.forward + report.results if r.case is case] for case in report.cases]
    failed = [i for i, rs in enumerate(by_case, start=1) if verdict(rs) == "FAIL"]
    loss = f"loss {report.loss}, " if report.loss else ""
    recognised = f"Recognised as {report.form}."
    lines = [f"Your gradients: {report.function} (layout {report.layout}, {loss}{report.arrays}) against "
             f"linclf_torch's, float64.", recognised, MEASURE, ""]
    for table in tables(report, by_case, width):
        lines += [table, ""]
    lines += findings(report, by_case) + [f"- {note}" for note in report.notes] + ([""] if report.notes else [])
    lines.append(f"FAIL: {len(failed)} of {len(by_case)} cases" if failed else f"PASS: all {len(by_case)} cases")
    return "\n".join(lines)


def findings(report, by_case):
    """One line per thing found, your forward first, with the cases where it shows, and a note on float32.

    A case can hide a mistake (1/n with one image, λW with λ = 0): when every case's mistakes
    are among those of one case, that case's sentence stands for them all.
    """
    found = {}  # sentence -> ({names}, {case numbers})
    number = {id(case): i for i, case in enumerate(report.cases, start=1)}
    wrong = [f for f in report.forward if f.status == "FAIL"]
    if wrong:
        worst = max(f.max_rel for f in wrong)
        found[f"your forward pass {report.forward_name} is wrong: its P differs from the reference's (max relative "
              f"error up to {worst:.1e}), so your gradients are those of another function; fix the forward first"] = (
            {"P (forward)": True}, {number[id(f.case)]: True for f in wrong})
    for param in dict.fromkeys(r.param for r in report.results):
        failed = [(number[id(r.case)], r) for r in report.results if r.param == param and r.status == "FAIL"]
        most = max((r.mistakes for _, r in failed if r.mistakes), key=len, default=[])
        for i, r in failed:
            if r.mistakes:
                what = mistake_sentence(param, most if set(most) >= set(r.mistakes) else r.mistakes)
            elif r.diagnosis:
                what = r.diagnosis
            elif not r.finite:
                what = f"your {param} holds NaN or inf"
            elif wrong:
                what = "your gradients differ from the reference's: see your forward above"
            else:
                what = f"your {param} differs from the reference (norm-wise {r.norm_rel:.1e}) in no way this " \
                       f"check knows; {report.how}"
            params, cases = found.setdefault(what, ({}, {}))
            params[param] = cases[i] = True
    lines = [f"- {', '.join(params)}, {plural(list(cases), len(by_case))}: {what}"
             for what, (params, cases) in found.items()]
    first = 1 if wrong else 0  # your forward's finding, then what your own cost says, then the gradients'
    lines[first:first] = own_cost(report, len(by_case), wrong)
    overflowed = [number[id(f.case)] for f in report.forward if f.status == "overflow"]
    if overflowed:
        lines.append("- " + OVERFLOW.format(forward=f"Your forward {report.forward_name}",
                                            cases=plural(overflowed, len(by_case))))
    float32 = [i for i, rs in enumerate(by_case, start=1) if verdict(rs) == "pass (float32)"]
    if float32:
        lines.append(f"- {plural(float32)}: your gradients agree with the reference to float32 precision only; "
                     "computed in float32 somewhere? In float64 they would meet the reports' 1e-6 entry-wise.")
    return lines + ([""] if lines else [])


def own_cost(report, total, forward_wrong):
    """The finding of --cost: whether your gradients match centred differences of your own cost."""
    if report.own_cost is None:
        return []
    name, errors = report.own_cost
    if not errors:
        return [f"- your cost {name}: no case small enough for centred differences"]
    cases, worst = [i for i, _ in errors], max(e for _, e in errors)
    if worst <= OWN_TOL:
        why = ": your backward is right for the function your code computes, so the mistake is in your cost or " \
              "forward" if forward_wrong or any(r.status == "FAIL" for r in report.results) else ""
        return [f"- your gradients match centred differences of your own cost {name} (norm-wise ≤ {worst:.1e}, "
                f"{plural(cases, total)}){why}"]
    bad = [i for i, e in errors if e > OWN_TOL]
    return [f"- your gradients do not match centred differences of your own cost {name} (norm-wise up to "
            f"{worst:.1e}, {plural(bad, total)}): the mistake is in your backward"]


def plural(cases, total=None):
    if len(cases) == total:
        return "every case"
    return ("case " if len(cases) == 1 else "cases ") + ", ".join(map(str, sorted(cases)))
