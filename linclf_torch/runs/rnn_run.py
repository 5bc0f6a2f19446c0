"""One character-RNN run from config to files: what `linclf rnn` and experiments/a4_rnn.py call.

The run folder (folder.py's RunFolder: created, locked, never mixed with another run's files)
is kept current at every record of the smooth loss (cfg.record_every updates): model.pt
(rnn_checkpoint.py), results.json, samples.txt. results.json's "status":
    running      written at every record; left as is if the process was killed outright
    completed    every update done: "best_sample" holds 1,000 characters of the best model,
                 loss.png the smooth-loss curve
    diverged     the loss or a parameter became NaN or inf at update "diverged_update": model.pt
                 keeps the last finite record, nothing after it is recorded
    interrupted  Ctrl-C or SIGTERM: model.pt and results.json describe the last record
"""
import hashlib
from dataclasses import asdict, replace
from pathlib import Path

from ..data.text import decode
from ..errors import LinclfError
from ..files import write_atomic
from ..training.rnn_loop import RNNState, train_rnn
from .folder import RunFolder
from .results import env_info, write_results
from .resume import results_beside, resume_threads
from .rnn_checkpoint import read_rnn_checkpoint, sample_text, save_rnn_checkpoint
from .run import Interrupted

BEST_SAMPLE = 1000  # characters sampled from the best model at the end, as the assignment asks


def text_info(text):
    """What a run records of its text: where it was read, its characters, length and MD5."""
    return {"path": text.path, "chars": list(text.chars), "first": text.text[0], "length": len(text.text),
            "md5": hashlib.md5(text.text.encode()).hexdigest()}


def results_record(status, cfg, info, train_state, best_sample=None):
    """results.json of a run at train_state (RNNState.state_dict(), or a checkpoint's)."""
    best = train_state["best"]
    return {"status": status, "updates_completed": train_state["update"], "epoch": train_state["epoch"],
            "config": asdict(cfg), "text": {k: v for k, v in info.items() if k != "chars"} | {"K": len(info["chars"])},
            "history": train_state["history"],
            "samples": [{"update": s["update"], "text": decode(s["indices"], info["chars"])}
                        for s in train_state["samples"]],
            "best": None if best is None else {"update": best["update"], "smooth_loss": best["smooth_loss"]},
            "best_sample": best_sample, "wall_time_s": train_state["wall_time_s"]}


def write_samples(folder, results):
    """samples.txt: every sample of the run, headed by its update, then the best model's."""
    parts = [f"--- update {s['update']} ---\n{s['text']}\n" for s in results["samples"]]
    if results["best_sample"] is not None:
        best = results["best"]
        parts.append(f"--- the best model (update {best['update']}, smooth loss {best['smooth_loss']:.4f}), "
                     f"{BEST_SAMPLE} characters ---\n{results['best_sample']}\n")
    write_atomic(folder / "samples.txt", lambda tmp: Path(tmp).write_text("\n".join(parts), encoding="utf-8"))


def run_rnn(cfg, text, folder=None, *, progress=True, checkpoint=None):
    """Train the RNN of cfg on text (data/text.Text), keeping `folder` (an open RunFolder, or None)
    current. checkpoint: read_rnn_checkpoint's dict, to continue from. Returns (results, state):
    results as in results.json (status "completed" or "diverged"), state the RNNState.
    Ctrl-C or SIGTERM raises runs.run.Interrupted after marking the folder."""
    from ..data.prepare import resolve_device  # torch's device names, checked once
    device = resolve_device(cfg.device)
    info = text_info(text)
    state = RNNState.start(len(text.chars), cfg, device)
    if checkpoint is not None:
        restore(state, checkpoint, info)
    data = text.encode(device=device)  # (N,) on the device, once
    env = env_info(device)

    def save(state):
        folder.claim()
        save_rnn_checkpoint(folder.path / "model.pt", cfg, info, state)
        results = results_record("running", cfg, info, state.state_dict())
        write_results(folder.path, results, env)
        write_samples(folder.path, results)

    try:
        train_rnn(data, cfg, state, progress=progress, on_record=None if folder is None else save)
    except KeyboardInterrupt as e:
        results = None
        if folder is not None and folder.written and (folder.path / "model.pt").is_file():
            # model.pt is the truth: the signal can land between its rename and results.json
            saved = read_rnn_checkpoint(folder.path)[1]["train_state"]
            results = results_record("interrupted", cfg, info, saved)
            write_results(folder.path, results, env)
        raise Interrupted({**(results or {"updates_completed": 0}), "env": env}, e) from e
    if state.diverged_update is None:
        best = {k: v.to(device) for k, v in state.best["params"].items()}
        best_sample = sample_text(best, text.chars, BEST_SAMPLE - 1, state.generator, start=text.text[0])
        results = results_record("completed", cfg, info, state.state_dict(), best_sample)
    else:
        last = state.history[-1] if state.history else {"update": 0, "epoch": 1}  # what model.pt holds
        results = results_record("diverged", cfg, info, {**state.state_dict(), "update": last["update"],
                                                         "epoch": last["epoch"]})
        results["diverged_update"] = state.diverged_update
    if folder is not None:
        figures = {}
        if results["history"]:
            from ..figures.loss_curve import smooth_loss_figure  # matplotlib: only now
            figures["loss"] = smooth_loss_figure(results["history"], title=title(cfg, info),
                                                 reduction=cfg.loss_reduction)
        folder.finish(results, env, figures)
        write_samples(folder.path, results)
    return {**results, "env": env}, state


def title(cfg, info):
    """The run in a figure's title: its text, sizes and optimizer."""
    clip = f", clip {cfg.clip:g}" if cfg.clip else ""
    return (f"{info['path'].rsplit('/', 1)[-1]}, K = {len(info['chars'])}, m = {cfg.hidden}, τ = {cfg.seq_length}, "
            f"{cfg.optimizer} η = {cfg.eta:g}{clip}, {cfg.loss_reduction} loss")


def restore(state, checkpoint, info):
    """Load a checkpoint's training state into state, after checking it was trained on this text."""
    saved = checkpoint["text"]
    if saved.get("md5") != info["md5"] or saved.get("chars") != info["chars"]:
        raise LinclfError(f"{checkpoint['path']} was trained on another text ({saved.get('length')} characters, "
                          f"MD5 {saved.get('md5')}; this one: {info['length']}, {info['md5']}): resume with the "
                          "run's own --text")
    try:
        for k, p in state.params.items():
            p.copy_(checkpoint["params"][k])
        state.load_state_dict(checkpoint["train_state"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        raise LinclfError(f"{checkpoint['path']} holds no usable training state ({type(e).__name__}: {e}); "
                          "it is damaged: start a new run") from None


def open_resumed(folder_path, flags, threads):
    """(RunFolder, cfg, checkpoint, threads) to continue the run in folder_path.

    flags: the RNNConfig fields given on the command line; only updates or epochs (the new
    total) and device may change. threads: --threads as given (resume keeps the run's).
    """
    folder = RunFolder(folder_path, resuming=True, command="linclf rnn")
    folder.open()
    try:
        if not (folder.path / "model.pt").exists():
            raise LinclfError(f"{folder.path} holds no model.pt (a run stopped before its first record writes "
                              "none): start it again with `linclf rnn --out DIR` and its flags")
        cfg, checkpoint = read_rnn_checkpoint(folder.path)
        results = results_beside(folder.path)
        if results.get("status") == "diverged":
            raise LinclfError(f"{folder.path} diverged at update {results.get('diverged_update')}; resuming would "
                              "diverge again: start a new run with a smaller --eta (or --clip 5)")
        for name, value in flags.items():
            if name not in ("updates", "epochs", "device", "text") and value != getattr(cfg, name):
                flag = "--" + name.replace("_", "-")
                raise LinclfError(f"{flag} {value} conflicts with the run's {getattr(cfg, name)}: --resume continues "
                                  f"{folder.path} as configured (only --updates, --epochs and --device may change); "
                                  f"drop {flag}, or start a new run")
        length = {k: flags[k] for k in ("updates", "epochs") if k in flags}
        if length:
            cfg = replace(cfg, updates=length.get("updates"), epochs=length.get("epochs"))
        cfg = replace(cfg, device=flags.get("device", cfg.device))
        done = checkpoint["train_state"]["update"]
        if cfg.total_updates(checkpoint["text"]["length"]) <= done:
            raise LinclfError(f"{folder.path} has already done {done} updates; pass --updates N with N > {done} "
                              "(or a larger --epochs) to train further")
        return folder, cfg, checkpoint, resume_threads(checkpoint, threads)
    except BaseException:
        folder.close()
        raise
