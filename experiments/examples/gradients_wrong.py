"""A DD2424 student's ComputeGradients in numpy, with the most common mistake. Check it with
    linclf gradcheck experiments/examples/gradients_wrong.py:ComputeGradients --layout dd2424
(it is called with numpy arrays: its file imports numpy and not torch)
"""
import numpy as np


def ComputeGradients(X, Y, P, W, lam):
    """Gradients of J = mean cross-entropy + lam * ||W||², X (d, n), Y and P (K, n), W (K, d)."""
    n = X.shape[1]
    G = -(Y - P)                                   # (K, n)
    grad_W = G @ X.T / n + lam * W                 # (K, d)
    grad_b = np.sum(G, axis=1, keepdims=True) / n  # (K, 1)
    return grad_W, grad_b
