"""The course's column layout of the ConvNet (DD2424 Assignment 3, 2025/26) and the library's:
an adapter for the edge where students' code meets the library (the gradient checker), kept
out of nn/, whose layout is the library's. Tensor methods only: no import, not even of torch.

The course keeps images in columns and orders a patch's pixels channel last:
    X (3072, n)          a column is a CIFAR-10 row: red 32 × 32 row by row, then green, blue
    X_ims                X.reshape((32, 32, 3, n), order='F') transposed to (row, column, channel, n)
    MX (n_p, f·f·3, n)   patch p = r·(32/f) + c row by row, each X_ims[rf:(r+1)f, cf:(c+1)f, :, i]
                         flattened in C order: (row, column, channel), the channel fastest
    Fs (f, f, 3, nf)     the filters; Fs_flat = Fs.reshape((f·f·3, nf), order='C')
    conv_flat (n_p·nf, n)  the conv outputs (n_p, nf, n) flattened in C order
The library keeps images in rows, X (n, 3072), the same 3072 numbers per image, viewed as
(n, 3, 32, 32); a patch's pixels channel first (nn/conv.py), filters F (nf, 3, f, f). Only the order
inside a patch differs, so converting is a transpose and a permutation, never arithmetic; the
flattened conv outputs are in the same order (patch-major) in both, and W1 (nh, n_p·nf) too.
tests/test_conv.py builds MX the course's way (its loops) and checks it against these and
against F.conv2d.
"""
import math


def images_from_columns(X):
    """The course's X (3·s·s, n) as the library's images (n, 3, s, s): a transpose, no pixel moves
    within an image (a view where X's memory allows, as for X = X_rows.T)."""
    d, n = X.shape
    s = math.isqrt(d // 3)
    return X.T.reshape(n, 3, s, s)  # (n, 3, s, s)


def course_patch_matrix(X, f):
    """The course's MX (n_p, f·f·3, n) of X (3·s·s, n): patches row by row, inside a patch the
    order (row, column, channel), as students build it."""
    images = images_from_columns(X)                             # (n, 3, s, s)
    n, s = images.shape[0], images.shape[2]
    tiles = images.reshape(n, 3, s // f, f, s // f, f)           # (n, channel, r, row, c, column)
    P = tiles.permute(2, 4, 3, 5, 1, 0)                          # (r, c, row, column, channel, n)
    return P.reshape((s // f) ** 2, f * f * 3, n)                # (n_p, f·f·3, n)


def filters_from_course(Fs):
    """The course's filters, (f, f, 3, nf) or flattened Fs_flat (f·f·3, nf), as the library's F
    (nf, 3, f, f), nn/conv.py's and conv2d's layout."""
    if Fs.dim() == 2:
        f = math.isqrt(Fs.shape[0] // 3)
        Fs = Fs.reshape(f, f, 3, Fs.shape[1])  # (f, f, 3, nf): C order, as Fs_flat was made
    return Fs.permute(3, 2, 0, 1).contiguous()  # (nf, 3, f, f)


def filters_to_course(F, flat=False):
    """The library's F (nf, 3, f, f) as the course's Fs (f, f, 3, nf), or with flat=True Fs_flat (f·f·3, nf)."""
    nf, _, f, _ = F.shape
    Fs = F.permute(2, 3, 1, 0).contiguous()  # (f, f, 3, nf)
    return Fs.reshape(f * f * 3, nf) if flat else Fs
