"""The character RNN's mistakes (families/rnn.py), each as the wrong gradients it gives.

BPTT as students write it, with a switch per mistake; nn/rnn.py's forward and loss are the
library's own, only the backward varies (the right switches give nn/rnn.py's rnn_backward):
    tanh      da_t without tanh's derivative (1 − h_t²)
    through   da_t not carried back through W (each step alone: the gradient truncated to one step)
    h0        h0 left out of W's gradient (h_0 taken as 0 in the first step's outer product)
    factor    the loss summed where the mean belongs (τ times too large), or the mean where the
              sum belongs (τ times too small)
Beside them, per gradient: a gradient clipped inside the gradient function (it equals the
reference clamped to ±its own largest entry), and a transposed W, U or V.
"""
import itertools
from dataclasses import dataclass

import torch

from ..nn.rnn import rnn_forward, rnn_loss_backward
from .judge import failing, matches


@dataclass(frozen=True)
class Variant:
    tanh: bool = True
    through: bool = True
    h0: bool = True
    factor: bool = True  # False: sum for mean (or mean for sum)

    def mistakes(self, reduction):
        said = []
        if not self.tanh:
            said.append("tanh's derivative (1 − h_t²) left out of da_t")
        if not self.through:
            said.append("da_t not carried back through W (each step alone: da_t = dh_t ⊙ (1 − h_t²) without "
                        "Wᵀ da_(t+1))")
        if not self.h0:
            said.append("h0 left out of W's gradient (h_0 taken as 0 in the first step's outer product)")
        if not self.factor:
            said.append({"mean": "the loss summed over the τ steps where the mean belongs (τ times too large)",
                         "sum": "the mean over the τ steps where the sum belongs (τ times too small)"}[reduction])
        return said


VARIANTS = sorted((Variant(*flags) for flags in itertools.product((True, False), repeat=4)),
                  key=lambda v: len(v.mistakes("mean")))[1:]  # the right one left out


def variant_gradients(x, y, h0, params, reduction, v):
    """The RNN's gradients {U, W, V, b, c} as `v` computes them: x, y (τ,), h0 (m,)."""
    O, H, _ = rnn_forward(x, h0, params)                          # (τ, K), (τ, m)
    dO = rnn_loss_backward(O, y, reduction)                       # (τ, K)
    if not v.factor:
        dO = dO * len(x) if reduction == "mean" else dO / len(x)
    dH = dO @ params["V"]                                         # (τ, m)
    D = 1 - H * H if v.tanh else torch.ones_like(H)               # (τ, m)
    da, das = torch.zeros_like(h0), []
    for t in range(len(x) - 1, -1, -1):
        da = (dH[t] + (params["W"].T @ da if v.through else 0)) * D[t]  # (m,)
        das.append(da)
    dA = torch.stack(das[::-1])                                   # (τ, m)
    H_prev = torch.cat([(h0 if v.h0 else torch.zeros_like(h0)).unsqueeze(0), H[:-1]])  # (τ, m)
    return {"U": torch.zeros_like(params["U"]).index_add_(1, x, dA.T), "W": dA.T @ H_prev, "V": dO.T @ H,
            "b": dA.sum(0), "c": dO.sum(0)}


def diagnose(report, problems, given, fitted, form):
    """Name the first Variant (fewest mistakes first) whose gradients match every gradient of a
    failing case; else, gradient by gradient, a transpose or a clip."""
    for p, grads, results in failing(report, problems, given, finite=False):
        for v in VARIANTS:
            wrong = variant_gradients(p.x, p.y, p.h0, p.params, p.reduction, v)
            if all(matches(grads[k], wrong[k]) for k in p.keys):
                said = f"your gradients equal the reference's computed with {' and '.join(v.mistakes(p.reduction))}"
                for r in results:
                    r.diagnosis = said
                break
        else:
            ref = p.reference()
            for r in results:
                r.diagnosis = one_gradient(r.param.removeprefix("grad_"), grads[r.param.removeprefix("grad_")], ref)


def one_gradient(key, given, ref):
    """A transposed or clipped gradient, in words; None when it is neither."""
    r = ref[key]
    square = r.dim() == 2 and r.shape[0] == r.shape[1]
    if r.dim() == 2 and (matches(given, r.T) if square else given.shape == r.shape[::-1]):
        return f"your grad_{key} is the transpose of the reference's ({r.shape[1]}, {r.shape[0]}) in place of " \
               f"({r.shape[0]}, {r.shape[1]})"
    bound = given.abs().max()
    if given.shape == r.shape and r.abs().max() > bound and matches(given, r.clamp(-bound, bound)):
        return (f"your grad_{key} equals the reference clipped to ±{bound.item():g}: clipping belongs in the training "
                "step, after the gradient, not inside the gradient function a check compares")
    return None
