"""Learning-rate schedules, applied once per epoch: eta_next = schedule(eta, epoch, val_loss).

    Constant                 η stays
    StepDecay(every, f)      η ← f·η after epochs every, 2·every, …
    PlateauDecay(p, f)       η ← f·η when the validation loss has not fallen below its best
                             for p epochs in a row; the count then restarts (in torch's terms
                             ReduceLROnPlateau(patience=p − 1, threshold=0))
Each is a dataclass whose fields are all its state, so dataclasses.asdict saves it.
"""
from dataclasses import dataclass


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
