"""The patchify convolution of DD2424 Assignment 3 (2025/26): nf filters of f × f × 3, stride f,
no padding, written as one matrix product on the patch matrix.

With stride f and no padding the image is tiled by n_p = (s/f)² patches that do not overlap
(s = 32 pixels a side), and each filter's response is a dot product with every patch:

    C[i, p, k] = Σⱼ P[i, p, j] F[k, j] (+ b_F[k])     one product: C = P Fᵀ (+ b_F)

P (n, n_p, 3·f·f) is the patch matrix (the course's MX, with the images first), F the filters
flattened to (nf, 3·f·f). The patches come by reshape and permute, not unfold: since they do
not overlap, building P only moves every pixel once, a view (n, 3, s/f, f, s/f, f) and one
permuted copy, the size of the images. torch's unfold (F.unfold, im2col) computes the same
matrix but is written for overlapping windows (index arithmetic per element, its own output
order (n, 3·f·f, n_p) to transpose again); here it buys nothing and hides the layout.

Layout (the library's, PyTorch's): images (n, 3, s, s), channel first, the view of a data row
X (n, 3072); patches row by row, p = r·(s/f) + c; inside a patch the order (channel, row,
column), the order of conv2d's weight (nf, 3, f, f), so F reshapes to it and C equals
F.conv2d(images, F, stride=f) permuted (tests/test_conv.py). The course's layout (columns,
another pixel order inside a patch) converts in courselayout.py.
"""


def patchify(images, f):
    """The patch matrix of a batch of images: every non-overlapping f × f × 3 patch as a row.

    Math:    P[i, r·(s/f) + c, (ch, u, v)] = images[i, ch, r·f + u, c·f + v]
    Inputs:  images (n, 3, s, s), f dividing s
    Returns: P (n, n_p, 3·f·f), n_p = (s/f)²: a copy (a permutation of the pixels)
    """
    n, ch, s, _ = images.shape
    tiles = images.view(n, ch, s // f, f, s // f, f)   # (n, 3, s/f, f, s/f, f): a view
    P = tiles.permute(0, 2, 4, 1, 3, 5)                  # (n, s/f, s/f, 3, f, f): a view
    return P.reshape(n, (s // f) ** 2, ch * f * f)       # (n, n_p, 3·f·f): the copy


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
