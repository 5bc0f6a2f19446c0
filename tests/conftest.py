"""Shared fixtures: float64 everywhere gradients are checked, cpu (+ cuda when present), and
synthetic CIFAR-10 pickles."""
import pytest
import torch

from synthetic import write_pickles

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]

# (test, parameter, max relative error) rows, printed at the end of `pytest -v`: what the reports
# saw. A plain or -q run stays quiet when it passes.
GRADIENT_TABLE = []


def pytest_collection_modifyitems(items):
    """Tests marked cuda need a GPU: skipped without one. `pytest -m cuda` runs them alone
    (experiments/gpu_check.py does, on a GPU machine)."""
    if not torch.cuda.is_available():
        for item in items:
            if item.get_closest_marker("cuda"):
                item.add_marker(pytest.mark.skip(reason="no CUDA GPU"))


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


@pytest.fixture(scope="module")
def one_thread():
    """Tensors this small run fastest on one thread; with two on two busy cores each gradient
    check took 5x longer."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


@pytest.fixture(scope="module")
def pickles(request, tmp_path_factory):
    """Synthetic official pickles, once per test module: PICKLES_PER_BATCH images per batch (a
    module sets its own; default 20, so that split a1 trains on 20 images)."""
    n = getattr(request.module, "PICKLES_PER_BATCH", 20)
    return write_pickles(tmp_path_factory.mktemp("cifar"), n_per_batch=n)


@pytest.fixture(autouse=True)
def no_tf32():
    """Correctness tests compare at full float32/float64 precision: no TF32 matmuls on CUDA."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def pytest_terminal_summary(terminalreporter, config):
    if not GRADIENT_TABLE or config.get_verbosity() < 1:
        return
    tr = terminalreporter
    tr.section("gradient checks: max relative error |ga−gn| / max(1e-12, |ga|+|gn|) (float64)")
    tr.write_line(f"{'check':<54} {'param':<6} {'max rel error':>14}")
    for check, name, err in GRADIENT_TABLE:
        tr.write_line(f"{check:<54} {name:<6} {err:>14.2e}")
