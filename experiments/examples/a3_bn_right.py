"""A3, right: batch normalisation's backward pass alone, and the 3-layer network with it.

    linclf gradcheck experiments/examples/a3_bn_right.py:BatchNormBackPass --layout dd2424 --model batchnorm
    linclf gradcheck experiments/examples/a3_bn_right.py:BackwardPass --layout dd2424 --model k-layer-bn
"""
import numpy as np

EPS = 1e-8  # any small ε: the check finds it and says which


def BatchNormBackPass(G, S, mu, v):
    """G (m, n) the gradient at S_hat, S (m, n), mu and v (m, 1) its batch mean and variance -> G at S."""
    n = S.shape[1]
    sigma1 = (v + EPS) ** -0.5                      # (m, 1)
    sigma2 = (v + EPS) ** -1.5                      # (m, 1)
    G1 = G * sigma1                                 # (m, n)
    G2 = G * sigma2                                 # (m, n)
    D = S - mu                                      # (m, n)
    c = np.sum(G2 * D, axis=1, keepdims=True)       # (m, 1)
    return G1 - np.sum(G1, axis=1, keepdims=True) / n - D * c / n


def ApplyNetwork(X, net):
    """The forward pass with batch statistics, X (d, n) -> what BackwardPass needs, layer by layer."""
    k = len(net['W'])
    x, layers = X, []
    for l in range(k - 1):
        s = net['W'][l] @ x + net['b'][l]          # (m_l, n)
        mu = np.mean(s, axis=1, keepdims=True)      # (m_l, 1)
        v = np.var(s, axis=1, keepdims=True)        # (m_l, 1): 1/n
        s_hat = (s - mu) / np.sqrt(v + EPS)         # (m_l, n)
        h = np.maximum(0, net['gamma'][l] * s_hat + net['beta'][l])
        layers.append({'x': x, 's': s, 'mu': mu, 'v': v, 's_hat': s_hat, 'h': h})
        x = h
    s = net['W'][-1] @ x + net['b'][-1]             # (K, n)
    e = np.exp(s - np.max(s, axis=0, keepdims=True))
    return {'layers': layers, 'x': x, 'P': e / np.sum(e, axis=0, keepdims=True)}


def BackwardPass(X, Y, fp_data, net, lam):
    """Gradients of J = mean cross-entropy + lam * sum ||W_l||², structured like net."""
    n, k = X.shape[1], len(net['W'])
    grads = {'W': [None] * k, 'b': [None] * k, 'gamma': [None] * (k - 1), 'beta': [None] * (k - 1)}
    G = fp_data['P'] - Y                            # (K, n)
    x = fp_data['x']
    for l in range(k - 1, -1, -1):
        if l < k - 1:
            layer = fp_data['layers'][l]
            G = G * (layer['h'] > 0)                # (m_l, n)
            grads['gamma'][l] = np.sum(G * layer['s_hat'], axis=1, keepdims=True) / n
            grads['beta'][l] = np.sum(G, axis=1, keepdims=True) / n
            G = BatchNormBackPass(G * net['gamma'][l], layer['s'], layer['mu'], layer['v'])
            x = layer['x']
        grads['W'][l] = G @ x.T / n + 2 * lam * net['W'][l]
        grads['b'][l] = np.sum(G, axis=1, keepdims=True) / n
        G = net['W'][l].T @ G
    return grads
