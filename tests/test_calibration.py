"""Calibration: class probabilities per loss, the ECE against a plain loop, and known cases.

Every comparison is float64 over ≤ 20000 numbers in [0, 1]: two summation orders of n terms
differ by ≤ n·ε·Σ|terms| (1e-12 for n = 300 or 1000 is ≥ 4x that), and pytest.approx's default
rel = 1e-6 is far above the few roundings of softmax/sigmoid on 4 scores."""
import pytest
import torch

from linclf_torch.errors import LinclfError
from linclf_torch.figures.calibration import calibration, probabilities, reliability, summary


def loop_ece(confidence, correct, n_bins):
    """ECE written the textbook way: a loop over the bins ((m−1)/M, m/M]."""
    n, ece = len(confidence), 0.0
    for m in range(n_bins):
        lo, hi = m / n_bins, (m + 1) / n_bins
        inside = [i for i in range(n) if (lo < confidence[i] <= hi) or (m == 0 and confidence[i] == 0)]
        if inside:
            acc = sum(correct[i] for i in inside) / len(inside)
            conf = sum(confidence[i] for i in inside) / len(inside)
            ece += len(inside) / n * abs(acc - conf)
    return ece


def test_probabilities_per_loss(gen):
    scores = torch.randn(7, 4, generator=gen, dtype=torch.float64)
    P = probabilities(scores, "ce")
    assert torch.allclose(P.sum(1), torch.ones(7, dtype=torch.float64))
    assert torch.equal(probabilities(scores, "mbce"), torch.sigmoid(scores))
    Q = probabilities(scores, "mbce", normalise=True)
    assert torch.allclose(Q.sum(1), torch.ones(7, dtype=torch.float64))
    for probs in (P, Q, probabilities(scores, "mbce")):  # every variant predicts argmax s
        assert torch.equal(probs.argmax(1), scores.argmax(1))
    with pytest.raises(LinclfError, match="unknown loss"):
        probabilities(scores, "hinge")


def test_ece_by_hand():
    # 4 examples at 0.95 (2 right): bin (14/15, 1], |0.5 − 0.95| · 4/6 = 0.3
    # 2 examples at 0.55 (1 right): bin (8/15, 9/15], |0.5 − 0.55| · 2/6 = 0.01667
    conf = torch.tensor([0.95, 0.95, 0.95, 0.95, 0.55, 0.55], dtype=torch.float64)
    correct = torch.tensor([1, 1, 0, 0, 1, 0], dtype=torch.bool)
    bins = reliability(conf, correct, n_bins=15)
    assert bins["ece"].item() == pytest.approx(0.3 + 0.05 / 3, abs=1e-15)  # sums of ≤ 4 terms ≤ 3.8: ≲ 5e-16
    assert bins["count"].tolist() == [0] * 8 + [2] + [0] * 5 + [4]
    assert bins["accuracy"][14].item() == 0.5 and bins["confidence"][8].item() == pytest.approx(0.55)
    assert torch.isnan(bins["accuracy"][0])  # an empty bin has no accuracy


@pytest.mark.parametrize("n_bins", [1, 10, 15])
def test_ece_matches_the_loop(n_bins, gen, device):
    conf = torch.rand(300, generator=gen, dtype=torch.float64)
    conf[:3] = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64)  # both ends and a bin edge
    correct = torch.rand(300, generator=gen, dtype=torch.float64) < 0.6
    ece = reliability(conf.to(device), correct.to(device), n_bins)["ece"].item()
    assert ece == pytest.approx(loop_ece(conf.tolist(), correct.tolist(), n_bins), abs=1e-12)


def test_calibrated_and_overconfident_models(gen):
    conf = torch.rand(20000, generator=gen, dtype=torch.float64) * 0.9 + 0.1
    calibrated = torch.rand(20000, generator=gen, dtype=torch.float64) < conf  # right with prob = conf
    assert reliability(conf, calibrated)["ece"].item() < 0.02  # sampling noise, not rounding
    sure = torch.full((1000,), 0.9, dtype=torch.float64)
    half = torch.arange(1000) % 2 == 0
    assert reliability(sure, half)["ece"].item() == pytest.approx(0.4, abs=1e-12)


@pytest.mark.parametrize("loss", ["ce", "mbce"])
def test_calibration_and_summary(loss, device):
    scores = torch.tensor([[3.0, 0.0, -1.0], [0.5, 2.0, 0.0], [-2.0, 1.0, 0.0], [0.0, 0.2, 4.0]],
                          dtype=torch.float64, device=device)
    y = torch.tensor([0, 0, 1, 2], device=device)  # rows 0, 2, 3 right, row 1 wrong
    cal = calibration(scores, y, loss, n_bins=15)
    P = torch.softmax(scores, 1) if loss == "ce" else torch.sigmoid(scores)
    assert cal["correct"].tolist() == [True, False, True, True]
    assert torch.allclose(cal["p_true"], P[torch.arange(4), y])  # softmax(s)_y, or σ(s_y) for MBCE
    assert torch.allclose(cal["confidence"], P.max(1).values)
    s = summary(cal)
    assert s["accuracy"] == 0.75
    assert s["mean_confidence_wrong"] == pytest.approx(P[1].max().item())
    assert s["mean_p_true_wrong"] == pytest.approx(P[1, 0].item())
    assert s["mean_confidence_correct"] == pytest.approx(P.max(1).values[[0, 2, 3]].mean().item())
    assert s["ece"] == pytest.approx(loop_ece(P.max(1).values.tolist(), [1, 0, 1, 1], 15))
    assert sum(s["bins"]["count"]) == 4 and None in s["bins"]["accuracy"]  # empty bins are null, not NaN
