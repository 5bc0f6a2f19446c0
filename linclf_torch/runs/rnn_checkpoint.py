"""The character RNN's model.pt: its parameters, the best ones, its character set and training state.

Tensors, lists, strings and numbers only, saved with torch.save and read with
torch.load(weights_only=True), which refuses to run code from the file. `linclf sample` reads
the best parameters (the lowest recorded smooth loss) and the characters; `linclf rnn --resume`
reads everything.
"""
from dataclasses import asdict

import torch

from ..data.text import decode
from ..errors import LinclfError
from ..files import write_atomic
from ..nn.rnn import PARAMS, rnn_forward
from ..nn.sampling import sample
from ..training.finite import nonfinite_tensor
from ..training.rnn_config import RNNConfig, check_sampling
from .checkpoint import load_marked

FORMAT = "linclf-rnn-checkpoint-1"


def save_rnn_checkpoint(path, cfg, text_info, state):
    """model.pt of a run at state (training/rnn_loop.RNNState); text_info: {"path", "chars", "length", "md5"}.
    Parameters with a NaN or inf are refused (training/finite.py): the trainer stops before saving any."""
    bad = nonfinite_tensor(state.params)
    if bad is not None:
        raise LinclfError(f"not writing {path}: the model's {bad} holds NaN or inf values (training diverged); "
                          "train it again with a smaller --eta")
    train_state = state.state_dict()
    checkpoint = {"format": FORMAT, "config": asdict(cfg), "text": dict(text_info),
                  "params": {k: v.cpu() for k, v in state.params.items()},
                  "best": train_state["best"], "train_state": train_state}
    write_atomic(path, lambda tmp: torch.save(checkpoint, tmp))


def read_rnn_checkpoint(path):
    """-> (cfg, checkpoint), or a LinclfError saying what is wrong. path: model.pt or its run folder."""
    advice = "pass a run folder written by `linclf rnn`, or its model.pt"
    path, checkpoint = load_marked(path, FORMAT, "character-RNN checkpoint", advice)
    try:
        cfg = RNNConfig.from_dict(checkpoint["config"])
        chars = checkpoint["text"]["chars"]
        if not (isinstance(chars, list) and chars and all(isinstance(c, str) and len(c) == 1 for c in chars)):
            raise ValueError("the character set is not a list of characters")
        K, m = len(chars), cfg.hidden
        shapes = {"U": (m, K), "W": (m, m), "V": (K, m), "b": (m,), "c": (K,)}
        for params in (checkpoint["params"], (checkpoint["best"] or {}).get("params", checkpoint["params"])):
            for name in PARAMS:
                if not isinstance(params[name], torch.Tensor) or tuple(params[name].shape) != shapes[name]:
                    raise ValueError(f"parameter {name} is not a tensor of shape {shapes[name]}")
            bad = nonfinite_tensor(params)
            if bad is not None:  # no model to sample from or to continue
                raise ValueError(f"its {bad} holds NaN or inf values")
    except (KeyError, TypeError, ValueError, AttributeError, LinclfError) as e:
        raise LinclfError(f"{path} is a damaged character-RNN checkpoint ({type(e).__name__}: {e}); {advice}") from None
    checkpoint["path"] = str(path)
    return cfg, checkpoint


def sample_text(params, chars, length, generator, *, start, temperature=1.0, top_p=1.0):
    """start followed by `length` sampled characters: h = 0, the start's characters fed in one by
    one (all but the last only move h), then sampling from the last (nn/sampling.py).

    A start character outside chars, a temperature ≤ 0 or a top_p outside (0, 1] is a LinclfError.
    """
    if not start:
        raise LinclfError("--start must hold at least one character")
    missing = sorted({ch for ch in start if ch not in chars})
    if missing:
        raise LinclfError(f"--start holds {', '.join(map(repr, missing))}, not in the model's character set "
                          f"({len(chars)} characters of its text): start with characters of the text")
    check_sampling(temperature, top_p)
    W = params["W"]
    x = torch.tensor([chars.index(ch) for ch in start], device=W.device)  # (len(start),)
    h = torch.zeros(W.shape[0], dtype=W.dtype, device=W.device)             # (m,)
    if len(x) > 1:
        h = rnn_forward(x[:-1], h, params)[1][-1]                            # (m,): h after the start
    drawn = sample(params, h, int(x[-1]), length, generator, temperature, top_p)
    return start + decode(drawn, chars)
