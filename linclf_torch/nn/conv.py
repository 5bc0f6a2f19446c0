"""The patchify convolution of DD2424 Assignment 3 (2025/26): nf filters of f × f × 3, stride f,
no padding, written as one matrix product on the patch matrix.

With stride f and no padding the image is tiled by n_p = (s/f)² patches that do not overlap
(s = 32 pixels a side), and each filter's response is a dot product with every patch:

    C[i, p, k] = Σⱼ P[i, p, j] F[k, j] (+ b_F[k])     one product: C = P Fᵀ (+ b_F)

P (n, n_p, 3·f·f) is the patch matrix (the course's MX, with the images first), F the filters
flattened to (nf, 3·f·f). Since the patches do not overlap, P holds every pixel once: it is
each image's 3·s·s pixels in another order, a fixed permutation of X's columns. patch_order
finds that permutation by reshape and permute (of the pixel indices 0 … 3·s·s − 1, viewed
(3, s/f, f, s/f, f)), once; patchify applies it to a batch with one gather, index_select.
Copying the permuted 6-D view of the images instead gives the same matrix but moves f floats
at a time (the inner run of a patch row), and took 3× as long (0.53 ms against 0.17 ms for
100 images, f = 4, 1 thread). torch's unfold (im2col) also gives it, written for overlapping
windows and in another order, (n, 3·f·f, n_p), to transpose again: no gain, and it hides the
layout. No patch matrix of the whole training set is kept: a batch's is built per step.

Layout (the library's, PyTorch's): images (n, 3, s, s), channel first, the view of a data row
X (n, 3072); patches row by row, p = r·(s/f) + c; inside a patch the order (channel, row,
column), the order of conv2d's weight (nf, 3, f, f), so F reshapes to it and C equals
F.conv2d(images, F, stride=f) permuted (tests/test_conv.py). The course's layout (columns,
another pixel order inside a patch) converts in courselayout.py.
"""
import torch


def patch_order(s, f, device=None):
    """Which pixel of an s × s image each entry of its patch matrix holds, patches row by row.

    Math:    order[r·(s/f) + c, (ch·f + u)·f + v] = ch·s² + (r·f + u)·s + c·f + v
             the pixel (channel ch, row r·f + u, column c·f + v) of patch (r, c), channel first
    Inputs:  s the image side, f dividing s
    Returns: order (n_p, 3·f·f) int64 on `device`, every pixel index once
    """
    pixels = torch.arange(3 * s * s, device=device).view(3, s // f, f, s // f, f)  # (3, s/f, f, s/f, f)
    return pixels.permute(1, 3, 0, 2, 4).reshape((s // f) ** 2, 3 * f * f)        # (n_p, 3·f·f)


def patchify(X, order):
    """The patch matrix of a batch: every non-overlapping f × f × 3 patch of every image as a row.

    Math:    P[i, p, j] = X[i, order[p, j]]
    Inputs:  X (n, 3·s·s) images as rows, channel first (data/prepare.py); order from patch_order
    Returns: P (n, n_p, 3·f·f): one gather, a copy the size of X
    """
    return X.index_select(1, order.view(-1)).view(X.shape[0], *order.shape)  # (n, n_p, 3·f·f)


def conv_forward(P, F, bF=None):
    """The patchify convolution on the patch matrix: every filter against every patch.

    Math:    C = P Fᵀ + b_F,   C[i, p, k] = Σⱼ P[i, p, j] F[k, j] + b_F[k]
             (the course's einsum('ijn,jl->iln', MX, Fs_flat), images first)
    Inputs:  P (n, n_p, 3·f·f) from patchify; F (nf, 3, f, f); bF (nf,) or None (no bias)
    Returns: out (n, n_p, nf), cache (P, F, whether there is a bias)
    """
    out = P @ F.flatten(1).T  # (n, n_p, nf): one (n·n_p, 3·f·f) × (3·f·f, nf) product
    if bF is not None:
        out = out + bF        # (n, n_p, nf)
    return out, (P, F, bF is not None)


def conv_backward(dout, cache):
    """Backward of C = P Fᵀ + b_F for the filters (P is data: no gradient for it).

    Math:    dF = Σᵢ Σₚ dC[i, p]ᵀ P[i, p] = dC₂ᵀ P₂   (C₂, P₂: C and P with n·n_p rows)
             db_F = Σᵢ Σₚ dC[i, p]
             The mean over the batch is in dout already (the loss's 1/n): no other factor,
             and no 1/n_p: a filter's gradient sums over all its patches.
    Inputs:  dout (n, n_p, nf); cache from conv_forward
    Returns: dF (nf, 3, f, f), dbF (nf,) or None
    """
    P, F, bias = cache
    dF = dout.flatten(0, 1).T @ P.flatten(0, 1)      # (nf, 3·f·f)
    dbF = dout.sum((0, 1)) if bias else None          # (nf,)
    return dF.view(F.shape), dbF                      # (nf, 3, f, f), (nf,)
