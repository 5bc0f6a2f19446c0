"""A4, right: the character RNN's ComputeGradients(X, Y, h0, RNN) in numpy, the 2025/26 texts' mean loss.

    linclf gradcheck experiments/examples/a4_rnn_right.py:ComputeGradients --model rnn
"""
import numpy as np


def ComputeGradients(X, Y, h0, RNN):
    """X, Y (K, τ) one-hot, h0 (m, 1), RNN {'b', 'c', 'U', 'W', 'V'} -> (grads like RNN, loss, last h)."""
    tau = X.shape[1]
    h, p, loss = {-1: h0}, {}, 0.0
    for t in range(tau):
        h[t] = np.tanh(RNN['W'] @ h[t - 1] + RNN['U'] @ X[:, [t]] + RNN['b'])   # (m, 1)
        o = RNN['V'] @ h[t] + RNN['c']                                          # (K, 1)
        p[t] = np.exp(o - o.max()) / np.sum(np.exp(o - o.max()))                # (K, 1)
        loss -= np.log(Y[:, t] @ p[t]).item() / tau
    grads = {k: np.zeros_like(v) for k, v in RNN.items()}
    da_next = np.zeros_like(h0)
    for t in reversed(range(tau)):
        g = (p[t] - Y[:, [t]]) / tau                                            # (K, 1): the mean over τ
        grads['V'] += g @ h[t].T
        grads['c'] += g
        da = (RNN['V'].T @ g + RNN['W'].T @ da_next) * (1 - h[t] ** 2)          # (m, 1)
        grads['W'] += da @ h[t - 1].T                                           # h[-1] is h0
        grads['U'] += da @ X[:, [t]].T
        grads['b'] += da
        da_next = da
    return grads, loss, h[tau - 1]
