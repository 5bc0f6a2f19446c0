"""The flags of `linclf rnn` and `linclf sample`, validated before torch is imported (like parse.py's).

A flag named after an RNNConfig field is None when not given, so that --resume can tell a flag
from its default; rnn_config_from fills in RNNConfig's defaults, and the optimizer's own η and
clipping (rnn_config.ETA, CLIP) where --eta or --clip is not given.
"""
from dataclasses import fields

from ..errors import LinclfError
from ..threads import add_threads_flag
from ..training.config import DATA_DIR, DEVICES, DTYPES
from ..training.rnn_config import CLIP, ETA, OPTIMIZERS, REDUCTIONS, RNNConfig, check_sampling

R = RNNConfig()


def add_rnn_parsers(sub):
    """`rnn` and `sample` on the subparsers of `linclf`."""
    r = sub.add_parser("rnn", help="train a character-level RNN on a text (DD2424 Assignment 4) and sample from it",
                       description="Train a vanilla RNN on the characters of a text with hand-written BPTT; a run "
                       "folder like train's: results.json (the smooth-loss history), model.pt, samples.txt, loss.png. "
                       "docs/cli.md, `linclf rnn`.")
    r.add_argument("--text", metavar="PATH", help="a UTF-8 text file, or tinyshakespeare (downloaded into --data-dir "
                   "the first time, its MD5 checked)")
    r.add_argument("--data-dir", metavar="PATH", default=DATA_DIR, help="where --text tinyshakespeare is kept "
                   f"(default: {DATA_DIR})")

    def flag(name, help, **kw):
        default = kw.pop("default", getattr(R, name))
        p_help = f"{help} (default: {default})" if default is not None else help
        r.add_argument("--" + name.replace("_", "-"), default=None, help=p_help, **kw)
    flag("hidden", "m, hidden units", type=int)
    flag("seq_length", "τ, characters per update (per sequence)", type=int)
    flag("batch_size", "n, sequences per update: the text cut into n streams read side by side, each with its own "
         "h, the loss the mean over them (the assignment's bonus; for a GPU)", type=int)
    flag("optimizer", "adam (2025/26 texts) or adagrad (older texts)", choices=OPTIMIZERS)
    flag("eta", "learning rate η", type=float, default=f"{ETA['adam']} with adam, {ETA['adagrad']} with adagrad")
    flag("clip", "clip every gradient entry to [−CLIP, CLIP] before the update; 0: none", type=float,
         default=f"{CLIP['adam']:g} with adam, {CLIP['adagrad']:g} with adagrad")
    flag("loss_reduction", "the loss over the τ steps: mean (2025/26 texts) or sum (older texts)", choices=REDUCTIONS)
    flag("updates", "update steps of the whole run (with --resume: the new total)", type=int)
    flag("epochs", "passes over the text, instead of --updates", type=int, default=None)
    flag("record_every", "updates between smooth-loss records and checkpoints", type=int)
    flag("sample_every", "updates between samples (a multiple of --record-every)", type=int)
    flag("sample_length", "characters of each sample during training", type=int)
    flag("seed", "init and sampling randomness", type=int)
    flag("dtype", "floating-point type of the parameters", choices=DTYPES)
    r.add_argument("--device", default=None, choices=DEVICES, help="default: auto, CUDA when PyTorch sees a GPU")
    add_threads_flag(r, resume=True)
    r.add_argument("--out", metavar="DIR", help="output folder (default: a new folder under runs/)")
    r.add_argument("--overwrite", action="store_true", help="allow --out to be a folder that already holds files")
    r.add_argument("--no-progress", action="store_true", help="no progress bar or lines")
    r.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last record, bit for bit, with "
                   "its own settings (only --updates or --epochs, and --device, may change)")

    s = sub.add_parser("sample", help="sample text from a `linclf rnn` run's best model",
                       description="Print --length characters sampled from the model with the lowest smooth loss of "
                       "a `linclf rnn` run folder, after the --start characters.")
    s.add_argument("run", metavar="RUN", help="a `linclf rnn` run folder, or its model.pt")
    s.add_argument("--length", type=int, default=1000, help="characters to sample (default: 1000)")
    s.add_argument("--temperature", type=float, default=1.0, help="divide the scores by T > 0 before the softmax: "
                   "below 1 more likely characters, above 1 more varied (default: 1)")
    s.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling: draw among the most probable "
                   "characters that make up this much probability, in (0, 1] (default: 1, all)")
    s.add_argument("--seed", type=int, default=0, help="the draws' randomness (default: 0)")
    s.add_argument("--start", default=None, help="characters to start from, fed in before sampling (default: the "
                   "first character of the run's text)")
    s.add_argument("--device", default="cpu", choices=DEVICES, help="default: cpu")


def rnn_given(args):
    """The RNNConfig fields set on the command line (not None)."""
    return {f.name: getattr(args, f.name) for f in fields(RNNConfig) if getattr(args, f.name, None) is not None}


def validate_rnn(args):
    """`linclf rnn`: the RNNConfig to train (None with --resume, whose config is the run's);
    `linclf sample`: None, after checking its numbers."""
    if args.command == "sample":
        check_sampling(args.temperature, args.top_p)
        if args.length < 0:
            raise LinclfError(f"--length must be ≥ 0 (got {args.length})")
        if not 0 <= args.seed < 2**63:
            raise LinclfError(f"--seed must be an integer in [0, 2^63) (got {args.seed})")
        return None
    given = rnn_given(args)
    if "updates" in given and "epochs" in given:
        raise LinclfError("--updates and --epochs both set the length of the run: give one of them")
    if args.resume is not None:
        if args.out is not None:
            raise LinclfError(f"--resume continues in {args.resume} itself; drop --out (copy the folder first to "
                              "fork it)")
        RNNConfig(**{**given, **({"updates": None} if "epochs" in given else {})})  # each given value is valid
        return None
    if args.text is None:
        raise LinclfError("`linclf rnn` needs --text PATH (a UTF-8 file) or --text tinyshakespeare")
    optimizer = given.get("optimizer", R.optimizer)
    defaults = {"eta": ETA[optimizer], "clip": CLIP[optimizer], **({"updates": None} if "epochs" in given else {})}
    return RNNConfig(**{**defaults, **given})
