"""A1 in the 2026 skeleton's form: BackwardPass(X, Y, P, network, lam) and ApplyNetwork(X, network).
Written for the tests."""
import numpy as np


def ApplyNetwork(X, network):
    s = network['W'] @ X + network['b']
    e = np.exp(s - np.max(s, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def BackwardPass(X, Y, P, network, lam):
    n = X.shape[1]
    G = P - Y
    return {'W': G @ X.T / n + 2 * lam * network['W'], 'b': np.sum(G, axis=1, keepdims=True) / n}
