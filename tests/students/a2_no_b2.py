"""A2 whose forward forgets b2 in the scores (S = W2 h), consistently: its cost and its backward
are right for the function it computes, which is not the assignment's. Written for the tests."""
import numpy as np


def ApplyNetwork(X, net):
    h = np.maximum(0, net['W'][0] @ X + net['b'][0])
    s = net['W'][1] @ h                                   # b2 forgotten
    e = np.exp(s - s.max(axis=0, keepdims=True))
    return {'h': h, 'P': e / e.sum(axis=0, keepdims=True)}


def ComputeCost(X, Y, net, lam):
    P = ApplyNetwork(X, net)['P']
    return -np.mean(np.log(np.sum(Y * P, axis=0))) + lam * sum(np.sum(W ** 2) for W in net['W'])


def BackwardPass(X, Y, fp_data, net, lam):
    n, h = X.shape[1], fp_data['h']
    G = fp_data['P'] - Y
    grads = {'W': [None, G @ h.T / n + 2 * lam * net['W'][1]], 'b': [None, np.zeros_like(net['b'][1])]}
    G = net['W'][1].T @ G * (h > 0)
    grads['W'][0], grads['b'][0] = G @ X.T / n + 2 * lam * net['W'][0], G.sum(axis=1, keepdims=True) / n
    return grads
