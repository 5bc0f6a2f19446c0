"""From decoded CIFAR-10 images to standardized feature matrices on the device.

First `select` keeps a subset of the classes (relabelled 0..K−1 in the order given) and
resizes the images, for training and for evaluating a checkpoint alike.
Splits (`--split`), on the training images in batch order (see cifar.py):
    a1      DD2424's protocol: train on batch 1, validate on batch 2, test on the test set
            (10,000 / 10,000 / 10,000 with the real data)
    full    all training images but the last n_val, which are kept for validation
    random  n_val images drawn at random (generator seeded with `seed`) for validation,
            the rest for training (INF265's 90/10 split)
Preprocessing as in the reports: pixels to [0, 1], flattened channel-first
(3×32×32 -> 3072, so a row of W reshapes to an image), then standardized with the mean and
std of the training split only, applied to every split: per dimension (`pixel`, DD2424)
or per colour channel (`channel`, INF265).
"""
from dataclasses import dataclass, replace

import torch

from .cifar import load_cifar10
from .config import SPLITS
from .errors import LinclfError


@dataclass(frozen=True)
class Data:
    X_train: torch.Tensor                 # (n, d) standardized
    y_train: torch.Tensor                 # (n,) int64
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    X_train_flipped: torch.Tensor | None  # (n, d): X_train mirrored left-right, for --flip
    mean: torch.Tensor                    # (3, H, W) (pixel) or (3, 1, 1) (channel) training statistics
    std: torch.Tensor                     # like mean
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


def select(raw, classes=(), image_size=None):
    """raw (cifar.Cifar10) with only `classes`, relabelled 0..K−1 in that order, resized.

    classes: class names; () keeps all. image_size: pixels per side (None keeps the size);
    other sizes are resized with torchvision's antialiased bilinear resize, on the uint8 images.
    The a1 split's batch 1 becomes the kept images of batch 1 (batch_size shrinks to match).
    """
    if classes:
        unknown = [c for c in classes if c not in raw.classes]
        if unknown or len(set(classes)) != len(classes) or len(classes) < 2:
            raise LinclfError(f"bad --classes {' '.join(classes)}: name two or more different classes "
                              f"of {', '.join(raw.classes)}")
        new_label = torch.full((len(raw.classes),), -1)              # (10,) old label -> new, −1 = dropped
        new_label[[raw.classes.index(c) for c in classes]] = torch.arange(len(classes))
        train_keep = new_label[raw.train_labels] >= 0                # (N,)
        test_keep = new_label[raw.test_labels] >= 0                  # (M,)
        raw = replace(raw, train_images=raw.train_images[train_keep],
                      train_labels=new_label[raw.train_labels[train_keep]],
                      test_images=raw.test_images[test_keep], test_labels=new_label[raw.test_labels[test_keep]],
                      classes=tuple(classes), batch_size=int(train_keep[:raw.batch_size].sum()))
    if image_size is not None and image_size != raw.train_images.shape[-1]:
        # Imported here: torchvision takes seconds to import, and only a resize needs it.
        from torchvision.transforms.v2.functional import resize
        size = [image_size, image_size]
        raw = replace(raw, train_images=resize(raw.train_images, size, antialias=True),
                      test_images=resize(raw.test_images, size, antialias=True))
    return raw


def split_indices(n_train, batch_size, split, n_val, seed=0):
    """Indices (CPU int64) of the training and validation images, in training order."""
    if split == "a1":
        if n_train < 2 * batch_size:
            raise LinclfError(f"--split a1 needs two training batches but the data has {n_train} images")
        return torch.arange(0, batch_size), torch.arange(batch_size, 2 * batch_size)
    if split not in SPLITS:
        raise LinclfError(f"unknown --split {split!r}: choose one of {', '.join(SPLITS)}")
    if not 1 <= n_val < n_train:
        raise LinclfError(f"--n-val {n_val} must be between 1 and {n_train - 1} (the training images less one)")
    if split == "full":
        return torch.arange(0, n_train - n_val), torch.arange(n_train - n_val, n_train)
    order = torch.randperm(n_train, generator=torch.Generator().manual_seed(seed))
    return order[n_val:], order[:n_val]


def features(images, mean, std):
    """uint8 images (n, 3, H, W) -> standardized rows (n, 3·H·W), channel-first flattening."""
    return ((images.to(mean.dtype) / 255 - mean) / std).flatten(1)  # (n, d)


def prepare(raw, *, split="a1", n_val=1000, classes=(), image_size=None, normalize="pixel", seed=0,
            flip=False, device="cpu", dtype=torch.float32):
    """Select and resize, split, standardize with training statistics, move to `device` once."""
    raw = select(raw, classes, image_size)
    tr, va = split_indices(len(raw.train_labels), raw.batch_size, split, n_val, seed)
    to_dev = dict(device=device)
    train = raw.train_images[tr].to(**to_dev)                # (n, 3, H, W) uint8
    pixels = train.to(torch.float64) / 255
    dims = (0,) if normalize == "pixel" else (0, 2, 3)       # over images, or images and positions
    mean = pixels.mean(dims, keepdim=True)[0]                # (3, H, W) or (3, 1, 1)
    std = pixels.std(dims, keepdim=True)[0]
    std = torch.where(std > 0, std, torch.ones_like(std))   # a constant pixel carries no signal
    mean, std = mean.to(dtype), std.to(dtype)
    data = Data(
        X_train=features(train, mean, std),
        y_train=raw.train_labels[tr].to(**to_dev),
        X_val=features(raw.train_images[va].to(**to_dev), mean, std),
        y_val=raw.train_labels[va].to(**to_dev),
        X_test=features(raw.test_images.to(**to_dev), mean, std),
        y_test=raw.test_labels.to(**to_dev),
        X_train_flipped=features(train.flip(-1), mean, std) if flip else None,  # mirrored: width reversed
        mean=mean, std=std, classes=tuple(raw.classes), image_shape=tuple(train.shape[1:]),
    )
    for name in ("train", "val", "test"):  # once, at load: training never checks its inputs again
        if not torch.isfinite(getattr(data, f"X_{name}")).all():
            raise LinclfError(f"the {name} images hold NaN or inf values: pixels must be finite "
                              "numbers in 0..255; check where the data came from")
    return data


def load_data(data_dir="data", *, verify=True, download=True, cache_dir="data/cache", progress=False, **options):
    """load_cifar10 + prepare(raw, **options): the one call the CLI and the experiments make."""
    raw = load_cifar10(data_dir, cache_dir=cache_dir, verify=verify, download=download, progress=progress)
    return prepare(raw, **options)
