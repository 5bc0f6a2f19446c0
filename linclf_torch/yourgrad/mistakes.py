"""The mistakes students make in a linear classifier's gradient, each as the wrong gradient it gives.

A failing gradient is compared with every wrong variant of the reference, built from the
library's own pieces (LinearClassifier.gradients with λ = 0 for the data term, and
l2_penalty_backward for the L2 term), fewest mistakes first; the first that matches names
the mistake. The variants, alone and combined:
    sign       Y − P in place of P − Y
    1/n        the data term summed, not averaged over the batch: n times too large
    1/K        MBCE's data term without its 1/K: K times too large
    λW         λW in place of 2λW, or no L2 term at all (only when λ > 0)
    bias       the bias regularized, + 2λb or + λb: J = L + λ‖W‖² penalises W only
               (torch layout only: the dd2424 layout's function never sees b)
    transpose  grad_W as (d, K); when d = K, the same shape with the entries transposed
A gradient that is NaN or inf at scores of ±1000 but finite elsewhere overflows: exp of a
large score (softmax without subtracting the row max, or σ(s) = eˢ / (1 + eˢ)).
"""
import itertools

from ..nn.losses import l2_penalty_backward

OVERFLOW = {
    "ce": "softmax overflows at scores of 1000 (no max subtraction): exp(1000) is inf in float64 "
          "(in float32 from 89); subtract each row's max score before exp, which leaves softmax unchanged",
    "mbce": "the sigmoid overflows at scores of ±1000: exp(1000) is inf, and eˢ / (1 + eˢ) is then inf / inf "
            "= NaN; compute σ(s) as 1 / (1 + e⁻ˢ) for s ≥ 0 and eˢ / (1 + eˢ) for s < 0 (torch.sigmoid does)",
}


def data_term(model, X, y):
    """The data loss's gradients {"W": dSᵀX, "b": Σᵢ dSᵢ}, without the L2 term."""
    lam, model.lam = model.lam, 0.0
    try:
        return model.gradients(X, y)
    finally:
        model.lam = lam


def choices(key, n, K, loss, lam, layout):
    """Per kind of mistake, its options (value, description or None when right) that differ here."""
    options = [[(1, None), (-1, "with Y − P in place of P − Y")]]                 # sign of the data term
    if n > 1:
        options.append([(1, None), (n, "without the 1/n average")])
    if loss == "mbce":
        options.append([(1, None), (K, "without MBCE's 1/K")])
    if lam > 0 and key == "W":  # the L2 term's factor, in multiples of 2λW
        options.append([(1.0, None), (0.5, "with λW in place of 2λW"), (0.0, "without the 2λW term")])
    elif lam > 0 and layout == "torch":
        options.append([(0.0, None), (1.0, "with the bias regularized (+ 2λb; J = L + λ‖W‖² penalises W only)"),
                        (0.5, "with the bias regularized (+ λb; J = L + λ‖W‖² penalises W only)")])
    else:
        options.append([(0.0 if key == "b" else 1.0, None)])
    options.append([(False, None), (True, "transposed")] if key == "W" else [(False, None)])
    return options


def diagnose(given, key, data, param, case, loss, layout, matches):
    """The first wrong variant of params[key]'s gradient that `given` matches: its mistakes, a
    list of choices()' descriptions (mistake_sentence() makes the sentence), or None when none matches.

    data: the data term of that gradient (data_term()[key]); param: params[key];
    matches(given, candidate) -> bool decides (check.py: to the precision a check accepts).
    """
    variants = itertools.product(*choices(key, case.n, len(data), loss, case.lam, layout))
    for variant in sorted(variants, key=lambda v: sum(d is not None for _, d in v)):
        words = [d for _, d in variant if d is not None]
        if not words:
            continue  # the reference itself, which `given` failed
        *factors, l2, transposed = (value for value, _ in variant)
        scale = 1
        for f in factors:
            scale *= f
        candidate = l2_penalty_backward(param, l2 * case.lam, scale * data)  # + 2·(l2·λ)·param
        if transposed:
            candidate = candidate.T
        if matches(given, candidate):
            return words
    return None


def mistake_sentence(param, words):
    """The sentence for a gradient with these mistakes."""
    if words[-1] == "transposed":
        rest = words[:-1]
        return (f"your {param} is the transpose of the reference ((d, K) in place of (K, d))"
                + (f", and otherwise equals it {' and '.join(rest)}" if rest else ""))
    return f"your {param} equals the reference {' and '.join(words)}"


def non_finite_diagnosis(results, loss):
    """Name the overflow where a parameter's gradient is NaN or inf only at scores of ±1000.

    results: the yourgrad_report.Result list of one check, changed in place.
    """
    for param in {r.param for r in results}:
        mine = [r for r in results if r.param == param]
        bad = [r for r in mine if not r.finite]
        if bad and all(r.case.scores for r in bad) and len(bad) < len(mine):
            for r in bad:
                r.diagnosis = OVERFLOW[loss]
