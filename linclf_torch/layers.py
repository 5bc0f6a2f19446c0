"""Layers as forward/backward pairs of pure functions.

forward returns (out, cache); backward takes (dout, cache), where dout = dJ/dout, and
returns the gradients of J with respect to every input. Leading dimensions "..." broadcast
(independent models trained at once), so W may be (K, d) or (G, K, d).

G linear models on one shared input X (n, d) are one wide linear layer: stacking their
weights as rows, [W₁; …; W_G] (G·K, d), gives all their scores side by side in one product
X [W₁; …; W_G]ᵀ (n, G·K). The functions below compute them that way: one pass over X for all
G models, and a matrix shape that BLAS runs much faster than G thin products.
"""


def shared_input(X, W):
    """Whether G models (W (G, K, d)) share one input X (n, d): the wide-layer case."""
    return X.dim() == 2 and W.dim() == 3


def linear_forward(X, W, b):
    """Affine layer s = X Wᵀ + b (W in (out, in) layout, like DD2424's W and nn.Linear).

    Inputs:  X (..., n, d), W (..., K, d), b (..., K)
    Returns: out (..., n, K), cache (X, W)
    """
    if shared_input(X, W):
        G, K, d = W.shape
        wide, _ = linear_forward(X, W.reshape(G * K, d), b.reshape(G * K))  # (n, G·K)
        return wide.view(-1, G, K).transpose(0, 1), (X, W)                 # (G, n, K), a view
    out = X @ W.transpose(-1, -2) + b.unsqueeze(-2)  # (..., n, K)
    return out, (X, W)


def linear_backward(dout, cache, input_grad=True):
    """Backward of s = X Wᵀ + b.

    Math:  dX = dout W,   dW = doutᵀ X,   db = Σₙ dout[n]
    An input shared by several models (X (n, d) with W (G, K, d)) gets the sum of their
    gradients, as broadcasting always does in backward: in the wide layer that sum is the
    product itself, dX = [dout₁ … dout_G] [W₁; …; W_G] = Σ_g dout_g W_g.
    Inputs:  dout (..., n, K); cache from linear_forward; input_grad=False skips dX
             (the first layer never needs it, and it costs as much as the forward pass)
    Returns: dX like X or None, dW like W, db (..., K)
    """
    X, W = cache
    if shared_input(X, W):
        G, K, d = W.shape
        wide = dout.transpose(0, 1).reshape(-1, G * K)                   # (n, G·K)
        dX, dW, db = linear_backward(wide, (X, W.reshape(G * K, d)), input_grad)
        return dX, dW.view(G, K, d), db.view(G, K)
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
