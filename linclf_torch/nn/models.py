"""Classifiers with hand-written backward passes.

The model contract (cs231n's Solver), which the trainer, CLI and plots rely on:
    model.params           dict[str, Tensor]; weight matrices are named "W..." and carry L2
                           (LinearClassifier: W, b; MLPClassifier: W1, b1, W2, b2, ...)
    model.scores(X)        class scores (n, K), forward only
    model.gradients(X, y)  dJ/dθ for every θ in params (same keys), what a training step uses
    model.loss(X, y)       (cost, grads), grads as from gradients
    model.predict(X)       (n,) predicted labels
    model.evaluate(X, y)   (loss, cost, accuracy) as 0-dim tensors on the device
The cost is J = L + λ Σ_l ‖W_l‖², L the data loss of losses.py: loss="ce" or "mbce".
LinearClassifier writes its gradient out; MLPClassifier backpropagates layer by layer.
"""
import math

import torch

from .layers import linear_backward, linear_forward, relu_backward, relu_forward
from .losses import LOSSES, l2_penalty_backward, l2_penalty_forward


def accuracy(pred, y):
    """Fraction of correct predictions, (1/n) Σᵢ [predᵢ = yᵢ].

    Inputs:  pred (n,) predicted labels, y (n,) true labels
    Returns: a 0-dim float64 tensor on their device (no host sync; .item() gives the number)
    """
    return (pred == y).double().mean()  # ()


class Classifier:
    """What both classifiers share: the loss pair, λ, and the contract's methods built on
    a subclass's scores(X) and gradients(X, y). self.layers names each linear layer's
    (weight, bias) in self.params, input to output."""

    def __init__(self, loss, lam):
        self.loss_name, self.lam = loss, lam
        self.loss_forward, self.loss_backward = LOSSES[loss]  # KeyError: not "ce" or "mbce"
        self.params, self.layers = {}, []

    def penalty(self):
        """λ Σ_l ‖W_l‖², the L2 term of the cost."""
        return sum(l2_penalty_forward(self.params[w], self.lam) for w, _ in self.layers)

    def evaluate(self, X, y):
        """Data loss L, cost J = L + λ Σ‖W‖² and accuracy on (X, y): forward only."""
        scores = self.scores(X)                  # (n, K)
        loss = self.loss_forward(scores, y)      # ()
        return loss, loss + self.penalty(), accuracy(scores.argmax(1), y)

    def loss(self, X, y):
        """(J, grads) on (X, y): the cost from a forward pass, the gradients from gradients()."""
        return self.evaluate(X, y)[1], self.gradients(X, y)

    def predict(self, X):
        return self.scores(X).argmax(1)  # (n,)


class LinearClassifier(Classifier):
    """One-layer classifier S = X Wᵀ + b, with W (K, d) and b (K,).

    Init as in DD2424: W ~ N(0, std²) with std = 0.01, b = 0, drawn on the CPU from
    `generator` so that the same seed gives the same weights on every device.
    """

    def __init__(self, d, K, *, loss="ce", lam=0.0, generator=None, std=0.01,
                 device="cpu", dtype=torch.float32):
        super().__init__(loss, lam)
        W = torch.randn(K, d, generator=generator, dtype=torch.float64) * std  # (K, d)
        self.params = {"W": W.to(device=device, dtype=dtype),
                       "b": torch.zeros(K, device=device, dtype=dtype)}  # (K,)
        self.layers = [("W", "b")]

    def scores(self, X):
        return X @ self.params["W"].T + self.params["b"]  # (n, K)

    def gradients(self, X, y):
        """The gradients of J on the batch (X, y), written out like DD2424's ComputeGradients.

        Math:
            S  = X Wᵀ + b                          (n, K) scores
            dS = (P − Y) / n,  P = softmax(S)      CE    (losses.py: dJ/dS)
            dS = (σ(S) − Y) / (K·n)                MBCE
            dW = dSᵀ X + 2λW
            db = Σᵢ dSᵢ
        Inputs:  X (n, d), y (n,) int64
        Returns: {"W": dW (K, d), "b": db (K,)}
        """
        W = self.params["W"]
        S = self.scores(X)                                 # (n, K)
        dS = self.loss_backward(S, y)                      # (n, K)
        dW = l2_penalty_backward(W, self.lam, dS.T @ X)   # (K, d): dSᵀX + 2λW
        db = dS.sum(0)                                     # (K,)
        return {"W": dW, "b": db}


INITS = ("torch", "dd2424", "he")  # or a float σ


class MLPClassifier(Classifier):
    """Multi-layer perceptron d → hidden[0] → … → hidden[-1] → K, ReLU after every hidden layer.

    S = f_L(… relu(f_2(relu(f_1(X))))), f_l(a) = a W_lᵀ + b_l. Parameters W1, b1, …, W_L, b_L
    with W_l (out, in) like nn.Linear.weight; the cost J = L + λ Σ_l ‖W_l‖² puts L2 on every
    weight matrix, no bias. hidden=() is the linear classifier.

    The two-layer network of DD2424 Assignment 2 is hidden=(m,): d → m, ReLU → K.
    Math (n examples, dS from the loss, losses.py; for CE dS = (P − Y) / n):
        H  = relu(X W1ᵀ + b1)               (n, m)   hidden activations
        S  = H W2ᵀ + b2                     (n, K)   scores
        J  = L(S, y) + λ (‖W1‖² + ‖W2‖²)
        dW2 = dSᵀ H + 2λ W2                 (K, m)
        db2 = Σᵢ dSᵢ                         (K,)
        dH  = dS W2 ⊙ [H > 0]               (n, m)   back through the ReLU
        dW1 = dHᵀ X + 2λ W1                 (m, d)
        db1 = Σᵢ dHᵢ                         (m,)
    backward() computes exactly these, layer by layer, for any depth.

    init, how each layer l with `in` inputs is drawn:
        "torch"   nn.Linear's default: W_l and b_l ~ U(−1/√in, 1/√in) (kaiming_uniform_, a = √5)
        "dd2424"  W_l ~ N(0, 1/in) (std 1/√in), b_l = 0, as DD2424 Assignment 2
        "he"      W_l ~ N(0, 2/in) (std √(2/in)), b_l = 0 (He et al. 2015, for ReLU)
        σ (float) W_l ~ N(0, σ²) in every layer, b_l = 0 (DD2424 Assignment 3's experiments)
    Drawn in float64 on the CPU from `generator`, layer by layer (W_l, then b_l for "torch"),
    so that the same seed gives the same weights on every device and dtype.
    """

    def __init__(self, d, hidden, K, *, loss="ce", lam=0.0, generator=None, init="torch",
                 device="cpu", dtype=torch.float32):
        super().__init__(loss, lam)
        if not (init in INITS or (isinstance(init, (int, float)) and not isinstance(init, bool) and init > 0)):
            raise ValueError(f"init must be one of {INITS} or a float σ > 0 (got {init!r})")
        sizes = [d, *hidden, K]
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            W, b = init_layer(n_in, n_out, init, generator)  # (out, in), (out,)
            self.params[f"W{l}"] = W.to(device=device, dtype=dtype)
            self.params[f"b{l}"] = b.to(device=device, dtype=dtype)
            self.layers.append((f"W{l}", f"b{l}"))

    def forward(self, X):
        """Scores and, per layer, the caches its backward needs: (ReLU cache or None, linear cache)."""
        h, caches = X, []
        for l, (w, b) in enumerate(self.layers):
            relu_cache = None
            if l > 0:
                h, relu_cache = relu_forward(h)                                  # (n, in)
            h, linear_cache = linear_forward(h, self.params[w], self.params[b])  # (n, out)
            caches.append((relu_cache, linear_cache))
        return h, caches

    def scores(self, X):
        return self.forward(X)[0]  # (n, K)

    def backward(self, dscores, caches):
        """Gradients of J = L + λ Σ_l ‖W_l‖² from dscores = dL/dS, by backpropagation.

        Math (layer l, from the output back; dh_L = dS from the loss, losses.py):
            dW_l = dh_lᵀ a_(l−1) + 2λW_l,   db_l = Σᵢ dh_l[i]
            da_(l−1) = dh_l W_l,            dh_(l−1) = da_(l−1) ⊙ [h_(l−1) > 0]
        where h_l is layer l's output before ReLU and a_l = relu(h_l), a_0 = X.
        Inputs:  dscores (n, K); caches from forward
        Returns: grads: a tensor like each parameter, same keys as params
        """
        dh, grads = dscores, {}
        for (w, b), (relu_cache, linear_cache) in zip(reversed(self.layers), reversed(caches)):
            first = relu_cache is None  # the first layer's input is X: its gradient is never needed
            da, dW, grads[b] = linear_backward(dh, linear_cache, input_grad=not first)  # (n, in), (out, in), (out,)
            grads[w] = l2_penalty_backward(self.params[w], self.lam, dW)                # (out, in): + 2λW_l
            if not first:
                dh = relu_backward(da, relu_cache)                                      # (n, in)
        return {k: grads[k] for k in self.params}

    def gradients(self, X, y):
        """dJ/dθ on the batch (X, y): forward, dS from the loss, backward."""
        scores, caches = self.forward(X)  # (n, K)
        return self.backward(self.loss_backward(scores, y), caches)


def init_layer(n_in, n_out, init, generator):
    """A layer's (W (out, in), b (out,)) in float64 on the CPU, by MLPClassifier's init rule."""
    if init == "torch":
        bound = 1 / math.sqrt(n_in)
        W = (torch.rand(n_out, n_in, generator=generator, dtype=torch.float64) * 2 - 1) * bound  # (out, in)
        b = (torch.rand(n_out, generator=generator, dtype=torch.float64) * 2 - 1) * bound       # (out,)
        return W, b
    std = {"dd2424": 1 / math.sqrt(n_in), "he": math.sqrt(2 / n_in)}.get(init, init)
    W = torch.randn(n_out, n_in, generator=generator, dtype=torch.float64) * std  # (out, in)
    return W, torch.zeros(n_out, dtype=torch.float64)                             # (out,)
