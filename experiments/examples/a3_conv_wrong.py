"""A3 (2025/26), the ConvNet, wrong: linclf gradcheck experiments/examples/a3_conv_wrong.py:BackwardPass --model conv
"""
import numpy as np


def MakeMX(X, f):
    """The patch matrix MX (n_p, f*f*3, n) of X (3072, n): patches row by row, each flattened in C order."""
    n, r = X.shape[1], 32 // f
    X_ims = np.transpose(X.reshape((32, 32, 3, n), order='F'), (1, 0, 2, 3))  # (32, 32, 3, n): row, column, channel
    tiles = X_ims.reshape((r, f, r, f, 3, n)).transpose((0, 2, 1, 3, 4, 5))   # (r, r, f, f, 3, n)
    return tiles.reshape((r * r, f * f * 3, n))


def ApplyNetwork(X, net):
    """The forward pass, X (3072, n) -> what BackwardPass needs: MX, the conv outputs, x1 and P (K, n)."""
    Fs_flat, (W1, W2), (b1, b2) = net['F'], net['W'], net['b']
    n, f = X.shape[1], int(np.sqrt(Fs_flat.shape[0] // 3))
    MX = MakeMX(X, f)                                             # (n_p, f*f*3, n)
    conv = np.einsum('ijn,jl->iln', MX, Fs_flat, optimize=True)   # (n_p, nf, n)
    if 'bf' in net:
        conv = conv + net['bf'][np.newaxis]
    H = np.maximum(0, conv)                                       # (n_p, nf, n)
    h = H.reshape((-1, n), order='C')                             # (n_p*nf, n)
    x1 = np.maximum(0, W1 @ h + b1)                               # (nh, n)
    s = W2 @ x1 + b2                                              # (K, n)
    e = np.exp(s - np.max(s, axis=0, keepdims=True))
    return {'MX': MX, 'H': H, 'h': h, 'x1': x1, 'P': e / np.sum(e, axis=0, keepdims=True)}


def BackwardPass(X, Y, fp_data, net, lam):
    """Gradients of J = mean cross-entropy + lam * (||F||² + ||W1||² + ||W2||²), structured like net."""
    n, (W1, W2) = X.shape[1], net['W']
    MX, H, h, x1, P = (fp_data[k] for k in ('MX', 'H', 'h', 'x1', 'P'))
    G = (P - Y) / n                                               # (K, n)
    grads = {'W': [None, G @ x1.T + 2 * lam * W2], 'b': [None, np.sum(G, axis=1, keepdims=True)]}
    G = W2.T @ G * (x1 > 0)                                       # (nh, n)
    grads['W'][0], grads['b'][0] = G @ h.T + lam * W1, np.sum(G, axis=1, keepdims=True)  # lam, not 2 * lam
    G = (W1.T @ G).reshape(H.shape, order='F') * (H > 0)          # order='F': not the order h was flattened in
    grads['F'] = np.einsum('ijn,iln->jl', MX, G, optimize=True) + 2 * lam * net['F']
    if 'bf' in net:
        grads['bf'] = np.sum(G, axis=(0, 2))[:, np.newaxis]       # (nf, 1)
    return grads
