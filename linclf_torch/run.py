"""One training run from config to files: what `linclf train` and the experiment scripts call.

The run folder is kept current: after every epoch, model.pt (parameters and training state)
then results.json, each written atomically, so that a crash or Ctrl-C loses at most the
epoch in progress. results.json's "status" says how the run stands:
    running      written after each epoch; left as is if the process was killed
    completed    all epochs done: "final" holds the accuracies, the figures are written
    diverged     the cost became NaN or inf in epoch "diverged_epoch"; model.pt keeps the
                 last finite epoch, the history stops there, "final" is null
    interrupted  Ctrl-C: model.pt and results.json describe the last completed epoch
"""
import platform
import subprocess
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path

import torch

from .checkpoint import read_checkpoint, save_checkpoint
from .files import save_figure, save_json
from .nn import accuracy
from .plots import curves_figure, weights_figure
from .resume import restore
from .state import TrainState
from .train import build_model, train


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during run(); .results is what the run folder now says (status "interrupted")."""

    def __init__(self, results):
        super().__init__("interrupted")
        self.results = results


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
    """Versions, device name and git commit, for results.json.

    torchvision's version is its package's, read without importing it (which takes seconds):
    "0.29.2", where torchvision.__version__ adds the build tag torch's version also shows.
    """
    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, text=True,
                                capture_output=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": version("torchvision"), "device": str(device), "device_name": name,
            "threads": torch.get_num_threads(), "git_commit": commit}


def final_metrics(model, data, history):
    """Accuracies after training: train and val from the last epoch, test measured here, once."""
    return {"train_acc": history[-1]["train_acc"], "val_acc": history[-1]["val_acc"],
            "test_acc": accuracy(model.predict(data.X_test), data.y_test).item()}


def run(cfg, data, out=None, *, progress=True, resume=None, source=None):
    """Train a model for cfg on data, keeping the run folder `out` current (None: no files).

    resume: a checkpoint dict from read_checkpoint (out's own model.pt) to continue from.
    source: where the data came from ({"data_dir": ..., "verify": ...}), kept in results.json.
    Returns (results, model); results holds status ("completed" or "diverged"), config,
    history, final, wall_time_s and env. Ctrl-C raises Interrupted after marking the folder.
    """
    device = data.X_train.device
    model = build_model(cfg, data.X_train.shape[1], len(data.classes), device)
    state = TrainState.start(model, cfg, device)
    if resume is not None:
        restore(model, state, resume, data)
    env = env_info(device)
    out = None if out is None else Path(out)
    # What out/model.pt holds, and whether out is this run's folder (resumed, or opened at the first save)
    saved = {"epochs": state.epoch, "wall": state.wall_time_s, "ours": resume is not None}

    def describe(status, final=None):
        epochs = saved["epochs"] if status in ("running", "interrupted") else state.epoch
        return {"status": status, "epochs_completed": epochs, "diverged_epoch": state.diverged_epoch,
                "config": asdict(cfg), "history": state.history[:epochs], "final": final,
                "wall_time_s": saved["wall"] if status == "interrupted" else state.wall_time_s,
                "env": env, **({"data": source} if source is not None else {})}

    def save_epoch(record):
        if not saved["ours"]:
            open_folder(out)
            saved["ours"] = True
        save_checkpoint(out / "model.pt", model, data, cfg, state)
        saved.update(epochs=state.epoch, wall=state.wall_time_s)
        save_json(out / "results.json", describe("running"))

    try:
        train(model, data, cfg, progress=progress, state=state, on_epoch=None if out is None else save_epoch)
    except KeyboardInterrupt as e:
        if out is not None and saved["ours"] and (out / "model.pt").is_file():
            # model.pt is the truth: Ctrl-C can land between its rename and saved.update
            on_disk = read_checkpoint(out)[1]["train_state"]
            saved.update(epochs=on_disk["epoch"], wall=on_disk["wall_time_s"])
            save_json(out / "results.json", describe("interrupted"))
        raise Interrupted(describe("interrupted")) from e
    if state.diverged_epoch is None:
        results = describe("completed", final_metrics(model, data, state.history))
    else:
        results = describe("diverged")  # the cost is NaN or inf: nothing worth testing
    if out is not None:
        if not saved["ours"]:
            open_folder(out)
        write_outputs(out, results, model, data, cfg)
    return results, model


OUTPUTS = ("results.json", "model.pt", "curves.png", "weights.png")


def open_folder(out):
    """Make the run folder at the first write; a new run's files replace any left there."""
    out.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:  # only with --overwrite can out hold them (files.check_out_dir)
        (out / name).unlink(missing_ok=True)


def write_outputs(out, results, model, data, cfg):
    """The end of a run: results.json and figures (every epoch already saved model.pt)."""
    save_json(out / "results.json", results)
    if results["history"]:
        save_figure(out / "curves.png", curves_figure(results["history"], title=cfg.loss.upper()))
    if results["status"] == "completed" and "W" in model.params:
        save_figure(out / "weights.png", weights_figure(model.params["W"], data.classes, data.image_shape))
