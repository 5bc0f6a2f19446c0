"""G ConvNets (nn/convnet.py) of one architecture trained at once, as stacked.py does for MLPs.

The patches are data, shared by every configuration: patchify once per batch, and the G
convolutions are one wide product, as stacked.py's wide first layer,
    P₂ [F₁; …; F_G]ᵀ   (n·n_p, 3·f·f) × (3·f·f, G·nf)
its filter gradients one product too, [dC₁ … dC_G]ᵀ P₂ (G·nf, 3·f·f). After the convolution
each configuration has its own activations: stacked.py's batched linear layers (G, n, ·).
The losses are each model's own pair (label smoothing included), as in stacked.py.
"""
import torch

from ..nn.conv import patchify
from ..nn.convnet import CHUNK
from ..nn.layers import relu_backward, relu_forward
from .stacked import StackedClassifier, batched_linear_backward, batched_linear_forward


class StackedConvNet(StackedClassifier):
    """The model contract for G ConvNets: parameters (G, …), scores (G, n, K), results (G,)."""

    def __init__(self, models):
        super().__init__(models)
        self.order = models[0].order  # (n_p, 3·f·f), conv.py's patch_order

    def forward(self, X, train=True):
        """Scores (G, n, K), the caches backward needs, and no batch statistics ({}); for
        evaluation (train=False) in chunks of CHUNK images, like ConvNet.scores."""
        if not train:
            return torch.cat([self.forward(X[i:i + CHUNK])[0] for i in range(0, len(X), CHUNK)], dim=1), None, {}
        p, n = self.params, X.shape[0]
        G, nf = p["F"].shape[:2]
        P = patchify(X, self.order).flatten(0, 1)                             # (n·n_p, 3·f·f), shared
        C = (P @ p["F"].reshape(G * nf, -1).T).view(n, -1, G, nf).permute(2, 0, 1, 3)  # (G, n, n_p, nf), a view
        if "bF" in p:
            C = C + p["bF"].view(G, 1, 1, nf)                                  # (G, n, n_p, nf)
        H, relu0 = relu_forward(C)                                             # (G, n, n_p, nf)
        a1, fc1 = batched_linear_forward(H.reshape(G, n, -1), p["W1"], p["b1"])  # (G, n, nh)
        x1, relu1 = relu_forward(a1)                                           # (G, n, nh)
        S, fc2 = batched_linear_forward(x1, p["W2"], p["b2"])                  # (G, n, K)
        return S, (P, relu0, fc1, relu1, fc2), {}

    def backward(self, dS, caches):
        """Every configuration's gradients from its dS (G, n, K): ConvNet.backward for all G."""
        P, relu0, fc1, relu1, fc2 = caches
        p, g, lam = self.params, {}, self.lam
        G, nf = p["F"].shape[:2]
        dx1, dW2, g["b2"] = batched_linear_backward(dS, fc2)                          # (G, n, nh), …
        dh, dW1, g["b1"] = batched_linear_backward(relu_backward(dx1, relu1), fc1)   # (G, n, n_p·nf), …
        dC = relu_backward(dh.view(relu0.shape), relu0)                               # (G, n, n_p, nf)
        wide = dC.permute(1, 2, 0, 3).reshape(P.shape[0], G * nf)                     # (n·n_p, G·nf)
        dF = (wide.T @ P).view(p["F"].shape)                                          # (G, nf, 3, f, f)
        if "bF" in p:
            g["bF"] = dC.sum((1, 2))                                                  # (G, nf)
        for w, dw in (("F", dF), ("W1", dW1), ("W2", dW2)):
            g[w] = dw.addcmul_(lam.view(-1, *[1] * (dw.dim() - 1)), p[w], value=2) if self.any_lam else dw  # + 2λw
        return {k: g[k] for k in p}
