"""linclf_torch: linear and small MLP classifiers on CIFAR-10, forward and backward by hand."""
from .checkpoint import load_checkpoint, save_checkpoint
from .cifar import load_cifar10
from .data import Data, load_data, prepare
from .errors import LinclfError
from .models import LinearClassifier, MLPClassifier, build_model
from .optim import SGD
from .run import run
from .config import TrainConfig
from .train import accuracy, train
