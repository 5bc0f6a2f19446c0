"""Text synthesis from the RNN of rnn.py: one character at a time, fed back as the next input.

The course's draw: a uniform u against the cumulative sum of p, the first k with cp_k > u.
Bonus settings of the A4 texts:
- temperature T: p = softmax(o / T); T < 1 sharpens the distribution, T > 1 flattens it.
- nucleus (top-p): keep the most probable characters whose probabilities, largest first,
  reach p in total (always at least one), renormalise, draw among them.
The uniforms come from a CPU torch.Generator, all drawn before the loop: a seed gives the same
draws on every device, and the loop never waits for the device (one read-back at the end).
"""
import torch


def next_char_probabilities(o, temperature=1.0, top_p=1.0):
    """The distribution a character is drawn from, given its scores.

    Math:
        p = softmax(o / T)
        top-p: sort p descending into p₍₁₎ ≥ p₍₂₎ ≥ …; keep k iff Σ_{j<k} p₍ⱼ₎ < top_p; p ← p·keep / Σ p·keep
    Inputs:  o (K,) scores, temperature T > 0, top_p in (0, 1]
    Returns: p (K,), summing to 1
    """
    p = torch.softmax(o / temperature, dim=-1)      # (K,)
    if top_p >= 1:
        return p
    sorted_p, order = p.sort(descending=True)        # (K,), (K,)
    before = sorted_p.cumsum(0) - sorted_p           # (K,): the mass of the more probable ones
    keep = torch.zeros_like(p).scatter_(0, order, (before < top_p).to(p.dtype))  # (K,)
    kept = p * keep                                  # (K,)
    return kept / kept.sum()                         # (K,)


def draw(p, u):
    """The course's draw: the first index k with cumsum(p)_k > u, for u uniform in [0, 1).

    Returns: k, a 0-dim int64 tensor (never past K − 1, whatever the rounding of the cumsum)
    """
    cp = p.cumsum(0)                                  # (K,)
    return (cp <= u).sum().clamp_max(len(p) - 1)      # ()


@torch.no_grad()
def sample(params, h0, x0, n, generator, temperature=1.0, top_p=1.0):
    """n characters from the RNN, starting from hidden state h0 and character index x0.

    Math (per step):  h ← tanh(W h + U[:, x] + b),  o = V h + c,  x ← draw(next_char_probabilities(o))
    Inputs:  params {U, W, V, b, c}, h0 (m,), x0 an int, n ≥ 0, generator a CPU torch.Generator,
             temperature > 0, top_p in (0, 1]
    Returns: (n,) int64 indices of the characters after x0, on the CPU
    """
    U, W, V, b, c = (params[k] for k in ("U", "W", "V", "b", "c"))
    u = torch.rand(n, generator=generator, dtype=torch.float64).to(h0.device, h0.dtype)  # (n,)
    h, x, out = h0, torch.tensor(x0, device=h0.device), []
    for t in range(n):
        h = torch.addmv(U[:, x] + b, W, h).tanh()     # (m,)
        o = torch.addmv(c, V, h)                      # (K,)
        x = draw(next_char_probabilities(o, temperature, top_p), u[t])  # ()
        out.append(x)
    return torch.stack(out).cpu() if out else torch.zeros(0, dtype=torch.int64)  # (n,)
