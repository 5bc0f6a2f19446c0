"""Calibration: does a classifier's confidence match how often it is right?

Class probabilities from scores s (n, K), one convention per loss:
    ce    p = softmax(s), a distribution over the K classes
    mbce  p = σ(s), K independent binary probabilities that need not sum to 1;
          normalise=True gives σ(s) / Σₖ σ(sₖ) instead
The probability given to the ground-truth class is p_y (softmax(s)_y, or σ(s_y) for MBCE).
The confidence of a prediction is the probability of the predicted class, max_k p_k (for
MBCE σ of the largest score); softmax, σ and σ/Σσ are all increasing in s_k, so the
predicted class is argmax s whichever is used.

Expected calibration error (Guo et al. 2017) with M equal-width bins
Bₘ = ((m−1)/M, m/M] of confidence (a confidence of exactly 0 goes into the first bin):
    ECE = Σₘ |Bₘ|/n · |acc(Bₘ) − conf(Bₘ)| = (1/n) Σₘ |Σ_{i∈Bₘ} (correctᵢ − confᵢ)|
0 for a calibrated model; a model that is 90% sure and right half the time has ECE 0.4.
"""
import torch

from ..errors import LinclfError


def probabilities(scores, loss, normalise=False):
    """Class probabilities P (n, K) from scores (n, K) under the loss's model (see above)."""
    if loss == "ce":
        return torch.softmax(scores, -1)                  # (n, K)
    if loss == "mbce":
        P = torch.sigmoid(scores)                         # (n, K)
        return P / P.sum(-1, keepdim=True) if normalise else P
    raise LinclfError(f"unknown loss {loss!r}: choose ce or mbce")


def reliability(confidence, correct, n_bins=15):
    """Per-bin counts, mean confidence and accuracy, and the ECE, as device tensors.

    Inputs:  confidence (n,) in [0, 1]; correct (n,) bool
    Returns: {"count": (M,) int64, "confidence": (M,), "accuracy": (M,) (NaN for an empty
             bin), "ece": ()}
    """
    bins = (confidence * n_bins).ceil().long().sub(1).clamp(0, n_bins - 1)                 # (n,)
    count = torch.bincount(bins, minlength=n_bins)                                        # (M,)
    conf_sum = torch.bincount(bins, weights=confidence, minlength=n_bins)                 # (M,)
    hits = torch.bincount(bins, weights=correct.to(confidence.dtype), minlength=n_bins)   # (M,)
    return {"count": count, "confidence": conf_sum / count, "accuracy": hits / count,
            "ece": (hits - conf_sum).abs().sum() / len(confidence)}


def calibration(scores, y, loss, n_bins=15, normalise=False):
    """Everything the calibration figures and tables need, from one model's scores on (X, y).

    Inputs:  scores (n, K), y (n,) int64, loss "ce" | "mbce"
    Returns: device tensors: p_true (n,), confidence (n,), correct (n,) bool, and
             reliability()'s count, confidence → bin_confidence, accuracy → bin_accuracy, ece
    """
    P = probabilities(scores, loss, normalise)                  # (n, K)
    confidence, pred = P.max(-1)                                # (n,), (n,)
    correct = pred == y                                         # (n,)
    p_true = P.gather(-1, y.unsqueeze(-1)).squeeze(-1)          # (n,)
    bins = reliability(confidence, correct, n_bins)
    return {"p_true": p_true, "confidence": confidence, "correct": correct, "ece": bins["ece"],
            "bin_count": bins["count"], "bin_confidence": bins["confidence"], "bin_accuracy": bins["accuracy"]}


def summary(cal):
    """calibration()'s result as plain numbers for tables and results.json (one host sync).

    accuracy; ece; mean confidence overall, on correct and on wrong predictions; mean
    probability of the true class on correct and on wrong predictions; the bins as lists.
    """
    conf, right, p_true = cal["confidence"], cal["correct"], cal["p_true"]
    wrong = ~right
    mean = lambda x, m: (x * m).sum() / m.sum().clamp_min(1)   # mean over a mask, 0 if empty
    scalars = {"accuracy": right.to(conf.dtype).mean(), "ece": cal["ece"], "mean_confidence": conf.mean(),
               "mean_confidence_correct": mean(conf, right), "mean_confidence_wrong": mean(conf, wrong),
               "mean_p_true_correct": mean(p_true, right), "mean_p_true_wrong": mean(p_true, wrong)}
    values = torch.stack([v.to(torch.float64) for v in scalars.values()]).tolist()
    out = dict(zip(scalars, values))
    no_nan = lambda t: [None if v != v else v for v in t.tolist()]  # empty bins: null in JSON, not NaN
    out["bins"] = {"count": cal["bin_count"].tolist(), "confidence": no_nan(cal["bin_confidence"]),
                   "accuracy": no_nan(cal["bin_accuracy"])}
    return out
