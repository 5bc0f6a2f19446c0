"""The teaching core: linear and MLP classifiers whose backward passes are written by hand.

Read in this order:
    layers.py      the linear and ReLU layers as forward/backward pairs
    losses.py      softmax + cross-entropy, sigmoid + multiple BCE, L2: conventions, pairs
    models.py      LinearClassifier (its gradient written out), MLPClassifier (backprop), accuracy
    optim.py       SGD with momentum and weight decay, torch.optim.SGD's rule
    schedules.py   learning-rate schedules
    gradcheck.py   centered differences and relative errors
Every function describes one model: X (n, d), W (K, d), b (K,), scores (n, K).
This package imports torch and the standard library only, so it reads (and runs) alone.
Checking a student's own gradient builds on it in linclf_torch/yourgrad/.
"""
from .gradcheck import check_model_gradients, gradient_errors
from .models import LinearClassifier, MLPClassifier, accuracy
from .optim import SGD

__all__ = ["LinearClassifier", "MLPClassifier", "SGD", "accuracy", "check_model_gradients", "gradient_errors"]
