"""The ConvNet's mistakes (families/conv.py), each as the wrong gradient it gives.

A failing gradient is compared with every wrong variant of the reference, built from nn/'s
own pieces (the ConvNet's forward and caches, the linear, ReLU and conv backward passes, the
L2 term), fewest mistakes first, as mistakes.py does for the two-layer network; the first
that matches names it. The variants, alone and combined:
    1/n        the data term without its 1/n average: n times too large
    mask       the ReLU's mask [C > 0] on the conv outputs left out (F, bF)
    order      the conv outputs flattened patch-major in the forward (p·nf + k, the course's C
               order) and read back filter-major in the backward (k·n_p + p: a reshape with
               order='F'), the mask applied before or after (F, bF)
    ε/K        label smoothing with ε/K on the other classes where ε/(K − 1) belongs: 1 − ε on
               the true class, or (1 − ε)Y + ε/K (torch's label_smoothing = ε)  (when smoothing)
    one-hot    the one-hot Y in the gradient where the smoothed Y belongs       (when smoothing)
    L2         without 2λW, with λW, or with (λ/n)W (a cost written λ‖W‖²/(2n)): F, W1, W2 (λ > 0)
    transpose  W1, W2 as (in, out); the filters flattened the other way round: (nf, f·f·3) where
               the course's Fs_flat is (f·f·3, nf), (3·f·f, nf) where the torch layout's is (nf, 3·f·f)
"""
import itertools

import torch

from ..courselayout import filters_to_course
from ..nn.conv import conv_backward
from ..nn.layers import linear_backward, relu_backward
from ..nn.losses import l2_penalty_backward, one_hot
from .judge import compare, failing

MASK = "without the ReLU's mask [C > 0] on the conv outputs (dC = unflatten(dh) ⊙ [C > 0] in the backward)"
ORDER = ("with the conv outputs read back in another order in the backward than the forward flattened them "
         "(filter-major k·n_p + p where the forward's is patch-major p·nf + k: a reshape with order='F'?)")
EPS_K = "with label smoothing's ε/K on the other classes where ε/(K − 1) belongs"
ONE_HOT = "with the one-hot Y where the label-smoothed Y belongs"
STATUSES = {True: ("pass",), False: ("pass", "pass (float32)")}  # a match to float64's precision, or float32's


def unflattened(dh, H, mask=True, order=False):
    """dC (n, n_p, nf) from dh (n, n_p·nf) as a pass reads it back: H (n, n_p, nf) the ReLU's output;
    mask True (after reading back), False (none) or "first" (on dh, in the forward's order); order True:
    read back filter-major."""
    n, n_p, nf = H.shape
    if not order:
        dH = dh.view(H.shape)                                       # (n, n_p, nf): patch-major, right
        return relu_backward(dH, H) if mask else dH
    if mask == "first":  # masked in the forward's order, then read back filter-major
        return relu_backward(dh, H.reshape(n, -1)).view(n, nf, n_p).transpose(1, 2)
    dH = dh.view(n, nf, n_p).transpose(1, 2)                        # (n, n_p, nf): filter-major
    return relu_backward(dH, H) if mask else dH


CONV_PASSES = (((), {}), ((MASK,), {"mask": False}), ((ORDER,), {"order": True}),
               ((ORDER,), {"order": True, "mask": "first"}), ((MASK, ORDER), {"order": True, "mask": False}))


def data_terms(model, X, y):
    """[(mistakes, {key: the data term's gradient, λ = 0})]: the reference's own first, then every
    wrong combination of targets and backward through the conv layer."""
    S, (conv_cache, H, fc1, relu1, fc2) = model.forward(X)          # (n, K)
    n, K = S.shape
    eps, targets = model.label_smoothing, [((), model.loss_backward(S, y))]
    if eps > 0:
        Y, P = one_hot(y, K, S.dtype), torch.softmax(S, dim=1)       # (n, K) each
        wrong = [(EPS_K, Y * (1 - eps) + (1 - Y) * eps / K), (EPS_K, Y * (1 - eps) + eps / K), (ONE_HOT, Y)]
        targets += [((words,), (P - T) / n) for words, T in wrong]  # (n, K) each
    terms = []
    for (target_words, dS), (conv_words, how) in itertools.product(targets, CONV_PASSES):
        dx1, dW2, db2 = linear_backward(dS, fc2)                          # (n, nh), (K, nh), (K,)
        dh, dW1, db1 = linear_backward(relu_backward(dx1, relu1), fc1)    # (n, n_p·nf), (nh, n_p·nf), (nh,)
        dF, dbF = conv_backward(unflattened(dh, H, **how), conv_cache)  # (nf, 3, f, f), (nf,) or None
        grads = {"F": dF, "bF": dbF, "W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
        terms.append((target_words + conv_words, grads))
    return terms


def choices(key, terms, case, layout):
    """Per kind of mistake, its options (value, its mistakes: () when right) that differ for `key`."""
    if key not in ("F", "bF"):  # the conv layer's backward leaves the layers above it alone
        terms = [(words, grads) for words, grads in terms if not set(words) & {MASK, ORDER}]
    options = [[(grads[key], words) for words, grads in terms]]
    if case.n > 1:
        options.append([(1, ()), (case.n, ("without the 1/n average",))])
    if case.lam > 0 and key in ("F", "W1", "W2"):  # the L2 term's factor, in multiples of 2λW
        options.append([(1.0, ()), (0.5, (f"with λ{key} in place of 2λ{key}",)), (0.0, (f"without the 2λ{key} term",)),
                        (1 / (2 * case.n), (f"with (λ/n){key} in place of 2λ{key} (the cost written as "
                                            f"λ‖{key}‖²/(2n), not λ‖{key}‖²)",))])
    else:
        options.append([(0.0 if key.startswith("b") else 1.0, ())])
    if key in ("W1", "W2"):
        shape = ("nh", "n_p·nf") if key == "W1" else ("K", "nh")
        options.append([(False, ()), (True, (f"transposed (({shape[1]}, {shape[0]}) in place of "
                                             f"({shape[0]}, {shape[1]}))",))])
    elif key == "F":
        said = "(nf, f·f·3) in place of Fs_flat's (f·f·3, nf)" if layout == "dd2424" else \
            "(3·f·f, nf) in place of (nf, 3·f·f)"
        options.append([(False, ()), (True, (f"transposed ({said})",))])
    else:
        options.append([(False, ())])
    return options


def transposed(key, g, layout):
    """A library-shaped gradient as a transposed one comes: W (in, out); F flattened the other way round."""
    if key != "F":
        return g.T
    return filters_to_course(g, flat=True).T if layout == "dd2424" else g.flatten(1).T


def variant_of(given, key, terms, param, case, layout):
    """The mistakes of the first wrong variant of `key`'s gradient (fewest first) that `given` matches, as
    mistakes.mistake_sentence takes them; None when none does. Matched to float64's precision first: at the
    baseline's λ = 0.003 and n = 100, (λ/n)W and no L2 term at all differ by less than float32's bar."""
    made = [([value for value, _ in variant], [w for _, words in variant for w in words])  # (values, mistakes)
            for variant in itertools.product(*choices(key, terms, case, layout)) if any(w for _, w in variant)]
    candidates = []
    for values, words in sorted(made, key=lambda v: len(v[1])):
        data, *factors, l2, flip = values
        scale = factors[0] if factors else 1
        candidate = l2_penalty_backward(param, l2 * case.lam, scale * data)  # + 2·(l2·λ)·param
        candidates.append((transposed(key, candidate, layout) if flip else candidate, words))
    for precise in (True, False):
        for candidate, words in candidates:
            if given.shape == candidate.shape and compare(given, candidate).get("status") in STATUSES[precise]:
                return words
    return None


def diagnose(report, problems, given, fitted, form):
    """Name the mistakes of every failing, finite gradient of the ConvNet in report.results."""
    for p, grads, results in failing(report, problems, given):
        terms = data_terms(p.model, p.X, p.y)
        for r in results:
            key = r.param.removeprefix("grad_")
            r.mistakes = variant_of(grads[key], key, terms, p.params[key], p.case, form.layout)
