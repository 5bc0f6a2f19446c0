"""Classifiers with hand-written backward passes.

The model contract (cs231n's Solver), which the trainer, CLI and plots rely on:
    model.params           dict[str, Tensor]; weight matrices are named "W..." and carry L2
                           (LinearClassifier: W, b; MLPClassifier: W1, b1, W2, b2, ..., and
                           with batch norm gamma1, beta1, ...)
    model.buffers          dict[str, Tensor]: state that is not trained by gradients (batch
                           norm's running averages, mlp.py); {} for the other models
    model.scores(X)        class scores (n, K), forward only, as in evaluation
    model.gradients(X, y)  dJ/dθ for every θ in params (same keys), what a training step uses
    model.cost(X, y)       the cost J that gradients differentiates, forward only
    model.loss(X, y)       (cost, grads), grads as from gradients
    model.predict(X)       (n,) predicted labels
    model.evaluate(X, y)   (loss, cost, accuracy) as 0-dim tensors on the device
The cost is J = L + λ Σ_l ‖W_l‖², L the data loss of losses.py: loss="ce" or "mbce".
LinearClassifier writes its gradient out; MLPClassifier (mlp.py) backpropagates layer by layer.
"""
import torch

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
        self.params, self.buffers, self.layers = {}, {}, []

    def penalty(self):
        """λ Σ_l ‖W_l‖², the L2 term of the cost."""
        return sum(l2_penalty_forward(self.params[w], self.lam) for w, _ in self.layers)

    def evaluate(self, X, y):
        """Data loss L, cost J = L + λ Σ‖W‖² and accuracy on (X, y): forward only."""
        scores = self.scores(X)                  # (n, K)
        loss = self.loss_forward(scores, y)      # ()
        return loss, loss + self.penalty(), accuracy(scores.argmax(1), y)

    def cost(self, X, y):
        """J on (X, y), the function gradients() differentiates; a model whose training pass
        differs from its evaluation (batch norm) overrides it."""
        return self.evaluate(X, y)[1]

    def loss(self, X, y):
        """(J, grads) on (X, y): the cost from a forward pass, the gradients from gradients()."""
        return self.cost(X, y), self.gradients(X, y)

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
