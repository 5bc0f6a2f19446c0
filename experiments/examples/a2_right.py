"""A2, right: linclf gradcheck experiments/examples/a2_right.py:BackwardPass --layout dd2424 --model two-layer
"""
import numpy as np


def ApplyNetwork(X, net):
    """The forward pass, X (d, n) -> what BackwardPass needs: the hidden layer and P (K, n)."""
    s1 = net['W'][0] @ X + net['b'][0]             # (m, n)
    h = np.maximum(0, s1)                          # (m, n)
    s = net['W'][1] @ h + net['b'][1]              # (K, n)
    e = np.exp(s - np.max(s, axis=0, keepdims=True))
    P = e / np.sum(e, axis=0, keepdims=True)       # (K, n)
    return {'h': h, 'P': P}


def BackwardPass(X, Y, fp_data, net, lam):
    """Gradients of J = mean cross-entropy + lam * (||W1||² + ||W2||²), structured like net."""
    n = X.shape[1]
    h, P = fp_data['h'], fp_data['P']
    G = P - Y                                      # (K, n)
    grad_W2 = G @ h.T / n + 2 * lam * net['W'][1]  # (K, m)
    grad_b2 = np.sum(G, axis=1, keepdims=True) / n  # (K, 1)
    G = net['W'][1].T @ G                          # (m, n)
    G = G * (h > 0)                                # the ReLU's mask
    grad_W1 = G @ X.T / n + 2 * lam * net['W'][0]  # (m, d)
    grad_b1 = np.sum(G, axis=1, keepdims=True) / n  # (m, 1)
    return {'W': [grad_W1, grad_W2], 'b': [grad_b1, grad_b2]}
