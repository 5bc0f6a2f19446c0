"""The teaching core: linear and k-layer classifiers whose backward passes are written by hand.

Read in this order:
    layers.py      the linear, ReLU and batch-norm layers as forward/backward pairs
    losses.py      softmax + cross-entropy, sigmoid + multiple BCE, L2: conventions, pairs
    models.py      the model contract, LinearClassifier (its gradient written out), accuracy
    mlp.py         MLPClassifier: k layers, optional batch norm (backprop through layers.py)
    conv.py        the patchify convolution (DD2424 A3, 2025/26): patches and its forward/backward pair
    convnet.py     ConvNet: patchify conv, ReLU, two layers (backprop through conv.py, layers.py)
    rnn.py         the character RNN of DD2424 A4: forward over a sequence, BPTT backward, its loss
    sampling.py    text from the RNN: temperature, top-p, a seeded draw
    optim.py       SGD, Adam and AdaGrad (torch.optim's rules), gradient clipping
    schedules.py   learning-rate schedules
    gradcheck.py   centered differences and relative errors
The classifiers' functions describe one model: X (n, d), W (K, d), b (K,), scores (n, K) (the
ConvNet reads a row of X as an image (3, 32, 32)); the RNN's a sequence of indices x (τ,), hidden
states H (τ, m), scores O (τ, K).
This package imports torch and the standard library only, so it reads (and runs) alone.
Checking a student's own gradient builds on it in linclf_torch/yourgrad/.
"""
from .convnet import ConvNet
from .gradcheck import check_model_gradients, gradient_errors
from .mlp import MLPClassifier
from .models import LinearClassifier, accuracy
from .optim import SGD, AdaGrad, Adam
from .rnn import rnn_gradients

__all__ = ["AdaGrad", "Adam", "ConvNet", "LinearClassifier", "MLPClassifier", "SGD", "accuracy",
           "check_model_gradients", "gradient_errors", "rnn_gradients"]
