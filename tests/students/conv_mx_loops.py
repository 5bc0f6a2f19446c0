"""A3 (2025/26) as the text builds it: MX from X (3072, n) with the text's loops, the convolution
as one einsum with Fs_flat, ApplyNetwork returning a dict of everything, BackwardPass(X, Y,
fp_data, net, lam), a conv bias when net has 'bf'. Numpy, the course's column layout. Written
for the tests."""
import numpy as np


def MakeMX(X, f):
    n = X.shape[1]
    X_ims = np.transpose(X.reshape((32, 32, 3, n), order='F'), (1, 0, 2, 3))
    MX = np.zeros(((32 // f) ** 2, f * f * 3, n))
    k = 0
    for i in range(32 // f):
        for j in range(32 // f):
            MX[k] = X_ims[i * f:(i + 1) * f, j * f:(j + 1) * f, :, :].reshape((f * f * 3, n), order='C')
            k += 1
    return MX


def ApplyNetwork(X, net):
    Fs_flat, (W1, W2), (b1, b2) = net['F'], net['W'], net['b']
    n, f = X.shape[1], int(np.sqrt(Fs_flat.shape[0] // 3))
    MX = MakeMX(X, f)
    conv = np.einsum('ijn,jl->iln', MX, Fs_flat, optimize=True)
    if 'bf' in net:
        conv = conv + net['bf'][None, :, :]
    H = np.maximum(conv, 0)
    h = H.reshape((-1, n), order='C')
    x1 = np.maximum(W1 @ h + b1, 0)
    s = W2 @ x1 + b2
    e = np.exp(s - s.max(axis=0))
    return {'MX': MX, 'H': H, 'h': h, 'x1': x1, 'P': e / e.sum(axis=0)}


def BackwardPass(X, Y, fp_data, net, lam):
    Fs_flat, (W1, W2) = net['F'], net['W']
    n, (n_p, nf) = X.shape[1], fp_data['H'].shape[:2]
    G = fp_data['P'] - Y
    grads = {'W': [None, None], 'b': [None, None]}
    grads['W'][1] = G @ fp_data['x1'].T / n + 2 * lam * W2
    grads['b'][1] = np.sum(G, axis=1, keepdims=True) / n
    G = W2.T @ G * (fp_data['x1'] > 0)
    grads['W'][0] = G @ fp_data['h'].T / n + 2 * lam * W1
    grads['b'][0] = np.sum(G, axis=1, keepdims=True) / n
    G = W1.T @ G * (fp_data['h'] > 0)
    G_conv = G.reshape((n_p, nf, n), order='C')
    grads['F'] = np.einsum('ijn,iln->jl', fp_data['MX'], G_conv, optimize=True) / n + 2 * lam * Fs_flat
    if 'bf' in net:
        grads['bf'] = np.sum(G_conv, axis=(0, 2))[:, None] / n
    return grads
