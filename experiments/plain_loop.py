"""The DD2424 baseline as a plain loop over linclf_torch.nn: what `linclf train` does, to read.

Load CIFAR-10 (split a1: 10,000 train / 10,000 validation / 10,000 test, standardized with
the training statistics), build a linear softmax classifier, and train it with mini-batch
gradient descent: for each epoch, for each batch of 100 in order, the hand-written
gradients (LinearClassifier.gradients) and one SGD step. No autograd anywhere.

    python experiments/plain_loop.py --data-dir PATH

Measured on the JPEG copy of CIFAR-10 (AMD EPYC, torch 2.14.1): train 45.40%, validation
39.31%, test 39.20%, the numbers of `linclf train` with its defaults.
"""
import argparse
import sys

import torch

from linclf_torch import LinclfError, load_data
from linclf_torch.nn import SGD, LinearClassifier, accuracy


def main(argv=None):
    p = argparse.ArgumentParser(prog="experiments/plain_loop.py", description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default="data", help="CIFAR-10: the official pickles or an image folder")
    p.add_argument("--epochs", type=int, default=40)
    args = p.parse_args(argv)
    try:
        data = load_data(args.data_dir, split="a1")
    except LinclfError as e:
        sys.exit(f"error: {e}")
    n, d = data.X_train.shape                                        # (10000, 3072)
    model = LinearClassifier(d, len(data.classes), loss="ce", lam=0.0, generator=torch.Generator().manual_seed(0))
    optimizer = SGD(model.params, lr=0.001)
    for epoch in range(1, args.epochs + 1):
        for i in range(0, n, 100):                                   # batches of 100, in order
            grads = model.gradients(data.X_train[i:i + 100], data.y_train[i:i + 100])
            optimizer.step(grads)                                    # θ ← θ − η·∇J
        cost = model.evaluate(data.X_train, data.y_train)[1]
        print(f"epoch {epoch:2d}  training cost {cost:.4f}")
    for name, X, y in [("train", data.X_train, data.y_train), ("val", data.X_val, data.y_val),
                       ("test", data.X_test, data.y_test)]:
        print(f"{name} accuracy {accuracy(model.predict(X), y):.2%}")


if __name__ == "__main__":
    main()
