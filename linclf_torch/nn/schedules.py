"""Learning-rate schedules: per epoch, eta_next = schedule(eta, epoch, val_loss); or per update
step, eta_t = schedule(t) (Cyclic).

    Constant                 η stays
    StepDecay(every, f)      η ← f·η after epochs every, 2·every, …
    PlateauDecay(p, f)       η ← f·η when the validation loss has not fallen below its best
                             for p epochs in a row; the count then restarts (in torch's terms
                             ReduceLROnPlateau(patience=p − 1, threshold=0))
Each is a dataclass whose fields are all its state, so dataclasses.asdict saves it.

Per update step t = 0, 1, 2, … (counted over the whole run, not per epoch):
    Cyclic(eta_min, eta_max, n_s)   the triangular cyclical rate of Smith (2015), cyclic_eta
    Cyclic(…, growth=g)             cycles that grow: cycle i (1, 2, …) has half-length n_s·g^(i−1)
                                    (DD2424 A3, 2025/26: "train longer", g = 2)
"""
from dataclasses import dataclass


def cyclic_eta(t, eta_min, eta_max, n_s):
    """The triangular cyclical learning rate at update step t (Smith 2015; DD2424 Assignment 2).

    Math (ℓ = 0, 1, 2, … the cycle; one cycle is 2·n_s steps):
        η_t = η_min + (t − 2ℓn_s)/n_s · (η_max − η_min)         for 2ℓn_s ≤ t ≤ (2ℓ+1)n_s
        η_t = η_max − (t − (2ℓ+1)n_s)/n_s · (η_max − η_min)     for (2ℓ+1)n_s ≤ t ≤ 2(ℓ+1)n_s
    η rises linearly from η_min at t = 0 to η_max at t = n_s, falls back to η_min at t = 2n_s,
    and repeats. The same as η_min + (1 − |t/n_s − 2ℓ − 1|)(η_max − η_min), ℓ = ⌊t / 2n_s⌋.
    Inputs:  t ≥ 0 an int, 0 < eta_min < eta_max, n_s ≥ 1 an int (steps per half cycle)
    Returns: η_t, a float
    """
    ell, s = divmod(t, 2 * n_s)  # the cycle, and the step within it
    if s <= n_s:
        return eta_min + s / n_s * (eta_max - eta_min)
    return eta_max - (s - n_s) / n_s * (eta_max - eta_min)


def growing_cycle(t, n_s, growth):
    """Where update step t falls when each cycle is `growth` times as long as the one before.

    Math:    cycle i = 1, 2, … has half-length n_s,i = n_s·g^(i−1), so 2·n_s,i steps, and starts
             at t_i = 2·n_s·(1 + g + … + g^(i−2))
    Inputs:  t ≥ 0 an int, n_s ≥ 1 an int, growth ≥ 1 an int
    Returns: (t − t_i, n_s,i): the step within its cycle and that cycle's half-length
    """
    if growth == 1:  # every cycle alike: no loop over the cycles before
        return t % (2 * n_s), n_s
    while t >= 2 * n_s:
        t, n_s = t - 2 * n_s, n_s * growth
    return t, n_s


@dataclass(frozen=True)
class Cyclic:
    """cyclic_eta as a schedule of the update step: Cyclic(1e-5, 1e-1, 500)(t) = η_t; with
    growth = g, cycle i has half-length n_s·g^(i−1) (growing_cycle)."""
    eta_min: float
    eta_max: float
    n_s: int
    records: int = 10  # metric records per 2·n_s steps (a first cycle); 0: only at the end of the run
    growth: int = 1    # each cycle this many times as long as the one before

    def __call__(self, t):
        s, n_s = growing_cycle(t, self.n_s, self.growth)
        return cyclic_eta(s, self.eta_min, self.eta_max, n_s)

    def steps(self, cycles):
        """Update steps in `cycles` whole cycles: 2·n_s·(1 + g + … + g^(cycles−1)), 2·cycles·n_s for g = 1."""
        return sum(2 * self.n_s * self.growth ** i for i in range(cycles))

    @property
    def record_every(self):
        """Steps between two metric records: 2·n_s/records (rounded down, at least 1), so at
        least `records` a cycle (more in a longer, grown one); 0 when records is 0 (a record
        only at the end)."""
        return max(1, 2 * self.n_s // self.records) if self.records else 0


@dataclass
class Constant:
    def __call__(self, eta, epoch, val_loss):
        return eta


@dataclass
class StepDecay:
    every: int
    factor: float

    def __call__(self, eta, epoch, val_loss):
        return eta * self.factor if epoch % self.every == 0 else eta


@dataclass
class PlateauDecay:
    patience: int = 2
    factor: float = 0.1
    best: float = float("inf")
    bad_epochs: int = 0

    def __call__(self, eta, epoch, val_loss):
        if val_loss < self.best:
            self.best, self.bad_epochs = val_loss, 0
            return eta
        self.bad_epochs += 1
        if self.bad_epochs < self.patience:
            return eta
        self.bad_epochs = 0
        return eta * self.factor
