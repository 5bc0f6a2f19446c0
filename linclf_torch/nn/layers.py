"""Layers as forward/backward pairs of pure functions.

forward returns (out, cache); backward takes (dout, cache), where dout = dJ/dout has the
shape of out, and returns dJ with respect to each input, each the shape of that input.
A batch X is (n, d), one example per row; W is (K, d) = (out, in), the layout of DD2424's
W and of nn.Linear.weight, so the scores are S = X Wᵀ + b, the same as F.linear.
"""


def linear_forward(X, W, b):
    """Affine layer S = X Wᵀ + b.

    Math:    Sᵢₖ = Σⱼ Xᵢⱼ Wₖⱼ + bₖ
    Inputs:  X (n, d), W (K, d), b (K,)
    Returns: out (n, K), cache (X, W)
    """
    out = X @ W.T + b  # (n, K)
    return out, (X, W)


def linear_backward(dout, cache, input_grad=True):
    """Backward of S = X Wᵀ + b.

    Math:    dX = dout W,   dW = doutᵀ X,   db = Σᵢ dout[i]
    Inputs:  dout (n, K); cache from linear_forward; input_grad=False skips dX (a
             network's first layer: its input is the data, and dX costs as much as the forward)
    Returns: dX (n, d) or None, dW (K, d), db (K,)
    """
    X, W = cache
    dX = dout @ W if input_grad else None  # (n, d)
    dW = dout.T @ X                        # (K, d)
    db = dout.sum(0)                       # (K,)
    return dX, dW, db


def relu_forward(X):
    """Rectified linear unit h = max(0, x), elementwise.

    Inputs:  X (n, m)
    Returns: out (n, m), cache: out itself, since [x > 0] = [h > 0] is all backward needs
    """
    out = X.clamp(min=0)  # (n, m)
    return out, out


def relu_backward(dout, cache):
    """Backward of h = max(0, x).

    Math:    dX = dout ⊙ [x > 0]   (the derivative at x = 0 is taken as 0, as autograd does)
    Inputs:  dout (n, m); cache (the output h) from relu_forward
    Returns: dX (n, m)
    """
    out = cache
    dX = dout * (out > 0)  # (n, m)
    return dX
