"""Learning-rate schedules, applied once per epoch: eta_next = schedule(eta, epoch, val_loss).

`--decay` spellings:
    none                      constant eta
    step:EVERY:FACTOR         eta ← FACTOR·eta after every EVERY epochs (step:10:0.1 divides by 10 every 10)
    plateau[:PATIENCE:FACTOR] eta ← FACTOR·eta when the validation loss has not improved for
                              PATIENCE epochs in a row (default plateau:2:0.1), like ReduceLROnPlateau
"""
from dataclasses import dataclass

from .config import parse_decay


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


def make_schedule(spec):
    """The schedule object for a --decay spelling (validated by config.parse_decay)."""
    name, *numbers = parse_decay(spec)
    return {"none": Constant, "step": StepDecay, "plateau": PlateauDecay}[name](*numbers)


class PerConfig:
    """G schedules side by side, one per configuration (grid.py): each of the G etas moves by
    its own schedule and validation loss; etas and val_losses are sequences of G numbers."""

    def __init__(self, specs):
        self.schedules = [make_schedule(spec) for spec in specs]

    def __call__(self, etas, epoch, val_losses):
        return [s(eta, epoch, v) for s, eta, v in zip(self.schedules, etas, val_losses)]
