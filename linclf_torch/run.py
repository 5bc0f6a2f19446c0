"""One training run from config to files: what `linclf train` and the experiment scripts call."""
import platform
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torchvision

from .checkpoint import save_checkpoint
from .files import save_figure, save_json
from .models import build_model
from .plots import curves_figure, weights_figure
from .train import accuracy, train


def cpu_name():
    """The CPU's model name (Linux: /proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def env_info(device):
    """Versions, device name and git commit, for results.json."""
    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, text=True,
                                capture_output=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "device": str(device), "device_name": name,
            "threads": torch.get_num_threads(), "git_commit": commit}


def final_metrics(model, data, history):
    """Accuracies after training: train and val from the last epoch, test measured here, once."""
    return {"train_acc": history[-1]["train_acc"], "val_acc": history[-1]["val_acc"],
            "test_acc": accuracy(model, data.X_test, data.y_test)}


def run(cfg, data, out=None, *, progress=True):
    """Train a fresh model for cfg on data; write results.json, model.pt and figures into out.

    Returns (results, model); results holds config, history, final, wall_time_s and env.
    """
    device = data.X_train.device
    model = build_model(cfg, data.X_train.shape[1], len(data.classes), device)
    start = time.perf_counter()
    history = train(model, data, cfg, progress=progress)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall = time.perf_counter() - start
    results = {"config": asdict(cfg), "history": history, "final": final_metrics(model, data, history),
               "wall_time_s": wall, "env": env_info(device)}
    if out is not None:
        write_outputs(Path(out), results, model, data, cfg)
    return results, model


def write_outputs(out, results, model, data, cfg):
    out.mkdir(parents=True, exist_ok=True)
    save_json(out / "results.json", results)
    save_checkpoint(out / "model.pt", model, data, cfg)
    save_figure(out / "curves.png", curves_figure(results["history"], title=cfg.loss.upper()))
    if "W" in model.params:
        save_figure(out / "weights.png", weights_figure(model.params["W"], data.classes, data.image_shape))
