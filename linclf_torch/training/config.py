"""TrainConfig: every setting of a run, validated here and nowhere else.

Imports no torch (the CLI parses and validates a command before the seconds that importing
torch takes), so the names of the choices live here too: the modules that implement them
(nn/losses.py, nn/mlp.py, data/prepare.py, state.make_schedule) are keyed by these names.
"""
import itertools
import math
from dataclasses import dataclass, fields, replace

from ..data import SPLITS  # defined with the data, which knows no TrainConfig
from ..errors import LinclfError

MODELS = ("linear", "mlp", "conv")
LOSSES = ("ce", "mbce")                  # softmax + cross-entropy, sigmoid + multiple BCE
NORMALIZE = ("pixel", "channel")         # standardize per dimension (DD2424) or per colour channel (INF265)
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float32", "float64")
DATA_DIR = "data"                        # the CIFAR-10 folder when a command names none
INITS = ("torch", "dd2424", "he")       # the MLP's init rules (nn/mlp.py), or normal:SIGMA
SWEPT = ("loss", "eta", "eta_cycle", "lam", "batch_size", "epochs", "decay")  # what `linclf grid` takes lists of
DECAY_USAGE = "none, step:EVERY:FACTOR (e.g. step:10:0.1) or plateau[:PATIENCE:FACTOR] (e.g. plateau:2:0.1)"
ETA_USAGE = "a number (e.g. 0.001) or cyclic:MIN:MAX:N_S (e.g. cyclic:1e-5:1e-1:500)"


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


def parse_cycle(spec):
    """'cyclic:MIN:MAX:N_S' -> (eta_min, eta_max, n_s): the triangular cyclical rate of
    nn/schedules.py, η from MIN up to MAX over N_S update steps and back; 0 < MIN < MAX, both
    finite, N_S an integer ≥ 1."""
    name, *args = str(spec).split(":")
    problem = "use cyclic:MIN:MAX:N_S with numbers MIN and MAX and an integer N_S"
    if name == "cyclic" and len(args) == 3:
        try:
            eta_min, eta_max, n_s = float(args[0]), float(args[1]), int(args[2])
        except ValueError:
            pass
        else:
            if not (0 < eta_min < math.inf and 0 < eta_max < math.inf):
                problem = "MIN and MAX must be > 0 and finite"
            elif eta_min >= eta_max:
                problem = "MIN must be smaller than MAX"
            elif n_s < 1:
                problem = "N_S, the update steps from MIN to MAX, must be ≥ 1"
            else:
                return eta_min, eta_max, n_s
    raise LinclfError(f"bad --eta {spec!r}: {problem}")


def parse_eta(value):
    """--eta as given: a number -> ("eta", float); 'cyclic:…' -> ("eta_cycle", the spec, validated)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "eta", float(value)
    text = str(value)
    if text.startswith("cyclic"):
        parse_cycle(text)
        return "eta_cycle", text
    try:
        return "eta", float(text)
    except ValueError:
        raise LinclfError(f"bad --eta {text!r}: use {ETA_USAGE}") from None


def parse_init(init):
    """--init: 'torch', 'dd2424', 'he' (nn/mlp.py), or σ > 0 as 'normal:SIGMA' or a number,
    returned as a float: every weight ~ N(0, σ²)."""
    if init in INITS:
        return init
    text = init[len("normal:"):] if isinstance(init, str) and init.startswith("normal:") else init
    try:
        sigma = float(text)
    except (TypeError, ValueError):
        sigma = math.nan
    if isinstance(init, bool) or not 0 < sigma < math.inf:
        raise LinclfError(f"bad --init {init!r}: choose one of {', '.join(INITS)} or normal:SIGMA with a number "
                          "σ > 0 (every weight ~ N(0, σ²), e.g. normal:1e-4)")
    return sigma


@dataclass(frozen=True)
class TrainConfig:
    model: str = "linear"       # "linear" | "mlp" | "conv" (DD2424 A3's patchify ConvNet, nn/convnet.py)
    hidden: tuple = ()          # hidden layer sizes of the MLP; the ConvNet's one, nh
    init: str = "torch"         # the MLP's init: "torch" | "dd2424" | "he" | "normal:SIGMA" (or σ), see nn/mlp.py
    batchnorm: bool = False     # the MLP normalises every hidden layer over the batch (DD2424 Assignment 3)
    loss: str = "ce"            # "ce" (softmax + cross-entropy) | "mbce" (sigmoid + multiple BCE)
    eta: float = 0.001          # learning rate; with eta_cycle, its MIN (set from it)
    eta_cycle: str = "none"     # "none" or "cyclic:MIN:MAX:N_S": η_t per update step, see parse_cycle
    lam: float = 0.0            # L2 strength λ in J = loss + λ‖W‖²
    batch_size: int = 100       # images per mini-batch
    epochs: int = 40            # passes over the training split (not used with cycles)
    cycles: int | None = None   # with eta_cycle: train exactly 2·cycles·N_S update steps instead of epochs
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
    records_per_cycle: int = 10  # with eta_cycle: metric records per cycle (≥ 10 by default); 0: only at the end
    cycle_growth: int = 1       # with eta_cycle: each cycle this many times as long as the one before
    filter_size: int | None = None  # the ConvNet's f: f × f × 3 filters, stride f (pixels)
    filters: int | None = None  # the ConvNet's nf
    conv_bias: bool = False     # the ConvNet's filters have a bias each
    label_smoothing: float = 0.0  # ε: targets 1 − ε on the true class, ε/(K − 1) on the others (--model conv)

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
            (self.model in ("mlp", "conv") or not self.hidden, "--hidden is for --model mlp or conv; drop it or add "
             "--model mlp"),
            (all(m >= 1 for m in self.hidden), f"--hidden sizes must be ≥ 1 (got {' '.join(map(str, self.hidden))})"),
            (self.image_size >= 1, f"--image-size must be ≥ 1 (got {self.image_size})"),
            (0 <= self.seed < 2**63, f"--seed must be an integer in [0, 2^63) (got {self.seed})"),
        ]
        checks += conv_checks(self)
        cyclic = self.eta_cycle != "none"
        if cyclic:  # η starts at MIN: eta says so in results.json and grid tables
            object.__setattr__(self, "eta", parse_cycle(self.eta_cycle)[0])
        checks += [
            (self.cycles is None or (type(self.cycles) is int and self.cycles >= 1),
             f"--cycles must be an integer ≥ 1 (got {self.cycles})"),
            (type(self.cycle_growth) is int and self.cycle_growth >= 1,
             f"--cycle-growth must be an integer ≥ 1, the factor from one cycle's length to the next's "
             f"(got {self.cycle_growth})"),
            (self.cycle_growth == 1 or cyclic, "--cycle-growth needs a cyclic learning rate: --eta cyclic:MIN:MAX:N_S"),
            (type(self.records_per_cycle) is int and self.records_per_cycle >= 0,
             f"--records-per-cycle must be an integer ≥ 0 (got {self.records_per_cycle})"),
            (self.cycles is None or cyclic, "--cycles needs a cyclic learning rate: --eta cyclic:MIN:MAX:N_S"),
            (not cyclic or self.decay == "none", "--decay is a per-epoch schedule: drop it with --eta cyclic:…"),
            (not cyclic or not self.cuda_graphs, "--cuda-graphs replays whole epochs at one rate: drop it with "
             "--eta cyclic:…"),
            (self.model == "mlp" or self.init == "torch", "--init is for --model mlp (" + (
                "the ConvNet draws He's N(0, 2/in), as DD2424 Assignment 3)" if self.model == "conv" else
                "the linear classifier draws W ~ N(0, 0.01²), as DD2424 Assignment 1)")),
            (self.model == "mlp" or not self.batchnorm, "--batchnorm normalises hidden layers: use it with --model mlp "
             "--hidden ..."),
            (not self.batchnorm or not self.cuda_graphs, "--cuda-graphs cannot replay batch norm's running averages: "
             "drop one of --cuda-graphs and --batchnorm"),
        ]
        for ok, message in checks:
            if not ok:  # NaN fails every comparison, so it lands here too
                raise LinclfError(message)
        parse_decay(self.decay)  # fails early on a malformed --decay
        parse_init(self.init)

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


def conv_checks(cfg):
    """The (ok, message) checks of the ConvNet's settings, for TrainConfig.__post_init__."""
    if cfg.model != "conv":
        given = [flag for flag, value in (("--filter-size", cfg.filter_size), ("--filters", cfg.filters),
                                          ("--conv-bias", cfg.conv_bias or None),
                                          ("--label-smoothing", cfg.label_smoothing or None)) if value is not None]
        return [(not given, f"{given[0] if given else ''} is for --model conv; drop it or add --model conv")]
    f, nf = cfg.filter_size, cfg.filters
    return [
        (f is not None and nf is not None, "--model conv needs --filter-size F and --filters NF, e.g. "
         "--filter-size 4 --filters 10 --hidden 50"),
        (len(cfg.hidden) == 1, "--model conv has one hidden layer: give one --hidden size, e.g. --hidden 50"),
        (f is None or (type(f) is int and 1 <= f <= cfg.image_size and cfg.image_size % f == 0),
         f"--filter-size must divide the image side {cfg.image_size} (patches of f × f pixels, stride f; e.g. "
         f"2, 4, 8, 16 for 32) (got {f})"),
        (nf is None or (type(nf) is int and nf >= 1), f"--filters must be an integer ≥ 1 (got {nf})"),
        (0 <= cfg.label_smoothing < 1, f"--label-smoothing ε must be in [0, 1) (got {cfg.label_smoothing})"),
        (cfg.label_smoothing == 0 or cfg.loss == "ce", "--label-smoothing smooths cross-entropy's targets: use it "
         "with --loss ce"),
    ]


def expand_grid(base, **lists):
    """Every combination of the given TrainConfig fields' value lists, the rest from base.

    expand_grid(cfg, eta=[0.001, 0.01], lam=[0, 0.1]) -> 4 configs, eta varying slowest.
    """
    names = list(lists)
    return [replace(base, **dict(zip(names, values))) for values in itertools.product(*lists.values())]


def given(args):
    """The TrainConfig fields set (not None) in an argparse Namespace, as TrainConfig takes them.

    --eta's values are numbers (eta) or cyclic specs (eta_cycle), not both in one grid;
    --cycles and --epochs exclude each other.
    """
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}
    if "cycles" in values and "epochs" in values:
        raise LinclfError("--cycles and --epochs both set the length of the run: give one of them")
    if "eta" in values:  # in its place: a grid's first flag varies slowest
        raw = values["eta"]
        parsed = [parse_eta(v) for v in (raw if isinstance(raw, list) else [raw])]
        kinds = {kind for kind, _ in parsed}
        if len(kinds) > 1:
            raise LinclfError("--eta takes numbers or cyclic:MIN:MAX:N_S specs, not both in one grid")
        kind, numbers = kinds.pop(), [v for _, v in parsed]
        values = {kind if k == "eta" else k: v for k, v in values.items()}
        values[kind] = numbers if isinstance(raw, list) else numbers[0]
    return {k: tuple(v) if k in ("hidden", "classes") else v for k, v in values.items()}  # TrainConfig's tuples
