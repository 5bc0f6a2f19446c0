"""A3 (2025/26) in PyTorch's layout, written out by hand: X (n, 3072) rows, the filters
flattened (nf, 3·f·f) in conv2d's (channel, row, column) order, the patches by view and permute,
gradients returned as a tuple (dF, dW1, db1, dW2, db2). Torch tensors. Written for the tests."""
import torch


def conv_net_grads(X, y, net, lam):
    Fw, (W1, W2), (b1, b2) = net['F'], net['W'], net['b']
    n, nf = X.shape[0], Fw.shape[0]
    f = int((Fw.shape[1] // 3) ** 0.5)
    r = 32 // f
    patches = X.view(n, 3, r, f, r, f).permute(0, 2, 4, 1, 3, 5).reshape(n, r * r, 3 * f * f)
    H = (patches @ Fw.t()).clamp(min=0)              # (n, n_p, nf)
    h = H.reshape(n, -1)
    x1 = (h @ W1.t() + b1).clamp(min=0)
    G = (x1 @ W2.t() + b2).softmax(dim=1)
    G[torch.arange(n), y] -= 1
    G = G / n
    dW2, db2 = G.t() @ x1 + 2 * lam * W2, G.sum(0)
    G = G @ W2 * (x1 > 0)
    dW1, db1 = G.t() @ h + 2 * lam * W1, G.sum(0)
    G = (G @ W1).view(H.shape) * (H > 0)
    dF = G.reshape(-1, nf).t() @ patches.reshape(-1, 3 * f * f) + 2 * lam * Fw
    return dF, dW1, db1, dW2, db2
