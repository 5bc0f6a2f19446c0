"""linclf_torch: linear and small MLP classifiers on CIFAR-10, forward and backward by hand.

The root re-exports the main classes and functions under names that are not module names,
so linclf_torch.<module> is always the module: `run` and `train` are both a module and its
main function, imported from the module (from linclf_torch.run import run).
"""
from .checkpoint import load_checkpoint, save_checkpoint
from .cifar import load_cifar10
from .config import TrainConfig
from .data import Data, load_data, prepare
from .errors import LinclfError
from .nn import SGD, LinearClassifier, MLPClassifier, accuracy
from .train import build_model
