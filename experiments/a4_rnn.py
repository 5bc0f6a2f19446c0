"""DD2424 Assignment 4: a character-level vanilla RNN trained with hand-written BPTT and Adam.

The assignment's steps, in its order, on the library's nn/rnn.py:
1. gradient check, m = 10, τ = 25, float64, on the text's first 26 characters and h0 = 0 (the
   text's check) and h0 ≠ 0: the library's gradients against autograd (the course's
   ComputeGradsWithTorch, written here in torch ops) and against centred differences;
2. training with the text's settings: m = 100, τ = 25, Adam (η 0.001, β1 0.9, β2 0.999,
   ε 1e-8), the mean loss over τ, h carried from chunk to chunk and reset every pass, 100,000
   updates; the smooth loss at the updates the text reports, beside the text's own run (on its
   book, K = 80: comparable only when --text is that book), the curve, a 200-character sample
   every 10,000 updates and 1,000 characters of the best model.
--text is any UTF-8 file; the default, tinyshakespeare, is downloaded into --data-dir the first
time (data/text.py: its MD5 checked).

    python experiments/a4_rnn.py                       # tiny Shakespeare
    python experiments/a4_rnn.py --text PATH           # your text, e.g. the course's book

Evidence: docs/reproducing.md, "DD2424 Assignment 4" (tiny Shakespeare, seed 0, 1 thread of an AMD
EPYC, torch 2.14.1, 153 s: smooth loss 1.623 after 100,000 updates, the best 1.592 at update 98,900).
"""
import math
import sys

import torch
import torch.nn.functional as F

from linclf_torch.cli.experiment import script
from linclf_torch.data.text import load_text
from linclf_torch.errors import LinclfError
from linclf_torch.figures.loss_curve import smooth_loss_figure
from linclf_torch.figures.tables import markdown_table
from linclf_torch.nn.gradcheck import max_rel_error, norm_rel_error, numerical_gradient
from linclf_torch.nn.rnn import PARAMS, init_rnn, rnn_cost, rnn_gradients
from linclf_torch.runs.folder import RunFolder
from linclf_torch.runs.rnn_run import run_rnn
from linclf_torch.training.rnn_config import RNNConfig, updates_per_pass

# The assignment text's own run (its book, K = 80, Adam, m = 100, τ = 25): smooth loss at these updates
TEXT_RUN = {1: 4.605, 1000: 3.381, 4000: 2.260, 30000: 1.786, 150000: 1.534}
FLAGS = (("--text", {"default": "tinyshakespeare", "metavar": "PATH",
                     "help": "a UTF-8 text, or tinyshakespeare (downloaded into --data-dir; default)"}),
         ("--updates", {"type": int, "default": 100000, "help": "update steps (default 100000)"}))


def autograd_gradients(x, y, h0, params, reduction="mean"):
    """The course's ComputeGradsWithTorch: the same network in torch ops on one-hot inputs, autograd.
    Returns (loss, gradients, the last h); tests/test_rnn.py holds nn/rnn.py to it."""
    p = {k: v.clone().requires_grad_() for k, v in params.items()}
    X = F.one_hot(x, p["U"].shape[1]).to(h0.dtype)  # (τ, K)
    h, hs = h0, []
    for t in range(len(x)):
        h = torch.tanh(p["W"] @ h + p["U"] @ X[t] + p["b"])
        hs.append(h)
    loss = F.cross_entropy(torch.stack(hs) @ p["V"].T + p["c"], y, reduction=reduction)
    loss.backward()
    return loss.detach(), {k: v.grad for k, v in p.items()}, hs[-1].detach()


def gradient_check(text, seed, m=10, tau=25):
    """Rows (h0, parameter, max relative error vs autograd and vs centred differences, norm-wise relative
    error vs centred differences, largest |gradient|)."""
    g = torch.Generator().manual_seed(seed)
    params = init_rnn(len(text.chars), m, g, dtype=torch.float64)
    chunk = text.encode(text.text[:tau + 1])
    x, y = chunk[:-1], chunk[1:]
    rows = []
    for label, h0 in (("0", torch.zeros(m, dtype=torch.float64)),
                      ("random", torch.randn(m, generator=g, dtype=torch.float64) * 0.5)):
        _, grads, _ = rnn_gradients(x, y, h0, params)
        _, ref, _ = autograd_gradients(x, y, h0, params)
        for name in PARAMS:
            numeric = numerical_gradient(lambda h0=h0: rnn_cost(x, y, h0, params), params[name])
            rows.append([label, name, f"{max_rel_error(grads[name], ref[name]):.1e}",
                         f"{max_rel_error(grads[name], numeric):.1e}", f"{norm_rel_error(grads[name], numeric):.1e}",
                         f"{grads[name].abs().max().item():.1e}"])
    return rows


def loss_at(history, update):
    """The smooth loss recorded at `update`, or "–" when the run has no record there."""
    return next((f"{r['smooth_loss']:.3f}" for r in history if r["update"] == update), "–")


@script("a4_rnn", __doc__, *FLAGS)
def main(args, exp):
    text = load_text(args.text, args.data_dir)
    name = "tiny Shakespeare" if args.text == "tinyshakespeare" else text.path.rsplit("/", 1)[-1]
    if len(text.text) < 26:
        raise LinclfError(f"--text {args.text} has {len(text.text)} characters; the gradient check and the training "
                          "read chunks of τ + 1 = 26: use a longer text")
    print(f"{text.path}: {len(text.text):,} characters, K = {len(text.chars)}")
    print("1. gradient check, m = 10, τ = 25, float64")
    check_rows = gradient_check(text, args.seed)

    print("2. training")
    updates = 500 if args.quick else args.updates
    cfg = RNNConfig(text=args.text, hidden=16 if args.quick else 100, updates=updates, seed=args.seed,
                    record_every=50 if args.quick else 100, sample_every=250 if args.quick else 10000,
                    device=args.device)
    with RunFolder(f"{args.out}/run", overwrite=args.overwrite, command="python experiments/a4_rnn.py") as folder:
        results, _ = run_rnn(cfg, text, folder, progress=not args.no_progress)
    history = results["history"]
    marks = sorted({*TEXT_RUN, 10000, 20000, 50000, updates} & {r["update"] for r in history} | {1, 1000, 4000})
    loss_rows = [[f"{u:,}", loss_at(history, u), f"{TEXT_RUN[u]:.3f}" if u in TEXT_RUN else "–"] for u in marks]
    per_pass = updates_per_pass(len(text.text), cfg.seq_length)
    best = results["best"]
    report = "\n\n".join([
        f"# DD2424 Assignment 4: a character RNN on {name} (seed {args.seed}{', QUICK' if args.quick else ''})",
        f"{len(text.text):,} characters, K = {len(text.chars)}; ln K = {math.log(len(text.chars)):.3f}, the loss of "
        "a uniform guess.",
        "## Gradient check (float64, m = 10, τ = 25, mean loss)\n\nMax relative error "
        "|a − b| / max(1e-12, |a| + |b|) of the library's BPTT gradients, entry by entry; centred differences "
        "(h = 1e-6) carry a rounding error of about ε·L/h ≈ 1e-9 per entry, large beside the smallest entries, "
        "so their norm-wise error ‖a − b‖ / (‖a‖ + ‖b‖) is shown too.\n\n" + markdown_table(
            ["h0", "param", "vs autograd", "vs centred differences", "norm-wise vs centred", "max |gradient|"],
            check_rows),
        f"## Training: Adam η {cfg.eta:g}, m = {cfg.hidden}, τ = {cfg.seq_length}, {updates:,} updates "
        f"({per_pass:,} a pass over the text)\n\n" + markdown_table(
            ["update", "smooth loss", "the text's run (its book, K = 80)"], loss_rows)
        + f"\n\nStatus {results['status']}; best smooth loss {best['smooth_loss']:.3f} at update {best['update']:,}; "
        f"training {results['wall_time_s']:.0f} s.",
        "## Samples during training (200 characters)\n\n" + "\n\n".join(
            f"update {s['update']:,}:\n\n```\n{s['text']}\n```" for s in results["samples"]),
        f"## 1,000 characters of the best model (update {best['update']:,})\n\n```\n{results['best_sample']}\n```",
    ])
    title = f"{name}: Adam η {cfg.eta:g}, m = {cfg.hidden}, τ = {cfg.seq_length}"
    reference = {u: v for u, v in TEXT_RUN.items() if u <= updates}
    exp.write({"gradient_check": check_rows, "training": results}, report,
              {"smooth_loss": smooth_loss_figure(history, title=title, reference=reference)},
              device=results["env"]["device"])


if __name__ == "__main__":
    sys.exit(main())
