"""Test helpers: the checkout (ROOT) and an environment whose python imports its linclf_torch
(ENV), comparison with a readable message (nn-zero-to-hero's `cmp`), experiment
scripts as modules, a pickle that would run code, the rounding bound of two summation orders."""
import importlib.util
import os
from pathlib import Path

import torch

from linclf_torch.nn.gradcheck import max_rel_error

ROOT = Path(__file__).resolve().parents[1]  # the checkout
EXPERIMENTS = ROOT / "experiments"
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))  # its package first


def load_experiment(name):
    """experiments/<name>.py as a module (the scripts are files, not a package)."""
    spec = importlib.util.spec_from_file_location(f"experiment_{name}", EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_close(name, analytic, reference, tol):
    """Fail naming the parameter, the max relative error, the max abs diff and the shape."""
    assert analytic.shape == reference.shape, f"{name}: shape {tuple(analytic.shape)} != {tuple(reference.shape)}"
    err = max_rel_error(analytic, reference)
    diff = (analytic - reference).abs().max().item()
    assert err <= tol, f"{name}: max relative error {err:.3e} > {tol:.0e} (max abs diff {diff:.3e}, shape {tuple(analytic.shape)})"
    return err


class Exploit:
    """Pickles as a call to `call`: plain pickle.load would run it."""

    def __init__(self, call):
        self.call = call

    def __reduce__(self):
        return self.call


def failed_cases(report):
    """The 1-based numbers of a gradcheck report's cases where some gradient failed."""
    return {i for i, case in enumerate(report.cases, start=1)
            if any(r.status == "FAIL" for r in report.results if r.case is case)}


def rounding_tolerance(dtype, d):
    """How far two summation orders of the same math may drift apart in `dtype`.

    The batched grid computes each configuration's products inside one wide product, so
    BLAS sums the same terms in another order (and differently on Intel and AMD CPUs). A
    dot product of length d in floating point is within γ_d·|x|ᵀ|y| of the exact value,
    γ_d = d·u / (1 − d·u), u the unit roundoff (Higham, Accuracy and Stability of Numerical
    Algorithms, §3.1): the loss values and weights of two orders then agree to about γ_d
    relative, with d = 3072 the longest sum of the run. float32: 1.8e-4. float64: 3.4e-13,
    below the 1e-12 the float64 comparisons have always used, which stays their bound.
    Accuracies may then differ by one image (a near-tie of two scores can break either way)
    in float32, where γ_d is large enough for that; in float64 they must be equal.
    """
    u = torch.finfo(dtype).eps / 2
    return d * u / (1 - d * u)
