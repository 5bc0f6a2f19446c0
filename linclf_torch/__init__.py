"""linclf_torch: linear, small MLP and ConvNet classifiers on CIFAR-10, forward and backward by hand.

The teaching core is linclf_torch.nn (layers, losses, models, SGD, gradient checks: torch
only); around it, a folder per part: yourgrad/ (checking your own gradient), data/,
training/, runs/, grid/, figures/ and cli/ (the `linclf` command), and beside them the
modules every part uses (errors, files, progress, threads). docs/development.md maps them.
The names below are imported on first use (PEP 562), so that `import linclf_torch` and the
`linclf` command's argument parsing do not pay for importing torch. None of them is a
module's or a package's name, so linclf_torch.<name> is always the module where one exists.
"""
import importlib

__version__ = "0.1.0"

_API = {  # public name -> the module that defines it
    "TrainConfig": "training.config", "LinclfError": "errors",
    "load_cifar10": "data.cifar", "Data": "data.prepare", "load_data": "data.prepare", "prepare": "data.prepare",
    "LinearClassifier": "nn", "MLPClassifier": "nn", "ConvNet": "nn", "SGD": "nn", "accuracy": "nn",
    "build_model": "training.loop",
    "load_checkpoint": "runs.checkpoint", "save_checkpoint": "runs.checkpoint", "run": "runs.run",
    "check_gradients": "yourgrad.engine",
}
__all__ = [*_API, "__version__"]


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'linclf_torch' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_API[name]}", __name__), name)


def __dir__():
    """The public names too, so that tab completion finds them before their first use."""
    return sorted({*globals(), *_API})
