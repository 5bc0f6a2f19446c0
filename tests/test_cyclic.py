"""The cyclical learning rate (nn/schedules.py) against values worked out by hand."""
import pytest

from linclf_torch.nn.schedules import Cyclic, cyclic_eta

LO, HI, NS = 1e-5, 1e-1, 500


@pytest.mark.parametrize("t, expected", [
    (0, LO), (NS, HI), (2 * NS, LO),                    # the ends and the peak
    (NS // 2, LO + 0.5 * (HI - LO)),                     # half way up
    (NS + NS // 2, HI - 0.5 * (HI - LO)),                # half way down
    (100, LO + 0.2 * (HI - LO)),                         # a fifth of the way up
    (2 * NS + 100, LO + 0.2 * (HI - LO)),                # the same point of the second cycle
    (3 * NS, HI), (4 * NS, LO), (5 * NS + 250, HI - 0.5 * (HI - LO)),
])
def test_cyclic_eta_by_hand(t, expected):
    assert cyclic_eta(t, LO, HI, NS) == pytest.approx(expected, rel=1e-12, abs=0)


def test_cyclic_eta_is_the_triangle_wave():
    """η_t = η_min + (1 − |t/n_s − 2ℓ − 1|)(η_max − η_min): the docstring's closed form, every step."""
    for t in range(6 * 7):
        ell = t // 14
        closed = 1 + (1 - abs(t / 7 - 2 * ell - 1)) * (3 - 1)
        assert cyclic_eta(t, 1.0, 3.0, 7) == pytest.approx(closed, rel=1e-14)


def test_n_s_one_alternates():
    assert [cyclic_eta(t, 0.5, 1.5, 1) for t in range(5)] == [0.5, 1.5, 0.5, 1.5, 0.5]


def test_cyclic_schedule_object():
    schedule = Cyclic(LO, HI, NS)
    assert schedule(0) == LO and schedule(NS) == HI
    assert schedule.steps(3) == 3000
    assert schedule.record_every == 100 and 2 * NS / schedule.record_every >= 10
    assert Cyclic(LO, HI, 7).record_every == 1 and Cyclic(LO, HI, 12).record_every == 2
