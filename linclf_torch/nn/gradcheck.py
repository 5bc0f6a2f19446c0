"""Checking analytic gradients against numerical ones (cs231n's eval_numerical_gradient).

Use float64: with h = 1e-6 the centered difference has truncation error O(h²) ≈ 1e-12 and
rounding error ≈ ε·|J|/h ≈ 1e-10, so agreement to ~1e-7 (norm-wise) shows a correct backward.
"""
import torch


@torch.no_grad()
def numerical_gradient(f, x, h=1e-6):
    """Centered differences of the scalar f() with respect to every entry of x, in place.

    Math:  ∂f/∂xᵢ ≈ (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h
    Inputs:  f a function of no arguments that reads x; x a tensor it depends on
    Returns: grad, same shape as x (x is restored exactly afterwards)
    """
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + h
        fp = float(f())
        flat[i] = old - h
        fm = float(f())
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return grad


def max_rel_error(a, b, eps=1e-12):
    """Largest entry-wise relative error |a − b| / max(eps, |a| + |b|), as the reports define it."""
    return ((a - b).abs() / (a.abs() + b.abs()).clamp_min(eps)).max().item()


def norm_rel_error(a, b, eps=1e-12):
    """Norm-wise relative error ‖a − b‖ / max(eps, ‖a‖ + ‖b‖)."""
    return ((a - b).norm() / max(eps, a.norm().item() + b.norm().item())).item()


def gradient_errors(model, X, y, h=1e-6):
    """Analytic gradients of model.loss against centered differences of the same cost J,
    evaluated forward only (model.cost): no backward pass per perturbed entry.

    Returns {name: {"max_rel": max_rel_error, "norm_rel": norm_rel_error, "max_abs": the
    largest |gₐ − gₙ|, "max_grad": the largest |gₐ|}} for every parameter; the last two put
    a large entry-wise relative error on a near-zero gradient entry in proportion.
    """
    _, grads = model.loss(X, y)
    report = {}
    for name, p in model.params.items():
        numeric = numerical_gradient(lambda: model.cost(X, y), p, h)
        analytic = grads[name]
        report[name] = {"max_rel": max_rel_error(analytic, numeric), "norm_rel": norm_rel_error(analytic, numeric),
                        "max_abs": (analytic - numeric).abs().max().item(), "max_grad": analytic.abs().max().item()}
    return report


def check_model_gradients(model, X, y, h=1e-6):
    """gradient_errors reduced to {name: (max_rel_error, norm_rel_error)}."""
    return {name: (e["max_rel"], e["norm_rel"]) for name, e in gradient_errors(model, X, y, h).items()}
