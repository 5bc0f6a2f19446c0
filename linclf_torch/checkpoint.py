"""Checkpoints: the trained parameters plus everything needed to use them on new images.

A checkpoint is a dict of tensors, lists, strings and numbers saved with torch.save and
loaded with torch.load(weights_only=True), which refuses to run code from the file.
"""
from dataclasses import asdict, fields

import torch

from .data import features, select
from .errors import LinclfError
from .files import write_atomic
from .models import build_model
from .train import TrainConfig

FORMAT = "linclf-checkpoint-1"


def save_checkpoint(path, model, data, cfg):
    state = {
        "format": FORMAT,
        "config": asdict(cfg),
        "params": {k: v.cpu() for k, v in model.params.items()},
        "mean": data.mean.cpu(), "std": data.std.cpu(),  # (3, H, W) or (3, 1, 1) training statistics
        "classes": list(data.classes),                   # the names of labels 0..K−1
        "image_shape": list(data.image_shape),
    }
    write_atomic(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path, device="cpu"):
    """-> (model, state): the model rebuilt on `device`, and the saved dict."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise LinclfError(f"checkpoint {path} does not exist; pass the model.pt of a run folder") from None
    except Exception as e:
        raise LinclfError(f"{path} is not a readable linclf checkpoint ({type(e).__name__}); "
                          "pass the model.pt written by `linclf train`") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise LinclfError(f"{path} is not a linclf checkpoint (no '{FORMAT}' marker); "
                          "pass the model.pt written by `linclf train`")
    known = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v
                         for k, v in state["config"].items() if k in known})
    K, d = len(state["classes"]), int(torch.tensor(state["image_shape"]).prod())
    model = build_model(cfg, d, K, device)
    for name, p in model.params.items():
        saved = state["params"].get(name)
        if saved is None or saved.shape != p.shape:
            raise LinclfError(f"{path}: parameter {name} has shape "
                              f"{None if saved is None else tuple(saved.shape)}, expected {tuple(p.shape)}; "
                              "the checkpoint is damaged or from another model")
        p.copy_(saved)
    return model, state


def prepare_test(state, raw, device="cpu"):
    """The test images of raw (cifar.Cifar10) preprocessed as for training the checkpoint: (X, y).

    The same select and features as data.prepare, from what the checkpoint stores: the
    class names in label order, the image size and the training mean and std.
    """
    raw = select(raw, state["classes"], state["image_shape"][-1])
    mean, std = state["mean"].to(device), state["std"].to(device)
    return features(raw.test_images.to(device), mean, std), raw.test_labels.to(device)  # (M, d), (M,)
