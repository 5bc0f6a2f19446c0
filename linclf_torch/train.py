"""Mini-batch gradient descent on the model contract of models.py, without autograd.

One code path for CPU and CUDA: the data already lives on the device, batches are views or
on-device gathers, the shuffle permutation and the flip mask are drawn on the device from a
seeded generator, and the epoch's metrics are read back to the host once per epoch.
Training stops early when those metrics are NaN or inf: the run has diverged (state.py).
"""
import math
import time
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from .data import NORMALIZE, SPLITS
from .errors import LinclfError
from .losses import LOSSES
from .models import MODELS
from .schedules import parse_decay
from .state import TrainState


@dataclass(frozen=True)
class TrainConfig:
    model: str = "linear"       # "linear" | "mlp"
    hidden: tuple = ()          # hidden layer sizes of the MLP
    loss: str = "ce"            # "ce" (softmax + cross-entropy) | "mbce" (sigmoid + multiple BCE)
    eta: float = 0.001          # learning rate
    lam: float = 0.0            # L2 strength λ in J = loss + λ‖W‖²
    batch_size: int = 100       # images per mini-batch
    epochs: int = 40            # passes over the training split
    shuffle: bool = False       # reshuffle every epoch (the reports go in order)
    flip: float = 0.0           # probability of mirroring each training image, per epoch
    decay: str = "none"         # learning-rate schedule, see schedules.py
    momentum: float = 0.0       # SGD momentum μ
    weight_decay: float = 0.0   # SGD weight decay wd (g += wd·θ), not λ
    seed: int = 0               # init, shuffle, flip and random-split randomness
    split: str = "a1"           # "a1" | "full" | "random", see data.py
    n_val: int = 1000           # validation images of the "full" and "random" splits
    classes: tuple = ()         # class names to keep, relabelled 0..K−1 in this order; () = all
    image_size: int = 32        # pixels per side; other sizes are resized (antialiased)
    normalize: str = "pixel"    # standardize per "pixel" (DD2424) or per "channel" (INF265)
    device: str = "auto"        # "auto" | "cpu" | "cuda"
    dtype: str = "float32"      # "float32" | "float64"

    def __post_init__(self):
        checks = [
            (self.model in MODELS, f"unknown --model {self.model!r}: choose one of {', '.join(MODELS)}"),
            (self.loss in LOSSES, f"unknown --loss {self.loss!r}: choose one of {', '.join(LOSSES)}"),
            (self.split in SPLITS, f"unknown --split {self.split!r}: choose one of {', '.join(SPLITS)}"),
            (self.device in ("auto", "cpu", "cuda"), f"unknown --device {self.device!r}: use auto, cpu or cuda"),
            (0 < self.eta < math.inf, f"--eta must be > 0 and finite (got {self.eta})"),
            (0 <= self.lam < math.inf, f"--lam must be ≥ 0 and finite (got {self.lam})"),
            (self.batch_size >= 1, f"--batch-size must be ≥ 1 (got {self.batch_size})"),
            (self.epochs >= 1, f"--epochs must be ≥ 1 (got {self.epochs})"),
            (0 <= self.flip <= 1, f"--flip is a probability in [0, 1] (got {self.flip})"),
            (self.momentum >= 0, f"--momentum must be ≥ 0 (got {self.momentum})"),
            (self.weight_decay >= 0, f"--weight-decay must be ≥ 0 (got {self.weight_decay})"),
            (self.dtype in ("float32", "float64"), f"--dtype must be float32 or float64 (got {self.dtype})"),
            (self.model != "mlp" or len(self.hidden) > 0, "--model mlp needs hidden layer sizes, e.g. --hidden 128 32"),
            (self.model == "mlp" or not self.hidden, "--hidden is for --model mlp; drop it or add --model mlp"),
            (all(m >= 1 for m in self.hidden), f"--hidden sizes must be ≥ 1 (got {' '.join(map(str, self.hidden))})"),
            (self.image_size >= 1, f"--image-size must be ≥ 1 (got {self.image_size})"),
            (self.normalize in NORMALIZE, f"--normalize must be {' or '.join(NORMALIZE)} (got {self.normalize})"),
            (0 <= self.seed < 2**63, f"--seed must be an integer in [0, 2^63) (got {self.seed})"),
        ]
        for ok, message in checks:
            if not ok:  # NaN fails every comparison, so it lands here too
                raise LinclfError(message)
        parse_decay(self.decay)  # fails early on a malformed --decay

    @property
    def torch_dtype(self):
        return getattr(torch, self.dtype)


def batches(data, cfg, generator):
    """Yield the epoch's (X, y) mini-batches, in order or shuffled, flipped per image."""
    X, y, n = data.X_train, data.y_train, len(data.y_train)
    order = torch.randperm(n, generator=generator, device=X.device) if cfg.shuffle else None
    flip = torch.rand(n, generator=generator, device=X.device) < cfg.flip if cfg.flip else None
    for i in range(0, n, cfg.batch_size):
        rows = slice(i, i + cfg.batch_size) if order is None else order[i:i + cfg.batch_size]
        Xb = X[rows]                                                     # (B, d)
        if flip is not None:  # per image, not one coin for the whole batch
            Xb = torch.where(flip[rows].unsqueeze(1), data.X_train_flipped[rows], Xb)
        yield Xb, y[rows]


def train_epoch(model, optimizer, data, cfg, generator):
    """One pass over the training set, a gradient step per mini-batch; nothing is read back.

    The same code trains one model or G stacked ones (models.stack_models, grid.py).
    """
    for Xb, yb in batches(data, cfg, generator):
        optimizer.step(model.gradients(Xb, yb))


def epoch_metrics(model, data):
    """Loss, cost and accuracy on the full training and validation sets, read back once.

    Numbers for one model; for G stacked models each value is a list of G numbers.
    """
    values = torch.stack([*model.evaluate(data.X_train, data.y_train),
                          *model.evaluate(data.X_val, data.y_val)]).tolist()  # one host sync
    keys = ("train_loss", "train_cost", "train_acc", "val_loss", "val_cost", "val_acc")
    return dict(zip(keys, values))


def finite(record):
    """Whether an epoch's metrics are all numbers: NaN or inf means training diverged."""
    return all(map(math.isfinite, record.values()))


def check_data(data, cfg):
    """Refuse a configuration the prepared data cannot train."""
    if cfg.batch_size > len(data.y_train):
        raise LinclfError(f"--batch-size {cfg.batch_size} is larger than the training set "
                          f"({len(data.y_train)} images); use at most {len(data.y_train)}")
    if cfg.flip and data.X_train_flipped is None:
        raise LinclfError("--flip needs the data prepared with flip=True")


@torch.no_grad()
def train(model, data, cfg, *, progress=True, on_epoch=None, state=None):
    """Train `model` in place on data.X_train; return the history, one dict per epoch.

    Each record: epoch, eta (in effect during that epoch) and epoch_metrics' six numbers.
    on_epoch(record), when given, is called after every epoch (checkpoints, logging), once
    `state` is ready for the next one. state: a TrainState to continue from (default: epoch
    0); it is updated in place. When an epoch's metrics are NaN or inf, training stops:
    state.diverged_epoch is that epoch, its record is not in the history, and the model
    holds that epoch's parameters (run.py keeps the last finite epoch's checkpoint on disk).
    """
    check_data(data, cfg)
    if state is None:
        state = TrainState.start(model, cfg, data.X_train.device)
    bar = tqdm(range(state.epoch + 1, cfg.epochs + 1), desc="train", unit="epoch", disable=not progress,
               initial=state.epoch, total=cfg.epochs)
    for epoch in bar:
        start = time.perf_counter()
        train_epoch(model, state.optimizer, data, cfg, state.generator)
        record = {"epoch": epoch, "eta": state.optimizer.lr, **epoch_metrics(model, data)}
        if not finite(record):  # already on the host: no extra sync
            state.diverged_epoch = epoch
            break
        state.wall_time_s += time.perf_counter() - start  # epoch_metrics waited for the device
        state.epoch = epoch
        state.history.append(record)
        state.optimizer.lr = state.schedule(state.optimizer.lr, epoch, record["val_loss"])
        bar.set_postfix(cost=f"{record['train_cost']:.4f}", val_acc=f"{record['val_acc']:.4f}")
        if on_epoch is not None:
            on_epoch(record)
    bar.close()
    return state.history


def accuracy(model, X, y):
    """Fraction of correctly classified rows, as a Python float."""
    return (model.predict(X) == y).double().mean().item()


def confusion_matrix(y, pred, K):
    """C (K, K) int64 counts, C[i, j] = number of examples of class i predicted as j."""
    return torch.bincount(y * K + pred, minlength=K * K).reshape(K, K)  # (K, K)
