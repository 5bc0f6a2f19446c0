"""A3 (2025/26) with each of the mistakes the check names, one function per mistake, all in the
plain form f(X, Y, net, lam) on the course's X (3072, n) (or f(X, Y, net, lam, eps), smoothing Y
itself), numpy. gradients() is the right pass; each keyword of it a way to get it wrong. Written
for the tests."""
import numpy as np

K = 10


def gradients(X, Y, net, lam, *, filters_n=True, conv_mask=True, order='C', filters_l2=2.0, transposed=False,
              l2_over_n=False):
    Fs_flat, (W1, W2), (b1, b2) = net['F'], net['W'], net['b']
    n, nf, f = X.shape[1], Fs_flat.shape[1], int(np.sqrt(Fs_flat.shape[0] // 3))
    X_ims = np.transpose(X.reshape((32, 32, 3, n), order='F'), (1, 0, 2, 3))
    MX = np.stack([X_ims[i:i + f, j:j + f].reshape((f * f * 3, n)) for i in range(0, 32, f) for j in range(0, 32, f)])
    n_p = MX.shape[0]
    H = np.maximum(np.einsum('ijn,jl->iln', MX, Fs_flat, optimize=True), 0)   # (n_p, nf, n)
    h = H.reshape((n_p * nf, n), order='C')
    x1 = np.maximum(W1 @ h + b1, 0)
    s = W2 @ x1 + b2
    P = np.exp(s - s.max(axis=0))
    P = P / P.sum(axis=0)
    l2 = (lambda W: lam / n * W) if l2_over_n else (lambda W: 2 * lam * W)
    G = P - Y
    gW2, gb2 = G @ x1.T / n + l2(W2), G.sum(axis=1, keepdims=True) / n
    G = W2.T @ G * (x1 > 0)
    gW1, gb1 = G @ h.T / n + l2(W1), G.sum(axis=1, keepdims=True) / n
    G = W1.T @ G
    G = G.reshape((n_p, nf, n), order=order)
    if conv_mask:
        G = G * (H > 0)
    gF = np.einsum('ijn,iln->jl', MX, G, optimize=True) / (n if filters_n else 1)
    gF = gF + (lam / n * Fs_flat if l2_over_n else filters_l2 * lam * Fs_flat)
    return {'F': gF.T if transposed else gF, 'W': [gW1, gW2], 'b': [gb1, gb2]}


def right(X, Y, net, lam):
    return gradients(X, Y, net, lam)


def filters_without_1_over_n(X, Y, net, lam):
    return gradients(X, Y, net, lam, filters_n=False)


def no_relu_mask_on_conv(X, Y, net, lam):
    return gradients(X, Y, net, lam, conv_mask=False)


def flattened_in_another_order(X, Y, net, lam):
    """h flattened in C order in the forward, read back with order='F' in the backward."""
    return gradients(X, Y, net, lam, order='F')


def filters_without_l2(X, Y, net, lam):
    return gradients(X, Y, net, lam, filters_l2=0.0)


def filters_with_lam_F(X, Y, net, lam):
    return gradients(X, Y, net, lam, filters_l2=1.0)


def filters_transposed(X, Y, net, lam):
    """grad_F as (nf, f·f·3)."""
    return gradients(X, Y, net, lam, transposed=True)


def l2_over_n(X, Y, net, lam):
    """The cost written as λ‖W‖²/(2n): (λ/n)W in every weight's gradient."""
    return gradients(X, Y, net, lam, l2_over_n=True)


def smooths_right(X, Y, net, lam, eps):
    return gradients(X, Y * (1 - eps) + (1 - Y) * eps / (K - 1), net, lam)


def smooths_with_eps_over_K(X, Y, net, lam, eps):
    return gradients(X, Y * (1 - eps) + (1 - Y) * eps / K, net, lam)


def forgets_to_smooth(X, Y, net, lam, eps):
    return gradients(X, Y, net, lam)
