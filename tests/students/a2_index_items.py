"""A2 whose code needs the layers as dicts keyed by index (it iterates network['W'].items()) and
returns its gradients the same way; torch tensors. Written for the tests."""
import torch


def forward(X, network):
    h = X
    for l, W in network['W'].items():
        s = W @ h + network['b'][l]
        h = torch.relu(s) if l < len(network['W']) - 1 else torch.softmax(s, dim=0)
    return h


def backward(X, Y, network, lam):
    hs, h = [X], X
    for l, W in network['W'].items():
        s = W @ h + network['b'][l]
        h = torch.relu(s) if l < len(network['W']) - 1 else torch.softmax(s, dim=0)
        hs.append(h)
    n, G = X.shape[1], hs[-1] - Y
    grads = {'W': {}, 'b': {}}
    for l in sorted(network['W'], reverse=True):
        grads['W'][l] = G @ hs[l].T / n + 2 * lam * network['W'][l]
        grads['b'][l] = G.sum(dim=1, keepdim=True) / n
        G = (network['W'][l].T @ G) * (hs[l] > 0)
    return grads
