"""A4's ComputeGradients(X, Y, h0, RNN) in numpy as students write it, one-hot X, Y (K, τ), h0 (m, 1),
RNN = {'b', 'c', 'U', 'W', 'V'}, returning (grads, loss, h): right, and with each mistake a keyword
switches on. Written for the tests."""
import numpy as np


def bptt(X, Y, h0, RNN, *, tanh=True, through=True, with_h0=True, summed=False, clip=None, transpose=None):
    tau = X.shape[1]
    a, h, p = {}, {-1: h0}, {}
    loss = 0.0
    for t in range(tau):
        a[t] = RNN['W'] @ h[t - 1] + RNN['U'] @ X[:, [t]] + RNN['b']
        h[t] = np.tanh(a[t])
        o = RNN['V'] @ h[t] + RNN['c']
        e = np.exp(o - np.max(o))
        p[t] = e / np.sum(e)
        loss -= np.log(Y[:, [t]].T @ p[t]).item()
    scale = 1 if summed else 1 / tau
    grads = {k: np.zeros_like(v) for k, v in RNN.items()}
    da_next = np.zeros_like(h0)
    for t in reversed(range(tau)):
        g = (p[t] - Y[:, [t]]) * scale
        grads['V'] += g @ h[t].T
        grads['c'] += g
        dh = RNN['V'].T @ g + (RNN['W'].T @ da_next if through else 0)
        da = dh * (1 - h[t] ** 2) if tanh else dh
        h_prev = h[t - 1] if (t > 0 or with_h0) else np.zeros_like(h0)
        grads['W'] += da @ h_prev.T
        grads['U'] += da @ X[:, [t]].T
        grads['b'] += da
        da_next = da
    if clip is not None:
        grads = {k: np.clip(v, -clip, clip) for k, v in grads.items()}
    if transpose:
        grads[transpose] = grads[transpose].T
    return grads, loss * scale, h[tau - 1]


def ComputeGradients(X, Y, h0, RNN):
    return bptt(X, Y, h0, RNN)


def ComputeGradientsSummed(X, Y, h0, RNN):
    """The older texts' loss: the sum over the τ steps."""
    return bptt(X, Y, h0, RNN, summed=True)


def NoTanhDerivative(X, Y, h0, RNN):
    return bptt(X, Y, h0, RNN, tanh=False)


def Truncated(X, Y, h0, RNN):
    return bptt(X, Y, h0, RNN, through=False)


def WithoutH0(X, Y, h0, RNN):
    return bptt(X, Y, h0, RNN, with_h0=False)


def Clipped(X, Y, h0, RNN):
    return bptt(X, Y, h0, RNN, clip=5)


def TransposedW(X, Y, h0, RNN):
    return bptt(X, Y, h0, RNN, transpose='W')


def TransposedU(X, Y, h0, RNN):
    return bptt(X, Y, h0, RNN, transpose='U')
