"""A3's BatchNormBackPass, right, numpy, ε = 1e-5: checked without --model it gets "did you mean".
Written for the tests."""
import numpy as np


def BatchNormBackPass(G, S, mu, v, eps=1e-5):
    n = S.shape[1]
    s1, s2 = (v + eps) ** -0.5, (v + eps) ** -1.5
    G1, G2, D = G * s1, G * s2, S - mu
    c = np.sum(G2 * D, axis=1, keepdims=True)
    return G1 - np.sum(G1, axis=1, keepdims=True) / n - D * c / n
