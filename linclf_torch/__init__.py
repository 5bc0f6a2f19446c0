"""linclf_torch: linear and small MLP classifiers on CIFAR-10, forward and backward by hand.

The teaching core is linclf_torch.nn (layers, losses, models, SGD, gradient checks: torch
only). The names below are imported on first use (PEP 562), so that `import linclf_torch`
and the `linclf` command's argument parsing do not pay for importing torch. None of them is
a module's name, so linclf_torch.<module> is always the module: `run` and `train` are both a
module and its main function, imported from the module (from linclf_torch.runs.run import run).
"""
import importlib

__version__ = "0.1.0"

_API = {  # public name -> the module that defines it
    "TrainConfig": "config", "LinclfError": "errors",
    "load_cifar10": "cifar", "Data": "data", "load_data": "data", "prepare": "data",
    "LinearClassifier": "nn", "MLPClassifier": "nn", "SGD": "nn", "accuracy": "nn", "build_model": "train",
    "load_checkpoint": "checkpoint", "save_checkpoint": "checkpoint",
}
__all__ = [*_API, "__version__"]


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'linclf_torch' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
