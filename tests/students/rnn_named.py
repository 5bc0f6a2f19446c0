"""A4 in torch with its own order of arguments, backwardPass(RNN, X, Y, h0): index vectors x, y,
the RNN as an object with attributes, float32, returning (loss, grads). Written for the tests."""
import torch


def backwardPass(rnn, x_chars, y_chars, hprev):
    P = {k: torch.as_tensor(getattr(rnn, k), dtype=torch.float32).requires_grad_() for k in ("b", "c", "U", "W", "V")}
    h = torch.as_tensor(hprev, dtype=torch.float32)
    loss = 0
    for x, y in zip(x_chars.tolist(), y_chars.tolist()):
        h = torch.tanh(P['W'] @ h + P['U'][:, [x]] + P['b'])
        loss = loss - torch.log_softmax(P['V'] @ h + P['c'], dim=0)[y, 0]
    loss = loss / len(x_chars)
    loss.backward()
    return loss.item(), {k: p.grad for k, p in P.items()}
