"""Checkpoints: the trained parameters plus everything needed to use them on new images.

A checkpoint is a dict of tensors, lists, strings and numbers saved with torch.save and
loaded with torch.load(weights_only=True), which refuses to run code from the file. The
model.pt of a run folder also holds the training state (training/state.py), for `--resume`.
Its parameters and running averages are finite numbers (training/finite.py): checked before
every save and after every load, so that no NaN is ever evaluated as if it were a model.
"""
from dataclasses import asdict
from pathlib import Path

import torch

from ..data.prepare import features, select
from ..errors import LinclfError
from ..files import write_atomic
from ..training.config import TrainConfig
from ..training.finite import KINDS, nonfinite_tensor
from ..training.loop import build_model

FORMAT = "linclf-checkpoint-1"


def save_checkpoint(path, model, data, cfg, state=None, source=None):
    """model.pt: parameters, preprocessing, config; state (a TrainState) for --resume; source, the data
    folder it was trained on ({"data_dir", "verify"}), which `linclf evaluate` uses by default.
    A model with a NaN or inf is refused: the trainer stops before saving one (a diverged run)."""
    bad = nonfinite_tensor(model.params, model.buffers)
    if bad is not None:
        raise LinclfError(f"not writing {path}: the model's {bad} holds NaN or inf values (training diverged); "
                          "train it again with a smaller --eta")
    checkpoint = {
        "format": FORMAT,
        "config": asdict(cfg),
        # copies: a grid's model holds views of its group's stack, which torch.save would save whole
        "params": {k: v.to("cpu", copy=True) for k, v in model.params.items()},
        "buffers": {k: v.to("cpu", copy=True) for k, v in model.buffers.items()},  # batch norm's running averages
        "mean": data.mean.cpu(), "std": data.std.cpu(),  # (3, H, W) or (3, 1, 1) training statistics
        "classes": list(data.classes),                   # the names of labels 0..K−1
        "image_shape": list(data.image_shape),
    }
    if state is not None:
        checkpoint["train_state"] = state.state_dict()
    if source is not None:
        checkpoint["data"] = dict(source)
    write_atomic(path, lambda tmp: torch.save(checkpoint, tmp))


def read_checkpoint(path):
    """-> (cfg, checkpoint): the TrainConfig and the saved dict, or a LinclfError saying what is wrong.

    path may be a run folder, which stands for its model.pt.
    """
    advice = "pass the model.pt of a run folder written by `linclf train`"
    path, checkpoint = load_marked(path, FORMAT, "linclf checkpoint", advice)
    try:
        cfg = TrainConfig.from_dict(checkpoint["config"])
        if not (isinstance(checkpoint["params"], dict) and checkpoint["classes"]
                and all(isinstance(c, str) for c in checkpoint["classes"])
                and len(checkpoint["image_shape"]) == 3
                and all(type(n) is int and n > 0 for n in checkpoint["image_shape"])
                and all(isinstance(checkpoint[k], torch.Tensor)  # per pixel or per channel
                        and checkpoint[k].shape in (tuple(checkpoint["image_shape"]),
                                                    (checkpoint["image_shape"][0], 1, 1))
                        for k in ("mean", "std"))):
            raise ValueError("params, classes, image_shape, mean or std")
    except (KeyError, TypeError, ValueError, AttributeError, LinclfError) as e:
        raise LinclfError(f"{path} is a damaged linclf checkpoint ({type(e).__name__}: {e}); {advice}") from None
    checkpoint["path"] = str(path)  # for the messages of load_params and check_same_images
    return cfg, checkpoint


def load_marked(path, marker, kind, advice):
    """-> (path, the dict torch.load(weights_only=True) reads from it), refusing a missing, unreadable or
    other file (one whose "format" is not marker) with a LinclfError ending with advice. path may be a
    run folder, which stands for its model.pt; kind names the expected file in the messages."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise LinclfError(f"checkpoint {path} does not exist; {advice}") from None
    except Exception as e:  # noqa: BLE001 (truncated, not a torch file, or a pickle that names code to run
        raise LinclfError(f"{path} is not a readable linclf checkpoint ({type(e).__name__}); {advice}") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != marker:
        raise LinclfError(f"{path} is not a {kind} (no '{marker}' marker); {advice}")
    return path, checkpoint


def load_checkpoint(path, device="cpu"):
    """-> (model, checkpoint): the model rebuilt on `device`, and the saved dict."""
    cfg, checkpoint = read_checkpoint(path)
    K, d = len(checkpoint["classes"]), int(torch.tensor(checkpoint["image_shape"]).prod())
    model = build_model(cfg, d, K, device)
    load_params(model, checkpoint)
    return model, checkpoint


def load_params(model, checkpoint):
    """Copy the checkpoint's parameters into `model`, and its buffers (batch norm's running
    averages, saved from the model's buffers), refusing any of another name or shape, or with a
    NaN or inf: its scores would be NaN, every prediction class 0, and its accuracy meaningless."""
    for name, p in model.params.items():
        p.copy_(saved_tensor(checkpoint, "params", name, p.shape))
    buffers = checkpoint.get("buffers") or {}
    if not isinstance(buffers, dict):
        raise LinclfError(f"{checkpoint['path']}: its buffers are not a dict; the checkpoint is damaged")
    some = next(iter(model.params.values()))
    shapes = {f"{kind}{l}": model.params[f"gamma{l}"].shape for kind in ("mu", "v")
              for l in range(1, len(model.layers)) if f"gamma{l}" in model.params}
    if buffers and set(buffers) != set(shapes):
        raise LinclfError(f"{checkpoint['path']}: running averages {', '.join(buffers)} do not fit the model "
                          f"({', '.join(shapes) or 'none'}); the checkpoint is damaged or from another model")
    model.buffers = {name: saved_tensor(checkpoint, "buffers", name, shape).to(some) for name, shape in shapes.items()
                     if buffers}
    bad = nonfinite_tensor(model.params, model.buffers)
    if bad is not None:
        raise LinclfError(f"{checkpoint['path']}: its {bad} holds NaN or inf values, so the model cannot be used; "
                          "the file is damaged or was saved from a diverged run: train the model again")


def saved_tensor(checkpoint, part, name, shape):
    """checkpoint[part][name], which must be a tensor of `shape`."""
    saved = checkpoint[part].get(name)
    if not isinstance(saved, torch.Tensor) or saved.shape != shape:
        raise LinclfError(f"{checkpoint['path']}: {KINDS[part]} {name} has shape "
                          f"{tuple(saved.shape) if isinstance(saved, torch.Tensor) else None}, "
                          f"expected {tuple(shape)}; the checkpoint is damaged or from another model")
    return saved


def check_same_images(checkpoint, classes, image_shape):
    """Refuse data whose classes or image shape differ from the checkpoint's."""
    advice = "use the data set the checkpoint was trained on"
    if list(image_shape) != list(checkpoint["image_shape"]):
        shape = "x".join(map(str, checkpoint["image_shape"]))
        raise LinclfError(f"{checkpoint['path']} was trained on {shape} images, the data has "
                          f"{'x'.join(map(str, image_shape))} images: {advice}")
    if list(classes) != list(checkpoint["classes"]):
        raise LinclfError(f"{checkpoint['path']} was trained on the classes {', '.join(checkpoint['classes'])}; "
                          f"the data has {', '.join(classes)}: {advice}")


def prepare_test(checkpoint, raw, device="cpu"):
    """The test images of raw (cifar.Cifar10) preprocessed as for training the checkpoint: (X, y).

    The same select and features as data.prepare, from what the checkpoint stores: the
    class names in label order, the configured image size and the training mean and std.
    """
    missing = [c for c in checkpoint["classes"] if c not in raw.classes]
    if missing:
        raise LinclfError(f"{checkpoint.get('path', 'the checkpoint')} was trained on the classes "
                          f"{', '.join(checkpoint['classes'])}; the data has {', '.join(raw.classes)}: "
                          "use the data set the checkpoint was trained on")
    raw = select(raw, checkpoint["classes"], checkpoint["config"].get("image_size"))
    check_same_images(checkpoint, raw.classes, raw.test_images.shape[1:])
    mean, std = checkpoint["mean"].to(device), checkpoint["std"].to(device)
    return features(raw.test_images.to(device), mean, std), raw.test_labels.to(device)  # (M, d), (M,)


def predict_test(model, X, checkpoint):
    """The loaded model's predictions on the test images X, refusing scores that are NaN or inf:
    finite but enormous weights (a run stopped as it diverged) can overflow them, and an argmax
    over NaN is no prediction. One reduction over the scores."""
    scores = model.scores(X)  # (M, K)
    if not torch.isfinite(scores).all():
        raise LinclfError(f"{checkpoint['path']}: the model's scores on the test images are NaN or inf (its weights "
                          "are too large: the run diverged); train the model again with a smaller --eta")
    return scores.argmax(1)  # (M,)
