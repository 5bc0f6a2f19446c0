"""A2 with the backward taking P and recomputing the hidden layer itself; the network in dicts keyed
by layer index, as some students keep it. Written for the tests."""
import numpy as np


def Apply2LayerNetwork(X, network):
    h = np.maximum(0, network['W'][0] @ X + network['b'][0])
    s = network['W'][1] @ h + network['b'][1]
    e = np.exp(s - np.max(s, axis=0))
    return e / np.sum(e, axis=0)


def Backward2LayerPass(X, Y, P, network, lam):
    n = X.shape[1]
    h = np.maximum(0, network['W'][0] @ X + network['b'][0])
    G = P - Y
    grads = {'W': {}, 'b': {}}
    grads['W'][1] = G @ h.T / n + 2 * lam * network['W'][1]
    grads['b'][1] = np.sum(G, axis=1, keepdims=True) / n
    G = network['W'][1].T @ G * (h > 0)
    grads['W'][0] = G @ X.T / n + 2 * lam * network['W'][0]
    grads['b'][0] = np.sum(G, axis=1, keepdims=True) / n
    return grads
