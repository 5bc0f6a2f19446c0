"""Continuing a run folder (`linclf train --resume DIR`): what may continue, and from where.

A run continues with its own config; only the number of epochs (and the device) may change.
Its model.pt holds the parameters and the training state (state.py) of the last completed
epoch, its results.json the data folder it was trained on.
"""
import json
from dataclasses import replace
from pathlib import Path

import torch

from .checkpoint import check_data, load_params, read_checkpoint
from .errors import LinclfError


def resume_config(folder, flags):
    """-> (cfg, checkpoint, data) of the run in folder, after checking it can go on as flags ask.

    flags: the TrainConfig fields given on the command line; only epochs and device may
    differ from the run's. data is results.json's "data" ({} when unknown).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LinclfError(f"--resume {folder} is not a folder; pass the --out folder of an earlier `linclf train`")
    cfg, checkpoint = read_checkpoint(folder / "model.pt")
    done = saved_epochs(checkpoint)
    try:
        results = json.loads((folder / "results.json").read_text())
    except (OSError, ValueError):
        results = {}  # the checkpoint alone is enough to resume
    results = results if isinstance(results, dict) else {}
    if results.get("status") == "diverged":
        raise LinclfError(f"{folder} diverged in epoch {results.get('diverged_epoch')}; resuming would diverge "
                          "again: start a new run with a smaller --eta")
    for name, value in flags.items():
        if name not in ("epochs", "device") and value != getattr(cfg, name):
            flag = "--" + name.replace("_", "-")
            raise LinclfError(f"{flag} {value} conflicts with the run's {getattr(cfg, name)}: --resume continues "
                              f"{folder} as configured, only --epochs may change; drop {flag}, or start a new run")
    epochs = flags.get("epochs", cfg.epochs)
    if epochs <= done:
        raise LinclfError(f"{folder} has already completed {done} epochs; pass --epochs N with N > {done} "
                          "to train further")
    data = results.get("data")
    return (replace(cfg, epochs=epochs, device=flags.get("device", cfg.device)), checkpoint,
            data if isinstance(data, dict) else {})


def saved_epochs(checkpoint):
    """The number of epochs a run folder's checkpoint has completed, if it can be resumed."""
    state = checkpoint.get("train_state")
    epoch = state.get("epoch") if isinstance(state, dict) else None
    if type(epoch) is not int or epoch < 1:
        raise LinclfError(f"{checkpoint['path']} holds parameters but no training state to resume from; "
                          "start a new run")
    return epoch


def restore(model, state, checkpoint, data):
    """Load a run's parameters and training state, after checking it was trained on this data."""
    check_data(checkpoint, data.classes, data.image_shape)
    if not (torch.equal(checkpoint["mean"], data.mean.cpu()) and torch.equal(checkpoint["std"], data.std.cpu())):
        raise LinclfError(f"{checkpoint['path']} was trained on other images (the training split's mean and std "
                          "differ): resume with the same --data-dir, --split and --n-val as the run")
    saved_epochs(checkpoint)
    load_params(model, checkpoint)
    state.load_state_dict(checkpoint["train_state"], checkpoint["path"])
