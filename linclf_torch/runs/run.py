"""One training run from config to files: what `linclf train` and the experiment scripts call.

run() trains a model for a TrainConfig and, given a folder, keeps it current after every
epoch (folder.py), so that a crash, Ctrl-C or SIGTERM loses at most the epoch in
progress. results.json's "status" says how the run stands:
    running      written after each epoch; left as is if the process was killed outright
    completed    all epochs done: "final" holds the accuracies, the figures are written
    diverged     the cost or the parameters became NaN or inf in epoch "diverged_epoch"
                 (training/loop.train); model.pt keeps the last finite epoch, the history
                 stops there with a record of it (if its cost is finite), "final" is null
    interrupted  Ctrl-C or SIGTERM: model.pt and results.json describe the last completed epoch
"""
from dataclasses import asdict

from ..nn import accuracy
from ..training.loop import build_model, train
from ..training.state import TrainState
from .folder import RunFolder
from .results import env_info
from .resume import restore


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during run(); .results is what the run folder now says ("interrupted")
    and .signal the KeyboardInterrupt (or errors.Terminated) that stopped it."""

    def __init__(self, results, signal):
        super().__init__("interrupted")
        self.results, self.signal = results, signal


def results_record(status, cfg, state, source=None, *, epochs=None, wall_time_s=None, final=None):
    """A run's results: status, epochs, config, history (of `epochs`, default all completed),
    final accuracies, training time and, when known, where the data came from."""
    epochs = state.epoch if epochs is None else epochs
    history = [r for r in state.history if r["epoch"] <= epochs]  # a cyclic run has several records an epoch
    return {"status": status, "epochs_completed": epochs, "diverged_epoch": state.diverged_epoch,
            "config": asdict(cfg), "history": history, "final": final,
            "wall_time_s": state.wall_time_s if wall_time_s is None else wall_time_s,
            **({"data": source} if source is not None else {})}


def final_metrics(model, data, history):
    """Accuracies after training: train and val from the last epoch, test measured here, once."""
    return {"train_acc": history[-1]["train_acc"], "val_acc": history[-1]["val_acc"],
            "test_acc": accuracy(model.predict(data.X_test), data.y_test).item()}


def run(cfg, data, out=None, *, overwrite=False, progress=True, resume=None, source=None):
    """Train a model for cfg on data, keeping the run folder `out` current (None: no files).

    out: a folder path, or a RunFolder the caller opened (the CLI opens and locks it before
    loading the data). A folder that already holds files is refused unless overwrite=True.
    resume: a checkpoint dict from read_checkpoint (out's own model.pt) to continue from.
    source: where the data came from ({"data_dir": ..., "verify": ...}), kept in results.json.
    Returns (results, model); results holds status ("completed" or "diverged"), config,
    history, final, wall_time_s and env. Ctrl-C or SIGTERM raises Interrupted after marking
    the folder.
    """
    if out is None or isinstance(out, RunFolder):
        return _run(cfg, data, out, progress, resume, source)
    with RunFolder(out, overwrite=overwrite, resuming=resume is not None) as folder:
        return _run(cfg, data, folder, progress, resume, source)


def _run(cfg, data, folder, progress, checkpoint, source):
    device = data.X_train.device
    model = build_model(cfg, data.X_train.shape[1], len(data.classes), device)
    state = TrainState.start(model, cfg, device)
    if checkpoint is not None:
        restore(model, state, checkpoint, data)
    env = env_info(device)

    def save_epoch(records):
        folder.save_epoch(model, data, cfg, state, results_record("running", cfg, state, source), env)

    try:
        train(model, data, cfg, progress=progress, state=state, on_epoch=None if folder is None else save_epoch)
    except KeyboardInterrupt as e:
        saved = folder.saved_state() if folder is not None else None
        if saved is None:  # nothing on disk: the epochs completed in memory
            results = results_record("interrupted", cfg, state, source)
        else:  # model.pt is the truth: the signal can land between its rename and results.json
            results = results_record("interrupted", cfg, state, source, epochs=saved["epoch"],
                               wall_time_s=saved["wall_time_s"])
            folder.interrupted(results, env)
        raise Interrupted({**results, "env": env}, e) from e
    completed = state.diverged_epoch is None
    if completed:
        results = results_record("completed", cfg, state, source, final=final_metrics(model, data, state.history))
    else:
        results = results_record("diverged", cfg, state, source)  # the cost is NaN or inf: nothing worth testing
    if folder is not None:
        folder.finish(results, env, figures(completed, state.history, model, data, cfg))
    return {**results, "env": env}, model


def figures(completed, history, model, data, cfg):
    """The run's figures, name -> matplotlib Figure: loss/cost and accuracy curves (against
    update steps for a cyclic η, with η(t) beside them); a linear model's class templates,
    once completed."""
    if not history:
        return {}
    from ..figures.plots import accuracy_figure, curves_figure, eta_figure, weights_figure  # matplotlib: only now
    title = f"{cfg.loss.upper()}, {eta_words(cfg)}, λ = {cfg.lam:g}, batch size {cfg.batch_size}"
    drawn = {"curves": curves_figure(history, title=title), "accuracy": accuracy_figure(history, title=title)}
    if cfg.eta_cycle != "none":
        drawn["eta"] = eta_figure(history, title=title)
    if completed and "W" in model.params:
        drawn["weights"] = weights_figure(model.params["W"], data.classes, data.image_shape, title=title)
    return drawn


def eta_words(cfg):
    """"η = 0.001", or for a cyclic rate "η cyclic 1e-05–0.1, n_s = 500"."""
    if cfg.eta_cycle == "none":
        return f"η = {cfg.eta:g}"
    _, eta_min, eta_max, n_s = cfg.eta_cycle.split(":")
    return f"η cyclic {float(eta_min):g}–{float(eta_max):g}, n_s = {int(n_s)}"
