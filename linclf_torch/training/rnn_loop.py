"""Training the character RNN of nn/rnn.py on a text: DD2424 Assignment 4's loop, without autograd.

The text is read in chunks of τ + 1 characters, x = text[e : e+τ], y = text[e+1 : e+τ+1],
e = 0, τ, 2τ, … while a chunk fits; the hidden state h is carried from one chunk to the next
and reset to 0 at the start of every pass over the text. With cfg.batch_size = n > 1 the text
is cut into n streams of ⌊N/n⌋ characters, read side by side: each update takes the chunk at
e of every stream (x (τ, n)), each stream carries its own h (n, m), and the loss is the mean
over the n sequences too (nn/rnn.py). One update per chunk:
    loss, grads, h = rnn_gradients(x, y, h, params)     (nn/rnn.py)
    clip_gradients(grads, clip)                          (only when clip > 0; never inside the gradient)
    optimizer.step(grads)                                (Adam or AdaGrad, nn/optim.py)
    smooth = 0.999·smooth + 0.001·loss                   (smooth = loss at update 1)
Everything stays on the device; at update 1, every cfg.record_every updates and at the end the smooth loss
is read back once, with a finiteness check of the loss and the parameters: a NaN or inf stops
training (state.diverged_update) before anything of it is recorded, sampled or saved. The best
model is the parameters at the lowest recorded smooth loss. Every cfg.sample_every updates (a
record) a sample of cfg.sample_length characters continues the text from h (the first stream's).
All randomness (init, samples) comes from one CPU generator seeded with cfg.seed, whose state the
checkpoint keeps with h, the position in the text, the optimizer's moments and the smooth loss:
a resumed run continues bit for bit.
"""
import math
import time
from dataclasses import dataclass, field

import torch

from ..errors import LinclfError
from ..nn.optim import AdaGrad, Adam, clip_gradients
from ..nn.rnn import init_rnn, rnn_gradients
from ..nn.sampling import sample
from ..progress import LogLines
from ..progress import bar as progress_bar
from .rnn_config import stream_length, updates_per_pass

OPTIMIZERS = {"adam": Adam, "adagrad": AdaGrad}


@dataclass
class RNNState:
    params: dict                        # U, W, V, b, c on the device
    optimizer: object                   # nn/optim.py's Adam or AdaGrad over params
    generator: torch.Generator          # CPU: init, then the samples' draws
    h: torch.Tensor                     # (m,) the hidden state carried to the next chunk
    position: int = 0                   # e, the start of the next chunk
    epoch: int = 1                      # the pass over the text in progress (1-based)
    update: int = 0                     # updates done
    smooth: torch.Tensor | None = None  # 0-dim, on the device; None before update 1
    best: dict | None = None            # {"update", "smooth_loss", "params"} at the lowest recorded smooth loss
    history: list = field(default_factory=list)  # {"update", "epoch", "smooth_loss", "loss"} per record
    samples: list = field(default_factory=list)  # {"update", "indices"}: what sampling drew, to decode with the text
    wall_time_s: float = 0.0            # seconds of training up to the last record
    diverged_update: int | None = None  # the update whose record found NaN or inf

    @classmethod
    def start(cls, K, cfg, device):
        """Update 0: the course's init from a generator seeded with cfg.seed, a fresh optimizer, h = 0."""
        generator = torch.Generator().manual_seed(cfg.seed)
        params = init_rnn(K, cfg.hidden, generator, device, cfg.torch_dtype)
        optimizer = OPTIMIZERS[cfg.optimizer](params, cfg.eta)
        shape = (cfg.batch_size, cfg.hidden) if cfg.batch_size > 1 else (cfg.hidden,)  # a batch: one h a stream
        return cls(params, optimizer, generator, torch.zeros(shape, device=device, dtype=cfg.torch_dtype))

    def state_dict(self):
        """Tensors on the CPU, lists and numbers: loadable with torch.load(weights_only=True)."""
        moments = {k: ({n: t.cpu() for n, t in v.items()} if isinstance(v, dict) else v)
                   for k, v in self.optimizer.state_dict().items()}  # Adam's m and v, AdaGrad's G: dicts of tensors
        return {"optimizer": moments, "generator": self.generator.get_state(), "h": self.h.cpu(),
                "position": self.position, "epoch": self.epoch, "update": self.update,
                "smooth": None if self.smooth is None else self.smooth.cpu(),
                "best": None if self.best is None else {**self.best, "params": {k: v.cpu() for k, v in
                                                                                 self.best["params"].items()}},
                "history": [dict(r) for r in self.history], "samples": [dict(s) for s in self.samples],
                "wall_time_s": self.wall_time_s, "threads": torch.get_num_threads()}

    def load_state_dict(self, state):
        """Continue from state_dict(); raises KeyError, TypeError, ValueError or RuntimeError on a damaged one."""
        like = self.h
        optimizer = {k: ({n: t.to(like) for n, t in v.items()} if isinstance(v, dict) else v)
                     for k, v in state["optimizer"].items()}
        self.optimizer.load_state_dict(optimizer)
        self.generator.set_state(state["generator"])
        if state["h"].shape != like.shape:
            raise ValueError(f"h has shape {tuple(state['h'].shape)}, expected {tuple(like.shape)}")
        self.h = state["h"].to(like)
        self.position, self.epoch, self.update = int(state["position"]), int(state["epoch"]), int(state["update"])
        self.smooth = None if state["smooth"] is None else state["smooth"].to(like)
        best = state["best"]
        self.best = None if best is None else {**best, "params": {k: v.to(like) for k, v in best["params"].items()}}
        self.history, self.samples = list(state["history"]), list(state["samples"])
        self.wall_time_s = float(state["wall_time_s"])


@torch.no_grad()
def train_rnn(data, cfg, state, *, progress=True, on_record=None):
    """Train state.params in place on the text's indices data (N,) (on the device) up to cfg's
    total updates; see the module docstring. on_record(state), when given, is called after every
    record (checkpoints). Returns state."""
    N, tau, n = len(data), cfg.seq_length, cfg.batch_size
    if stream_length(N, n) <= tau:  # no chunk of τ + 1 characters fits
        held = (f"each of the --batch-size {n} streams of the text's {N} characters holds {stream_length(N, n)}"
                if n > 1 else f"the text has {N} characters")
        raise LinclfError(f"{held}, fewer than --seq-length + 1 = {tau + 1}: use a longer text, a shorter "
                          "--seq-length" + (" or a smaller --batch-size" if n > 1 else ""))
    total = cfg.total_updates(N)
    per_pass = updates_per_pass(N, tau, n)
    if n > 1:  # (L, n): stream i, text[i·L : (i+1)·L], is column i
        data = data[:n * stream_length(N, n)].view(n, -1).T
    params, optimizer = state.params, state.optimizer
    bar = progress_bar(desc="rnn", enabled=progress, total=total, initial=state.update, unit="update")
    start = time.perf_counter()
    while state.update < total:
        if state.position + tau + 1 > len(data):  # the next pass over the text starts from h = 0
            state.position, state.epoch, state.h = 0, state.epoch + 1, torch.zeros_like(state.h)
        chunk = data[state.position:state.position + tau + 1]  # (τ + 1,) or (τ + 1, n)
        loss, grads, state.h = rnn_gradients(chunk[:-1], chunk[1:], state.h, params, cfg.loss_reduction)
        if cfg.clip:
            clip_gradients(grads, cfg.clip)
        optimizer.step(grads)
        state.smooth = loss if state.smooth is None else 0.999 * state.smooth + 0.001 * loss
        state.update, state.position = state.update + 1, state.position + tau
        if state.update % cfg.record_every and state.update not in (1, total):  # records: 1, every record_every, last
            continue
        finite = [torch.isfinite(p).all().to(loss.dtype) for p in params.values()]  # 1 or 0 per parameter
        values = torch.stack([state.smooth, loss, *finite]).tolist()  # one host sync for all of it
        if not (all(map(math.isfinite, values[:2])) and all(values[2:])):  # NaN or inf: nothing of it is kept
            state.diverged_update = state.update
            break
        smooth, last = values[:2]
        if state.best is None or smooth < state.best["smooth_loss"]:
            state.best = {"update": state.update, "smooth_loss": smooth,
                          "params": {k: v.clone() for k, v in params.items()}}
        state.history.append({"update": state.update, "epoch": state.epoch, "smooth_loss": smooth, "loss": last})
        sampled = state.update % cfg.sample_every == 0 and cfg.sample_length > 0
        if sampled:  # sample_every is a multiple of record_every (RNNConfig): the parameters were just checked
            h, x = (state.h[0], chunk[-1, 0]) if n > 1 else (state.h, chunk[-1])  # the first stream's
            drawn = sample(params, h, int(x), cfg.sample_length, state.generator)
            state.samples.append({"update": state.update, "indices": drawn.tolist()})
        now = time.perf_counter()
        state.wall_time_s, start = state.wall_time_s + now - start, now
        bar.update(state.update - bar.n)
        if not isinstance(bar, LogLines) or sampled or state.update == total:  # a log gets a line per sample
            bar.set_postfix(smooth_loss=f"{smooth:.4f}", epoch=f"{state.epoch} ({per_pass} updates a pass)")
        if on_record is not None:
            on_record(state)
    bar.close()
    return state
