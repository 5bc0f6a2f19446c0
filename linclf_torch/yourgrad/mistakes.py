"""The mistakes students make in a gradient, each as the wrong gradient it gives.

A failing gradient is compared with every wrong variant of the reference, built from the
library's own pieces (the model's gradients with λ = 0 for the data term, and
l2_penalty_backward for the L2 term), one parameter at a time (W, b; or W1, b1, W2, b2 of the
two-layer network), fewest mistakes first; the first that matches names the mistake. The
variants, alone and combined:
    sign       Y − P in place of P − Y
    1/n        the data term summed, not averaged over the batch: n times too large
    1/K        MBCE's data term without its 1/K: K times too large
    λW         λW_l in place of 2λW_l, or no L2 term at all, for the layer it names (only when λ > 0)
    bias       the bias regularized, + 2λb or + λb: J = L + λ Σ‖W_l‖² penalises weights only
               (not in the dd2424 layout's ComputeGradients, which never sees b)
    transpose  grad_W as (in, out); when in = out, the same shape with the entries transposed
    ReLU mask  the two-layer network's W1 and b1 backpropagated through the ReLU without its
               mask [h > 0]: dh1 = dS W2 in place of dS W2 ⊙ [h1 > 0]
A gradient that is NaN or inf at scores of ±1000 but finite elsewhere overflows: exp of a
large score (softmax without subtracting the row max, or σ(s) = eˢ / (1 + eˢ)).
"""
import itertools

from ..nn.layers import linear_backward
from ..nn.losses import l2_penalty_backward
from .judge import failing, matches

K = 10
DIMS = {"W": ("K", "d"), "W1": ("m", "d"), "W2": ("K", "m")}  # for the words of a transpose

MASK = "without the ReLU's mask [h > 0] (dh1 = dS W2 ⊙ [h1 > 0] in the backward)"
OVERFLOW = {
    "ce": "softmax overflows at scores of 1000 (no max subtraction): exp(1000) is inf in float64 "
          "(in float32 from 89); subtract each row's max score before exp, which leaves softmax unchanged",
    "mbce": "the sigmoid overflows at scores of ±1000: exp(1000) is inf, and eˢ / (1 + eˢ) is then inf / inf "
            "= NaN; compute σ(s) as 1 / (1 + e⁻ˢ) for s ≥ 0 and eˢ / (1 + eˢ) for s < 0 (torch.sigmoid does)",
}


def data_terms(model, X, y):
    """Per parameter, its data terms to build variants on: [(the data loss's gradient, None)],
    and for the two-layer network's W1 and b1 also (the same without the ReLU's mask, MASK)."""
    lam, model.lam = model.lam, 0.0
    try:
        data = model.gradients(X, y)  # without the L2 term
    finally:
        model.lam = lam
    terms = {key: [(g, None)] for key, g in data.items()}
    if "W1" in data:
        scores, caches, _ = model.forward(X)                                # (n, K)
        (linear1, _, _), (linear2, _, _) = caches
        da1, _, _ = linear_backward(model.loss_backward(scores, y), linear2)  # (n, m): dS W2
        _, dW1, db1 = linear_backward(da1, linear1, input_grad=False)       # (m, d), (m,): no ⊙ [h1 > 0]
        terms["W1"].append((dW1, MASK))
        terms["b1"].append((db1, MASK))
    return terms


def choices(key, terms, n, K, loss, lam, sees_b):
    """Per kind of mistake, its options (value, description or None when right) that differ here."""
    options = [terms, [(1, None), (-1, "with Y − P in place of P − Y")]]  # the data term, its sign
    if n > 1:
        options.append([(1, None), (n, "without the 1/n average")])
    if loss == "mbce":
        options.append([(1, None), (K, "without MBCE's 1/K")])
    if lam > 0 and key.startswith("W"):  # the L2 term's factor, in multiples of 2λW
        options.append([(1.0, None), (0.5, f"with λ{key} in place of 2λ{key}"), (0.0, f"without the 2λ{key} term")])
    elif lam > 0 and sees_b:
        penalised = "weights" if key[1:] else "W"
        options.append([(0.0, None), (1.0, f"with the bias regularized (+ 2λ{key}; J = L + λ‖W‖² penalises "
                                           f"{penalised} only)"),
                        (0.5, f"with the bias regularized (+ λ{key}; J = L + λ‖W‖² penalises {penalised} only)")])
    else:
        options.append([(0.0 if key.startswith("b") else 1.0, None)])
    out, into = DIMS[key] if key.startswith("W") else ("", "")
    options.append([(False, None), (True, f"transposed (({into}, {out}) in place of ({out}, {into}))")]
                   if key.startswith("W") else [(False, None)])
    return options


def diagnose(report, problems, given, fitted, form):
    """Name the mistakes of every failing, finite gradient of a classifier family (linear,
    two-layer) in report.results, and an overflow of your own softmax or sigmoid."""
    sees_b = form.layout == "torch" or "net" in form.roles  # ComputeGradients never sees b
    for p, grads, results in failing(report, problems, given):
        terms = data_terms(p.model, p.X, p.y)
        for r in results:
            key = r.param.removeprefix("grad_")
            r.mistakes = variant_of(grads[key], key, terms[key], p.params[key], p.case, p.loss, sees_b)
    non_finite_diagnosis(report.results, problems[0].loss)


def variant_of(given, key, terms, param, case, loss, sees_b):
    """The first wrong variant of params[key]'s gradient that `given` matches: its mistakes, a
    list of choices()' descriptions (mistake_sentence() makes the sentence), or None when none matches.

    terms: that gradient's data terms (data_terms()[key]); param: params[key]; sees_b: whether
    the function is given b, so could regularize it.
    """
    variants = itertools.product(*choices(key, terms, case.n, K, loss, case.lam, sees_b))
    for variant in sorted(variants, key=lambda v: sum(d is not None for _, d in v)):
        words = [d for _, d in variant if d is not None]
        if not words:
            continue  # the reference itself, which `given` failed
        data, *factors, l2, transposed = (value for value, _ in variant)
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
    if words[-1].startswith("transposed"):
        rest = words[:-1]
        return (f"your {param} is the transpose of the reference {words[-1].removeprefix('transposed ')}"
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
