"""A3 (2025/26) in PyTorch's layout: images (n, 3, 32, 32), F (nf, 3, f, f) as conv2d's weight,
y (n,) labels; conv_gradients(X, y, net, lam, eps) takes ε itself and lets autograd
differentiate F.conv2d and F.cross_entropy (whose label_smoothing puts ε/K on every class: ε·K/(K − 1)
gives the course's ε/(K − 1) on the others). Torch tensors. Written for the tests."""
import torch
import torch.nn.functional as F


def conv_gradients(images, y, net, lam, eps):
    if images.dim() != 4:
        raise ValueError(f"images must be (n, 3, 32, 32), not {tuple(images.shape)}")
    params = {k: (v if torch.is_tensor(v) else list(v)) for k, v in net.items()}
    leaves = [params['F'], *params['W'], *params['b'], *([params['bf']] if 'bf' in params else [])]
    for t in leaves:
        t.requires_grad_(True)
    f = params['F'].shape[-1]
    C = F.conv2d(images, params['F'], params.get('bf'), stride=f)   # (n, nf, 32/f, 32/f)
    h = F.relu(C).flatten(2).transpose(1, 2).flatten(1)              # (n, n_p·nf), patch-major as the course's
    x1 = F.relu(F.linear(h, params['W'][0], params['b'][0]))
    s = F.linear(x1, params['W'][1], params['b'][1])
    K = s.shape[1]
    J = F.cross_entropy(s, y, label_smoothing=eps * K / (K - 1))
    J = J + lam * sum((w ** 2).sum() for w in (params['F'], *params['W']))
    J.backward()
    grads = {'F': params['F'].grad, 'W': [w.grad for w in params['W']], 'b': [b.grad for b in params['b']]}
    if 'bf' in params:
        grads['bf'] = params['bf'].grad
    return grads
