"""A2 whose backward takes the forward's outputs one by one, backward_pass(X, Y, P, H, params, lam)
with P, H = forward_pass(X, params), and lower-case flat keys (w1, b1, …). Written for the tests."""
import numpy as np


def forward_pass(X, params):
    H = np.maximum(params['w1'] @ X + params['b1'], 0)
    S = params['w2'] @ H + params['b2']
    E = np.exp(S - S.max(axis=0))
    return E / E.sum(axis=0), H


def backward_pass(X, Y, P, H, params, lam):
    n, G = X.shape[1], P - Y
    grads = {'w2': G @ H.T / n + 2 * lam * params['w2'], 'b2': G.mean(axis=1, keepdims=True)}
    G = params['w2'].T @ G
    G[H <= 0] = 0
    grads['w1'] = G @ X.T / n + 2 * lam * params['w1']
    grads['b1'] = G.mean(axis=1, keepdims=True)
    return grads
