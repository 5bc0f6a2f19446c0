"""Layers as forward/backward pairs of pure functions.

forward returns (out, cache); backward takes (dout, cache), where dout = dJ/dout, and
returns the gradients of J with respect to every input. Leading dimensions "..." broadcast
(independent models trained at once), so W may be (K, d) or (G, K, d).
"""


def linear_forward(X, W, b):
    """Affine layer s = X Wᵀ + b (W in (out, in) layout, like DD2424's W and nn.Linear).

    Inputs:  X (..., n, d), W (..., K, d), b (..., K)
    Returns: out (..., n, K), cache (X, W)
    """
    out = X @ W.transpose(-1, -2) + b.unsqueeze(-2)  # (..., n, K)
    return out, (X, W)


def linear_backward(dout, cache, input_grad=True):
    """Backward of s = X Wᵀ + b.

    Math:  dX = dout W,   dW = doutᵀ X,   db = Σₙ dout[n]
    An input shared by several models (X (n, d) with W (G, K, d)) gets the sum of their
    gradients, as broadcasting always does in backward: sum_to_size.
    Inputs:  dout (..., n, K); cache from linear_forward; input_grad=False skips dX
             (the first layer never needs it, and it costs as much as the forward pass)
    Returns: dX like X or None, dW like W, db (..., K)
    """
    X, W = cache
    dX = (dout @ W).sum_to_size(X.shape) if input_grad else None  # (..., n, d)
    dW = (dout.transpose(-1, -2) @ X).sum_to_size(W.shape)        # (..., K, d)
    db = dout.sum(-2)                                             # (..., K)
    return dX, dW, db


def relu_forward(X):
    """Rectified linear unit h = max(0, x), elementwise.

    Inputs:  X (..., n, m)
    Returns: out (..., n, m), cache: out itself, since [x > 0] = [h > 0] is all backward needs
    """
    out = X.clamp(min=0)  # (..., n, m)
    return out, out


def relu_backward(dout, cache):
    """Backward of h = max(0, x).

    Math:  dX = dout ⊙ [x > 0]   (the derivative at x = 0 is taken as 0, as autograd does)
    Inputs:  dout (..., n, m); cache (the output h) from relu_forward
    Returns: dX (..., n, m)
    """
    out = cache
    dX = dout * (out > 0)  # (..., n, m)
    return dX
