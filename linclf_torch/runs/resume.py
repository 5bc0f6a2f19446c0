"""Continuing a run folder (`linclf train --resume DIR`): what may continue, and from where.

A run continues with its own config; only the number of epochs (and the device) may change.
A --cycles run keeps its length: it ends inside an epoch, so a longer run would have gone on
with that epoch's batches, which a resumed run, starting the next epoch, would not.
Its model.pt holds the parameters, the training state (training/state.py) of the last completed
epoch and the data folder it was trained on (results.json too, for older checkpoints).
"""
import json
from dataclasses import replace
from pathlib import Path

import torch

from ..errors import LinclfError
from ..training.state import make_cycle
from .checkpoint import check_same_images, load_params, read_checkpoint


def resume_config(folder, flags):
    """-> (cfg, checkpoint, data) of the run in folder, after checking it can go on as flags ask.

    flags: the TrainConfig fields given on the command line; only epochs (not for a --cycles
    run) and device may differ from the run's. data is recorded_source's ({} when unknown).
    """
    folder = Path(folder)
    if not (folder / "model.pt").exists() and not any(folder.iterdir()):
        raise LinclfError(f"{folder} holds no completed epoch yet (a run stopped during its first epoch leaves its "
                          f"folder empty): start it again with `linclf train --out {folder}` and its flags")
    cfg, checkpoint = read_checkpoint(folder / "model.pt")
    done = saved_epochs(checkpoint)
    results = results_beside(folder)  # {} if unreadable: the checkpoint alone is enough to resume
    if results.get("status") == "diverged":
        raise LinclfError(f"{folder} diverged in epoch {results.get('diverged_epoch')}; resuming would diverge "
                          "again: start a new run with a smaller --eta")
    changeable = ("device",) if cfg.cycles is not None else ("epochs", "device")  # see the module docstring
    if cfg.cycles is not None and "epochs" in flags:  # its cfg.epochs is a default it never used
        raise LinclfError(f"--epochs {flags['epochs']} does not apply: {folder} is a --cycles run, whose length "
                          f"({cfg.cycles} cycles) cannot change on --resume; drop --epochs, or start a new run "
                          "with more --cycles")
    for name, value in flags.items():
        if name not in changeable and value != getattr(cfg, name):
            flag = "--" + name.replace("_", "-")
            may = "only --epochs may change" if cfg.cycles is None else "a --cycles run keeps its length"
            raise LinclfError(f"{flag} {value} conflicts with the run's {getattr(cfg, name)}: --resume continues "
                              f"{folder} as configured, {may}; drop {flag}, or start a new run")
    if cfg.cycles is not None:
        step = checkpoint["train_state"].get("step", 0)
        if make_cycle(cfg).steps(cfg.cycles) <= step:
            raise LinclfError(f"{folder} has already trained its {cfg.cycles} cycles ({step} update steps); "
                              "start a new run with more --cycles")
        return (replace(cfg, device=flags.get("device", cfg.device)), checkpoint, recorded_source(checkpoint) or {})
    epochs = flags.get("epochs", cfg.epochs)
    if epochs <= done:
        raise LinclfError(f"{folder} has already completed {done} epochs; pass --epochs N with N > {done} "
                          "to train further")
    return (replace(cfg, epochs=epochs, device=flags.get("device", cfg.device)), checkpoint,
            recorded_source(checkpoint) or {})


def saved_epochs(checkpoint):
    """The number of epochs a run folder's checkpoint has completed, if it can be resumed."""
    train_state = checkpoint.get("train_state")
    epoch = train_state.get("epoch") if isinstance(train_state, dict) else None
    if type(epoch) is not int or epoch < 1:
        raise LinclfError(f"{checkpoint['path']} holds parameters but no training state to resume from; "
                          "start a new run")
    return epoch


def restore(model, state, checkpoint, data):
    """Load a run's parameters and training state, after checking it was trained on this data."""
    check_same_images(checkpoint, data.classes, data.image_shape)
    if not (torch.equal(checkpoint["mean"], data.mean.cpu()) and torch.equal(checkpoint["std"], data.std.cpu())):
        raise LinclfError(f"{checkpoint['path']} was trained on other images (the training split's mean and std "
                          "differ): resume with the same --data-dir, --split and --n-val as the run")
    saved_epochs(checkpoint)
    load_params(model, checkpoint)
    state.load_state_dict(checkpoint["train_state"], checkpoint["path"])


def resume_threads(checkpoint, flag):
    """The CPU thread count to continue with: the run's own, since another count sums floats in
    another order and the continued run would not be bit for bit the one never stopped.

    flag: --threads as given (None or "auto": the run's). A different number is refused.
    """
    recorded = checkpoint["train_state"].get("threads")
    if type(recorded) is not int:  # a checkpoint from before threads were recorded
        return flag
    if flag not in (None, "auto", recorded):
        raise LinclfError(f"--threads {flag} conflicts with the run's {recorded}: the thread count changes float "
                          "summation order, so --resume keeps it to continue bit for bit; drop --threads")
    return recorded


def results_beside(path):
    """The results.json of a run folder, or of the folder holding a checkpoint file, as a dict;
    {} when it is missing or unreadable."""
    path = Path(path)
    try:
        results = json.loads(((path if path.is_dir() else path.parent) / "results.json").read_text())
    except (OSError, ValueError):
        return {}
    return results if isinstance(results, dict) else {}


def recorded_source(checkpoint):
    """Where a checkpoint's run read its data ({"data_dir", "verify"}): the checkpoint's own
    record, else (a checkpoint from before it kept one) its results.json's; None if unknown."""
    data = checkpoint.get("data") or results_beside(checkpoint["path"]).get("data")
    return data if isinstance(data, dict) else None
