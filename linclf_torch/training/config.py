"""TrainConfig: every setting of a run, validated here and nowhere else.

Imports no torch (the CLI parses and validates a command before the seconds that importing
torch takes), so the names of the choices live here too: the modules that implement them
(nn/losses.py, nn/models.py, data/prepare.py, state.make_schedule) are keyed by these names.
"""
import itertools
import math
from dataclasses import dataclass, fields, replace

from ..data import SPLITS  # defined with the data, which knows no TrainConfig
from ..errors import LinclfError

MODELS = ("linear", "mlp")
LOSSES = ("ce", "mbce")                  # softmax + cross-entropy, sigmoid + multiple BCE
NORMALIZE = ("pixel", "channel")         # standardize per dimension (DD2424) or per colour channel (INF265)
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float32", "float64")
DATA_DIR = "data"                        # the CIFAR-10 folder when a command names none
SWEPT = ("loss", "eta", "lam", "batch_size", "epochs", "decay")  # what `linclf grid` takes lists of
DECAY_USAGE = "none, step:EVERY:FACTOR (e.g. step:10:0.1) or plateau[:PATIENCE:FACTOR] (e.g. plateau:2:0.1)"


def parse_decay(spec):
    """'none' | 'step:EVERY:FACTOR' | 'plateau[:PATIENCE:FACTOR]' -> (name, *numbers).

    ('none',), ('step', every, factor) or ('plateau', patience, factor), with EVERY and
    PATIENCE ≥ 1 and 0 < FACTOR ≤ 1; plateau alone is plateau:2:0.1. state.make_schedule
    builds the schedule from it.
    """
    name, *args = str(spec).split(":")
    try:
        if name == "none" and not args:
            return ("none",)
        if name == "plateau" and not args:
            return ("plateau", 2, 0.1)
        if name in ("step", "plateau") and len(args) == 2:
            count, factor = int(args[0]), float(args[1])
            if count >= 1 and 0 < factor <= 1:
                return (name, count, factor)
    except ValueError:
        pass
    raise LinclfError(f"bad --decay {spec!r}: use {DECAY_USAGE}; EVERY, PATIENCE ≥ 1 and 0 < FACTOR ≤ 1")


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
    decay: str = "none"         # learning-rate schedule, see parse_decay
    momentum: float = 0.0       # SGD momentum μ
    weight_decay: float = 0.0   # SGD weight decay wd (g += wd·θ), not λ
    seed: int = 0               # init, shuffle, flip and random-split randomness
    split: str = "a1"           # "a1" | "full" | "random", see data/prepare.py
    n_val: int = 1000           # validation images of the "full" and "random" splits
    classes: tuple = ()         # class names to keep, relabelled 0..K−1 in this order; () = all
    image_size: int = 32        # pixels per side; other sizes are resized (antialiased)
    normalize: str = "pixel"    # standardize per "pixel" (DD2424) or per "channel" (INF265)
    device: str = "auto"        # "auto" | "cpu" | "cuda"
    dtype: str = "float32"      # "float32" | "float64"
    cuda_graphs: bool = False   # on CUDA, replay each epoch as a CUDA graph (graphs.py); opt-in until a GPU has run it

    def __post_init__(self):
        def one_of(name, value, choices):
            return value in choices, f"unknown --{name} {value!r}: choose one of {', '.join(choices)}"
        checks = [
            one_of("model", self.model, MODELS),
            one_of("loss", self.loss, LOSSES),
            one_of("split", self.split, SPLITS),
            one_of("device", self.device, DEVICES),
            one_of("normalize", self.normalize, NORMALIZE),
            one_of("dtype", self.dtype, DTYPES),
            (0 < self.eta < math.inf, f"--eta must be > 0 and finite (got {self.eta})"),
            (0 <= self.lam < math.inf, f"--lam must be ≥ 0 and finite (got {self.lam})"),
            (self.batch_size >= 1, f"--batch-size must be ≥ 1 (got {self.batch_size})"),
            (self.epochs >= 1, f"--epochs must be ≥ 1 (got {self.epochs})"),
            (0 <= self.flip <= 1, f"--flip is a probability in [0, 1] (got {self.flip})"),
            (self.momentum >= 0, f"--momentum must be ≥ 0 (got {self.momentum})"),
            (self.weight_decay >= 0, f"--weight-decay must be ≥ 0 (got {self.weight_decay})"),
            (self.model != "mlp" or len(self.hidden) > 0, "--model mlp needs hidden layer sizes, e.g. --hidden 128 32"),
            (self.model == "mlp" or not self.hidden, "--hidden is for --model mlp; drop it or add --model mlp"),
            (all(m >= 1 for m in self.hidden), f"--hidden sizes must be ≥ 1 (got {' '.join(map(str, self.hidden))})"),
            (self.image_size >= 1, f"--image-size must be ≥ 1 (got {self.image_size})"),
            (0 <= self.seed < 2**63, f"--seed must be an integer in [0, 2^63) (got {self.seed})"),
        ]
        for ok, message in checks:
            if not ok:  # NaN fails every comparison, so it lands here too
                raise LinclfError(message)
        parse_decay(self.decay)  # fails early on a malformed --decay

    @classmethod
    def from_dict(cls, d):
        """The config of a results.json or checkpoint (JSON lists back to tuples); keys it does
        not know, from another version, are left out."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in known})

    @property
    def torch_dtype(self):
        import torch  # here, not at the top: the CLI validates configs before importing torch
        return getattr(torch, self.dtype)


def expand_grid(base, **lists):
    """Every combination of the given TrainConfig fields' value lists, the rest from base.

    expand_grid(cfg, eta=[0.001, 0.01], lam=[0, 0.1]) -> 4 configs, eta varying slowest.
    """
    names = list(lists)
    return [replace(base, **dict(zip(names, values))) for values in itertools.product(*lists.values())]


def given(args):
    """The TrainConfig fields set (not None) in an argparse Namespace, as TrainConfig takes them."""
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}
    return {k: tuple(v) if k in ("hidden", "classes") else v for k, v in values.items()}  # TrainConfig's tuples
