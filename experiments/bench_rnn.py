"""Speed of DD2424 Assignment 4's training: linclf's character RNN against numpy and autograd.

Question: with the assignment's settings (m = 100, τ = 25, Adam η 0.001, the mean loss, h
carried from chunk to chunk), how many updates a second does each of these make on the same
text, from the same initial parameters, in the same data order?
  (a) linclf's trainer (training/rnn_loop.py: nn/rnn.py's BPTT by hand, nn/optim.py's Adam);
  (numpy) the straightforward numpy implementation students write (written for this bench,
      below): one-hot columns X (K, τ), a loop over t for the forward pass with the softmax
      of each step, a loop over t for the backward pass, Adam per parameter, all in numpy;
  (b) the idiomatic PyTorch loop: the same forward in torch ops on one-hot inputs,
      F.cross_entropy, loss.backward() (autograd), torch.optim.Adam.
And where (a)'s time goes: (a-grad) its gradient computation alone (rnn_gradients on the same
chunks), (a-adam) its Adam steps alone; and (a-n16), (a) with 16 sequences an update
(--batch-size 16: the text as 16 streams), in characters a second. All in float32 (numpy too: the same network), one
thread. numpy is not a dependency of linclf_torch: it comes with matplotlib (which is), and
only this bench and the figures use it.
The variants run interleaved (a, numpy, b, a-grad, a-adam, a-n16, a, …) after a short warm-up, each
time the median of --repeats; the ratios come from these medians.

    python experiments/bench_rnn.py --threads 1            # a synthetic text, K = 65
    python experiments/bench_rnn.py --threads 1 --text PATH

Evidence: docs/performance.md, "DD2424 Assignment 4: the character RNN" (1 thread of an AMD EPYC,
torch 2.14.1, median of 7: 1,535 updates/s against numpy's 727 and autograd's 686: 2.11× and 2.24×;
16 sequences an update read 7.1× as many characters a second).
"""
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from linclf_torch.cli.experiment import script
from linclf_torch.data.text import Text, load_text
from linclf_torch.errors import LinclfError
from linclf_torch.figures.tables import markdown_table
from linclf_torch.nn.optim import Adam
from linclf_torch.nn.rnn import rnn_gradients
from linclf_torch.training.rnn_config import RNNConfig
from linclf_torch.training.rnn_loop import RNNState, train_rnn

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench.py beside this file
from bench import interleaved  # noqa: E402

BATCH = 16  # sequences an update for (a-n16): what mini-batches buy on the CPU


def synthetic_text(n, K, seed):
    """n characters drawn uniformly from K letters: the speed of a step does not depend on the text."""
    g = torch.Generator().manual_seed(seed)
    letters = [chr(ord("!") + k) for k in range(K)]
    text = "".join(letters[k] for k in torch.randint(K, (n,), generator=g).tolist())
    return Text(text, tuple(sorted(set(text))), "synthetic")


def linclf_run(data, cfg, K):
    """(a): train_rnn from update 0, no files; the final smooth loss."""
    state = RNNState.start(K, cfg, data.device)
    train_rnn(data, cfg, state, progress=False)
    return state.history[-1]["smooth_loss"]


def grad_only_run(data, cfg, K):
    """(a-grad): (a)'s gradient computations over the same chunks, without updates."""
    state = RNNState.start(K, cfg, data.device)
    h, tau = state.h, cfg.seq_length
    for e in range(0, cfg.updates * tau, tau):
        chunk = data[e:e + tau + 1]
        _, grads, h = rnn_gradients(chunk[:-1], chunk[1:], h, state.params)
    return None


def adam_only_run(cfg, K):
    """(a-adam): (a)'s Adam steps on one fixed set of gradients."""
    state = RNNState.start(K, cfg, "cpu")
    grads = {k: torch.full_like(p, 1e-3) for k, p in state.params.items()}
    optimizer = Adam(state.params, cfg.eta)
    for _ in range(cfg.updates):
        optimizer.step(grads)
    return None


def numpy_run(data, cfg, K):
    """(numpy): the assignment in numpy as students write it, one-hot columns and loops over t."""
    p = {k: v.numpy().copy() for k, v in RNNState.start(K, cfg, "cpu").params.items()}
    RNN = {"U": p["U"], "W": p["W"], "V": p["V"], "b": p["b"][:, None], "c": p["c"][:, None]}  # columns
    m_, v_ = ({k: np.zeros_like(w) for k, w in RNN.items()} for _ in range(2))
    book = data.numpy()
    tau, m = cfg.seq_length, cfg.hidden
    eye = np.eye(K, dtype=np.float32)
    hprev, smooth, beta1, beta2, eps = np.zeros((m, 1), np.float32), None, 0.9, 0.999, 1e-8
    for t_adam, e in enumerate(range(0, cfg.updates * tau, tau), start=1):
        X, Y = eye[:, book[e:e + tau]], eye[:, book[e + 1:e + tau + 1]]  # (K, τ) one-hot columns
        H, P, h = np.zeros((m, tau), np.float32), np.zeros((K, tau), np.float32), hprev
        for t in range(tau):
            a = RNN["W"] @ h + RNN["U"] @ X[:, [t]] + RNN["b"]
            h = np.tanh(a)
            o = RNN["V"] @ h + RNN["c"]
            ex = np.exp(o - o.max())
            P[:, [t]], H[:, [t]] = ex / ex.sum(), h
        loss = -np.sum(np.log(np.sum(Y * P, axis=0))) / tau
        G = -(Y - P) / tau                                   # (K, τ)
        grads = {"V": G @ H.T, "c": G.sum(axis=1, keepdims=True)}
        dW, dU, db, da_next = np.zeros_like(RNN["W"]), np.zeros_like(RNN["U"]), np.zeros_like(RNN["b"]), None
        for t in reversed(range(tau)):
            dh = RNN["V"].T @ G[:, [t]]
            if da_next is not None:
                dh = dh + RNN["W"].T @ da_next
            da = dh * (1 - H[:, [t]] ** 2)
            h_prev = H[:, [t - 1]] if t > 0 else hprev
            dW += da @ h_prev.T
            dU += da @ X[:, [t]].T
            db += da
            da_next = da
        grads.update(W=dW, U=dU, b=db)
        for k in RNN:
            m_[k] = beta1 * m_[k] + (1 - beta1) * grads[k]
            v_[k] = beta2 * v_[k] + (1 - beta2) * grads[k] ** 2
            m_hat, v_hat = m_[k] / (1 - beta1 ** t_adam), v_[k] / (1 - beta2 ** t_adam)
            RNN[k] = RNN[k] - cfg.eta * m_hat / (np.sqrt(v_hat) + eps)
        hprev = H[:, [-1]]
        smooth = loss if smooth is None else 0.999 * smooth + 0.001 * loss
    return float(smooth)


def autograd_run(data, cfg, K):
    """(b): the same forward in torch ops on one-hot inputs, autograd, torch.optim.Adam."""
    params = {k: v.requires_grad_() for k, v in RNNState.start(K, cfg, data.device).params.items()}
    opt = torch.optim.Adam(params.values(), lr=cfg.eta)
    eye = torch.eye(K, device=data.device)
    h, tau, smooth = torch.zeros(cfg.hidden, device=data.device), cfg.seq_length, None
    for e in range(0, cfg.updates * tau, tau):
        X, y = eye[data[e:e + tau]], data[e + 1:e + tau + 1]
        hs = []
        for t in range(tau):
            h = torch.tanh(params["W"] @ h + params["U"] @ X[t] + params["b"])
            hs.append(h)
        loss = F.cross_entropy(torch.stack(hs) @ params["V"].T + params["c"], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        h = h.detach()
        smooth = loss.detach() if smooth is None else 0.999 * smooth + 0.001 * loss.detach()
    return smooth.item()


@script("bench_rnn", __doc__,
        ("--text", {"default": None, "metavar": "PATH", "help": "a UTF-8 text (default: a synthetic one, K = 65)"}),
        ("--updates", {"type": int, "default": 2000, "help": "updates per timed run (default 2000)"}),
        ("--repeats", {"type": int, "default": 5, "help": "timed runs of each variant; the median is reported"}))
def main(args, exp):
    device = torch.device("cpu")  # the CPU question; gpu_check.py asks the GPU's
    updates, repeats = (30, 1) if args.quick else (args.updates, args.repeats)
    text = load_text(args.text, args.data_dir) if args.text else synthetic_text(200_000, 65, args.seed)
    K = len(text.chars)
    cfg = RNNConfig(text=text.path, updates=updates, record_every=updates, sample_every=updates, sample_length=0,
                    seed=args.seed, device="cpu")
    if (updates + 1) * cfg.seq_length >= len(text.text):
        raise LinclfError(f"--updates {updates} needs a text of more than {(updates + 1) * cfg.seq_length} characters")
    data = text.encode()
    variants = {"a": lambda: linclf_run(data, cfg, K), "numpy": lambda: numpy_run(data, cfg, K),
                "b": lambda: autograd_run(data, cfg, K), "a-grad": lambda: grad_only_run(data, cfg, K),
                "a-adam": lambda: adam_only_run(cfg, K),
                "a-n16": lambda: linclf_run(data, replace(cfg, batch_size=BATCH), K)}
    warm = replace(cfg, updates=10, record_every=10, sample_every=10)
    for fn in (linclf_run, numpy_run, autograd_run):  # warm-up
        fn(data, warm, K)
    times, outs = interleaved(variants, repeats, device)
    med = {k: statistics.median(v) for k, v in times.items()}
    what = {"a": "linclf's trainer: nn/rnn.py's BPTT by hand, nn/optim.py's Adam",
            "numpy": "numpy as students write it: one-hot columns, loops over t, Adam per parameter",
            "b": "torch ops on one-hot inputs, autograd, torch.optim.Adam",
            "a-grad": "(a)'s gradients alone (rnn_gradients)", "a-adam": "(a)'s Adam steps alone",
            "a-n16": f"(a) with --batch-size {BATCH}: {BATCH} sequences an update"}
    chars = {k: updates * cfg.seq_length * (BATCH if k == "a-n16" else 1) / med[k] for k in variants}
    rows = [[f"({k})", what[k], f"{med[k]:.2f} s", f"{updates / med[k]:,.0f}", f"{chars[k]:,.0f}",
             " ".join(f"{t:.2f}" for t in times[k]), f"{outs[k]:.4f}" if outs[k] is not None else ""]
            for k in variants]
    report = (f"# DD2424 A4's training speed: {updates:,} updates, m = {cfg.hidden}, τ = {cfg.seq_length}, K = {K} "
              f"(median of {repeats}, interleaved{', QUICK' if args.quick else ''})\n\n"
              + markdown_table(["", "what runs", "median", "updates/s", "characters/s", "runs (s)", "smooth loss"],
                               rows)
              + f"\n\n(a) is {med['numpy'] / med['a']:.2f}× faster than numpy and {med['b'] / med['a']:.2f}× faster "
              f"than autograd; its gradients take {med['a-grad'] / med['a']:.0%} of it, its Adam steps "
              f"{med['a-adam'] / med['a']:.0%}. With {BATCH} sequences an update it reads "
              f"{chars['a-n16'] / chars['a']:.1f}× as many characters a second.")
    exp.write({"updates": updates, "K": K, "times": times, "medians": med, "smooth_loss": outs}, report,
              device="cpu")


if __name__ == "__main__":
    sys.exit(main())
