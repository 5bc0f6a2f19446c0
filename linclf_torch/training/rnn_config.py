"""RNNConfig: every setting of a character-RNN run (`linclf rnn`), validated here and nowhere else.

Imports no torch, like config.py: the CLI validates a command before importing torch.
Defaults are DD2424 Assignment 4's (2025/26 texts): m = 100, τ = 25, Adam with η = 0.001, the
loss the mean over the τ steps. The older texts: --optimizer adagrad (η 0.1, clipping at 5)
and --loss-reduction sum.
"""
import math
from dataclasses import dataclass, fields

from ..errors import LinclfError
from .config import DEVICES, DTYPES

OPTIMIZERS = ("adam", "adagrad")
REDUCTIONS = ("mean", "sum")               # nn/rnn.py's
ETA = {"adam": 0.001, "adagrad": 0.1}      # the texts' rates, when --eta is not given
CLIP = {"adam": 0.0, "adagrad": 5.0}       # the texts' clipping bounds (0: none), when --clip is not given


@dataclass(frozen=True)
class RNNConfig:
    text: str = "tinyshakespeare"  # a UTF-8 file, or "tinyshakespeare" (downloaded into --data-dir)
    hidden: int = 100              # m, hidden units
    seq_length: int = 25           # τ, characters per update (per sequence)
    batch_size: int = 1            # n, sequences per update: the text cut into n streams read side by side
    optimizer: str = "adam"        # "adam" | "adagrad"
    eta: float = 0.001             # learning rate η
    clip: float = 0.0              # clip every gradient entry to [−clip, clip] before the update; 0: no clipping
    loss_reduction: str = "mean"   # "mean" over the τ steps (2025/26 texts) | "sum" (older texts)
    updates: int | None = 100000   # update steps of the whole run (or epochs)
    epochs: int | None = None      # passes over the text instead of updates
    record_every: int = 100        # updates between smooth-loss records and checkpoints
    sample_every: int = 10000      # updates between samples during training
    sample_length: int = 200       # characters of each sample during training (1,000 with the best model at the end)
    seed: int = 0                  # init and sampling randomness
    device: str = "auto"           # "auto" | "cpu" | "cuda"
    dtype: str = "float32"         # "float32" | "float64"

    def __post_init__(self):
        def positive_int(name, value):
            return type(value) is int and value >= 1, f"--{name} must be an integer ≥ 1 (got {value})"
        checks = [
            (self.optimizer in OPTIMIZERS, f"unknown --optimizer {self.optimizer!r}: choose adam or adagrad"),
            (self.loss_reduction in REDUCTIONS,
             f"unknown --loss-reduction {self.loss_reduction!r}: choose mean or sum"),
            (self.device in DEVICES, f"unknown --device {self.device!r}: choose one of {', '.join(DEVICES)}"),
            (self.dtype in DTYPES, f"unknown --dtype {self.dtype!r}: choose float32 or float64"),
            positive_int("hidden", self.hidden),
            positive_int("seq-length", self.seq_length),
            positive_int("batch-size", self.batch_size),
            positive_int("record-every", self.record_every),
            positive_int("sample-every", self.sample_every),
            (type(self.sample_length) is int and self.sample_length >= 0,
             f"--sample-length must be an integer ≥ 0 (got {self.sample_length})"),
            (0 < self.eta < math.inf, f"--eta must be > 0 and finite (got {self.eta})"),
            (0 <= self.clip < math.inf, f"--clip must be ≥ 0 and finite, 0 for no clipping (got {self.clip})"),
            ((self.updates is None) != (self.epochs is None), "give one of --updates and --epochs"),
            (self.updates is None or positive_int("updates", self.updates)[0],
             f"--updates must be an integer ≥ 1 (got {self.updates})"),
            (self.epochs is None or positive_int("epochs", self.epochs)[0],
             f"--epochs must be an integer ≥ 1 (got {self.epochs})"),
            (0 <= self.seed < 2**63, f"--seed must be an integer in [0, 2^63) (got {self.seed})"),
        ]
        for ok, message in checks:
            if not ok:  # NaN fails every comparison, so it lands here too
                raise LinclfError(message)
        if self.sample_every % self.record_every:  # after the checks that make both integers ≥ 1
            raise LinclfError(f"--sample-every must be a multiple of --record-every ({self.record_every}): samples "
                              "are drawn at records, whose check makes sure the model is finite")

    def total_updates(self, text_length):
        """The run's update steps for a text of text_length characters."""
        if self.updates is not None:
            return self.updates
        return self.epochs * updates_per_pass(text_length, self.seq_length, self.batch_size)

    @classmethod
    def from_dict(cls, d):
        """The config of a checkpoint; keys it does not know, from another version, are left out."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @property
    def torch_dtype(self):
        import torch  # here, not at the top: the CLI validates configs before importing torch
        return getattr(torch, self.dtype)


def stream_length(text_length, batch_size):
    """The characters of each of the n streams a text is cut into: ⌊N / n⌋ (the last N mod n are not read);
    one stream, the whole text, when n = 1."""
    return text_length // batch_size


def updates_per_pass(text_length, seq_length, batch_size=1):
    """Chunks of τ + 1 characters starting at 0, τ, 2τ, … while they fit in a stream: ⌊(L − 1) / τ⌋."""
    return (stream_length(text_length, batch_size) - 1) // seq_length


def check_sampling(temperature, top_p):
    """Refuse a temperature ≤ 0 or a top-p outside (0, 1] (`linclf sample`, before torch is imported)."""
    if not 0 < temperature < math.inf:
        raise LinclfError(f"--temperature must be > 0 and finite (got {temperature}): 1 samples from the model's "
                          "own probabilities, below 1 sharpens them")
    if not 0 < top_p <= 1:
        raise LinclfError(f"--top-p must be in (0, 1] (got {top_p}): 1 keeps every character, 0.9 the most "
                          "probable ones that make up 90 %")
