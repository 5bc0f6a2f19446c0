"""A3 k-layer network with batch norm whose FORWARD is wrong: np.diag on an (m, 1) column gives a
1 × 1 matrix, so every unit is divided by the first unit's σ. Its backward follows the same
forward. Written for the tests."""
import numpy as np

EPS = 1e-12


def ApplyNetwork(X, net):
    k, x, layers = len(net['W']), X, []
    for l in range(k - 1):
        s = net['W'][l] @ x + net['b'][l]
        mu = s.mean(axis=1, keepdims=True)
        v = s.var(axis=1, keepdims=True)
        s_hat = np.diag(1 / np.sqrt(v + EPS)) * (s - mu)      # the bug: diag of (m, 1) is (1, 1)
        h = np.maximum(0, net['gamma'][l] * s_hat + net['beta'][l])
        layers.append((x, s, mu, v, s_hat, h))
        x = h
    s = net['W'][-1] @ x + net['b'][-1]
    e = np.exp(s - s.max(axis=0, keepdims=True))
    return {'layers': layers, 'x': x, 'P': e / e.sum(axis=0, keepdims=True)}


def BackwardPass(X, Y, fp_data, net, lam, bn_back=None):
    n, k = X.shape[1], len(net['W'])
    g = {'W': [None] * k, 'b': [None] * k, 'gamma': [None] * (k - 1), 'beta': [None] * (k - 1)}
    G, x = fp_data['P'] - Y, fp_data['x']
    for l in range(k - 1, -1, -1):
        if l < k - 1:
            x, s, mu, v, s_hat, h = fp_data['layers'][l]
            G = G * (h > 0)
            g['gamma'][l] = np.sum(G * s_hat, axis=1, keepdims=True) / n
            g['beta'][l] = np.sum(G, axis=1, keepdims=True) / n
            G = G * net['gamma'][l]
            s1 = np.diag(1 / np.sqrt(v + EPS))
            G = s1 * G - s1 * np.sum(G, axis=1, keepdims=True) / n - s1 ** 3 * (s - mu) * np.sum(G * (s - mu), axis=1, keepdims=True) / n
        g['W'][l] = G @ x.T / n + 2 * lam * net['W'][l]
        g['b'][l] = np.sum(G, axis=1, keepdims=True) / n
        G = net['W'][l].T @ G
    return g
