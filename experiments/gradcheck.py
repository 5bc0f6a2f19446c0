"""DD2424 Assignment 1, the reports' first result: are the hand-written gradients right?

For a linear classifier on the first n training images of split a1, restricted to their
first d dimensions (the reports' check: n = 3, d = 10; and a larger case, n = 100,
d = 500), compare the analytic gradients of the cost J = loss + λ‖W‖² with respect to W and
b (nn.models.LinearClassifier.loss) with centered finite differences of the same cost
(nn.gradcheck.numerical_gradient, h = 1e-6), in float64, for CE and MBCE, with λ = 0 and
λ = 0.1. W and b start as N(0, 0.01²) draws from a generator seeded with --seed (b too,
as in the reports, so that its gradient is not checked at a special point).

Errors as the reports define them: the largest entry-wise relative error
|gₐ − gₙ| / max(1e-12, |gₐ| + |gₙ|). One entry where the gradient is nearly zero can
dominate that maximum, so the table also gives the norm-wise ‖gₐ − gₙ‖ / (‖gₐ‖ + ‖gₙ‖), the
largest absolute difference and the largest |gₐ| for scale. (No autograd here: the tests
compare the same gradients with autograd, tests/test_gradients.py.)

    python experiments/gradcheck.py --data-dir PATH

Result on the JPEG copy of CIFAR-10 (CPU: AMD EPYC, 1 thread; 15 s):

    n    d    loss  λ     W: max rel.  b: max rel.  W: norm-wise  W: max |gₐ − gₙ|
    3    10   CE    0     3.7e-08      1.3e-09      5.7e-10       4.0e-10
    3    10   CE    0.1   9.7e-06      1.3e-09      6.4e-10       4.1e-10
    3    10   MBCE  0     5.4e-09      1.2e-09      1.1e-09       1.1e-10
    3    10   MBCE  0.1   5.9e-09      1.2e-09      1.2e-09       1.2e-10
    100  500  CE    0     1.3e-05      8.8e-09      2.2e-09       5.1e-10
    100  500  CE    0.1   2.7e-05      8.8e-09      2.4e-09       5.8e-10
    100  500  MBCE  0     7.1e-04      1.6e-09      4.9e-09       1.8e-10
    100  500  MBCE  0.1   3.3e-04      1.6e-09      4.9e-09       1.9e-10
The large entry-wise maxima sit on entries whose gradient is almost zero; every absolute
difference is below 1e-9 and every norm-wise error below 1e-8: the gradients are right.
"""
import sys

import torch

from linclf_torch.cli.experiment import script
from linclf_torch.figures.tables import markdown_table
from linclf_torch.nn.gradcheck import gradient_errors
from linclf_torch.nn.models import LinearClassifier
from linclf_torch.progress import bar as progress_bar

CASES = [(3, 10), (100, 500)]        # (n, d)
QUICK_CASES = [(3, 10), (10, 20)]
LAMS = [0.0, 0.1]
KINDS = ("max_rel", "norm_rel", "max_abs", "max_grad")  # gradcheck.gradient_errors' keys, in table order


@script("gradcheck", __doc__)
def main(args, exp):
    data = exp.data("a1", dtype=torch.float64)
    K = len(data.classes)
    cases = [(n, d, loss, lam) for n, d in (QUICK_CASES if args.quick else CASES) for loss in ("ce", "mbce")
             for lam in LAMS]
    checks, rows = [], []
    for n, d, loss, lam in progress_bar(cases, desc="gradcheck", unit="case", enabled=not args.no_progress):
        X, y = data.X_train[:n, :d], data.y_train[:n]                             # (n, d), (n,)
        generator = torch.Generator().manual_seed(args.seed)
        model = LinearClassifier(d, K, loss=loss, lam=lam, generator=generator, dtype=torch.float64,
                                 device=X.device)
        model.params["b"] = (torch.randn(K, generator=generator, dtype=torch.float64) * 0.01).to(X.device)
        errors = gradient_errors(model, X, y)                                     # {"W": {...}, "b": {...}}
        checks.append({"n": n, "d": d, "loss": loss, "lam": lam, "errors": errors})
        rows.append([n, d, loss.upper(), lam, *(f"{errors[p][kind]:.1e}" for kind in KINDS for p in ("W", "b"))])
    table = markdown_table(["n", "d", "loss", "lam", "W: max rel.", "b: max rel.", "W: norm-wise", "b: norm-wise",
                            "W: max abs. diff", "b: max abs. diff", "W: max abs. grad", "b: max abs. grad"], rows)
    report = (f"# Gradient check: analytic vs centered differences (h = 1e-6, float64, seed {args.seed}"
              f"{', QUICK' if args.quick else ''})\n\n{table}")
    exp.write({"checks": checks, "h": 1e-6, "dtype": "float64"}, report, {}, data.X_train.device)



if __name__ == "__main__":
    sys.exit(main())
