"""From decoded CIFAR-10 images to standardized feature matrices on the device.

Splits (`--split`), on the training images in batch order (see cifar.py):
    a1    DD2424's protocol: train on batch 1, validate on batch 2, test on the test set
          (10,000 / 10,000 / 10,000 with the real data)
    full  all training images but the last n_val, which are kept for validation
Preprocessing as in the reports: pixels to [0, 1], flattened channel-first
(3×32×32 -> 3072, so a row of W reshapes to an image), then standardized per dimension
with the mean and std of the training split only, applied to every split.
"""
from dataclasses import dataclass

import torch
from torchvision.transforms.v2.functional import horizontal_flip

from .cifar import load_cifar10
from .errors import LinclfError

SPLITS = ("a1", "full")


@dataclass(frozen=True)
class Data:
    X_train: torch.Tensor                 # (n, d) standardized
    y_train: torch.Tensor                 # (n,) int64
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    X_train_flipped: torch.Tensor | None  # (n, d): X_train mirrored left-right, for --flip
    mean: torch.Tensor                    # (3, H, W) pixel statistics of the training split
    std: torch.Tensor                     # (3, H, W)
    classes: tuple
    image_shape: tuple                    # (3, H, W)


def resolve_device(name):
    """'auto' -> CUDA when PyTorch sees a GPU, else CPU; 'cpu' and 'cuda' as asked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise LinclfError("--device cuda: PyTorch sees no CUDA GPU here; use --device cpu or --device auto")
    if name not in ("cpu", "cuda"):
        raise LinclfError(f"unknown --device {name!r}: use auto, cpu or cuda")
    return torch.device(name)


def split_indices(n_train, batch_size, split, n_val):
    """Training and validation ranges of the batch-ordered training images."""
    if split == "a1":
        if n_train < 2 * batch_size:
            raise LinclfError(f"--split a1 needs two training batches but the data has {n_train} images")
        return range(0, batch_size), range(batch_size, 2 * batch_size)
    if split == "full":
        if not 1 <= n_val < n_train:
            raise LinclfError(f"--n-val {n_val} must be between 1 and {n_train - 1} (the training images less one)")
        return range(0, n_train - n_val), range(n_train - n_val, n_train)
    raise LinclfError(f"unknown --split {split!r}: choose one of {', '.join(SPLITS)}")


def features(images, mean, std):
    """uint8 images (n, 3, H, W) -> standardized rows (n, 3·H·W), channel-first flattening."""
    return ((images.to(mean.dtype) / 255 - mean) / std).flatten(1)  # (n, d)


def prepare(raw, *, split="a1", n_val=1000, flip=False, device="cpu", dtype=torch.float32):
    """Split, standardize with training statistics and move everything to `device` once."""
    tr, va = split_indices(len(raw.train_labels), raw.batch_size, split, n_val)
    to_dev = dict(device=device)
    train = raw.train_images[tr.start:tr.stop].to(**to_dev)  # (n, 3, H, W) uint8
    pixels = train.to(torch.float64) / 255
    mean = pixels.mean(0)                                   # (3, H, W)
    std = pixels.std(0)
    std = torch.where(std > 0, std, torch.ones_like(std))   # a constant pixel carries no signal
    mean, std = mean.to(dtype), std.to(dtype)
    data = Data(
        X_train=features(train, mean, std),
        y_train=raw.train_labels[tr.start:tr.stop].to(**to_dev),
        X_val=features(raw.train_images[va.start:va.stop].to(**to_dev), mean, std),
        y_val=raw.train_labels[va.start:va.stop].to(**to_dev),
        X_test=features(raw.test_images.to(**to_dev), mean, std),
        y_test=raw.test_labels.to(**to_dev),
        X_train_flipped=features(horizontal_flip(train), mean, std) if flip else None,
        mean=mean, std=std, classes=tuple(raw.classes), image_shape=tuple(train.shape[1:]),
    )
    for name in ("train", "val", "test"):  # once, at load: training never checks its inputs again
        if not torch.isfinite(getattr(data, f"X_{name}")).all():
            raise LinclfError(f"the {name} images hold NaN or inf values: pixels must be finite "
                              "numbers in 0..255; check where the data came from")
    return data


def load_data(data_dir="data", *, split="a1", n_val=1000, flip=False, device="cpu",
              dtype=torch.float32, verify=True, cache_dir="data/cache", progress=False):
    """load_cifar10 + prepare: the one call the CLI and the experiments make."""
    raw = load_cifar10(data_dir, cache_dir=cache_dir, verify=verify, progress=progress)
    return prepare(raw, split=split, n_val=n_val, flip=flip, device=device, dtype=dtype)
